"""SATB training data: render chorale versions to disk, then mix them on the fly.

``python -m voicetools.data.satb --out data/satb`` renders every train/valid chorale once per
version with every renderer of ``STEM_RENDERERS`` (FluidSynth voices, the singing synth, the GM
ensemble). The files are float16 arrays shaped (renderer, voice, samples); they are generated data
and never committed. Files rendered before a renderer was added get it appended on the next run.

Mixing happens at training time (dynamic mixing): each part independently takes one renderer and
a gain, and the parts are recorded (``mix(recording=True)``): each at its own place in an
image-source room, one microphone's colour, a noise floor. The target of each voice is that voice
after its path through the room and the microphone, so the model separates and does not
de-reverberate. The test set is built from the fixed test chorales with the plainer mixing it has
always had (one renderer, gains in ``GAIN_DB``, synthetic rooms), seeded, by ``test_mixtures``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ..audio.augment import random_eq, reverberate, room_impulse_response
from .chorales import VOICES, load_chorale, split_names
from .render import RENDERERS, STEM_RENDERERS, normalise, render, transposed, version_of
from .rooms import RoomPool, coloured_noise, random_room
from .singing import Singer, sing
from .stemfiles import StemCrops, random_level, render_splits, save_stems, stem_path

SAMPLE_RATE = 8000
GAIN_DB = (-10.0, 2.0)
# Recorded mixtures: real ensembles balance their parts more unevenly than -10..+2 dB (Bach10's
# bassoon against its violin), one microphone colours all parts alike, and there is a noise floor
RECORDING_GAIN_DB = (-12.0, 3.0)
MIC_EQ_P = 0.8
NOISE_P = 0.8
NOISE_DB = (-60.0, -35.0)  # re the mixture's power


def _render_one(args):
    name, index, out_dir, sample_rate = args
    path = stem_path(out_dir, name, index)
    old = np.load(path, mmap_mode="r") if path.exists() else None
    have = 0 if old is None else len(old)
    if have >= len(STEM_RENDERERS):
        return path
    chorale = load_chorale(name)
    version = version_of(chorale, index)
    # a file from before a renderer was added keeps its stems and gets only the new renderers
    new = np.stack([render(chorale, version, r, sample_rate=sample_rate) for r in STEM_RENDERERS[have:]])
    return save_stems(path, new if old is None else np.concatenate([np.asarray(old), new]))


def build(
    out_dir: Path,
    splits=("train", "valid"),
    versions: int = 1,
    jobs: int = 2,
    sample_rate: int = SAMPLE_RATE,
    limit: int | None = None,
) -> list[Path]:
    """Render all chorale versions (the first ``limit`` chorales) of the given splits into
    ``out_dir/<split>/``; resumable."""
    return render_splits(
        out_dir,
        splits,
        _render_one,
        lambda split, d: [(n, v, d, sample_rate) for v in range(versions) for n in split_names(split)[:limit]],
        jobs=jobs,
    )


def mix(
    stems: np.ndarray,
    rng: np.random.Generator,
    *,
    sample_rate: int,
    reverb_p: float = 0.7,
    mixed_p: float = 0.7,
    recording: bool = False,
    rooms: RoomPool | None = None,
):
    """One mixture from (renderer, voice, samples) stems: returns (mixture (samples,), targets (4, samples)).

    With probability ``mixed_p`` each part draws its own renderer; otherwise one renderer sings all
    four, which is the harder case (no timbre cue) and the one the test set measures.
    ``recording=True`` mixes as ``record`` does (the training data; ``rooms`` reuses rooms); without
    it, the mixing the evaluation sets were built with, draw for draw.
    """
    n_r = stems.shape[0]
    choice = rng.integers(n_r, size=4) if rng.uniform() < mixed_p else np.full(4, rng.integers(n_r))
    parts = stems[choice, np.arange(4)].astype(np.float32)
    if recording:
        return record(parts, rng, sample_rate=sample_rate, reverb_p=reverb_p, rooms=rooms)
    parts *= (10 ** (rng.uniform(*GAIN_DB, size=4) / 20))[:, None].astype(np.float32)
    if rng.uniform() < reverb_p:
        rt60 = rng.uniform(0.2, 1.6)
        parts = np.stack([reverberate(p, room_impulse_response(sample_rate, rng, rt60_s=rt60)) for p in parts])
    return random_level(parts, rng, peak=0.5)


def record(
    parts: np.ndarray,
    rng: np.random.Generator,
    *,
    sample_rate: int,
    reverb_p: float = 0.7,
    rooms: RoomPool | None = None,
):
    """Parts (4, samples) as one microphone in a room hears them: returns (mixture, targets (4, samples)).

    A balance in ``RECORDING_GAIN_DB``; with probability ``reverb_p`` each part at its own place in
    a random room (``rooms.draw`` or a new ``random_room``); a microphone's colour (``random_eq``);
    a pink or brown noise floor ``NOISE_DB`` below the mixture. Targets are the parts after all of
    it, so they sum to the mixture.
    """
    parts = parts * (10 ** (rng.uniform(*RECORDING_GAIN_DB, size=len(parts)) / 20))[:, None].astype(np.float32)
    if rng.uniform() < reverb_p:
        n = len(parts)
        rirs = rooms.draw(n, sample_rate, rng) if rooms is not None else random_room(n, sample_rate, rng).rirs
        parts = np.stack([reverberate(p, h) for p, h in zip(parts, rirs)])
    if rng.uniform() < MIC_EQ_P:
        parts = random_eq(parts, sample_rate, rng)  # one curve for all parts: one microphone
    if rng.uniform() < NOISE_P:
        noise = coloured_noise(parts.shape[-1], rng, exponent=float(rng.choice([1.0, 2.0])))
        level = np.sqrt(np.mean(parts.sum(0) ** 2)) * 10 ** (rng.uniform(*NOISE_DB) / 20)
        # an equal share of the noise in each target keeps the targets summing to the mixture; at
        # -35 dB or less it costs a target far less than the separation's own error does
        parts = parts + (noise * (level / len(parts)))[None]
    return random_level(parts.astype(np.float32), rng, peak=0.5)


class SATBMixtures(StemCrops):
    """Endless random crops of dynamically mixed chorales from rendered ``.npy`` files."""

    def __init__(
        self,
        files,
        *,
        segment_s: float = 4.0,
        sample_rate: int = SAMPLE_RATE,
        seed: int = 0,
        mixed_p: float = 0.7,
        recording: bool = True,
    ):
        super().__init__(
            files,
            segment_s=segment_s,
            sample_rate=sample_rate,
            seed=seed,
            missing="no rendered chorales found; run python -m voicetools.data.satb first",
        )
        self.mixed_p, self.recording = mixed_p, recording
        self.rooms = RoomPool()  # copied into each data-loader worker: rooms per worker

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
            mixture, targets = mix(
                self.crop(rng),
                rng,
                sample_rate=self.sample_rate,
                mixed_p=self.mixed_p,
                recording=self.recording,
                rooms=self.rooms,
            )
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
            rng = np.random.default_rng([version.seed, STEM_RENDERERS.index(r)])
            mixture, targets = mix(stems, rng, sample_rate=sample_rate, reverb_p=0.5)
            yield name, r, mixture, targets


def one_singer_each(name: str, *, seconds: float, sample_rate: int, notes_before_s: float | None = None):
    """(mixture (samples,), parts (4, samples)) of chorale ``name`` (version 0): its first ``seconds``
    sung by one random synthetic singer per part, dry, with the seeded gains of ``test_mixtures``.
    Only notes starting before ``notes_before_s`` (default ``seconds``) are sung."""
    c = load_chorale(name)
    v = version_of(c, 0)
    rng = np.random.default_rng(v.seed + 2)
    spq = v.seconds_per_quarter
    until = seconds if notes_before_s is None else notes_before_s
    stems = [
        normalise(
            sing(
                [m for m in transposed(c.parts[voice], v.transpose) if m.start_q * spq < until],
                voice=voice,
                sample_rate=sample_rate,
                length_s=seconds,
                seconds_per_quarter=spq,
                rng=rng,
                singer=Singer.random(voice, rng),
            )
        )
        for voice in VOICES
    ]
    return mix(
        np.stack(stems)[None],
        np.random.default_rng([v.seed, RENDERERS.index("singing")]),
        sample_rate=sample_rate,
        reverb_p=0.0,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description="Render Bach chorales for SATB separation training.")
    ap.add_argument("--out", type=Path, default=Path("data/satb"))
    ap.add_argument("--splits", nargs="+", default=["train", "valid"])
    ap.add_argument("--versions", type=int, default=1, help="versions (transposition, tempo) per chorale")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="only the first N chorales of each split (a smoke test)")
    args = ap.parse_args(argv)
    paths = build(args.out, args.splits, args.versions, args.jobs, limit=args.limit)
    print(f"{len(paths)} chorale versions in {args.out}")


if __name__ == "__main__":
    main()
