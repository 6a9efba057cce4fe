#!/usr/bin/env python
"""Benchmark SATB separation: real recordings, the test chorales, speed, and peak memory of the CLI.

    python benchmarks/separation.py                                   # full run, satb-convtasnet
    python benchmarks/separation.py --model tiny-satb --limit 1 --quick --memory-minutes 1   # smoke test
    (the tiny-* models are not installed with voicetools: run ``python tests/tiny_models.py`` once first)

0. Real recordings (the headline): Bach10's pieces in ``--bach10`` (default ``../shared/data/bach10-dev``):
   violin, clarinet, saxophone and bassoon playing S, A, T, B, each recorded on its own; the
   mixture is their sum, at the model's rate. SI-SDRi per voice and the ideal-ratio-mask ceiling.
   Their tunes are in no training split (``chorale_splits.json``: ``bach10``).
1. Quality: the held-out test chorales (``voicetools.data.satb.test_mixtures``), full length,
   each renderer alone; SI-SDR of ``voicetools.separate`` (the chunked overlap-add path users get),
   of the unprocessed mixture, SI-SDRi, and the ideal-ratio-mask ceiling.
2. Speed: real-time factor on a 60 s mixture, ours beside asteroid's ConvTasNet with the same weights.
3. Memory: peak RSS, wall time and RTF of ``voicetools separate`` streaming long 44.1 kHz stereo WAVs.

Everything is generated: nothing to download. Rendered test mixtures are cached in
``data/bench-cache/`` (keyed by chorale, renderer and the rendering code). Tables are Markdown on
stdout, progress on stderr, all numbers in the JSON file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

import voicetools as vt
from voicetools.chunking import OverlapAdd
from voicetools.data import bach10, chorales, render, satb, singing
from voicetools.data.chorales import VOICES, split_names
from voicetools.data.render import RENDERERS
from voicetools.data.satb import SAMPLE_RATE, test_mixtures
from voicetools.separation import DEFAULT_MODEL, OVERLAP_S, SEGMENT_S
from voicetools.separation.metrics import ideal_ratio_mask, si_sdr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MEASURE, machine_info, md_table, model_info, progress, provenance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEED_S = 60.0
FILE_RATE = 44100
TARGET_SI_SDRI_DB, GOAL_SI_SDRI_DB = 8.0, 12.0
TARGET_RTF = 0.25
TARGET_PEAK_MB = 2048.0
FLAT_MB = 100.0  # "flat": the longest file peaks at most this much above the shortest (run-to-run noise ~ tens of MB)
METRICS = {
    "si_sdr": "SI-SDR estimate",
    "si_sdr_mixture": "SI-SDR mixture",
    "si_sdri": "SI-SDRi",
    "irm_si_sdr": "SI-SDR IRM ceiling",
    "irm_si_sdri": "SI-SDRi IRM ceiling",
}


# ---------------------------------------------------------------------------------------- setup


def cache_folder(base: Path) -> Path:
    """One folder per version of the rendering code, so a changed renderer never reads stale audio."""
    h = hashlib.sha256()
    for module in (chorales, render, satb, singing):
        h.update(Path(module.__file__).read_bytes())
    return base / f"separation-{h.hexdigest()[:10]}"


def test_set(renderers, limit: int | None, cache: Path | None) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(chorale, renderer, mixture, targets) for the first ``limit`` test chorales, rendered once and cached."""
    names = split_names("test")[:limit]
    items = []
    for r in renderers:
        paths = [cache / f"{n.replace('/', '_')}-{r}.npz" for n in names] if cache else []
        if cache and all(p.exists() for p in paths):
            for n, p in zip(names, paths):
                with np.load(p) as z:
                    items.append((n, r, z["mixture"], z["targets"]))
            continue
        # test_mixtures yields in the fixed chorale order, with choices seeded per chorale and renderer
        rendered = islice(test_mixtures(renderers=(r,)), len(names))
        for i, (n, _, mixture, targets) in enumerate(progress(rendered, total=len(names), desc=f"render {r}")):
            mixture, targets = mixture.astype(np.float32), targets.astype(np.float32)
            if cache:
                cache.mkdir(parents=True, exist_ok=True)
                np.savez(paths[i].with_suffix(".tmp.npz"), mixture=mixture, targets=targets)
                paths[i].with_suffix(".tmp.npz").rename(paths[i])
            items.append((n, r, mixture, targets))
    return items


