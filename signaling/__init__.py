"""Real-time transports: WHIP/WHEP HTTP endpoints and the Socket.IO room."""
