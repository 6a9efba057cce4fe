#!/usr/bin/env python
"""Benchmark voice-to-MIDI: note F1 on held-out sung chorale parts (and your own data), and speed.

    pip install -e .[bench]                 # mir_eval, onnxruntime, librosa; basic-pitch with --no-deps
    pip install --no-deps basic-pitch resampy
    python benchmarks/transcription.py                        # full run (test chorales, all systems)
    python benchmarks/transcription.py --data my_songs/       # plus your annotated singing
    python benchmarks/transcription.py --limit 1 --seconds 10 --systems voicetools   # smoke test

Systems, side by side on the same files:
- ``voicetools``: ``vt.transcribe`` with the shipped ``voice2midi`` model (the path users get);
- ``basic-pitch``: Spotify's Basic Pitch (ICASSP 2022), its ONNX model run by onnxruntime, its defaults;
- ``pyin``: librosa's pYIN f0 track, rounded to semitones and cut into notes where the pitch changes
  or the voice stops (a pitch-tracking baseline).

Test set: every part of the 16 fixed test chorales (``voicetools.data.chorales``, never trained on),
version 0, sung by the singing synthesizer at 16 kHz, in two conditions: ``clean`` and ``room+noise``
(the seeded room reverb and noise of the training recipe). The reference notes are the score's, after
the version's transposition and tempo. A third set, voicetools only, mixes each test chorale's four
sung parts and runs ``vt.transcribe(..., parts=True)`` (separate, then transcribe each voice); every
voice's track is scored against its part. ``--data FOLDER`` adds real recordings: ``<name>.wav`` with
``<name>.csv`` (rows ``onset_s,offset_s,pitch``; pitch a MIDI number, or Hz when above 127; a header
row is skipped) or ``<name>.mid`` (every non-drum note).

Metrics: mir_eval note precision / recall / F1 with onsets within ±50 ms and pitch within 50 cents,
without offsets and with offsets (within 20 % of the note or 50 ms); mean over files. Speed: real-time
factor (compute time / audio time) of each system on one 60 s file from disk, one thread, best of
``--repeats``. Tables are Markdown on stdout; all numbers go to ``benchmarks/results/transcription.json``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import voicetools as vt
from voicetools.data import chorales, render, singing
from voicetools.data.chorales import VOICES, load_chorale, split_names
from voicetools.data.render import version_of
from voicetools.transcribe.data import augment, part_notes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, model_sha256, package_file, progress, provenance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RATE = 16000
SPEED_S = 60.0
CONDITIONS = ("clean", "room+noise")
SYSTEMS = ("voicetools", "basic-pitch", "pyin")
TARGET_RTF = 0.05


def md_table(header: list[str], rows: list[list]) -> str:
    cell = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [header, ["---"] * len(header), *[[cell(v) for v in r] for r in rows]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


# ---------------------------------------------------------------------------------------- data


def cache_folder(base: Path) -> Path:
    """One folder per version of the rendering code, so a changed renderer never reads stale audio."""
    h = hashlib.sha256()
    for module in (chorales, render, singing):
        h.update(Path(module.__file__).read_bytes())
    return base / f"transcription-{h.hexdigest()[:10]}"


def chorale_items(limit: int | None, seconds: float | None, conditions, cache: Path) -> list[dict]:
    """Test chorale parts as WAV files (rendered once, cached) with their score notes."""
    cache.mkdir(parents=True, exist_ok=True)
    items = []
    for name in progress(split_names("test")[:limit], desc="render test chorales"):
        chorale = load_chorale(name)
        version = version_of(chorale, 0)
        stems = None
        for v_i, voice in enumerate(VOICES):
            notes = np.array(part_notes(chorale, version, voice, "singing"), float)
            for c in conditions:
                wav = cache / f"{name.replace('/', '_')}-{voice}-{c.replace('+', '_')}.wav"
                if not wav.exists():
                    if stems is None:
                        stems = render.render(chorale, version, "singing", sample_rate=SAMPLE_RATE)
                    x = stems[v_i]
                    if c == "room+noise":
                        x = augment(x, np.random.default_rng([version.seed, v_i, 99]), sample_rate=SAMPLE_RATE)
                    x = 0.5 * x / (np.abs(x).max() + 1e-9)
                    sf.write(wav, x, SAMPLE_RATE, subtype="FLOAT")
                items.append(crop({"file": str(wav), "set": f"chorales {c}", "notes": notes}, seconds))
    return items


def choir_items(limit: int | None, cache: Path) -> list[dict]:
    """Each test chorale's four sung parts mixed (equal loudness, no room), for ``--parts``; cached."""
    items = []
    for name in progress(split_names("test")[:limit], desc="mix test chorales"):
        chorale = load_chorale(name)
        version = version_of(chorale, 0)
        wav = cache / f"{name.replace('/', '_')}-choir.wav"
        if not wav.exists():  # the sum of the clean parts chorale_items wrote (each peak-normalised)
            x = sum(sf.read(cache / f"{name.replace('/', '_')}-{v}-clean.wav", dtype="float32")[0] for v in VOICES)
            sf.write(wav, 0.5 * x / (np.abs(x).max() + 1e-9), SAMPLE_RATE, subtype="FLOAT")
        items.append(
            {
                "file": str(wav),
                "set": "choir, --parts (per voice)",
                "parts": {v: np.array(part_notes(chorale, version, v, "singing"), float) for v in VOICES},
            }
        )
    return items