# -------------------------------------------------------------------------------------- quality

BACH10_ROOT = bach10.DEFAULT_ROOT


def bach10_quality(loaded, root: Path) -> dict:
    rows = []
    for name, mixture, parts in progress(list(bach10.pieces(root, loaded.sample_rate)), desc="bach10"):
        res = vt.separate(mixture, sample_rate=loaded.sample_rate, model=loaded)
        est = torch.from_numpy(np.concatenate([res.stems[s] for s in loaded.sources]))
        ref, mix = torch.from_numpy(parts), torch.from_numpy(mixture)
        base = si_sdr(mix.expand_as(ref), ref)
        rows.append(
            {
                "piece": name,
                "duration_s": len(mixture) / loaded.sample_rate,
                "si_sdri": dict(zip(VOICES, (si_sdr(est, ref) - base).tolist())),
                "irm_si_sdri": dict(zip(VOICES, (si_sdr(ideal_ratio_mask(mix, ref), ref) - base).tolist())),
            }
        )
    mean = {k: {v: float(np.mean([r[k][v] for r in rows])) for v in VOICES} for k in ("si_sdri", "irm_si_sdri")}
    for k in mean:
        mean[k]["mean"] = float(np.mean(list(mean[k].values())))
    return {"pieces": rows, "mean": mean}


def bach10_table(q: dict) -> str:
    rows = [
        [
            r["piece"],
            *[r["si_sdri"][v] for v in VOICES],
            float(np.mean(list(r["si_sdri"].values()))),
            float(np.mean(list(r["irm_si_sdri"].values()))),
        ]
        for r in q["pieces"]
    ]
    m = q["mean"]
    rows.append(["**mean**", *[m["si_sdri"][v] for v in VOICES], m["si_sdri"]["mean"], m["irm_si_sdri"]["mean"]])
    return md_table(["piece", *[f"{v} SI-SDRi" for v in VOICES], "mean", "IRM ceiling (mean)"], rows)


def quality(loaded, items) -> dict:
    rows = []
    for name, r, mixture, targets in progress(items, desc="quality"):
        res = vt.separate(mixture, sample_rate=SAMPLE_RATE, model=loaded)
        est = torch.from_numpy(np.concatenate([res.stems[s] for s in loaded.sources]))
        ref, mix = torch.from_numpy(targets), torch.from_numpy(mixture)
        scores = {
            "si_sdr": si_sdr(est, ref),
            "si_sdr_mixture": si_sdr(mix.expand_as(ref), ref),
            "irm_si_sdr": si_sdr(ideal_ratio_mask(mix, ref), ref),
        }
        scores["si_sdri"] = scores["si_sdr"] - scores["si_sdr_mixture"]
        scores["irm_si_sdri"] = scores["irm_si_sdr"] - scores["si_sdr_mixture"]
        rows.append(
            {
                "chorale": name,
                "renderer": r,
                "duration_s": len(mixture) / SAMPLE_RATE,
                **{k: dict(zip(VOICES, v.tolist())) for k, v in scores.items()},
            }
        )
    summary = {}
    for group in [*dict.fromkeys(r["renderer"] for r in rows), "all"]:
        sel = [r for r in rows if group in ("all", r["renderer"])]
        summary[group] = {"n": len(sel)}
        for k in METRICS:
            per_voice = {v: float(np.mean([r[k][v] for r in sel])) for v in VOICES}
            summary[group][k] = {**per_voice, "mean": float(np.mean(list(per_voice.values())))}
    return {"summary": summary, "items": rows}


