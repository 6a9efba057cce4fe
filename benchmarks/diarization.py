#!/usr/bin/env python
"""Benchmark speaker diarization: DER/JER on conversations with known turns, speed and memory.

    python benchmarks/diarization.py                       # espeak set, RAVDESS set if present, 10 + 30 min files
    python benchmarks/diarization.py --data /path/VoxConverse/dev     # also a folder of audio + .rttm
    python benchmarks/diarization.py --quick               # 2 conversations per set, 2 + 5 min files

Sets (all built here, seeded; nothing downloaded):
0. ``far-field`` (the headline): simulated far-field meetings of real speech
   (``voicetools.data.meetings``: RAVDESS, EmoDB and AISHELL talkers of the TEST split only, 2-4 per
   meeting, 10-25 dB apart, image-source rooms, cut-ins and backchannels, HVAC noise and babble,
   some on a phone line); skipped when ``../shared/data`` is missing.
1. ``espeak``: conversations of 2–5 espeak-ng voices (``voicetools.data.conversations``), 16 turns,
   pauses of 0.2–1 s, 15 % of turns overlapping the previous one.
2. ``ravdess``: the same from real recorded speech, RAVDESS actors 07–12 (``--ravdess``; skipped when
   the folder is missing). The pipeline's settings were chosen on conversations of actors 01–06 and
   espeak voices with other seeds; these actors were not used for that.
3. ``--data``: any folder of audio files with same-named RTTMs (VoxConverse layout works).
Each set is scored with the speaker count estimated (``auto``) and given (``oracle``).
4. Long files: one espeak conversation of ``--long-minutes`` each, through ``voicetools diarize`` in
   its own process: wall time, real-time factor, peak RSS, and its DER.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MEASURE, machine_info, md_table, package_file, provenance  # noqa: E402

from voicetools.data import meetings  # noqa: E402
from voicetools.data.conversations import SAMPLE_RATE, build, espeak_pools, folder_pools  # noqa: E402
from voicetools.diarize import read_rttm  # noqa: E402
from voicetools.diarize.evaluate import Scorer, evaluate_folder, format_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RAVDESS = ROOT.parent / "shared" / "data" / "ravdess-actors-01-12"
TEST_ACTORS = [f"Actor_{a:02d}" for a in range(7, 13)]
TARGET_RTF = 0.05
FLAT_MB = 100.0  # "flat": the longest file peaks at most this much above the shortest (run-to-run noise ~ tens of MB)


def write_set(folder: Path, kind: str, n: int, ravdess: Path | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng([1000, i])  # seeds apart from the ones the settings were chosen on
        k = 2 + i % (4 if kind == "espeak" else 3)
        pools = espeak_pools(k, 8, rng) if kind == "espeak" else folder_pools(ravdess, k, 12, rng, only=TEST_ACTORS)
        conv = build(pools, 16, rng, overlap_p=0.15)
        sf.write(folder / f"{kind}-{i:02d}.wav", conv.audio, SAMPLE_RATE)
        (folder / f"{kind}-{i:02d}.rttm").write_text(conv.rttm(f"{kind}-{i:02d}"))


def long_file(path: Path, minutes: float) -> None:
    """A four-talker espeak conversation of ``minutes``, with its reference RTTM beside it."""
    rng = np.random.default_rng([2000, int(minutes)])
    pools = espeak_pools(4, 30, rng)
    turns = int(minutes * 60 / 3.2)
    conv = build(pools, turns, rng, overlap_p=0.1)
    sf.write(path, conv.audio, SAMPLE_RATE)
    path.with_suffix(".rttm").write_text(conv.rttm(path.stem))


def long_runs(minutes_list, tmp: Path, threads: int) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = []
    for minutes in minutes_list:
        wav = tmp / f"long-{minutes:g}min.wav"
        long_file(wav, minutes)
        cmd = [sys.executable, "-m", "voicetools.cli", "diarize", str(wav), "-o", str(tmp / "out"), "-q", "--overwrite"]
        print(f"long: {minutes:g} min: voicetools diarize {wav.name} ...", file=sys.stderr)
        run = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, stdout=subprocess.PIPE, check=True)
        stats = json.loads(run.stdout)
        audio_s = sf.info(str(wav)).duration
        row = {"minutes": minutes, "audio_s": audio_s, **stats, "rtf": stats["wall_s"] / audio_s}
        hyp = tmp / "out" / f"{wav.stem}.rttm"
        if hyp.exists():
            from voicetools.diarize import DiarizationResult

            scorer = Scorer()
            ref = read_rttm(wav.with_suffix(".rttm"))[wav.stem]
            found = read_rttm(hyp).get(wav.stem, [])
            scorer.add(wav.stem, ref, DiarizationResult(found, audio_s, 0.0, "cli"), stats["wall_s"])
            row.update({k: v for k, v in scorer.files[0].items() if k.startswith(("der", "jer", "speakers"))})
        out.append(row)
    return out


def summary_rows(name: str, reports: dict) -> list[list]:
    rows = []
    for mode, rep in reports.items():
        o = rep["overall"]
        rows.append(
            [
                name,
                mode,
                o["files"],
                f"{o['der_collar_0']:.3f}",
                f"{o['der_collar_0.25']:.3f}",
                f"{o['missed_collar_0.25']:.3f}",
                f"{o['false_collar_0.25']:.3f}",
                f"{o['confusion_collar_0.25']:.3f}",
                f"{o['jer']:.3f}",
                f"{o['speaker_count_exact']}/{o['files']}",
                f"{o['speaker_count_abs_error']:.2f}",
                f"{o['rtf']:.4f}",
            ]
        )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=8, help="per generated set")
    ap.add_argument("--meetings", type=int, default=16, help="far-field test meetings")
    ap.add_argument("--ravdess", type=Path, default=RAVDESS, help="RAVDESS speech, Actor_XX folders")
    ap.add_argument("--data", type=Path, default=None, help="a folder of audio + same-named .rttm files")
    ap.add_argument("--long-minutes", nargs="+", type=float, default=[10.0, 30.0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "diarization.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.conversations, args.meetings, args.long_minutes = 2, 4, [2.0, 5.0]
    torch.set_num_threads(args.threads)
    started = time.time()
    results = {
        "benchmark": "diarization",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": sys.argv,
        "machine": machine_info(args.threads),
        "provenance": provenance(["speaker-resemblyzer"], dict([package_file("silero_vad", "data/silero_vad.jit")])),
        "sets": {},
    }
    print("# Diarization benchmark: Silero VAD + speaker-resemblyzer + spectral clustering\n")
    rows = []
    with tempfile.TemporaryDirectory(prefix="vt-diar-") as tmp:
        tmp = Path(tmp)
        sets = {}
        if all(root.is_dir() for root in meetings.CORPORA.values()):
            sets["far-field"] = tmp / "far-field"
            meetings.write_set(sets["far-field"], "test", args.meetings)
        else:
            print("(no ../shared/data corpora: far-field meetings skipped)\n")
        sets["espeak"] = tmp / "espeak"
        write_set(sets["espeak"], "espeak", args.conversations, None)
        if args.ravdess.is_dir():
            sets["ravdess"] = tmp / "ravdess"
            write_set(sets["ravdess"], "ravdess", args.conversations, args.ravdess)
        else:
            print(f"(no RAVDESS folder at {args.ravdess}: real-speech set skipped)\n")
        if args.data:
            sets["data"] = args.data
        for name, folder in sets.items():
            reports = {mode: evaluate_folder(folder, oracle_speakers=mode == "oracle") for mode in ("auto", "oracle")}
            results["sets"][name] = reports
            rows += summary_rows(name, reports)
            print(f"## {name}: per file, speaker count estimated\n\n{format_report(reports['auto'])}\n")
        results["long"] = long_runs(args.long_minutes, tmp, args.threads)
    print(
        "## Summary (DER and JER pooled over the files of a set; missed, false alarm and confusion are DER's\n"
        "three parts at the 0.25 s collar; RTF = compute s / audio s)\n"
    )
    print(
        md_table(
            [
                "set",
                "speakers",
                "files",
                "DER",
                "DER 0.25 s collar",
                "missed",
                "false alarm",
                "confusion",
                "JER",
                "count exact",
                "count abs. error",
                "RTF",
            ],
            rows,
        )
        + "\n"
    )
    print(f"## Long files (`voicetools diarize`, own process, {args.threads} threads)\n")
    print(
        md_table(
            [
                "input (16 kHz mono WAV)",
                "wall s",
                "RTF",
                "peak RSS MB",
                "speakers ref/found",
                "DER",
                "DER 0.25 s collar",
            ],
            [
                [
                    f"{r['minutes']:g} min",
                    f"{r['wall_s']:.1f}",
                    f"{r['rtf']:.4f}",
                    f"{r['peak_rss_mb']:.0f}",
                    f"{r.get('speakers_ref')}/{r.get('speakers_hyp')}",
                    f"{r.get('der_collar_0', float('nan')):.3f}",
                    f"{r.get('der_collar_0.25', float('nan')):.3f}",
                ]
                for r in results["long"]
            ],
        )
        + "\n"
    )
    longest = max(results["long"], key=lambda r: r["minutes"])
    results["targets"] = [
        {
            "target": f"RTF <= {TARGET_RTF:g} ({longest['minutes']:g} min file)",
            "value": f"{longest['rtf']:.4f}",
            "result": "PASS" if longest["rtf"] <= TARGET_RTF else "FAIL",
        }
    ]
    shortest = min(results["long"], key=lambda r: r["minutes"])
    if longest is not shortest:
        growth = longest["peak_rss_mb"] - shortest["peak_rss_mb"]
        results["targets"].append(
            {
                "target": f"memory flat: peak RSS {longest['minutes']:g} min - {shortest['minutes']:g} min "
                f"<= {FLAT_MB:g} MB",
                "value": f"{growth:+.0f} MB",
                "result": "PASS" if growth <= FLAT_MB else "FAIL",
            }
        )
    print(md_table(["target", "value", "result"], [list(t.values()) for t in results["targets"]]) + "\n")
    results["elapsed_s"] = time.time() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
