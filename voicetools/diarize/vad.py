"""Voice activity detection behind one small interface: ``vad(audio_16k) -> [(start_s, end_s), ...]``.

Diarization calls it on consecutive blocks of a recording (``detect_speech``), never on the whole
of a long file at once.

The default is Silero VAD, whose model ships inside the ``silero-vad`` wheel (no download). Any
callable with the same signature can be passed to ``diarize(vad=...)`` instead, e.g. a wrapper
around a pyannote segmentation model a user has on disk.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch

from ..errors import MissingDependencyError, ParameterError

SAMPLE_RATE = 16000


class VAD(Protocol):
    def __call__(self, audio: np.ndarray) -> list[tuple[float, float]]: ...


@functools.lru_cache(maxsize=1)
def _silero_model():
    try:
        from silero_vad import load_silero_vad
    except ImportError:
        raise MissingDependencyError("speech detection needs silero-vad: pip install silero-vad") from None
    return load_silero_vad()


class SileroVAD:
    """Silero VAD (MIT) on 16 kHz mono audio; thresholds as in its own ``get_speech_timestamps``."""

    # 0.35, not Silero's 0.5: chosen on the far-field validation meetings (voicetools.data.meetings),
    # where 0.5 missed a third of the speech of quiet, distant talkers
    def __init__(
        self, threshold: float = 0.35, min_speech_s: float = 0.25, min_silence_s: float = 0.25, pad_s: float = 0.05
    ):
        self.threshold, self.min_speech_s, self.min_silence_s, self.pad_s = (
            threshold,
            min_speech_s,
            min_silence_s,
            pad_s,
        )

    def __call__(self, audio: np.ndarray) -> list[tuple[float, float]]:
        from silero_vad import get_speech_timestamps

        stamps = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
            _silero_model(),
            threshold=self.threshold,
            sampling_rate=SAMPLE_RATE,
            min_speech_duration_ms=int(self.min_speech_s * 1000),
            min_silence_duration_ms=int(self.min_silence_s * 1000),
            speech_pad_ms=int(self.pad_s * 1000),
        )
        return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def energy_vad(
    audio: np.ndarray, *, frame_s: float = 0.03, threshold_db: float = -35.0, floor_db: float = -60.0
) -> list[tuple[float, float]]:
    """A dependency-free fallback: frames within ``threshold_db`` of the loudest frame are speech
    (never frames below ``floor_db`` dBFS, so a block of near-silence stays silence)."""
    n = int(frame_s * SAMPLE_RATE)
    frames = audio[: len(audio) // n * n].reshape(-1, n)
    if not len(frames):
        return []
    db = 10 * np.log10((frames**2).mean(1) + 1e-12)
    active = (db > db.max() + threshold_db) & (db > floor_db)
    return frames_to_regions(active, frame_s)


def frames_to_regions(active: np.ndarray, frame_s: float) -> list[tuple[float, float]]:
    """Runs of True in a boolean frame array → [(start_s, end_s)]."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    return [(a * frame_s, b * frame_s) for a, b in zip(edges[::2], edges[1::2])]


def detect_speech(vad: Callable, blocks, sample_rate: int = SAMPLE_RATE, *, join_s: float = 0.1):
    """Speech regions of a long recording given as consecutive blocks: ``vad`` runs on each block,
    and a region a block edge cut in two (a gap under ``join_s``) is joined again."""
    regions: list[tuple[float, float]] = []
    offset = 0.0
    for block in blocks:
        for a, b in vad(block):
            a, b = a + offset, b + offset
            if regions and a - regions[-1][1] < join_s:
                regions[-1] = (regions[-1][0], max(regions[-1][1], b))
            else:
                regions.append((a, b))
        offset += len(block) / sample_rate
    return regions


def get_vad(vad: str | Callable | None) -> Callable:
    if vad is None or vad == "silero":
        return SileroVAD()
    if vad == "energy":
        return energy_vad
    if callable(vad):
        return vad
    raise ParameterError(f"vad must be 'silero', 'energy' or a callable, got {vad!r}")
