"""SATB training data: render chorale versions to disk, then mix them on the fly.

``python -m voicetools.data.satb --out data/satb`` renders every train/valid chorale once per
version with both renderers (minutes on two cores). The files are float16 arrays shaped
(renderer, voice, samples); they are generated data and never committed.

Mixing happens at training time (dynamic mixing): each part independently takes one renderer,
a gain in ``GAIN_DB`` and, for most examples, a room shared by all parts with one impulse response
per singer position. The target of each voice is that voice after the room, so the model separates
and does not de-reverberate. The test set is built the same way from the fixed test chorales, with
seeded choices, by ``test_mixtures``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ..audio.augment import reverberate, room_impulse_response
from .chorales import load_chorale, split_names
from .render import RENDERERS, render, version_of
from .stemfiles import StemCrops, random_level, render_splits, save_stems, stem_path

SAMPLE_RATE = 8000
GAIN_DB = (-10.0, 2.0)


def _render_one(args):
    name, index, out_dir, sample_rate = args
    path = stem_path(out_dir, name, index)
    if path.exists():
        return path
    chorale = load_chorale(name)
    version = version_of(chorale, index)
    return save_stems(path, np.stack([render(chorale, version, r, sample_rate=sample_rate) for r in RENDERERS]))


def build(out_dir: Path, splits=("train", "valid"), versions: int = 1, jobs: int = 2,
          sample_rate: int = SAMPLE_RATE) -> list[Path]:
    """Render all chorale versions of the given splits into ``out_dir/<split>/``; resumable."""
    return render_splits(out_dir, splits, _render_one,
                         lambda split, d: [(n, v, d, sample_rate) for v in range(versions) for n in split_names(split)],
                         jobs=jobs)


def mix(stems: np.ndarray, rng: np.random.Generator, *, sample_rate: int, reverb_p: float = 0.7,
        mixed_p: float = 0.7):
    """One mixture from (renderer, voice, samples) stems: returns (mixture (samples,), targets (4, samples)).

    With probability ``mixed_p`` each part draws its own renderer; otherwise one renderer sings all
    four, which is the harder case (no timbre cue) and the one the test set measures.
    """
    n_r = stems.shape[0]
    choice = rng.integers(n_r, size=4) if rng.uniform() < mixed_p else np.full(4, rng.integers(n_r))
    parts = stems[choice, np.arange(4)].astype(np.float32)
    parts *= (10 ** (rng.uniform(*GAIN_DB, size=4) / 20))[:, None].astype(np.float32)
    if rng.uniform() < reverb_p:
        rt60 = rng.uniform(0.2, 1.6)
        parts = np.stack([reverberate(p, room_impulse_response(sample_rate, rng, rt60_s=rt60)) for p in parts])
    return random_level(parts, rng, peak=0.5)


class SATBMixtures(StemCrops):
    """Endless random crops of dynamically mixed chorales from rendered ``.npy`` files."""

    def __init__(self, files, *, segment_s: float = 4.0, sample_rate: int = SAMPLE_RATE, seed: int = 0,
                 mixed_p: float = 0.7):
        super().__init__(files, segment_s=segment_s, sample_rate=sample_rate, seed=seed,
                         missing="no rendered chorales found; run python -m voicetools.data.satb first")
        self.mixed_p = mixed_p

    def crop(self, rng: np.random.Generator) -> np.ndarray:
        """A crop in which every voice sings for at least a quarter of the time (rests are short)."""
        for _ in range(20):
            stems = self.stems[rng.integers(len(self.stems))]
            start = rng.integers(0, max(1, stems.shape[-1] - self.segment))
            crop = np.asarray(stems[..., start : start + self.segment], dtype=np.float32)
            if crop.shape[-1] == self.segment and (np.abs(crop).max(-1) > 1e-3).all():
                active = (np.abs(crop) > 1e-3).mean(-1)
                if active.min() > 0.25:
                    return crop
        return crop

    def __iter__(self):
        rng = self.worker_rng()
        while True:
            mixture, targets = mix(self.crop(rng), rng, sample_rate=self.sample_rate, mixed_p=self.mixed_p)
            yield torch.from_numpy(mixture[None]), torch.from_numpy(targets)


def test_mixtures(split: str = "test", *, sample_rate: int = SAMPLE_RATE, renderers=RENDERERS):
    """Seeded, full-length evaluation mixtures: yields (name, renderer, mixture (samples,), targets (4, samples)).

    Each test chorale (version 0) is rendered by each renderer alone, with per-part gains and a room
    drawn from a generator seeded by the chorale name, so every run scores the same signals.
    """
    for name in split_names(split):
        chorale = load_chorale(name)
        version = version_of(chorale, 0)
        for r in renderers:
            stems = render(chorale, version, r, sample_rate=sample_rate)[None]
            rng = np.random.default_rng([version.seed, RENDERERS.index(r)])
            mixture, targets = mix(stems, rng, sample_rate=sample_rate, reverb_p=0.5)
            yield name, r, mixture, targets


def one_singer_each(name: str, *, seconds: float, sample_rate: int, notes_before_s: float | None = None):
    """(mixture (samples,), parts (4, samples)) of chorale ``name`` (version 0): its first ``seconds``
    sung by one random synthetic singer per part, dry, with the seeded gains of ``test_mixtures``.
    Only notes starting before ``notes_before_s`` (default ``seconds``) are sung."""
    from .chorales import VOICES
    from .render import _normalise, _transposed
    from .singing import Singer, sing

    c = load_chorale(name)
    v = version_of(c, 0)
    rng = np.random.default_rng(v.seed + 2)
    spq = v.seconds_per_quarter
    until = seconds if notes_before_s is None else notes_before_s
    stems = [_normalise(sing([m for m in _transposed(c.parts[voice], v.transpose) if m.start_q * spq < until],
                             voice=voice, sample_rate=sample_rate, length_s=seconds, seconds_per_quarter=spq,
                             rng=rng, singer=Singer.random(voice, rng))) for voice in VOICES]
    return mix(np.stack(stems)[None], np.random.default_rng([v.seed, RENDERERS.index("singing")]),
               sample_rate=sample_rate, reverb_p=0.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Render Bach chorales for SATB separation training.")
    ap.add_argument("--out", type=Path, default=Path("data/satb"))
    ap.add_argument("--splits", nargs="+", default=["train", "valid"])
    ap.add_argument("--versions", type=int, default=1, help="versions (transposition, tempo) per chorale")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    paths = build(args.out, args.splits, args.versions, args.jobs)
    print(f"{len(paths)} chorale versions in {args.out}")


if __name__ == "__main__":
    main()
