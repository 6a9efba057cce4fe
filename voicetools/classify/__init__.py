"""Audio classification — sound events, emotion in speech, music genre — with any trained run or
shipped checkpoint.

The model sees ``clip_s``-second windows (its training length). A shorter input is zero-padded at
the end, as in training; a longer one is cut into windows with 50 % overlap whose probabilities are
averaged for the whole-file answer, and — with ``segments=True`` — reported one by one.
"""

from .classify import DEFAULT_MODELS, TASKS, ClassificationResult, SegmentLabel, classify, resolve_model
from .emotion import emotion_token, format_tagged, tag_transcript

__all__ = [
    "classify",
    "ClassificationResult",
    "SegmentLabel",
    "resolve_model",
    "emotion_token",
    "tag_transcript",
    "format_tagged",
    "TASKS",
    "DEFAULT_MODELS",
]
