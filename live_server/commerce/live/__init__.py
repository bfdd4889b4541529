"""commerce live: the live commerce view a room's tick carries, and its Redis feed."""
