"""Live posters: the newest keyframe of a show, decoded to a small JPEG (real encoders)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from live_server.content.posters import LivePosters
from recordings.probe import MediaError
from recordings.thumbnails import keyframe_jpeg
from recordings.worker import MediaWorker
from support.media_frames import encode_h264
from support.peers import encode_vp8


def _size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as img:
        assert img.format == "JPEG"
        return img.size


async def test_a_live_show_s_poster_is_its_newest_keyframe_until_it_ends() -> None:
    worker = MediaWorker(threads=1)
    try:
        posters = LivePosters(worker, refresh_s=0.0)
        (tap,) = posters.taps_for(7, "H264", "OPUS")
        assert posters.taps_for(7, "H264", "OPUS") == []  # a reconnect keeps the tap
        assert posters.taps_for(8, None, "OPUS") == []  # audio-only: no picture
        assert await posters.jpeg(7) is None and posters.version(7) is None
        for data, pts, key in encode_h264(1.0, 320, 240, keyframe_s=0.5):
            tap.on_frame("audio", "OPUS", b"\x01", pts, True)  # ignored
            tap.on_frame("video", "H264", data, pts, key)
        assert posters.version(7) == 2
        jpeg = await posters.jpeg(7)
        assert jpeg is not None and _size(jpeg) == (320, 240)
        await posters.broadcast_ended(7)
        assert await posters.jpeg(7) is None and posters.version(7) is None
    finally:
        worker.close()


def test_keyframe_jpeg_scales_wide_pictures_and_refuses_what_does_not_decode() -> None:
    (key, _), *_ = encode_vp8(0.1, 1280, 720, 30, 1_000_000)
    assert _size(keyframe_jpeg("VP8", key)) == (480, 270)
    with pytest.raises(MediaError):
        keyframe_jpeg("VP8", b"\x00\x01\x02 not a frame")
    with pytest.raises(MediaError):
        keyframe_jpeg("AV1", key)
