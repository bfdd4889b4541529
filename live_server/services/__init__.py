"""Use cases. Each service receives its repositories and buses in __init__."""
