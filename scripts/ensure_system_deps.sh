#!/usr/bin/env bash
# Installs what the test suite needs from outside Python when it is missing:
# Debian's chromium (browser tests), ffmpeg/ffprobe (independent media checks),
# Node.js/npm (`make setup` runs `npm ci` for web_client's vendored packages and a Node
# Socket.IO client test), nginx (the LL-HLS cache in front of LiveShop in tests and
# bench/hls.py, with deploy/nginx/liveshop.conf) and a running Redis on 127.0.0.1:6379
# (multi-node tests), and an emoji font for the page screenshots.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# /usr/sbin is not on every user's PATH; tests/support/nginx.py runs /usr/sbin/nginx
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
# the page gallery's screenshots (test-artifacts/pages/) show emoji (reactions) as people
# see them, not as empty boxes
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
# optional, for benchmarks only (`make bench-deps` sets this; CI and the tests do not need it):
# Debian's Janus, the C SFU that `make bench-fanout` measures LiveShop against
if [ "${LIVESHOP_BENCH_DEPS:-0}" = 1 ]; then
    command -v janus >/dev/null 2>&1 || missing+=(janus)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
        exit 1
    fi
    echo "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
fi
