"""How the tests start Chromium: Debian's build, a fake camera and microphone, no first-run
or background traffic, and WebRTC allowed on loopback (the servers under test announce
127.0.0.1 only)."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # WebRTC in tests stays on 127.0.0.1 (the server runs with --ice-loopback); Chromium
    # drops loopback candidates unless told otherwise
    "--allow-loopback-in-peer-connection",
]
