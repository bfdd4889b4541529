"""Server configuration: one frozen dataclass built from flags and LIVESHOP_* variables.

Precedence: command-line flag > environment variable > default. Every field is listed in
the README's configuration table; `ENV_PREFIX + name.upper()` is its variable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "LIVESHOP_"
#: settings that take one of a few words
_CHOICES = {
    "hls": ("on", "off"),
    "hls_transcode": ("on-demand", "always", "off"),
    "role": ("primary", "edge"),
    "stripe_capture": ("automatic", "manual"),
    "tax_pricing": ("exclusive", "inclusive"),
}


@dataclass(frozen=True)
class Settings:
    """Everything the server can be configured with."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("var")
    db: Path | None = None  # defaults to <data_dir>/liveshop.db
    redis_url: str | None = None
    demo: bool = False
    secret: str | None = None  # token-signing secret; generated into <data_dir>/secret.key
    token_ttl_s: int = 7 * 24 * 3600
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    # Every HTTP connection's deadlines (platform/http_server.py): a request head complete
    # within http_header_timeout_s of its first byte; a body within http_body_timeout_s plus
    # one second per http_body_min_rate bytes; no request for http_idle_timeout_s: closed.
    http_header_timeout_s: float = 10.0
    http_body_timeout_s: float = 20.0
    http_body_min_rate: int = 16 * 1024
    http_idle_timeout_s: float = 30.0
    # Uploaded images (product images, post photos) are judged by the size in their header,
    # before any decoding: a few KB can declare a gigapixel (a decompression bomb).
    max_image_pixels: int = 40_000_000
    max_image_side: int = 16_384
    login_max_failures: int = 5
    login_window_s: int = 300
    # Log-in backoff (accounts/throttle.py): after login_max_failures wrong passwords the
    # account (and the address) waits login_backoff_base_s, twice as long after each further
    # failure, at most login_backoff_max_s; the right password always passes after the wait.
    login_backoff_base_s: float = 1.0
    login_backoff_max_s: float = 60.0
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the client
    # (platform/addresses.py client_address); empty: the TCP peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    # Sign-ups per client address (accounts/throttle.py SignupThrottle): signup_burst at
    # once, then signup_per_hour (each sign-up costs a scrypt hash).
    signup_burst: int = 30
    signup_per_hour: int = 60
    # How long a user's token version stays cached in a process (accounts/revocation.py):
    # the longest a token revoked through another node still works on this one.
    token_cache_s: float = 5.0
    log_level: str = "info"
    web_root: Path = field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "web_client"
    )
    # Media plane (WebRTC). ICE servers are "stun:host:port" or "turn:user:pass@host:port".
    ice_servers: tuple[str, ...] = ()
    # TURN with coturn's use-auth-secret scheme: each WHIP/WHEP client gets credentials of its
    # own that expire after turn_ttl_s (static TURN credentials never leave the server).
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl_s: int = 600
    public_ip: str | None = None
    reconnect_grace_s: float = 30.0
    # How long a signed link to a private show's file stays valid (platform/signed_urls.py)
    media_url_ttl_s: int = 6 * 3600
    media_fast_path: bool = True  # one send loop per frame for all viewers (docs/media.md)
    # that loop in C (live_server/media/native) when built; off: its Python twin
    native_fanout: bool = True
    ice_loopback: bool = False  # tests/benchmarks: ICE on 127.0.0.1 only (hooks.py)
    # Every WHIP/WHEP peer has a lifetime and a budget (docs/media.md, "Lifetimes"): connected
    # (ICE + DTLS) within peer_connect_timeout_s or closed; a viewer heard from (RTCP, STUN,
    # DTLS) within viewer_silence_timeout_s or dropped; max_viewers_per_address (0: no cap).
    peer_connect_timeout_s: float = 10.0
    viewer_silence_timeout_s: float = 15.0
    max_viewers_per_address: int = 20
    # WebRTC viewers this process serves at most (0: no cap); beyond it, and beyond a show's
    # front row, WHEP answers 503 and the viewer page plays LL-HLS (docs/hls.md)
    max_webrtc_viewers: int = 0
    # LL-HLS (docs/hls.md): "on" packages every live show; "off" serves no /hls/. VP8 hosts
    # are transcoded to H.264 once per show: "on-demand" from the first HLS request,
    # "always" from go-live, "off" never (their shows then have no HLS)
    hls: str = "on"
    hls_transcode: str = "on-demand"
    hls_part_target_s: float = 0.3
    hls_segment_target_s: float = 2.0
    hls_window_segments: int = 8  # segments listed in the live playlist (~16 s of DVR)
    hls_vod_keep_h: float = 48.0  # hours a finished show's HLS stays on disk as its VOD
    # Cluster (docs/media.md, "Topology"): with Redis every node registers itself; the node
    # that takes the host's WHIP holds the show's origin lease (renewed while the host is
    # connected, cluster_lease_ttl_s after a crash it expires) and other nodes pull the show
    # from it over an authenticated WebRTC relay (needs cluster_secret, the same on every
    # node; unset: no relay, no redirects). public_url: where viewers and other nodes reach
    # this node (default http://host:port). role "edge": media only (no database).
    # workers: processes `serve` runs (0: one per core with Redis, else 1).
    # cluster_cpu_limit: a node above this share of a core takes no new viewer (0: no limit).
    cluster_secret: str | None = None
    public_url: str | None = None
    role: str = "primary"
    workers: int = 0
    cluster_lease_ttl_s: float = 5.0
    cluster_cpu_limit: float = 0.0
    # Live room
    chat_max_len: int = 500
    chat_rate_per_s: float = 1.0
    chat_burst: int = 3
    room_tick_hz: float = 5.0
    redis_prefix: str = "liveshop"
    # A Socket.IO client that stops reading is disconnected once this many bytes wait for it
    # (its engine.io queue, its socket's write buffer, frames held for the next flush).
    socketio_max_backlog_bytes: int = 1024 * 1024
    # Engine.IO heartbeat: a client that answers no ping within ping_interval + ping_timeout
    # is gone (a client that stops reading is let go within about 15 s, not 40 s).
    socketio_ping_interval_s: float = 10.0
    socketio_ping_timeout_s: float = 5.0
    # Anonymous Socket.IO connections one client address may hold at once (0: no cap).
    max_anonymous_sockets_per_address: int = 50
    # Commerce
    reservation_hold_s: int = 600
    webhook_secret: str | None = field(default=None, repr=False)
    # Card payments through Stripe (off unless the secret key is set). The keys never reach a
    # page or a log; stripe_api_base points the SDK at a test server such as localstripe.
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str | None = None
    stripe_js_url: str = "https://js.stripe.com/v3/"
    stripe_capture: str = "automatic"
    # How long a buyer may cancel a confirmed or paid order themselves (never once shipped).
    cancel_window_minutes: int = 30
    # Order emails over SMTP (off unless smtp_host is set: the demo sends none).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "LiveShop <orders@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    default_commission_rate: float = 0.05
    # Flash sales: the deepest discount a merchant may give (never below 1 minor unit) and the
    # per-buyer cap a sale gets when its merchant names none.
    flash_sale_max_discount_percent: int = 90
    flash_sale_default_per_buyer_limit: int = 2
    # Prices include tax (EU style, "incl. VAT") or have it added at checkout (US style).
    tax_pricing: str = "exclusive"

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"{ENV_PREFIX}{name.upper()} must be one of {', '.join(allowed)}, not {value!r}"
                )

    @property
    def db_path(self) -> Path:
        """Where the SQLite database lives."""
        return self.db if self.db is not None else self.data_dir / "liveshop.db"

    @property
    def media_dir(self) -> Path:
        """Uploaded images, recordings, replays and clips."""
        return self.data_dir / "media"

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Builds settings from defaults, then `env` (LIVESHOP_*), then non-None `overrides`."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, f.type, raw)
        for key, value in (overrides or {}).items():
            if value is not None:
                values[key] = value
        for key in ("data_dir", "db", "web_root"):
            if key in values and values[key] is not None:
                values[key] = Path(values[key])
        return cls(**values)


def _parse(name: str, type_: Any, raw: str) -> Any:
    text = str(type_)
    if "bool" in text:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if "tuple" in text:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if text.startswith("int"):
        return int(raw)
    if text.startswith("float"):
        return float(raw)
    return raw


def settings_field_names() -> list[str]:
    """Names of every setting, for the CLI and the documentation test."""
    return [f.name for f in dataclasses.fields(Settings)]