def crop(item: dict, seconds: float | None) -> dict:
    """Keep the notes starting in the first ``seconds`` (the audio is cut at run time)."""
    if seconds is not None:
        n = item["notes"]
        item["notes"] = n[n[:, 1] < seconds]
        item["seconds"] = seconds
    return item


def read_annotations(path: Path) -> np.ndarray:
    """(pitch, onset_s, offset_s) rows from a CSV (onset_s, offset_s, pitch) or a MIDI file."""
    if path.suffix.lower() in (".mid", ".midi"):
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(str(path))
        rows = [(n.pitch, n.start, n.end) for i in pm.instruments if not i.is_drum for n in i.notes]
    else:
        rows = []
        with open(path, newline="") as f:
            for r in csv.reader(f):
                try:
                    on, off, p = (float(v) for v in r[:3])
                except (ValueError, IndexError):
                    continue  # a header or a blank line
                rows.append((69 + 12 * np.log2(p / 440.0) if p > 127 else p, on, off))
    return np.array(sorted(rows, key=lambda r: r[1]), float).reshape(-1, 3)


def folder_items(folder: Path) -> list[dict]:
    items = []
    for wav in sorted(folder.glob("*.wav")):
        ann = next((wav.with_suffix(s) for s in (".csv", ".mid", ".midi") if wav.with_suffix(s).exists()), None)
        if ann is None:
            print(f"skipping {wav}: no {wav.stem}.csv or {wav.stem}.mid beside it", file=sys.stderr)
            continue
        items.append({"file": str(wav), "set": f"data:{folder.name}", "notes": read_annotations(ann)})
    return items


# ---------------------------------------------------------------------------------------- systems


def system_voicetools(model: str):
    from voicetools.checkpoints import resolve_model

    loaded = resolve_model(model, "transcription")

    def run(path: str, *, parts: bool = False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = vt.transcribe(path, model=loaded, parts=parts)
        tracks = {
            k: np.array([(n.pitch, n.start_s, n.end_s) for n in v], float).reshape(-1, 3) for k, v in res.tracks.items()
        }
        return tracks if parts else tracks["melody"]

    return run


def system_basic_pitch():
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # its import warns about every backend it lacks
    import basic_pitch
    import onnxruntime as ort
    from basic_pitch.inference import Model, predict

    onnx = Path(basic_pitch.__file__).parent / "saved_models" / "icassp_2022" / "nmp.onnx"
    model = Model(onnx)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    model.model = ort.InferenceSession(str(onnx), sess_options=opts, providers=["CPUExecutionProvider"])

    def run(path: str) -> np.ndarray:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, _, events = predict(path, model)
        return np.array([(p, s, e) for s, e, p, *_ in events], float).reshape(-1, 3)

    return run


def system_pyin(*, min_note_s: float = 0.06):
    import librosa

    def run(path: str) -> np.ndarray:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
        x = x.mean(1)
        hop = 256
        f0, voiced, _ = librosa.pyin(x, fmin=60.0, fmax=1100.0, sr=sr, frame_length=2048, hop_length=hop)
        midi = np.where(voiced & np.isfinite(f0), np.round(69 + 12 * np.log2(np.maximum(f0, 1e-3) / 440.0)), -1)
        from scipy.signal import medfilt

        midi = medfilt(midi, 5)
        notes, start = [], None
        for i in range(len(midi) + 1):
            cur = midi[i] if i < len(midi) else -1
            if start is not None and cur != midi[start]:
                if midi[start] > 0 and (i - start) * hop / sr >= min_note_s:
                    notes.append((midi[start], start * hop / sr, i * hop / sr))
                start = None
            if start is None and cur > 0:
                start = i
        return np.array(notes, float).reshape(-1, 3)

    return run


# ---------------------------------------------------------------------------------------- scoring


def scores(ref: np.ndarray, est: np.ndarray) -> dict:
    import mir_eval

    hz = lambda p: 440.0 * 2 ** ((p - 69) / 12)  # noqa: E731
    out = {}
    for key, offset_ratio in (("", None), ("_offset", 0.2)):
        if len(ref) == 0 or len(est) == 0:
            p = r = f = float(len(ref) == len(est))
        else:
            p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
                ref[:, 1:], hz(ref[:, 0]), est[:, 1:], hz(est[:, 0]), onset_tolerance=0.05, offset_ratio=offset_ratio
            )
        out.update({f"precision{key}": float(p), f"recall{key}": float(r), f"f1{key}": float(f)})
    return out