def quality_table(q: dict) -> str:
    rows = [
        [f"{g} (n={s['n']})", label, *[s[k][v] for v in (*VOICES, "mean")]]
        for g, s in q["summary"].items()
        for k, label in METRICS.items()
    ]
    return md_table(["renderer", "dB", *VOICES, "mean"], rows)


# ---------------------------------------------------------------------------------------- speed


def overlap_add(net: torch.nn.Module, x: np.ndarray, n_src: int, sample_rate: int) -> torch.Tensor:
    """A bare network through the library's OverlapAdd, with the chunking ``separate`` uses."""

    def run(chunk):
        with torch.inference_mode():
            return net(chunk[None])[0]

    ola = OverlapAdd(run, segment=int(SEGMENT_S * sample_rate), overlap=int(OVERLAP_S * sample_rate), n_out=n_src)
    return torch.cat([ola.push(torch.from_numpy(x)[None]), ola.finish()], 1)


def speed(loaded, mixture: np.ndarray, repeats: int) -> dict:
    sr, n_src = loaded.sample_rate, len(loaded.sources)
    x = np.resize(mixture, int(SPEED_S * sr)).astype(np.float32)  # the mixture tiled to 60 s
    runs = {
        "voicetools.separate": lambda y: vt.separate(y, sample_rate=sr, model=loaded),
        "voicetools ConvTasNet + OverlapAdd": lambda y: overlap_add(loaded.model, y, n_src, sr),
    }
    try:
        from asteroid.models import ConvTasNet as AsteroidConvTasNet
    except ImportError as exc:
        theirs, missing = None, f"not installed ({exc})"
    else:
        theirs = AsteroidConvTasNet(**loaded.model.model_args).eval()
        theirs.load_state_dict(loaded.model.state_dict())
        runs["asteroid ConvTasNet + OverlapAdd"] = lambda y: overlap_add(theirs, y, n_src, sr)
    out = {}
    for name, fn in progress(runs.items(), desc="speed"):
        fn(x[: int(10 * sr)])  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t0)
        out[name] = {"audio_s": SPEED_S, "compute_s": min(times), "all_compute_s": times, "rtf": min(times) / SPEED_S}
    if theirs is None:
        out["asteroid ConvTasNet + OverlapAdd"] = {"status": missing}
    else:  # same weights, same chunking: the outputs should agree to float precision
        diff = (overlap_add(theirs, x, n_src, sr) - overlap_add(loaded.model, x, n_src, sr)).abs().max()
        out["asteroid ConvTasNet + OverlapAdd"]["max_abs_diff_vs_voicetools"] = float(diff)
    return out


def speed_table(s: dict) -> str:
    rows = [
        [k, v["compute_s"], v["audio_s"], f"{v['rtf']:.4f}"] if "rtf" in v else [k, v["status"], "", ""]
        for k, v in s.items()
    ]
    return md_table(["implementation", "compute s", "audio s", "RTF"], rows)


# --------------------------------------------------------------------------------------- memory


def write_long_wav(path: Path, minutes: float, source: np.ndarray, block_s: float = 30.0) -> float:
    """A 44.1 kHz stereo 16-bit WAV of the source tiled to ``minutes``, written block by block."""
    src = soxr.resample(source, SAMPLE_RATE, FILE_RATE).astype(np.float32)
    src *= 0.5 / (np.abs(src).max() + 1e-9)
    n, block = int(minutes * 60 * FILE_RATE), int(block_s * FILE_RATE)
    with sf.SoundFile(str(path), "w", FILE_RATE, 2, "PCM_16") as f:
        for start in progress(range(0, n, block), desc=f"write {minutes:g} min WAV", unit="block"):
            mono = src[np.arange(start, min(n, start + block)) % len(src)]
            f.write(np.stack([mono, 0.8 * mono], 1))
    return n / FILE_RATE


