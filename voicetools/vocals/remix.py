"""Real songs remixed on the fly: MIR-1K singers over their own or other accompaniments.

Every example is built from recordings, not synthesis: a crop of one clip's vocals over the same
clip's accompaniment (their natural timing), another clip's, or a real recorded ensemble (Bach10's
mixes, for instruments MIR-1K's karaoke tracks lack); each part played slightly faster or slower
(pitch and tempo together), coloured by a random EQ, sometimes put in a room, at a vocal-to-
accompaniment ratio of −10…+5 dB and a random level; sometimes no vocals at all. Targets are the
processed vocals and accompaniment, so they always sum to the mixture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from ..audio.augment import change_speed, random_eq, reverberate, room_impulse_response
from ..data.mir1k import SAMPLE_RATE, load_clip
from ..data.stemfiles import random_level


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-8


def load_extra_accompaniment(files) -> list[np.ndarray]:
    """Mono 16 kHz float32 tracks (e.g. Bach10 mixes) to use as accompaniment."""
    out = []
    for f in files:
        audio, rate = sf.read(str(f), dtype="float32", always_2d=True)
        out.append(soxr.resample(audio.mean(1), rate, SAMPLE_RATE).astype(np.float32))
    return out


class SongRemixes(torch.utils.data.IterableDataset):
    """Endless (mixture (1, T), targets (2, T)) examples; ``synthetic`` (an iterable dataset of the
    same shape) is drawn from with probability ``synthetic_p``."""

    def __init__(
        self,
        clip_files,
        *,
        extra_accompaniment=(),
        synthetic=None,
        synthetic_p: float = 0.2,
        segment_s: float = 3.0,
        seed: int = 0,
    ):
        self.clips = [load_clip(f) for f in clip_files]
        if not self.clips:
            raise FileNotFoundError("no MIR-1K clips given")
        self.accompaniments = [a for _, a in self.clips]
        self.extra = list(extra_accompaniment)
        self.synthetic, self.synthetic_p = synthetic, synthetic_p
        self.segment, self.seed = int(segment_s * SAMPLE_RATE), seed

    def _crop(self, x: np.ndarray, start: int, factor: float) -> np.ndarray:
        need = int(np.ceil(self.segment * factor)) + 1
        part = x[start : start + need]
        out = change_speed(part, factor)[: self.segment]
        return np.pad(out, (0, self.segment - len(out)))

    def _start(self, x: np.ndarray, factor: float, rng) -> int:
        return int(rng.integers(0, max(1, len(x) - int(self.segment * factor))))

    @staticmethod
    def _factor(rng, p: float = 0.4) -> float:
        return float(2 ** (rng.uniform(-2, 2) / 12)) if rng.uniform() < p else 1.0

    def example(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One (mixture (T,), targets (2, T)) float32 pair."""
        vocals_src, own_accomp = self.clips[rng.integers(len(self.clips))]
        factor = self._factor(rng)
        start = self._start(vocals_src, factor, rng)
        vocals = self._crop(vocals_src, start, factor)
        pick = rng.uniform()
        if pick < 0.45:  # the clip's own accompaniment, in time with the singer
            accomp = self._crop(own_accomp, start, factor)
        else:  # another clip's, or a recorded ensemble's
            pool = self.accompaniments if pick < 0.85 or not self.extra else self.extra
            other = pool[rng.integers(len(pool))]
            f = self._factor(rng)
            accomp = self._crop(other, self._start(other, f, rng), f)
        if rng.uniform() < 0.5:
            vocals = random_eq(vocals, SAMPLE_RATE, rng)
        if rng.uniform() < 0.5:
            accomp = random_eq(accomp, SAMPLE_RATE, rng)
        if rng.uniform() < 0.3:
            vocals = reverberate(vocals, room_impulse_response(SAMPLE_RATE, rng))
        if rng.uniform() < 0.2:
            accomp = reverberate(accomp, room_impulse_response(SAMPLE_RATE, rng))
        if rng.uniform() < 0.05:
            vocals = vocals * 0.0
        else:
            vocals = vocals * (_rms(accomp) / _rms(vocals) * 10 ** (rng.uniform(-10, 5) / 20))
        return random_level(np.stack([vocals, accomp]).astype(np.float32), rng, peak=0.9)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        synthetic = iter(self.synthetic) if self.synthetic is not None else None
        while True:
            if synthetic is not None and rng.uniform() < self.synthetic_p:
                yield next(synthetic)
                continue
            mixture, targets = self.example(rng)
            yield torch.from_numpy(mixture[None].astype(np.float32)), torch.from_numpy(targets.astype(np.float32))


def mixed_at(path: str | Path, ratio_db: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A whole MIR-1K clip as the literature scores it: (mixture (T,), targets (2, T)), vocals
    scaled to ``ratio_db`` against the accompaniment's power."""
    vocals, accomp = load_clip(path)
    vocals = vocals * (_rms(accomp) / _rms(vocals) * 10 ** (ratio_db / 20))
    targets = np.stack([vocals, accomp]).astype(np.float32)
    scale = 0.9 / (np.abs(targets.sum(0)).max() + 1e-9)
    return targets.sum(0) * scale, targets * scale
