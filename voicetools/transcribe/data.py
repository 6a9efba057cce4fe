"""Labelled singing for Voice2Midi: chorale parts sung one at a time, with the score's exact notes.

    python -m voicetools.data.satb --out data/satb          # render the chorales (both renderers)
    python -m voicetools.transcribe.data --stems data/satb --out data/transcribe

Each part of each train/valid chorale (version 0) becomes one example per renderer. Audio comes
from the rendered stems of ``voicetools.data.satb`` when they are there (same version, same seed,
same signals) and is rendered here otherwise. The labels are the score's notes after the version's
transposition and tempo: onset ``start_q * seconds_per_quarter``, offset at the written end, except
that FluidSynth's renderer shortens each note by a seeded factor, which ``part_notes`` replays.
Every example gets a seeded augmentation (room reverb, white or brown noise) before its log-mel is
taken with the model's front-end; gain is varied later, at training time, for free (a dB offset).
Files: ``<out>/<split>/<chorale>.npz`` with ``features`` (8, n_mels, frames) float16 (renderer-major:
fluidsynth S A T B, then singing S A T B) and ``notes`` (n, 4) float32 rows (example, pitch, onset_s,
offset_s). Generated data: never committed.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..audio.augment import add_noise, reverberate, room_impulse_response
from ..audio.io import resample
from ..data.chorales import VOICES, Chorale, load_chorale, split_names
from ..data.render import PROGRAM_WEIGHTS, RENDERERS, VOICE_PROGRAMS, Version, render, version_of
from ..data.satb import SAMPLE_RATE as SATB_RATE
from ..nn.voice2midi import Voice2Midi
from .train import MODEL_ARGS


def part_notes(chorale: Chorale, version: Version, voice: str, renderer: str) -> list[tuple[int, float, float]]:
    """(pitch, onset_s, offset_s) of one part as ``voicetools.data.render`` sings it in that version."""
    spq = version.seconds_per_quarter
    if renderer == "fluidsynth":  # replay render_fluidsynth's draws to get its shortened note ends
        rng = np.random.default_rng(version.seed + 1)
        for v in VOICES:
            rng.choice(VOICE_PROGRAMS, p=PROGRAM_WEIGHTS)
            rng.integers(70, 110)
            ends = []
            for n in chorale.parts[v]:
                ends.append(n.dur_q * spq * rng.uniform(0.9, 1.0))
                rng.integers(-12, 13)
            if v == voice:
                break
    else:
        ends = [n.dur_q * spq for n in chorale.parts[voice]]
    return [
        (n.pitch + version.transpose, n.start_q * spq, n.start_q * spq + d) for n, d in zip(chorale.parts[voice], ends)
    ]


def augment(x: np.ndarray, rng: np.random.Generator, *, sample_rate: int) -> np.ndarray:
    """Seeded train-time degradation of one sung part: room (40 %), noise at 5–35 dB SNR (60 %)."""
    if rng.uniform() < 0.4:
        x = reverberate(x, room_impulse_response(sample_rate, rng))
    if rng.uniform() < 0.6:
        noise = rng.standard_normal(len(x)).astype(np.float32)
        if rng.uniform() < 0.5:  # brown-ish noise: hum and rumble rather than hiss
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(401) / 401, mode="same")
        x = add_noise(x, rng.uniform(5, 35), rng, noise=noise)
    return x.astype(np.float32)


def build_one(name: str, split_dir: Path, stems_dir: Path | None, model_args: dict) -> Path:
    out = split_dir / f"{name.replace('/', '_')}.npz"
    if out.exists():
        return out
    sr = model_args["sample_rate"]
    chorale = load_chorale(name)
    version = version_of(chorale, 0)
    stem_file = stems_dir / split_dir.name / f"{name.replace('/', '_')}-v0.npy" if stems_dir else None
    if stem_file is not None and stem_file.exists():
        stems = np.load(stem_file).astype(np.float32)  # (renderer, voice, samples) at the SATB rate
        if SATB_RATE != sr:
            stems = np.stack([resample(torch.from_numpy(s), SATB_RATE, sr).numpy() for s in stems])
    else:
        stems = np.stack([render(chorale, version, r, sample_rate=sr) for r in RENDERERS])
    frontend = Voice2Midi.from_model_args(model_args)
    feats, notes = [], []
    for r_i, renderer in enumerate(RENDERERS):
        for v_i, voice in enumerate(VOICES):
            k = r_i * len(VOICES) + v_i
            rng = np.random.default_rng([version.seed, k])
            x = augment(stems[r_i, v_i], rng, sample_rate=sr)
            with torch.no_grad():
                feats.append(frontend.features(torch.from_numpy(x)[None])[0].numpy().astype(np.float16))
            notes += [(k, p, on, off) for p, on, off in part_notes(chorale, version, voice, renderer)]
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, features=np.stack(feats), notes=np.asarray(notes, np.float32))
    tmp.rename(out)
    return out


def build(
    out_dir: Path,
    *,
    stems_dir: Path | None,
    model_args: dict,
    splits=("train", "valid"),
    jobs: int = 1,
    limit: int | None = None,
) -> list[Path]:
    """Write every chorale of ``splits`` to ``out_dir/<split>/``; resumable (finished files are kept)."""
    paths = []
    for split in splits:
        d = Path(out_dir) / split
        d.mkdir(parents=True, exist_ok=True)
        names = split_names(split)[:limit]
        args = [(n, d, stems_dir, model_args) for n in names]
        with ProcessPoolExecutor(jobs) as pool:
            paths += list(tqdm(pool.map(_build_star, args), total=len(args), desc=f"features {split}"))
    return paths


def _build_star(a):
    torch.set_num_threads(1)
    return build_one(*a)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Precompute Voice2Midi training features and note labels.")
    ap.add_argument("--out", type=Path, default=Path("data/transcribe"))
    ap.add_argument(
        "--stems",
        type=Path,
        default=None,
        help="rendered SATB stems (python -m voicetools.data.satb) to reuse instead of rendering",
    )
    ap.add_argument("--splits", nargs="+", default=["train", "valid"])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="only the first N chorales of each split")
    args = ap.parse_args(argv)
    paths = build(
        args.out, stems_dir=args.stems, model_args=MODEL_ARGS, splits=args.splits, jobs=args.jobs, limit=args.limit
    )
    print(f"{len(paths)} chorales in {args.out}")


if __name__ == "__main__":
    main()
