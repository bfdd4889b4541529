"""The LL-HLS playlist and blocking-reload rules (live_server.hls.rules), without a server."""

from __future__ import annotations

import pytest

from live_server.hls.rules import (
    Blocking,
    PartInfo,
    SegmentInfo,
    Window,
    blocking_request,
    blocking_state,
    media_playlist,
    multivariant_playlist,
    target_duration,
)
from live_server.platform.errors import BadRequest

EPOCH_MS = 1_764_619_200_000  # 2025-12-01T20:00:00Z


def _segment(msn: int, parts: int, complete: bool = True) -> SegmentInfo:
    infos = tuple(PartInfo(i, 0.2, i == 0) for i in range(parts))
    start = msn * 2.0
    return SegmentInfo(
        msn=msn,
        start_s=start,
        program_date_ms=EPOCH_MS + int(start * 1000),
        parts=infos,
        duration_s=0.2 * parts if complete else None,
    )


def _window(*segments: SegmentInfo, ended: bool = False) -> Window:
    return Window(segments=segments, target_duration_s=4, part_target_s=0.3, ended=ended)


def test_live_playlist_has_every_ll_hls_tag_in_order() -> None:
    window = _window(_segment(3, 10), _segment(4, 10), _segment(5, 3, complete=False))
    text = media_playlist(window)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert "#EXT-X-TARGETDURATION:4" in lines
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.900" in lines
    assert "#EXT-X-PART-INF:PART-TARGET=0.300" in lines
    assert "#EXT-X-MEDIA-SEQUENCE:3" in lines
    assert lines.count('#EXT-X-MAP:URI="init.mp4"') == 1
    assert "#EXT-X-PROGRAM-DATE-TIME:2025-12-01T20:00:06.000Z" in lines
    # whole segments for the complete ones, parts of the open one, then the hint
    assert [line for line in lines if line.endswith(".m4s") and not line.startswith("#")] == [
        "s3.m4s",
        "s4.m4s",
    ]
    assert '#EXT-X-PART:DURATION=0.20000,URI="s5.p0.m4s",INDEPENDENT=YES' in lines
    assert '#EXT-X-PART:DURATION=0.20000,URI="s5.p2.m4s"' in lines
    assert lines[-1] == '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s5.p3.m4s"'
    assert "#EXT-X-ENDLIST" not in text


def test_parts_are_listed_only_near_the_live_edge() -> None:
    segments = [_segment(n, 10) for n in range(10)]  # 2 s each; 3 x 4 s = 12 s of parts
    text = media_playlist(_window(*segments))
    assert 'URI="s9.p0.m4s"' in text
    assert 'URI="s4.p0.m4s"' in text
    assert 'URI="s2.p0.m4s"' not in text
    assert "s2.m4s" in text


def test_hint_after_a_complete_segment_is_the_next_segments_first_part() -> None:
    text = media_playlist(_window(_segment(0, 10)))
    assert text.splitlines()[-1] == '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s1.p0.m4s"'
    assert media_playlist(_window()).splitlines()[-1].endswith('URI="s0.p0.m4s"')


def test_vod_playlist_lists_complete_segments_and_ends() -> None:
    window = Window(
        segments=(_segment(0, 10), _segment(1, 10)),
        target_duration_s=4,
        part_target_s=0.3,
        ended=True,
        vod=True,
    )
    text = media_playlist(window)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    assert "EXT-X-PART:" not in text
    assert "PRELOAD-HINT" not in text
    assert "CAN-BLOCK-RELOAD" not in text
    assert text.count("#EXTINF:2.00000,") == 2


def test_multivariant_names_the_variant_with_codecs_and_size() -> None:
    text = multivariant_playlist("ep/public/media.m3u8", 1_600_000, "avc1.42c01f,opus", (1280, 720))
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=1600000,CODECS="avc1.42c01f,opus",RESOLUTION=1280x720',
        "ep/public/media.m3u8",
    ]


def test_target_duration_is_whole_seconds_never_below_the_longest_segment() -> None:
    assert target_duration(4.0) == 4
    assert target_duration(4.2) == 5
    assert target_duration(0.5) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, None),
        ({"_HLS_msn": "7"}, (7, None)),
        ({"_HLS_msn": "7", "_HLS_part": "2"}, (7, 2)),
    ],
)
def test_blocking_request_reads_the_query(
    query: dict[str, str], expected: tuple[int, int | None] | None
) -> None:
    assert blocking_request(query) == expected


@pytest.mark.parametrize(
    "query",
    [{"_HLS_part": "1"}, {"_HLS_msn": "-1"}, {"_HLS_msn": "x"}, {"_HLS_msn": "9" * 40}],
)
def test_bad_blocking_requests_are_400(query: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        blocking_request(query)


def test_blocking_state_answers_only_when_the_part_exists() -> None:
    open_segment = _window(_segment(4, 10), _segment(5, 3, complete=False))
    assert blocking_state(open_segment, 5, 2) is Blocking.READY
    assert blocking_state(open_segment, 5, 3) is Blocking.WAIT  # the hinted part: not yet
    assert blocking_state(open_segment, 5, None) is Blocking.WAIT  # segment 5 not complete
    assert blocking_state(open_segment, 4, None) is Blocking.READY
    assert blocking_state(open_segment, 6, 0) is Blocking.WAIT
    assert blocking_state(open_segment, 7, 0) is Blocking.WAIT
    assert blocking_state(open_segment, 8, 0) is Blocking.TOO_FAR
    done = _window(_segment(4, 10), _segment(5, 7))
    assert blocking_state(done, 5, 9) is Blocking.READY  # 5 ended with 7 parts: "or later"
    assert blocking_state(_window(_segment(5, 3, complete=False), ended=True), 9, 0) is (
        Blocking.READY
    )
    assert blocking_state(_window(), 0, 0) is Blocking.WAIT
    assert blocking_state(_window(), 3, 0) is Blocking.TOO_FAR
