"""Processing a generated 60 s recording with three pins, checked with ffprobe.

Both paths: H.264/AAC in MP4 is stream-copied (cuts start on keyframes), VP8/Opus in
WebM is transcoded. Clip durations, codecs, the moov-before-mdat layout and the JPEG
posters are verified by Debian's ffprobe, independently of PyAV.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from recordings.jobs import ProcessingPlan, run_plan
from recordings.synthetic import SyntheticSpec, generate_recording
from recordings.windows import PinMark, plan_clip_windows

pytestmark = [
    pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe missing"),
    pytest.mark.slow,  # two 60 s recordings made once (~4 s), then cuts and a transcode
]

PINS = [PinMark(1, 101, 4.0, 24.0), PinMark(2, 102, 30.0, 50.0), PinMark(3, 103, 56.0, 60.0)]
GOP_S = 2.0


def ffprobe(path: Path) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        capture_output=True,
        check=True,
        text=True,
        timeout=30,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def top_level_atoms(path: Path) -> list[str]:
    names = []
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        names.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return names


@pytest.fixture(scope="module")
def recordings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rec")
    generate_recording(root / "show.mp4", SyntheticSpec(duration_s=60, flavour="h264", gop=60))
    generate_recording(root / "show.webm", SyntheticSpec(duration_s=60, flavour="vp8", gop=60))
    return root


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # stream copy: starts snap on to the first keyframe (every 2 s) after 25 and 51,
        # never further than 5 s ahead of the pin
        ("show.mp4", [(0.0, 29.0), (26.0, 55.0), (52.0, 60.0)]),
        # transcode: frame-accurate starts
        ("show.webm", [(0.0, 29.0), (25.0, 55.0), (51.0, 60.0)]),
    ],
)
def test_three_pins_make_three_clips(
    recordings_dir: Path, tmp_path: Path, name: str, expected: list[tuple[float, float]]
) -> None:
    src = recordings_dir / name
    windows = plan_clip_windows(PINS, 60.0)
    progress: list[float] = []
    result = run_plan(
        ProcessingPlan(str(src), str(tmp_path / "out"), tuple(windows), make_replay=True),
        lambda f, _label: progress.append(f),
    )
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert len(result.clips) == 3
    assert [c.window.product_ids for c in result.clips] == [(101,), (102,), (103,)]
    for clip, (start, end) in zip(result.clips, expected, strict=True):
        video = Path(clip.video.path)
        meta = ffprobe(video)
        codecs = sorted(s["codec_name"] for s in meta["streams"])
        assert codecs == ["aac", "h264"], codecs
        assert float(meta["format"]["duration"]) == pytest.approx(end - start, abs=0.15)
        assert clip.video.start_s == pytest.approx(start, abs=0.05)
        atoms = top_level_atoms(video)
        assert atoms.index("moov") < atoms.index("mdat"), atoms  # faststart
        poster = ffprobe(Path(clip.poster.path))["streams"][0]
        assert (
            poster["codec_name"] == "mjpeg" and poster["width"] == 640 and poster["height"] == 360
        )
        assert clip.video.transcoded is name.endswith(".webm")
    assert result.replay is not None
    replay = ffprobe(Path(result.replay.video.path))
    assert float(replay["format"]["duration"]) == pytest.approx(60.0, abs=0.15)
    assert top_level_atoms(Path(result.replay.video.path)).index("moov") < top_level_atoms(
        Path(result.replay.video.path)
    ).index("mdat")


def test_clip_content_matches_the_source_moment(recordings_dir: Path, tmp_path: Path) -> None:
    """The first picture of a transcoded clip is the source picture at the cut time."""
    import av

    from recordings.clips import cut_transcode

    res = cut_transcode(recordings_dir / "show.webm", tmp_path / "c.mp4", 25.0, 30.0)

    def luma_at(path: Path, t: float) -> bytes:
        with av.open(str(path)) as c:
            for frame in c.decode(video=0):
                if float(frame.pts * frame.time_base) >= t - 1e-3:
                    return bytes(frame.planes[0])
        raise AssertionError("no frame")

    assert res.duration_s == pytest.approx(5.0, abs=0.05)
    a = luma_at(recordings_dir / "show.webm", 25.0)
    b = luma_at(tmp_path / "c.mp4", 0.0)
    c = luma_at(recordings_dir / "show.webm", 20.0)
    diff_same = sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)
    diff_other = sum(abs(x - y) for x, y in zip(a, c, strict=True)) / len(a)
    assert diff_same < 2.0 < diff_other  # same picture (up to coding noise), not a nearby one


def test_broken_recording_fails_cleanly(tmp_path: Path) -> None:
    from recordings.probe import MediaError

    bad = tmp_path / "bad.webm"
    bad.write_bytes(b"\x1a\x45\xdf\xa3 definitely not a recording" * 10)
    with pytest.raises(MediaError):
        run_plan(ProcessingPlan(str(bad), str(tmp_path / "o"), ()))