def memory(model: str, minutes_list, source: np.ndarray, threads: int, tmp_root: str | None) -> list[dict]:
    """Run ``voicetools separate`` on each length in its own process and record its peak RSS and time."""
    out = []
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for minutes in minutes_list:
        with tempfile.TemporaryDirectory(prefix="vt-bench-", dir=tmp_root) as tmp:
            wav = Path(tmp) / "long.wav"
            audio_s = write_long_wav(wav, minutes, source)
            cmd = [
                sys.executable,
                "-m",
                "voicetools.cli",
                "separate",
                str(wav),
                "-o",
                str(Path(tmp) / "out"),
                "--model",
                model,
            ]
            print(f"memory: {minutes:g} min: voicetools separate {wav} ...", file=sys.stderr)
            run = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, stdout=subprocess.PIPE, check=True)
            stats = json.loads(run.stdout)
            stem = Path(tmp) / "out" / "long" / "soprano.wav"
            out.append(
                {
                    "minutes": minutes,
                    "audio_s": audio_s,
                    "input": "44.1 kHz stereo PCM_16 WAV",
                    **stats,
                    "rtf": stats["wall_s"] / audio_s,
                    "stem_s": sf.info(str(stem)).duration if stem.exists() else None,
                }
            )
    return out


def memory_table(m: list[dict]) -> str:
    rows = [
        [f"{r['minutes']:g} min", r["peak_rss_mb"], r["wall_s"], f"{r['rtf']:.4f}", r["cpu_s"], r["exit_code"]]
        for r in m
    ]
    return md_table(["input (44.1 kHz stereo WAV)", "peak RSS MB", "wall s", "RTF", "CPU s", "exit"], rows)


# -------------------------------------------------------------------------------------- targets


def targets(results: dict) -> list[dict]:
    out = []
    if "quality" in results:
        v = results["quality"]["summary"]["all"]["si_sdri"]["mean"]
        note = f"goal {GOAL_SI_SDRI_DB:g} dB {'met' if v >= GOAL_SI_SDRI_DB else 'not met'}"
        out.append(
            {
                "target": f"mean SI-SDRi >= {TARGET_SI_SDRI_DB:g} dB",
                "value": f"{v:.2f} dB",
                "result": "PASS" if v >= TARGET_SI_SDRI_DB else "FAIL",
                "note": note,
            }
        )
    if "speed" in results:
        v = results["speed"]["voicetools.separate"]["rtf"]
        out.append(
            {
                "target": f"RTF <= {TARGET_RTF:g} (separate, {SPEED_S:g} s)",
                "value": f"{v:.4f}",
                "result": "PASS" if v <= TARGET_RTF else "FAIL",
                "note": "",
            }
        )
    if results.get("memory"):
        runs = sorted(results["memory"], key=lambda r: r["minutes"])
        first, last = runs[0], runs[-1]
        ok = all(r["exit_code"] == 0 for r in runs) and last["peak_rss_mb"] <= TARGET_PEAK_MB
        if len(runs) > 1:
            growth = last["peak_rss_mb"] - first["peak_rss_mb"]
            ok = ok and growth <= FLAT_MB
            note = f"{growth:+.0f} MB from {first['minutes']:g} to {last['minutes']:g} min (flat: <= +{FLAT_MB:g} MB)"
        else:
            note = "one length only: flatness not checked"
        if last["minutes"] < 60:
            note += "; the 60-min run was not made"
        out.append(
            {
                "target": f"peak memory flat and <= {TARGET_PEAK_MB / 1024:g} GB at 60 min",
                "value": f"{last['peak_rss_mb']:.0f} MB at {last['minutes']:g} min",
                "result": "PASS" if ok else "FAIL",
                "note": note,
            }
        )
    return out


