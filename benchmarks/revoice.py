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
- ``keep``: a control — the separated parts unchanged (the judge should name each part's own voice);
- ``voice``: soprano→tenor, alto→bass, tenor→soprano, bass→alto with the default octave moves;
- ``voice+0``: the same voice types without transposition (character only: formants);
- ``timbre-synth-choir`` / ``timbre-clarinet``: the shipped DDSP timbre models on every part;
- ``gm:clarinet`` / ``gm:choir_aahs``: transcribed with voice2midi, played by FluidSynth;
- ``singing``: transcribed, then sung by the project's singing synthesizer in the part's voice type.

Two settings: ``choir`` — each mixture is separated and every part re-voiced (what a user gets);
``solo`` — each TRUE part of the test chorales is re-voiced alone (``voice=``, no separation), which
measures the transform without the separation's errors and bleed, and gives the judge clean input.

Metrics per re-voiced part, against the part the transform was given:
- melody: RMS of the F0 difference in cents after removing the requested transposition, over frames
  voiced in both (``analysis.f0_track``, the pipeline's own: Praat pitch below 2 kHz, 10 ms, voiced stretches
  under 40 ms dropped; the output searched in the input voice's range moved by the transposition), leaving out
  the frames at a note change in the input whose Praat window (3 periods of the pitch floor: 55 ms for a
  bass, 16 ms for a soprano) holds both notes; the same RMSE over the
  frames off by less than 100 cents ("fine", gross errors apart as in pitch-tracking evaluation);
  and the share of frames within 50 cents;
- melody against the sung part (choir setting, the test chorales only): the same F0 RMSE and share within
  50 cents, with the true stem of that part as the reference — separation and transform together;
- timing: mean |Δt| between the input part's note onsets (voicing starts and pitch steps > 80 cents)
  and the nearest output onset within 150 ms, and the share matched;
- target reached: the judge (``revoice-voicetype-cnn``: soprano/alto/tenor/bass at any pitch, clarinet,
  choir-aahs) labels the output part; a voice-type target must get its label, ``synth-choir`` any of the
  four voice labels, ``clarinet`` targets ``clarinet``, ``gm:choir_aahs`` ``choir-aahs``; for the voice-type
  targets also the judge's choice among the four voice labels alone ("which voice type?": a separated,
  re-voiced part carries its neighbours and is often called ``choir-aahs`` first);
- speed: real-time factor (wall time of the whole call / audio duration), one thread.
Markdown tables on stdout (per configuration: the RMSEs are the median over the parts, the other
columns means over the parts); everything, part by part, in ``benchmarks/results/revoice.json``.
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
from voicetools.revoice.vocoder import pitch_range

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, provenance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = 16000
SECONDS = 20.0
PARTS = ("soprano", "alto", "tenor", "bass")
VOICE_LABELS = {"soprano", "alto", "tenor", "bass"}
SWAP = {"soprano": "tenor", "alto": "bass", "tenor": "soprano", "bass": "alto"}
CONFIGS = {
    "keep": ({}, {p: {p} for p in PARTS}),  # control: the separated parts as they are
    "voice": ({p: t for p, t in SWAP.items()}, {p: {t} for p, t in SWAP.items()}),
    "voice+0": ({p: f"{t}:+0" for p, t in SWAP.items()}, {p: {t} for p, t in SWAP.items()}),
    "timbre-synth-choir": ({p: "synth-choir" for p in PARTS}, {p: VOICE_LABELS for p in PARTS}),
    "timbre-clarinet": ({p: "clarinet" for p in PARTS}, {p: {"clarinet"} for p in PARTS}),
    "gm:clarinet": ({p: "gm:clarinet" for p in PARTS}, {p: {"clarinet"} for p in PARTS}),
    "gm:choir_aahs": ({p: "gm:choir_aahs" for p in PARTS}, {p: {"choir-aahs"} for p in PARTS}),
    "singing": ({p: "singing" for p in PARTS}, {p: {p} for p in PARTS}),
}


def models_used(configs, judge: str) -> list[str]:
    """The models the chosen configurations load: separation, the judge, timbres, transcription."""
    used = ["satb-convtasnet", judge]
    used += [c for c in configs if c.startswith("timbre-")]  # the shipped timbre models are named so
    if any(c.startswith("gm:") or c == "singing" for c in configs):
        used.append("voice2midi")  # the MIDI routes transcribe the part first
    return used


def test_inputs(n: int, cache: Path):
    """(name, mixture at SR): the bundled example, then test chorales 2..n+1 (20 s, singing synth)."""
    import soxr

    x, sr = sf.read(ROOT / "examples" / "choir.wav", dtype="float32")
    yield "examples/choir.wav", soxr.resample(x, sr, SR).astype(np.float32), None
    from voicetools.data.chorales import split_names
    from voicetools.data.satb import one_singer_each

    for name in split_names("test")[1 : 1 + n]:
        path = cache / f"{name.replace('/', '_')}-{SECONDS:g}s.wav"
        stems_path = path.with_suffix(".stems.npy")
        if not path.exists() or not stems_path.exists():
            mixture, parts = one_singer_each(name, seconds=SECONDS, sample_rate=SR, notes_before_s=SECONDS - 0.5)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, 0.8 * mixture / np.abs(mixture).max(), SR, subtype="FLOAT")
            np.save(stems_path, (0.8 * parts / np.abs(mixture).max()).astype(np.float32))
        yield name, sf.read(path, dtype="float32")[0], np.load(stems_path)