def quality(systems: dict, items: list[dict]) -> dict:
    per_file = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in progress(items, desc="transcribe"):
            path = item["file"]
            if item.get("seconds"):
                x, sr = sf.read(path, dtype="float32", frames=int(item["seconds"] * sf.info(path).samplerate))
                path = str(Path(tmp) / Path(path).name)
                sf.write(path, x, sr, subtype="FLOAT")
            if "parts" in item:  # only voicetools separates a choir into voices
                if "voicetools" in systems:
                    tracks = systems["voicetools"](path, parts=True)
                    for voice, ref in item["parts"].items():
                        per_file.append(
                            {
                                "system": "voicetools",
                                "set": item["set"],
                                "file": Path(path).name,
                                "voice": voice,
                                "n_ref": len(ref),
                                "n_est": len(tracks[voice]),
                                **scores(ref, tracks[voice]),
                            }
                        )
                continue
            for name, run in systems.items():
                est = run(path)
                per_file.append(
                    {
                        "system": name,
                        "set": item["set"],
                        "file": Path(item["file"]).name,
                        "n_ref": len(item["notes"]),
                        "n_est": len(est),
                        **scores(item["notes"], est),
                    }
                )
    summary = {}
    for row in per_file:
        summary.setdefault(row["set"], {}).setdefault(row["system"], []).append(row)
    summary = {
        s: {
            name: {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k.startswith(("f1", "prec", "rec"))}
            | {"files": len(rows)}
            for name, rows in by.items()
        }
        for s, by in summary.items()
    }
    return {"summary": summary, "per_file": per_file}


def quality_table(q: dict) -> str:
    rows = [
        [s, name, v["files"], v["f1"], v["f1_offset"], v["precision"], v["recall"]]
        for s, by in q["summary"].items()
        for name, v in by.items()
    ]
    return md_table(["set", "system", "files", "note F1", "note F1 w/ offsets", "precision", "recall"], rows)


def speed(systems: dict, item: dict, repeats: int) -> dict:
    """RTF on the first ``SPEED_S`` seconds of one test file (written to disk), best of ``repeats``."""
    x, sr = sf.read(item["file"], dtype="float32")
    x = np.tile(x, int(np.ceil(SPEED_S * sr / len(x))))[: int(SPEED_S * sr)]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "speed.wav")
        sf.write(path, x, sr, subtype="PCM_16")
        for name, run in systems.items():
            run(path)  # warm-up: JIT compilation, ONNX session, caches
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                run(path)
                times.append(time.perf_counter() - t0)
            out[name] = {"audio_s": SPEED_S, "seconds": min(times), "rtf": min(times) / SPEED_S}
    return out


def speed_table(s: dict) -> str:
    return md_table(
        ["system", "audio (s)", "compute (s)", "RTF", f"target <= {TARGET_RTF}"],
        [[k, v["audio_s"], v["seconds"], v["rtf"], "yes" if v["rtf"] <= TARGET_RTF else "no"] for k, v in s.items()],
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="voice2midi")
    ap.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    ap.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    ap.add_argument("--limit", type=int, default=None, help="only the first N test chorales")
    ap.add_argument("--seconds", type=float, default=None, help="only the first N seconds of each part")
    ap.add_argument("--data", type=Path, action="append", default=[], help="folder of WAV + CSV/MIDI annotations")
    ap.add_argument("--no-chorales", action="store_true", help="score only --data folders")
    ap.add_argument("--no-choir", action="store_true", help="skip the choir (--parts) set")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--cache", type=Path, default=ROOT / "data" / "bench-cache")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "transcription.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.time()
    makers = {
        "voicetools": lambda: system_voicetools(args.model),
        "basic-pitch": system_basic_pitch,
        "pyin": system_pyin,
    }
    systems = {name: makers[name]() for name in args.systems}
    items = (
        [] if args.no_chorales else chorale_items(args.limit, args.seconds, args.conditions, cache_folder(args.cache))
    )
    if not (args.no_chorales or args.no_choir or "clean" not in args.conditions):
        items += choir_items(args.limit, cache_folder(args.cache))
    for folder in args.data:
        items += folder_items(folder)
    used = [args.model] if "voicetools" in systems else []
    if any("parts" in item for item in items) and "voicetools" in systems:
        used.append("satb-convtasnet")  # --parts separates the choir first
    peers = dict([package_file("basic_pitch", "saved_models/icassp_2022/nmp.onnx")]) if "basic-pitch" in systems else {}
    results = {
        "machine": machine_info(1),
        "provenance": provenance(used, peers),
        "model": {"name": args.model, "sha256": model_sha256(args.model)["sha256"]},
        "settings": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("data", "cache", "out")
        }
        | {"data": [str(d) for d in args.data]},
    }
    m = results["machine"]
    print(
        f"{m['cpu']}, {m['cpu_count']} CPUs, 1 thread per system, load average at start "
        f"{m['load_average_at_start'][0]:.2f}\n"
    )
    results["quality"] = quality(systems, items)
    print(quality_table(results["quality"]) + "\n")
    if not args.no_speed and items:
        results["speed"] = speed(systems, items[0], args.repeats)
        print(speed_table(results["speed"]) + "\n")
    results["elapsed_s"] = time.time() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
