"""Bach10's real recordings: four chorales played by violin, clarinet, saxophone and bassoon (S, A, T, B).

Each part was recorded on its own, so a piece gives a real mixture with its true parts. The project
validates and chooses on these pieces and never trains the separator on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "bach10-dev"
PARTS = ("violin", "clarinet", "saxphone", "bassoon")  # S, A, T, B, spelt as Bach10's file names


def piece_folders(root: str | Path = DEFAULT_ROOT) -> list[Path]:
    return sorted(p for p in Path(root).glob("[0-9][0-9]-*") if p.is_dir())


def pieces(root: str | Path = DEFAULT_ROOT, sample_rate: int = 8000):
    """Yield (piece name, mixture (samples,), parts (4, samples)) at ``sample_rate``; the mixture is the parts' sum."""
    for folder in piece_folders(root):
        parts = []
        for inst in PARTS:
            x, rate = sf.read(str(folder / f"{folder.name}-{inst}.flac"), dtype="float32", always_2d=True)
            parts.append(soxr.resample(x.mean(1), rate, sample_rate))
        n = min(len(x) for x in parts)
        parts = np.stack([x[:n] for x in parts]).astype(np.float32)
        yield folder.name, parts.sum(0), parts