def onsets(x: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Note onsets (s) of ``x`` with F0 track ``f0``: voicing starts and held pitch steps of more than 80 cents."""
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


def part_metrics(x: np.ndarray, y: np.ndarray, shift: float, voice: str, sung: np.ndarray | None = None) -> dict:
    """Melody and timing of output ``y`` against input ``x`` (and, given, against the ``sung`` true part)."""
    # the output is tracked in the input voice's range moved by the shift: the same search for both
    fx, fy = f0_track(x, SR, voice=voice), f0_track(y, SR, voice=voice, shift_semitones=shift)
    # at a note change, the frames whose Praat window (3 periods of the lower pitch floor) holds both notes are left out
    window_s = 3.0 / (pitch_range(voice)[0] * min(1.0, 2.0 ** (shift / 12.0)))
    e = cents_error(fx, fy, shift, window_s=window_s)
    oi, oo = onsets(x, fx), onsets(y, fy)
    dev = [np.min(np.abs(oo - t)) for t in oi if len(oo) and np.min(np.abs(oo - t)) <= 0.15]
    fine = e[np.abs(e) < 100]  # gross errors (a wrong octave or a bleeding voice tracked) counted apart
    return {
        **melody(e),
        "fine_f0_rmse_cents": float(np.sqrt(np.mean(fine**2))) if len(fine) else None,
        "frames": int(len(e)),
        "onset_dev_ms": float(1000 * np.mean(dev)) if dev else None,
        "onsets_matched": float(len(dev) / len(oi)) if len(oi) else None,
        **(
            melody(cents_error(f0_track(sung, SR, voice=voice), fy, shift, window_s=window_s), "sung_")
            if sung is not None
            else {}
        ),
    }


def melody(e: np.ndarray, prefix: str = "") -> dict:
    """RMSE and share within 50 cents of per-frame errors ``e`` (cents)."""
    return {
        f"{prefix}f0_rmse_cents": float(np.sqrt(np.mean(e**2))) if len(e) else None,
        f"{prefix}within_50_cents": float(np.mean(np.abs(e) < 50)) if len(e) else None,
    }


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
    per_part = []
    tables = {}
    for mode in ("choir", "solo"):
        rows = []
        for cfg in args.configs:
            mapping, expected = CONFIGS[cfg]
            acc, acc_voice, cents, fine, within, dev, matched, rtf = [], [], [], [], [], [], [], []
            sung, sung_within = [], []
            for name, x, stems in inputs:
                if mode == "choir":
                    jobs = [(x, None)]
                elif stems is None:
                    continue
                else:  # each true part alone, no separation: the transform by itself
                    jobs = [(stems[i], p) for i, p in enumerate(PARTS)]
                for audio, solo in jobs:
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        m_ = ({solo: mapping[solo]} if solo in mapping else {}) if solo else mapping
                        res = vt.revoice(audio, sample_rate=SR, map=m_, voice=solo, separation_model=separation)
                    rtf.append((time.perf_counter() - t0) / (len(audio) / SR))
                    for p in res.parts:
                        xin, yout = res.originals[p][0], res.parts[p][0]
                        true_part = stems[PARTS.index(p)] if mode == "choir" and stems is not None else None
                        m = part_metrics(xin, yout, res.shifts[p], p, true_part)  # what the choir really sang
                        probs = voicetype.classify(yout, SR, judge)
                        label = max(probs, key=probs.get)
                        voice_label = max(VOICE_LABELS, key=probs.get)
                        m.update(
                            mode=mode,
                            config=cfg,
                            input=name,
                            part=p,
                            target=res.targets[p],
                            judged=label,
                            reached=label in expected[p],
                            judged_voice=voice_label,
                            reached_voice=(
                                voice_label in expected[p]
                                if len(expected[p]) == 1 and expected[p] <= VOICE_LABELS
                                else None
                            ),
                            probabilities={k: round(v, 4) for k, v in probs.items()},
                        )
                        per_part.append(m)
                        acc.append(m["reached"])
                        if m["reached_voice"] is not None:
                            acc_voice.append(m["reached_voice"])
                        for key, store in (
                            ("f0_rmse_cents", cents),
                            ("fine_f0_rmse_cents", fine),
                            ("within_50_cents", within),
                            ("onset_dev_ms", dev),
                            ("onsets_matched", matched),
                            ("sung_f0_rmse_cents", sung),
                            ("sung_within_50_cents", sung_within),
                        ):
                            if m.get(key) is not None:
                                store.append(m[key])
                print(f"{mode} {cfg} {name}: rtf {np.median(rtf):.3f}", file=sys.stderr)
            med = lambda v: float(np.median(v)) if v else None  # noqa: E731
            mean = lambda v: float(np.mean(v)) if v else None  # noqa: E731
            rows.append(
                {
                    "config": cfg,
                    "f0_rmse_cents": med(cents),
                    "f0_rmse_cents_mean": mean(cents),
                    "fine_f0_rmse_cents": med(fine),
                    "within_50_cents": mean(within),
                    "onset_dev_ms": mean(dev),
                    "onsets_matched": mean(matched),
                    "target_accuracy": mean(acc),
                    "parts": len(acc),
                    "voice_type_accuracy": mean(acc_voice),
                    "sung_f0_rmse_cents": med(sung),
                    "sung_within_50_cents": mean(sung_within),
                    "rtf": med(rtf),
                }
            )
        tables[mode] = rows
    fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
    heads = {
        "choir": f"Choir in ({len(inputs)} mixtures: examples/choir.wav + {args.chorales} held-out test chorales, "
        f"{SECONDS:g} s each), separated by satb-convtasnet, every part re-voiced",
        "solo": f"Solo in (the true parts of the {args.chorales} test chorales, one at a time, --voice; no separation)",
    }
    for mode, rows in tables.items():
        print(f"\n{heads[mode]}; judge {args.judge}\n")
        print(
            "| configuration | F0 RMSE, cents | fine F0 RMSE (errors < 100 cents) | frames within 50 cents "
            "| onset deviation, ms | onsets matched | target reached | voice type reached (of the 4) | RTF |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['config']} | {fmt(r['f0_rmse_cents'], '.1f')} | {fmt(r['fine_f0_rmse_cents'], '.1f')} | "
                f"{fmt(r['within_50_cents'], '.1%')} | {fmt(r['onset_dev_ms'], '.1f')} | "
                f"{fmt(r['onsets_matched'], '.0%')} | {fmt(r['target_accuracy'], '.0%')} ({r['parts']}) | "
                f"{fmt(r['voice_type_accuracy'], '.0%')} | {fmt(r['rtf'], '.3f')} |"
            )
    print(
        f"\nChoir, each re-voiced part against the part the choir really sang (the {args.chorales} test chorales' "
        "true stems: separation and transform together)\n"
    )
    print("| configuration | F0 RMSE, cents | frames within 50 cents |")
    print("|---|---|---|")
    for r in tables.get("choir", []):
        print(f"| {r['config']} | {fmt(r['sung_f0_rmse_cents'], '.1f')} | {fmt(r['sung_within_50_cents'], '.1%')} |")
    rows = tables
    judge_card = judge.config.get("training", {})
    out = {
        "inputs": [n for n, _, _ in inputs],
        "seconds": SECONDS,
        "sample_rate": SR,
        "judge": args.judge,
        "judge_valid_accuracy": judge_card.get("valid_accuracy"),
        "tables": rows,
        "parts": per_part,
        "machine": machine_info(args.threads),
        "provenance": provenance(models_used(args.configs, args.judge)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nresults: {args.out}")


if __name__ == "__main__":
    main()
