"""MIR-1K (Hsu & Jang 2010): real amateur singing recorded apart from its karaoke accompaniment.

Each clip ``audio/<singer>_<song>_<clip>.(wav|ogg)`` is stereo at 16 kHz, the accompaniment on
the LEFT channel and the vocals on the RIGHT. Splits are by singer, so a validation score is on
voices the model never heard; ``VALID_SINGERS`` (one low and two high voices, by their median
sung pitch) are fixed so every run and the benchmark score the same clips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000
VALID_SINGERS = ("abjones", "annar", "khair")
DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "mir1k-dev"


def singer_of(path: str | Path) -> str:
    return Path(path).stem.split("_")[0]


def clips(root: str | Path = DEFAULT_ROOT, *, split: str = "all") -> list[Path]:
    """Clip files of ``split``: ``train`` (all but the validation singers), ``valid`` or ``all``."""
    folder = Path(root) / "audio"
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".wav", ".ogg", ".flac"))
    if split == "all":
        return files
    if split not in ("train", "valid"):
        raise ValueError(f"unknown split {split!r}")
    return [f for f in files if (singer_of(f) in VALID_SINGERS) == (split == "valid")]


def load_clip(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(vocals, accompaniment) float32 mono at 16 kHz."""
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE or audio.shape[1] != 2:
        raise ValueError(f"{path}: expected a 16 kHz stereo MIR-1K clip, got {rate} Hz x {audio.shape[1]}")
    return np.ascontiguousarray(audio[:, 1]), np.ascontiguousarray(audio[:, 0])
