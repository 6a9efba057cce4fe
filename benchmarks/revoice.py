#!/usr/bin/env python
"""Benchmark re-voicing: melody kept, timing kept, target reached, speed.

    python benchmarks/revoice.py                 # examples/choir.wav + 3 held-out test chorales
    python benchmarks/revoice.py --chorales 1 --configs voice timbre-clarinet   # a quicker run

Inputs: the bundled ``examples/choir.wav`` (20 s of the first TEST chorale, singing synthesizer, in a
room) and the next ``--chorales`` chorales of the fixed TEST list (``chorale_splits.json``; no
re-voicing model or the judge ever trained on a test chorale), their first 20 s sung by the singing
synthesizer (one random singer per part) and mixed with the seeded gains of the separation data,
at 16 kHz.

Every configuration is one ``vt.revoice`` call per input (separation included):
- ``voice``: soprano→tenor, alto→bass, tenor→soprano, bass→alto with the default octave moves;
- ``voice+0``: the same voice types without transposition (character only: formants);
- ``timbre-synth-choir`` / ``timbre-clarinet``: the shipped DDSP timbre models on every part;
- ``gm:clarinet`` / ``gm:choir_aahs``: transcribed with voice2midi, played by FluidSynth.

Metrics per re-voiced part, against the separated part the transform was given:
- melody: RMS of the F0 difference in cents after removing the requested transposition, over frames
  voiced in both (Praat pitch, 10 ms), leaving out the frames next to a note change in the input;
  also the share of frames within 50 cents;
- timing: mean |Δt| between the input part's note onsets (voicing starts and pitch steps > 80 cents)
  and the nearest output onset within 150 ms, and the share matched;
- target reached: the judge (``revoice-voicetype-cnn``: soprano/alto/tenor/bass at any pitch, clarinet,
  choir-aahs) labels the output part; a voice-type target must get its label, ``synth-choir`` any of the
  four voice labels, ``clarinet`` targets ``clarinet``, ``gm:choir_aahs`` ``choir-aahs``;
- speed: real-time factor (wall time of the whole call / audio duration), one thread.
Markdown tables on stdout; everything in ``benchmarks/results/revoice.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import voicetools as vt
from voicetools.revoice import voicetype
from voicetools.revoice.analysis import cents_error, f0_track, loudness_db

sys.path.insert(0, str(Path(__file__).resolve().parent))
from separation import machine_info  # noqa: E402  (the sibling benchmark's helper)

ROOT = Path(__file__).resolve().parent.parent
SR = 16000
SECONDS = 20.0
PARTS = ("soprano", "alto", "tenor", "bass")
VOICE_LABELS = {"soprano", "alto", "tenor", "bass"}
SWAP = {"soprano": "tenor", "alto": "bass", "tenor": "soprano", "bass": "alto"}
CONFIGS = {
    "voice": ({p: t for p, t in SWAP.items()}, {p: {t} for p, t in SWAP.items()}),
    "voice+0": ({p: f"{t}:+0" for p, t in SWAP.items()}, {p: {t} for p, t in SWAP.items()}),
    "timbre-synth-choir": ({p: "synth-choir" for p in PARTS}, {p: VOICE_LABELS for p in PARTS}),
    "timbre-clarinet": ({p: "clarinet" for p in PARTS}, {p: {"clarinet"} for p in PARTS}),
    "gm:clarinet": ({p: "gm:clarinet" for p in PARTS}, {p: {"clarinet"} for p in PARTS}),
    "gm:choir_aahs": ({p: "gm:choir_aahs" for p in PARTS}, {p: {"choir-aahs"} for p in PARTS}),
}


def test_inputs(n: int, cache: Path):
    """(name, mixture at SR): the bundled example, then test chorales 2..n+1 (20 s, singing synth)."""
    import soxr

    x, sr = sf.read(ROOT / "examples" / "choir.wav", dtype="float32")
    yield "examples/choir.wav", soxr.resample(x, sr, SR).astype(np.float32)
    from voicetools.data.chorales import load_chorale, split_names
    from voicetools.data.render import RENDERERS, _normalise, _transposed, version_of
    from voicetools.data.satb import mix
    from voicetools.data.singing import Singer, sing

    for name in split_names("test")[1 : 1 + n]:
        path = cache / f"{name.replace('/', '_')}-{SECONDS:g}s.wav"
        if not path.exists():
            c = load_chorale(name)
            v = version_of(c, 0)
            rng = np.random.default_rng(v.seed + 2)
            spq = v.seconds_per_quarter
            stems = []
            for voice in PARTS:
                notes = [m for m in _transposed(c.parts[voice], v.transpose) if m.start_q * spq < SECONDS - 0.5]
                stems.append(_normalise(sing(notes, voice=voice, sample_rate=SR, length_s=SECONDS,
                                             seconds_per_quarter=spq, rng=rng, singer=Singer.random(voice, rng))))
            mixture, _ = mix(np.stack(stems)[None], np.random.default_rng([v.seed, RENDERERS.index("singing")]),
                             sample_rate=SR, reverb_p=0.0)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, 0.8 * mixture / np.abs(mixture).max(), SR, subtype="FLOAT")
        yield name, sf.read(path, dtype="float32")[0]


def onsets(x: np.ndarray, voice: str | None) -> np.ndarray:
    """Note onsets (s): voicing starts and held pitch steps of more than 80 cents."""
    f0 = f0_track(x, SR, voice=voice)
    loud = loudness_db(x, SR, n_frames=len(f0))
    v = (f0 > 0) & (loud > loud.max() - 40)
    c = np.where(v, 1200 * np.log2(np.maximum(f0, 1e-3) / 440), np.nan)
    out, last = [], -1.0
    for i in range(1, len(c) - 3):
        start = v[i] and not v[i - 1]
        step = v[i] and v[i - 1] and abs(np.nanmedian(c[i : i + 3]) - c[i - 1]) > 80
        if (start or step) and i * 0.01 - last > 0.1:
            out.append(i * 0.01)
            last = i * 0.01
    return np.array(out)


def part_metrics(x: np.ndarray, y: np.ndarray, shift: float, voice: str) -> dict:
    e = cents_error(f0_track(x, SR, voice=voice), f0_track(y, SR), shift)
    oi, oo = onsets(x, voice), onsets(y, None)
    dev = [np.min(np.abs(oo - t)) for t in oi if len(oo) and np.min(np.abs(oo - t)) <= 0.15]
    return {"f0_rmse_cents": float(np.sqrt(np.mean(e ** 2))) if len(e) else None,
            "within_50_cents": float(np.mean(np.abs(e) < 50)) if len(e) else None, "frames": int(len(e)),
            "onset_dev_ms": float(1000 * np.mean(dev)) if dev else None,
            "onsets_matched": float(len(dev) / len(oi)) if len(oi) else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--chorales", type=int, default=3, help="test chorales besides the example (default 3)")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--judge", default="revoice-voicetype-cnn")
    ap.add_argument("--cache", type=Path, default=ROOT / "data" / "revoice" / "bench")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "revoice.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from voicetools.checkpoints import load_model

    judge = load_model(args.judge)
    separation = load_model("satb-convtasnet")
    inputs = list(test_inputs(args.chorales, args.cache))
    rows, per_part = [], []
    for cfg in args.configs:
        mapping, expected = CONFIGS[cfg]
        acc, cents, within, dev, matched, rtf = [], [], [], [], [], []
        for name, x in inputs:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = vt.revoice(x, sample_rate=SR, map=mapping, separation_model=separation)
            rtf.append((time.perf_counter() - t0) / (len(x) / SR))
            for p in PARTS:
                xin, yout = res.originals[p][0], res.parts[p][0]
                m = part_metrics(xin, yout, res.shifts[p], p)
                probs = voicetype.classify(yout, SR, judge)
                label = max(probs, key=probs.get)
                m.update(config=cfg, input=name, part=p, target=res.targets[p], judged=label,
                         reached=label in expected[p])
                per_part.append(m)
                acc.append(m["reached"])
                for key, store in (("f0_rmse_cents", cents), ("within_50_cents", within), ("onset_dev_ms", dev),
                                   ("onsets_matched", matched)):
                    if m[key] is not None:
                        store.append(m[key])
            print(f"{cfg} {name}: rtf {rtf[-1]:.3f}", file=sys.stderr)
        rows.append({"config": cfg, "f0_rmse_cents": float(np.median(cents)) if cents else None,
                     "f0_rmse_cents_mean": float(np.mean(cents)) if cents else None,
                     "within_50_cents": float(np.mean(within)) if within else None,
                     "onset_dev_ms": float(np.mean(dev)) if dev else None,
                     "onsets_matched": float(np.mean(matched)) if matched else None,
                     "target_accuracy": float(np.mean(acc)), "parts": len(acc), "rtf": float(np.median(rtf))})
    fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
    print(f"\nRe-voicing: {len(inputs)} inputs × 4 parts (examples/choir.wav + {args.chorales} held-out test "
          f"chorales, {SECONDS:g} s each); judge {args.judge}\n")
    print("| configuration | F0 RMSE, cents (median over parts) | frames within 50 cents | onset deviation, ms "
          "| onsets matched | target reached | RTF |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {fmt(r['f0_rmse_cents'], '.1f')} | {fmt(r['within_50_cents'], '.1%')} | "
              f"{fmt(r['onset_dev_ms'], '.1f')} | {fmt(r['onsets_matched'], '.0%')} | "
              f"{r['target_accuracy']:.0%} ({r['parts']}) | {r['rtf']:.3f} |")
    judge_card = judge.config.get("training", {})
    out = {"inputs": [n for n, _ in inputs], "seconds": SECONDS, "sample_rate": SR, "judge": args.judge,
           "judge_valid_accuracy": judge_card.get("valid_accuracy"), "configs": rows, "parts": per_part,
           "machine": machine_info(args.threads)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nresults: {args.out}")


if __name__ == "__main__":
    main()
