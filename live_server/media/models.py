"""The live video status answers, declared once for the OpenAPI document
(`platform.schemas`)."""

from __future__ import annotations

import msgspec


class MediaTimeOut(msgspec.Struct):
    """A session's state and its media time (seconds since go-live; null when not live)."""

    session_id: int
    state: str
    media_time: float | None


class NodeViewersOut(msgspec.Struct):
    """One node's WebRTC viewers of the show."""

    node_id: str
    role: str
    viewers: int


class LayerOut(msgspec.Struct):
    """One simulcast layer the host sends (this node's view of its ingest)."""

    rid: str
    ssrc: int | None
    width: int | None
    height: int | None
    live: bool  # its frames keep coming
    source: bool  # the layer that feeds the show (viewers, recording, LL-HLS)


class BroadcastOut(MediaTimeOut):
    """The live video status: also the WHEP viewers (every node's, each viewer counted
    once, on the node that serves it), per node, whether a publisher is connected, and a
    simulcast host's layers (largest picture first; empty for a single-stream host)."""

    viewers: int
    publishing: bool
    nodes: list[NodeViewersOut]
    layers: list[LayerOut] = msgspec.field(default_factory=list)
