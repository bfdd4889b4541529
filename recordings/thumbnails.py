"""Poster images: a JPEG from the first picture at or after a media time (PyAV + Pillow)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from recordings.probe import MediaError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Poster:
    """A written poster image."""

    path: str
    width: int
    height: int


def make_poster(
    src: str | Path, dst: str | Path, at_s: float = 0.0, max_width: int = 720, quality: int = 82
) -> Poster:
    """Save the first frame at or after ``at_s`` as a JPEG at most ``max_width`` wide."""
    with av.open(str(src)) as inp:
        if not inp.streams.video:
            raise MediaError("no video stream for a poster")
        stream = inp.streams.video[0]
        origin = inp.start_time / av.time_base if inp.start_time else 0.0
        if at_s > 0 and stream.time_base is not None:
            inp.seek(int((at_s + origin) / stream.time_base), stream=stream, backward=True)
        chosen: av.VideoFrame | None = None
        for frame in inp.decode(stream):
            chosen = frame
            if frame.pts is None or frame.time_base is None:
                break
            if float(frame.pts * frame.time_base) - origin >= at_s - 1e-3:
                break
        if chosen is None:
            raise MediaError("no decodable picture for a poster")
        width, height = chosen.width, chosen.height
        if width > max_width:
            height = max(2, int(height * max_width / width) // 2 * 2)
            width = max_width
        image = chosen.to_image(width=width, height=height)  # type: ignore[no-untyped-call]
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(str(dst), format="JPEG", quality=quality)
    return Poster(str(dst), width, height)


def keyframe_jpeg(codec: str, data: bytes, max_width: int = 480, quality: int = 78) -> bytes:
    """A JPEG of one encoded keyframe (VP8, or H.264 with its SPS and PPS in front, as
    browsers send every keyframe), at most ``max_width`` wide: a live show's poster."""
    import io

    name = {"VP8": "vp8", "H264": "h264"}.get(codec.upper())
    if name is None:
        raise MediaError(f"no poster from {codec} frames")
    try:
        decoder: Any = av.CodecContext.create(name, "r")
        frames = [*decoder.decode(av.Packet(data)), *decoder.decode(None)]
    except av.FFmpegError as exc:
        raise MediaError(f"the keyframe does not decode: {exc}") from exc
    frame = next((f for f in frames if isinstance(f, av.VideoFrame)), None)
    if frame is None:
        raise MediaError("the keyframe holds no picture")
    width, height = frame.width, frame.height
    if width > max_width:
        height = max(2, int(height * max_width / width) // 2 * 2)
        width = max_width
    out = io.BytesIO()
    image = frame.to_image(width=width, height=height)  # type: ignore[no-untyped-call]
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """A decoded image's format and size."""

    format: str
    width: int
    height: int


class ImageTooLarge(MediaError):
    """An image whose header declares more pixels than accepted (it is never decoded)."""


def inspect_image(
    path: str | Path, max_pixels: int, max_side: int, *, decode: bool = True
) -> ImageInfo:
    """Check an uploaded image with Pillow; raises ``MediaError`` when it does not parse,
    ``ImageTooLarge`` when it has more than ``max_pixels`` or a side over ``max_side``.

    The size comes from the header (``Image.open`` reads nothing more), so a small file
    declaring a gigapixel is refused before a byte of it is decompressed. ``decode`` reads
    every pixel; without it the file's structure and checksums are verified (cheaper).
    """
    from PIL import Image, UnidentifiedImageError

    too_large = (
        f"images may have at most {max_pixels / 1e6:g} megapixels and {max_side} pixels on a side"
    )
    try:
        with Image.open(str(path)) as img:
            fmt = img.format or ""
            width, height = img.size
            if width * height > max_pixels or max(width, height) > max_side:
                raise ImageTooLarge(
                    f"the image is too large ({width}x{height} pixels): {too_large}"
                )
            if decode:
                img.load()
            else:
                img.verify()
    except Image.DecompressionBombError:
        # Pillow's own ceiling (far above ours) refuses before the size is known.
        raise ImageTooLarge(f"the image is too large: {too_large}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"the image cannot be decoded: {exc}") from exc
    if width < 1 or height < 1:
        raise MediaError("the image is empty")
    return ImageInfo(fmt, width, height)
