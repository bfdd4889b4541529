"""LL-HLS packaging: a live show's frames as CMAF fMP4 init segment, parts and segments."""

from recordings.llhls.models import InitSegment, PackagerConfig, PackagerSink, Part, SegmentEnd
from recordings.llhls.packager import LivePackager

__all__ = ["InitSegment", "LivePackager", "PackagerConfig", "PackagerSink", "Part", "SegmentEnd"]
