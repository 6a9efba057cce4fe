"""SATB choir separation: a mixture in, soprano / alto / tenor / bass out.

The model (ConvTasNet at 8 kHz, mono) runs over fixed chunks with overlap-add in a stream, so
memory stays flat for any input length. Input at any sample rate and channel count is downmixed
to mono (with a warning) and resampled once on the way in; stems come out at the input's rate.
The code is in ``separate.py``; ``cli.py`` is the ``voicetools separate`` verb.
"""

from ..files import STEM_FORMATS as FORMATS
from .separate import (
    DEFAULT_MODEL,
    OVERLAP_S,
    SEGMENT_S,
    Callback,
    SeparationResult,
    refine,
    refinement,
    separate,
    separate_file,
)

__all__ = [
    "separate",
    "separate_file",
    "SeparationResult",
    "refine",
    "refinement",
    "DEFAULT_MODEL",
    "SEGMENT_S",
    "OVERLAP_S",
    "FORMATS",
    "Callback",
]
