"""content replays."""