# ----------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="model name or checkpoint path")
    ap.add_argument("--limit", type=int, default=None, help="only the first N test chorales (default: all 16)")
    ap.add_argument("--renderers", nargs="+", choices=RENDERERS, default=list(RENDERERS))
    ap.add_argument("--quick", action="store_true", help="memory at the shortest length only (skips 60 min)")
    ap.add_argument("--memory-minutes", nargs="+", type=float, default=[10.0, 60.0])
    ap.add_argument(
        "--only",
        nargs="+",
        choices=["bach10", "quality", "speed", "memory"],
        default=["bach10", "quality", "speed", "memory"],
    )
    ap.add_argument("--bach10", type=Path, default=BACH10_ROOT, help="Bach10 pieces (NN-Name/ folders)")
    ap.add_argument("--repeats", type=int, default=3, help="speed: best of N timed runs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--cache", type=Path, default=ROOT / "data" / "bench-cache", help="where rendered mixtures are kept"
    )
    ap.add_argument("--no-cache", action="store_true", help="render the test mixtures again, keep nothing")
    ap.add_argument("--tmp", default=None, help="folder for the long WAVs (default: the system temp folder)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "separation.json")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    started = time.time()
    loaded = vt.load_model(args.model, task="separation")
    minutes = sorted(args.memory_minutes)[:1] if args.quick else sorted(args.memory_minutes)
    cache = None if args.no_cache else cache_folder(args.cache)
    # speed and memory only need one mixture to tile
    items = test_set(args.renderers, args.limit if "quality" in args.only else 1, cache)
    names = list(dict.fromkeys(n for n, *_ in items))
    results = {
        "benchmark": "separation",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": sys.argv,
        "machine": machine_info(args.threads),
        "model": model_info(loaded),
        "provenance": provenance([args.model]),
        "data": {
            "split": "test",
            "chorales": names,
            "renderers": args.renderers,
            "description": "test_mixtures: each chorale (version 0) rendered by one renderer, seeded "
            "per-part gains, room on about half, full length, 8 kHz mono",
            "chunking": {"segment_s": SEGMENT_S, "overlap_s": OVERLAP_S},
        },
    }
    print(f"# Separation benchmark: {loaded.name}\n")
    print(
        f"{results['machine']['cpu']}, {os.cpu_count()} CPUs, torch {torch.__version__}, {args.threads} threads, "
        f"load average {os.getloadavg()[0]:.1f} at start\n"
    )
    if "bach10" in args.only:
        if any(args.bach10.glob("[0-9][0-9]-*")):
            results["bach10"] = bach10_quality(loaded, args.bach10)
            print(
                f"## Real recordings: Bach10 ({len(results['bach10']['pieces'])} pieces: violin, clarinet, "
                f"saxophone, bassoon as S, A, T, B; SI-SDRi in dB at {loaded.sample_rate} Hz)\n"
            )
            print(bach10_table(results["bach10"]) + "\n")
        else:
            print(f"(no Bach10 pieces in {args.bach10}: real-recording table skipped)", file=sys.stderr)
    if "quality" in args.only:
        results["quality"] = quality(loaded, items)
        print(
            f"## Quality: {len(names)} test chorales x {', '.join(args.renderers)}, full length "
            "(mean over chorales; SI-SDRi = estimate - mixture)\n"
        )
        print(quality_table(results["quality"]) + "\n")
    if "speed" in args.only:
        results["speed"] = speed(loaded, items[0][2], args.repeats)
        print(f"## Speed ({SPEED_S:g} s mixture, {args.threads} threads; RTF = compute s / audio s)\n")
        print(speed_table(results["speed"]) + "\n")
        diff = results["speed"]["asteroid ConvTasNet + OverlapAdd"].get("max_abs_diff_vs_voicetools")
        if diff is not None:
            print(f"Same weights in asteroid: outputs differ by at most {diff:.1e}.\n")
    if "memory" in args.only:
        results["memory"] = memory(args.model, minutes, items[0][2], args.threads, args.tmp)
        print("## Memory (`voicetools separate`, file to file, own process)\n")
        print(memory_table(results["memory"]) + "\n")
    results["targets"] = targets(results)
    print("## Targets\n")
    print(md_table(["target", "value", "result", "note"], [list(t.values()) for t in results["targets"]]) + "\n")
    results["elapsed_s"] = time.time() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"results: {args.out} ({results['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
