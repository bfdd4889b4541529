"""The media plane: WHIP ingest, WHEP fan-out of encoded frames, keyframes, recorder tap."""
