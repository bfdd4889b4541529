"""HTTP/1.1 by hand over a raw asyncio stream, for what an HTTP client library will not do:
send a body in pieces with pauses, send header bytes that are not UTF-8, or send only the
headers of a large upload and see whether the server answers before the body."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class RawResponse:
    """A parsed HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        return str(self.json()["error"]["code"])


def request_head(
    method: str, path: str, headers: dict[str, str | bytes], *, host: str = "127.0.0.1"
) -> bytes:
    """The request line and headers (values may be raw bytes), ending with the blank line."""
    lines = [f"{method} {path} HTTP/1.1".encode(), f"Host: {host}".encode()]
    for name, value in headers.items():
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        lines.append(name.encode("ascii") + b": " + raw)
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def read_response(reader: asyncio.StreamReader, timeout: float = 10.0) -> RawResponse:
    """Reads one response (Content-Length delimited; the server closes after it)."""

    async def read() -> RawResponse:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return RawResponse(int(status_line.split()[1]), headers, body)

    return await asyncio.wait_for(read(), timeout)


async def answer_before_body(
    host: str, port: int, head: bytes, timeout: float = 10.0
) -> RawResponse:
    """Sends only `head` (whose Content-Length promises a body) and reads the answer: a
    server that reads the body before deciding never answers (the wait times out)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head)
        await writer.drain()
        return await read_response(reader, timeout)
    finally:
        writer.close()


async def send(
    host: str, port: int, head: bytes, body: bytes = b"", timeout: float = 10.0
) -> RawResponse:
    """One request with its whole body in one write."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await read_response(reader, timeout)
    finally:
        writer.close()
