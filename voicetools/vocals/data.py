"""Vocal / accompaniment training data: sung chorales over band arrangements, mixed on the fly.

``python -m voicetools.vocals.data --out data/vocals`` renders chorale versions once: the
four parts sung by our singing synthesizer and a band accompaniment (piano, guitar, bass,
strings, drums) rendered by FluidSynth from the same version's harmony. Files are float16 arrays
shaped (9, samples): 4 sung parts then 5 instruments. Generated data, never committed.

Mixing (``mix``) decides everything else, seeded: a lead voice or a 2–4 part choir, which
instruments play, per-stem gains, the vocal-to-accompaniment ratio, a room for the singers and
another for the band, and sometimes vocals of one chorale over the band of another. Targets are
the wet (reverberant) vocals and accompaniment, so the two targets always sum to the mixture.
The held-out set (``test_mixtures``) uses the fixed test chorales, never seen in training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ..audio.augment import reverberate, room_impulse_response
from ..data.arrangement import INSTRUMENTS, render_arrangement
from ..data.chorales import VOICES, Chorale, Note, load_chorale, split_names
from ..data.render import render_singing, version_of
from ..data.stemfiles import StemCrops, random_level, render_splits, save_stems, stem_path

SAMPLE_RATE = 16000
SOURCES = ("vocals", "accompaniment")
N_VOICES = len(VOICES)
MAX_QUARTERS = 32.0  # render the first 8 bars of each chorale (~15-30 s): rendering time is the budget


def _excerpt(chorale: Chorale, max_q: float) -> Chorale:
    parts = {
        v: [Note(n.start_q, min(n.dur_q, max_q - n.start_q), n.pitch, n.lyric) for n in notes if n.start_q < max_q]
        for v, notes in chorale.parts.items()
    }
    return Chorale(chorale.name, parts, min(chorale.length_q, max_q))


def _render_one(args):
    name, index, out_dir, sample_rate = args
    path = stem_path(out_dir, name, index)
    if path.exists():
        return path
    chorale = load_chorale(name)
    version = version_of(chorale, index)  # of the whole chorale: its transposition fits every part
    chorale = _excerpt(chorale, MAX_QUARTERS)
    voices = render_singing(chorale, version, sample_rate=sample_rate)
    band = render_arrangement(chorale, version, sample_rate=sample_rate)
    n = min(voices.shape[-1], band.shape[-1])
    return save_stems(path, np.concatenate([voices[:, :n], band[:, :n]]))


def build(
    out_dir: Path,
    splits=("train", "valid", "test"),
    *,
    limit: int | None = None,
    versions: int = 1,
    jobs: int = 1,
    sample_rate: int = SAMPLE_RATE,
) -> list[Path]:
    """Render chorale versions of the given splits into ``out_dir/<split>/``; resumable.

    ``limit`` caps the number of chorales per split (the first ones of the fixed list).
    """
    return render_splits(
        out_dir,
        splits,
        _render_one,
        lambda split, d: [
            (n, v, d, sample_rate)
            for v in range(versions if split == "train" else 1)
            for n in split_names(split)[:limit]
        ],
        jobs=jobs,
    )


def mix(
    stems: np.ndarray,
    rng: np.random.Generator,
    *,
    sample_rate: int = SAMPLE_RATE,
    band: np.ndarray | None = None,
    reverb_p: float = 0.6,
    silent_p: float = 0.05,
):
    """One example from (9, samples) stems: returns (mixture (samples,), targets (2, samples)).

    ``band`` (5, samples) replaces the stems' own accompaniment (vocals over another song's band);
    with probability ``silent_p`` the example has no vocals at all (an instrumental passage).
    """
    voices = stems[:N_VOICES].astype(np.float32)
    band = (stems[N_VOICES:] if band is None else band).astype(np.float32)
    if rng.uniform() < 0.5:  # a lead singer: mostly the melody
        chosen = [0] if rng.uniform() < 0.75 else [int(rng.integers(1, N_VOICES))]
    else:  # a choir of 2–4 parts
        chosen = sorted(rng.choice(N_VOICES, size=int(rng.integers(2, N_VOICES + 1)), replace=False))
    gains = 10 ** (rng.uniform(-6, 0, size=len(chosen)) / 20)
    vocals = (voices[chosen] * gains[:, None]).sum(0)
    playing = rng.uniform(size=len(INSTRUMENTS)) < np.array([0.8, 0.5, 0.8, 0.5, 0.6])
    if not playing.any():
        playing[rng.integers(len(INSTRUMENTS))] = True
    band_gains = 10 ** (rng.uniform(-10, 0, size=len(INSTRUMENTS)) / 20) * playing
    accomp = (band * band_gains[:, None].astype(np.float32)).sum(0)
    if rng.uniform() < reverb_p:
        vocals = reverberate(vocals, room_impulse_response(sample_rate, rng))
    if rng.uniform() < reverb_p:
        accomp = reverberate(accomp, room_impulse_response(sample_rate, rng))
    # vocal-to-accompaniment ratio in dB (on active-signal RMS); sometimes no vocals at all
    ratio_db = rng.uniform(-8, 4)
    rms = lambda x: float(np.sqrt(np.mean(x**2))) + 1e-8  # noqa: E731
    vocals = vocals * (rms(accomp) / rms(vocals) * 10 ** (ratio_db / 20)) if rng.uniform() >= silent_p else vocals * 0
    return random_level(np.stack([vocals, accomp]).astype(np.float32), rng, peak=0.9)


class VocalMixtures(StemCrops):
    """Endless random crops of dynamically mixed songs from rendered ``.npy`` files."""

    def __init__(
        self, files, *, segment_s: float = 4.0, sample_rate: int = SAMPLE_RATE, seed: int = 0, swap_p: float = 0.25
    ):
        super().__init__(
            files,
            segment_s=segment_s,
            sample_rate=sample_rate,
            seed=seed,
            missing="no rendered songs found; run python -m voicetools.vocals.data first",
        )
        self.swap_p = swap_p

    def _crop(self, rng):
        stems = self.stems[rng.integers(len(self.stems))]
        start = rng.integers(0, max(1, stems.shape[-1] - self.segment))
        crop = np.asarray(stems[:, start : start + self.segment], dtype=np.float32)
        return np.pad(crop, [(0, 0), (0, self.segment - crop.shape[-1])])

    def __iter__(self):
        rng = self.worker_rng()
        while True:
            stems = self._crop(rng)
            band = self._crop(rng)[N_VOICES:] if rng.uniform() < self.swap_p else None
            mixture, targets = mix(stems, rng, sample_rate=self.sample_rate, band=band)
            yield torch.from_numpy(mixture[None]), torch.from_numpy(targets)


def fixed_mixtures(files, *, segment_s: float | None = None, sample_rate: int = SAMPLE_RATE):
    """Seeded evaluation mixtures, one per file: yields (name, mixture (samples,), targets (2, samples)).

    With ``segment_s`` each is an excerpt from the middle of the song; the seed is the file's index
    in the sorted list, so every run scores the same signals. Every one has vocals (SDR of a silent
    reference is undefined).
    """
    for i, f in enumerate(sorted(files)):
        stems = np.load(f).astype(np.float32)
        if segment_s:
            seg = int(segment_s * sample_rate)
            start = max(0, stems.shape[-1] // 2 - seg // 2)
            stems = stems[:, start : start + seg]
        mixture, targets = mix(stems, np.random.default_rng([1234, i]), sample_rate=sample_rate, silent_p=0.0)
        yield Path(f).stem, mixture, targets


def main(argv=None):
    ap = argparse.ArgumentParser(description="Render sung chorales and band arrangements for vocal extraction.")
    ap.add_argument("--out", type=Path, default=Path("data/vocals"))
    ap.add_argument("--splits", nargs="+", default=["train", "valid", "test"])
    ap.add_argument("--limit", type=int, default=None, help="at most this many chorales per split")
    ap.add_argument("--versions", type=int, default=1, help="versions (transposition, tempo) per train chorale")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    paths = build(args.out, args.splits, limit=args.limit, versions=args.versions, jobs=args.jobs)
    print(f"{len(paths)} songs in {args.out}")


if __name__ == "__main__":
    main()
