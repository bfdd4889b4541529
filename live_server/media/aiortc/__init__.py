"""media aiortc."""
