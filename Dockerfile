# LiveShop server image: Python + PyAV/aiortc wheels + the web client's npm packages.

# Build stage: the package with its C extension (the native fan-out send loop) compiled here,
# so the runtime image needs no compiler.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY live_server ./live_server
COPY signaling ./signaling
COPY recordings ./recordings
RUN pip install --no-cache-dir --prefix=/install . \
    && cd / && PYTHONPATH=/install/lib/python3.11/site-packages python -c \
    "from live_server.media import native; assert native.backend(), native.unavailable_reason()"

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY --from=build /install /usr/local
COPY web_client ./web_client
RUN cd web_client && npm ci --omit=dev --no-audit --no-fund

ENV LIVESHOP_HOST=0.0.0.0 LIVESHOP_DATA_DIR=/data LIVESHOP_WEB_ROOT=/app/web_client
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["liveshop", "serve"]
