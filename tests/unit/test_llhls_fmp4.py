"""The fMP4 box reader and the codec facts of the LL-HLS packager, on hand-built bytes."""

from __future__ import annotations

import struct

import pytest

from recordings.llhls import codecs, fmp4


def box(kind: str, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode()) + payload


def full(kind: str, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def init_segment() -> bytes:
    def trak(track_id: int, timescale: int, handler: bytes) -> bytes:
        tkhd = full("tkhd", 0, 3, struct.pack(">III", 0, 0, track_id) + bytes(68))
        mdhd = full("mdhd", 0, 0, struct.pack(">IIII", 0, 0, timescale, 0) + bytes(4))
        hdlr = full("hdlr", 0, 0, bytes(4) + handler + bytes(12) + b"x\x00")
        return box("trak", tkhd + box("mdia", mdhd + hdlr))

    trex = full("trex", 0, 0, struct.pack(">IIIII", 2, 1, 960, 0, 0))
    moov = box("moov", trak(1, 90000, b"vide") + trak(2, 48000, b"soun") + box("mvex", trex))
    return box("ftyp", b"iso6" + bytes(4)) + moov


def moof(sequence: int, trafs: list[bytes]) -> bytes:
    return box("moof", full("mfhd", 0, 0, struct.pack(">I", sequence)) + b"".join(trafs))


def video_traf(decode_time: int) -> bytes:
    tfhd = full("tfhd", 0, 0x020000, struct.pack(">I", 1))
    tfdt = full("tfdt", 1, 0, struct.pack(">Q", decode_time))
    # data offset, per-sample duration + size + flags: a sync sample, then two others
    samples = [(3000, 900, 0x02000000), (3000, 100, 0x01010000), (3003, 120, 0x01010000)]
    body = struct.pack(">Ii", len(samples), 0) + b"".join(
        struct.pack(">III", d, size, f) for d, size, f in samples
    )
    return box("traf", tfhd + tfdt + full("trun", 0, 0x701, body))


def audio_traf(decode_time: int, count: int) -> bytes:
    # durations from trex (no tfhd default), sizes per sample, version-0 tfdt
    tfhd = full("tfhd", 0, 0x020000, struct.pack(">I", 2))
    tfdt = full("tfdt", 0, 0, struct.pack(">I", decode_time))
    body = struct.pack(">Ii", count, 0) + struct.pack(">I", 200) * count
    return box("traf", tfhd + tfdt + full("trun", 0, 0x201, body))


def test_tracks_of_an_init_segment() -> None:
    tracks = fmp4.tracks(init_segment())
    assert tracks[1] == fmp4.Track(1, 90000, "vide", 0, 0)
    assert tracks[2] == fmp4.Track(2, 48000, "soun", 960, 0)


def test_fragments_read_decode_times_durations_and_sync_flags() -> None:
    tracks = fmp4.tracks(init_segment())
    data = moof(7, [video_traf(180000), audio_traf(96000, 3)]) + box("mdat", bytes(10))
    (fragment,) = fmp4.fragments(data, tracks)
    assert fragment.sequence == 7
    video, audio = fragment.runs
    assert (video.track_id, video.decode_time, video.durations) == (1, 180000, (3000, 3000, 3003))
    assert video.sync == (True, False, False)
    assert video.end_time == 189003
    assert (audio.track_id, audio.decode_time, audio.durations) == (2, 96000, (960, 960, 960))
    assert audio.sync == (True, True, True)


def test_tfhd_defaults_and_first_sample_flags() -> None:
    tfhd = full("tfhd", 0, 0x020028, struct.pack(">III", 1, 1500, 0x01010000))
    trun = full("trun", 0, 0x005, struct.pack(">IiI", 4, 0, 0x02000000))
    data = moof(1, [box("traf", tfhd + trun)])
    (run,) = fmp4.fragments(data)[0].runs
    assert run.durations == (1500,) * 4
    assert run.sync == (True, False, False, False)
    assert run.decode_time == 0  # no tfdt


def test_renumber_rewrites_every_moof() -> None:
    data = moof(1, [audio_traf(0, 1)]) + box("mdat", b"a") + moof(1, [audio_traf(960, 1)])
    renumbered, following = fmp4.renumber(data, 41)
    assert [f.sequence for f in fmp4.fragments(renumbered)] == [41, 42]
    assert following == 43
    assert len(renumbered) == len(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x10moof\x00\x00",  # claims more than there is
        b"\x00\x00\x00\x04free",  # smaller than its own header
        b"\x00\x00\x00",  # stray bytes
    ],
)
def test_malformed_boxes_are_refused(data: bytes) -> None:
    with pytest.raises(fmp4.BoxError):
        fmp4.boxes(data)


def test_a_trun_longer_than_its_box_is_refused() -> None:
    trun = full("trun", 0, 0x100, struct.pack(">I", 5) + struct.pack(">I", 1))
    tfhd = full("tfhd", 0, 0, struct.pack(">I", 1))
    with pytest.raises(fmp4.BoxError):
        fmp4.fragments(moof(1, [box("traf", tfhd + trun)]))


def test_largesize_and_to_the_end_boxes() -> None:
    large = struct.pack(">I4sQ", 1, b"mdat", 20) + b"abcd"
    assert [(b.type, b.end, b.payload) for b in fmp4.boxes(large)] == [("mdat", 20, 16)]
    assert fmp4.boxes(struct.pack(">I4s", 0, b"mdat") + b"xyz")[0].end == 11


def test_nal_units_and_the_avc_codec_name() -> None:
    sps = bytes([0x67, 0x42, 0xC0, 0x1F, 0xAB])
    pps = bytes([0x68, 0xCE, 0x3C, 0x80])
    idr = bytes([0x65, 0x88, 0x84, 0x00, 0x21])  # ends in a zero byte of its own
    au = b"\x00\x00\x00\x01" + sps + b"\x00\x00\x01" + pps + b"\x00\x00\x00\x01" + idr
    assert codecs.nal_units(au) == [sps, pps, idr]
    assert codecs.starts_with_start_code(au) and not codecs.starts_with_start_code(sps)
    assert codecs.has_idr(au) and not codecs.has_idr(au[: au.rfind(b"\x00\x00\x00\x01")])
    extradata = codecs.parameter_sets(au)
    assert extradata == b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps
    assert codecs.avc_codec(extradata) == "avc1.42c01f"
    assert codecs.parameter_sets(b"\x00\x00\x01" + idr) is None


@pytest.mark.parametrize(
    ("packet", "samples"),
    [
        (bytes([0xFC, 1, 2]), 960),  # CELT FB 20 ms, one frame (what browsers send)
        (bytes([0x78]), 960),  # SILK WB 20 ms
        (bytes([0x19]), 2880 * 2),  # SILK NB 60 ms, two frames
        (bytes([0x93, 0x03]), 480 * 3),  # CELT 10 ms, code 3 with three frames
        (bytes([0x93]), 0),  # code 3 without its count byte
        (bytes([0x1B, 0x02]), 5760),  # 2 x 60 ms = 120 ms, the most a packet may hold
        (bytes([0x1B, 0x03]), 0),  # code 3, 3 x 60 ms: longer than 120 ms
        (b"", 0),
    ],
)
def test_opus_durations_from_the_toc(packet: bytes, samples: int) -> None:
    assert codecs.opus_samples(packet) == samples


def test_opus_head() -> None:
    head = codecs.opus_head()
    assert head.startswith(b"OpusHead") and len(head) == 19
    assert struct.unpack("<BBHIhB", head[8:]) == (1, 2, 312, 48000, 0, 0)
