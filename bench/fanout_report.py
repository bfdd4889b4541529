"""The fan-out benchmark's results: a step's row, and the table with each mode's cost per
viewer-second against the fast path with the native send loop (bench/fanout.py runs the
steps)."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from typing import Any

import psutil
from _common import Column, Table, percentile, utc_stamp


@dataclass
class Row:
    mode: str
    viewers: int
    cpu_pct: float
    ms_per_viewer_s: float | None
    video_pct: float
    audio_pct: float
    sent_video: int
    extra: dict[str, Any] = field(default_factory=dict)


def fmt_row(row: Row) -> str:
    """One step in a line, for the progress output."""
    per = "-" if row.ms_per_viewer_s is None else f"{row.ms_per_viewer_s:.2f}"
    return (
        f"cpu {row.cpu_pct:5.1f}% of a core, {per} ms/viewer-s, "
        f"video min {row.video_pct:.1f}%, audio min {row.audio_pct:.1f}%"
    )


def _costs(rows: list[Row], mode: str, *, clean: bool = True) -> list[float]:
    """A mode's per-viewer costs. ``clean``: only positive ones from steps with 10+
    viewers (the 1-viewer step is mostly noise around the ingest baseline)."""
    return [
        r.ms_per_viewer_s
        for r in rows
        if r.mode == mode
        and r.ms_per_viewer_s
        and (not clean or (r.ms_per_viewer_s > 0 and r.viewers >= 10))
    ]


def table(rows: list[Row], publisher: str) -> str:
    """The results table and the per-viewer cost of each mode against the fast path;
    `publisher` describes the stream ("VP8 1280x720 30 fps ~1500 kbit/s")."""
    out = Table(
        "mode",
        "viewers",
        Column("server CPU (% of a core)", ".1f"),
        "CPU ms per viewer-second",
        "of which the fan-out send loop",
        "viewers per core",
        "frames served by the server",
        "video frames received (worst viewer / mean)",
        "audio (worst)",
        "server queue overflows",
        Column("server RSS MB", ".0f"),
    )
    for r in rows:
        per = r.ms_per_viewer_s
        label = "ingest only" if r.viewers == 0 else str(r.viewers)
        mean = r.extra.get("mean_video_pct")
        send = r.extra.get("send_ms_per_viewer_s")
        served = r.extra.get("served_fraction")
        out.add(
            r.mode,
            label + (f" ({r.extra['note']})" if r.extra.get("note") else ""),
            r.cpu_pct,
            "-" if per is None else f"{per:.2f}",
            "-" if send is None else f"{send:.2f}",
            "-" if per is None or per <= 0 else f"{1000 / per:.0f}",
            "-" if served is None else f"{100 * served:.0f} %",
            f"{r.video_pct:.1f} %" + ("" if mean is None else f" / {mean:.1f} %"),
            f"{r.audio_pct:.1f} %",
            str(r.extra.get("server_queue_overflows", "-")) if r.mode != "relay" else "n/a",
            r.extra.get("rss_mb", 0),
        )
    lines = [
        f"LiveShop fan-out benchmark, {utc_stamp()}, "
        f"{platform.machine()} {psutil.cpu_count()} cores "
        f"({platform.processor() or platform.platform()}), Python {platform.python_version()}",
        f"publisher: {publisher} + Opus 20 ms;"
        " viewers on loopback count RTP frames without decoding",
        "",
        out.markdown(),
    ]
    # per-viewer cost of each mode: the median over its steps
    fwd = _costs(rows, "forward")
    py = _costs(rows, "forward-python")
    slow = _costs(rows, "forward-aiortc")
    rel = _costs(rows, "relay", clean=False)
    if fwd:
        f_cost = percentile(fwd, 0.5)
        lines.append("")
        lines.append(
            f"forwarding (fast path): {f_cost:.2f} ms per viewer-second = "
            f"{1000 / f_cost:.0f} viewers per core (median of {len(fwd)} steps with 10+ viewers)"
        )
        if py:
            p_cost = percentile(py, 0.5)
            by_n = {r.viewers: r.ms_per_viewer_s for r in rows if r.mode == "forward"}
            steps = [
                f"{r.viewers}: {r.ms_per_viewer_s / by_n[r.viewers]:.2f}x"
                for r in rows
                if r.mode == "forward-python"
                and r.ms_per_viewer_s
                and by_n.get(r.viewers)
                and (by_n[r.viewers] or 0) > 0
            ]
            lines.append(
                f"fast path with the Python send loop: {p_cost:.2f} ms per viewer-second;"
                f" the native loop is {p_cost / f_cost:.2f}x cheaper"
                + (f" (Python/native per viewer count: {', '.join(steps)})" if steps else "")
            )
        if slow:
            s_cost = percentile(slow, 0.5)
            lines.append(
                f"forwarding through aiortc's own sender: {s_cost:.2f} ms per viewer-second;"
                f" fast path is {s_cost / f_cost:.1f}x cheaper"
            )
        if rel:
            r_cost = percentile(rel, 0.5)
            lines.append(
                f"MediaRelay re-encode: {r_cost:.1f} ms per viewer-second;"
                f" ratio re-encode/forward = {r_cost / f_cost:.0f}x"
            )
    return "\n".join(lines)
