#!/usr/bin/env python
"""Benchmark vocal extraction: quality on real and synthetic songs, and speed + memory beside the demucs CLI.

    python benchmarks/vocals.py                                       # full run, vocals-htdemucs-small
    python benchmarks/vocals.py --model tiny-vocals --limit 1 --real-limit 3 --minutes 0.2 --demucs-minutes 0.2
    (a smoke test; the tiny-* models are not installed with voicetools: ``python tests/tiny_models.py`` first)

1. Real songs (the headline): every clip of the three held-out MIR-1K singers
   (``voicetools.data.mir1k.VALID_SINGERS``, never trained on), their real vocals over their real
   accompaniment mixed at 0 dB as the MIR-1K literature does. SI-SDR improvement of vocals and
   accompaniment (= mixture − vocals) per clip, beside the oracle ideal ratio mask and a method
   without training, librosa's REPET-SIM vocal separation recipe (nearest-neighbour filtering of the
   magnitude spectrogram, soft masks), in the same run. Needs ``../shared/data/mir1k-dev``.
2. Synthetic songs (second table): the 16 held-out test chorales (8 bars each; ``voicetools.vocals.data``: sung vocals
   over a FluidSynth band, seeded gains and rooms), rendered by
   ``python -m voicetools.vocals.data --splits test`` into ``--data``. For vocals and
   accompaniment (= mixture − vocals, what ``voicetools vocals`` writes): SDR (BSS Eval v3,
   ``mir_eval``), SI-SDR, the same for the unprocessed mixture, and the ideal-ratio-mask ceiling.
3. Speed and memory, one run, the same file and the same weights: ``voicetools vocals`` vs
   ``python -m demucs.separate`` (demucs 4, defaults: shifts 1, overlap 0.25) loading our shipped
   weights saved in Demucs' own format (``--repo``). Input: the bundled example song tiled to
   each length, 44.1 kHz mono 16-bit WAV. Peak RSS of each process, wall and CPU time.

Tables are Markdown on stdout, progress on stderr, all numbers in ``benchmarks/results/vocals.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

import voicetools as vt
from voicetools.data import mir1k
from voicetools.vocals.data import SAMPLE_RATE, SOURCES, fixed_mixtures
from voicetools.vocals.extract import DEFAULT_MODEL
from voicetools.vocals.metrics import ideal_ratio_mask, sdr, si_sdr
from voicetools.vocals.model import load_vocal_model, save_demucs_file
from voicetools.vocals.remix import mixed_at

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MEASURE, machine_info, md_table, model_info, progress, provenance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FILE_RATE = 44100
IRM_NFFT = 1024
FLAT_MB = 100.0  # "flat": the longest file peaks at most this much above the shortest


# ---------------------------------------------------------------------------------------- quality


def _bss_sdr(estimates: np.ndarray, references: np.ndarray) -> np.ndarray:
    """BSS Eval v3 SDR per source (mir_eval), fixed source order."""
    from mir_eval.separation import bss_eval_sources

    return bss_eval_sources(references.astype(np.float64), estimates.astype(np.float64), compute_permutation=False)[0]


def _scores(est: np.ndarray, ref: np.ndarray) -> dict:
    e, r = torch.from_numpy(est), torch.from_numpy(ref)
    return {"sdr": _bss_sdr(est, ref).tolist(), "si_sdr": si_sdr(e, r).tolist(), "sdr_mdx": sdr(e, r).tolist()}


def quality(loaded, files) -> dict:
    per_song = []
    for name, mixture, targets in progress(list(fixed_mixtures(files)), desc="quality", unit="song"):
        res = vt.extract_vocals(mixture, sample_rate=SAMPLE_RATE, model=loaded)
        est = np.stack([res.stems["vocals"][0], res.stems["accompaniment"][0]])
        irm = ideal_ratio_mask(torch.from_numpy(mixture), torch.from_numpy(targets), n_fft=IRM_NFFT).numpy()
        per_song.append(
            {
                "song": name,
                "seconds": len(mixture) / SAMPLE_RATE,
                "estimate": _scores(est, targets),
                "mixture": _scores(np.stack([mixture, mixture]), targets),
                "irm": _scores(irm, targets),
            }
        )
    summary = {}
    for kind in ("estimate", "mixture", "irm"):
        for metric in ("sdr", "si_sdr", "sdr_mdx"):
            for j, src in enumerate(SOURCES):
                v = np.array([s[kind][metric][j] for s in per_song])
                summary[f"{kind}/{metric}/{src}"] = {"mean": float(v.mean()), "median": float(np.median(v))}
    return {"songs": len(per_song), "per_song": per_song, "summary": summary}


def quality_table(q: dict) -> str:
    s = q["summary"]
    rows = []
    for src in SOURCES:
        for metric, label in (("sdr", "SDR"), ("si_sdr", "SI-SDR")):
            rows.append(
                [
                    src,
                    label,
                    s[f"estimate/{metric}/{src}"]["mean"],
                    s[f"mixture/{metric}/{src}"]["mean"],
                    s[f"estimate/{metric}/{src}"]["mean"] - s[f"mixture/{metric}/{src}"]["mean"],
                    s[f"irm/{metric}/{src}"]["mean"],
                ]
            )
    return md_table(["stem", "metric (dB, mean)", "voicetools", "mixture", "improvement", "oracle IRM ceiling"], rows)


def repet_sim(mixture: np.ndarray, sample_rate: int) -> np.ndarray:
    """Vocals by librosa's REPET-SIM recipe ("Vocal separation" in librosa's gallery), no training."""
    import librosa

    stft = librosa.stft(mixture, n_fft=2048, hop_length=512)
    mag, phase = np.abs(stft), np.angle(stft)
    # librosa's recipe compares frames at least 2 s apart; short clips allow at most half their length
    width = min(int(librosa.time_to_frames(2, sr=sample_rate, hop_length=512)), (mag.shape[1] - 1) // 2 - 1)
    rep = librosa.decompose.nn_filter(mag, aggregate=np.median, metric="cosine", width=max(1, width))
    rep = np.minimum(mag, rep)
    mask_v = librosa.util.softmask(mag - rep, 10 * rep, power=2)
    return librosa.istft(mask_v * mag * np.exp(1j * phase), hop_length=512, length=len(mixture))


def real_quality(loaded, files) -> dict:
    """SI-SDR improvement per clip for ours, the oracle IRM and REPET-SIM on real 0 dB mixes."""
    rows = []
    for f in progress(files, desc="real songs", unit="clip"):
        mixture, targets = mixed_at(f)
        res = vt.extract_vocals(mixture, sample_rate=mir1k.SAMPLE_RATE, model=loaded)
        ests = {
            "voicetools": res.stems["vocals"][0],
            "oracle IRM": ideal_ratio_mask(
                torch.from_numpy(mixture), torch.from_numpy(targets), n_fft=IRM_NFFT
            ).numpy()[0],
            "REPET-SIM (librosa)": repet_sim(mixture, mir1k.SAMPLE_RATE),
        }
        ref = torch.from_numpy(targets)
        base = si_sdr(torch.from_numpy(np.stack([mixture, mixture])), ref)
        row = {"clip": Path(f).stem, "singer": mir1k.singer_of(f), "seconds": len(mixture) / mir1k.SAMPLE_RATE}
        for method, v in ests.items():
            est = torch.from_numpy(np.stack([v, mixture - v]).astype(np.float32))
            row[method] = (si_sdr(est, ref) - base).tolist()  # [vocals, accompaniment]
        rows.append(row)
    summary = {}
    for method in ("voicetools", "oracle IRM", "REPET-SIM (librosa)"):
        v = np.array([r[method] for r in rows])
        summary[method] = {
            "vocals_mean": float(v[:, 0].mean()),
            "vocals_median": float(np.median(v[:, 0])),
            "vocals_min": float(v[:, 0].min()),
            "clips_below_0db": int((v[:, 0] < 0).sum()),
            "accompaniment_mean": float(v[:, 1].mean()),
        }
        summary[method]["per_singer"] = {
            s: float(np.mean([r[method][0] for r in rows if r["singer"] == s]))
            for s in sorted({r["singer"] for r in rows})
        }
    return {
        "clips": len(rows),
        "singers": sorted({r["singer"] for r in rows}),
        "mix_db": 0.0,
        "per_clip": rows,
        "summary": summary,
    }


def real_table(q: dict) -> str:
    rows = [
        [
            m,
            s["vocals_mean"],
            s["vocals_median"],
            s["vocals_min"],
            f"{s['clips_below_0db']} / {q['clips']}",
            s["accompaniment_mean"],
        ]
        for m, s in q["summary"].items()
    ]
    return md_table(
        [
            "method",
            "vocals SI-SDRi mean (dB)",
            "median",
            "worst clip",
            "clips below 0 dB",
            "accompaniment SI-SDRi mean",
        ],
        rows,
    )


# ------------------------------------------------------------------------------ speed and memory


def write_long_wav(path: Path, minutes: float, source: np.ndarray, source_rate: int, block_s: float = 30.0) -> float:
    """A 44.1 kHz mono 16-bit WAV of ``source`` tiled to ``minutes``, written block by block."""
    src = soxr.resample(source, source_rate, FILE_RATE).astype(np.float32)
    n, block = int(minutes * 60 * FILE_RATE), int(block_s * FILE_RATE)
    with sf.SoundFile(str(path), "w", FILE_RATE, 1, "PCM_16") as f:
        for start in progress(range(0, n, block), desc=f"write {minutes:g} min WAV", unit="block"):
            f.write(src[np.arange(start, min(n, start + block)) % len(src)])
    return n / FILE_RATE


def _measure(cmd: list[str], env: dict) -> dict:
    run = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, stdout=subprocess.PIPE, check=True)
    return json.loads(run.stdout)


def speed_memory(
    loaded, minutes: list[float], demucs_minutes: list[float], threads: int, tmp_root: str | None
) -> list[dict]:
    song, song_rate = sf.read(str(ROOT / "examples" / "song.wav"), dtype="float32")
    song = song.mean(1) if song.ndim == 2 else song
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = []
    with tempfile.TemporaryDirectory(prefix="vt-bench-vocals-", dir=tmp_root) as tmp:
        repo = Path(tmp) / "repo"
        sig = save_demucs_file(loaded.model, repo, sig="vtvocals").stem.split("-")[0]
        for m in sorted(set(minutes) | set(demucs_minutes)):
            wav = Path(tmp) / "long.wav"
            audio_s = write_long_wav(wav, m, song, song_rate)
            tools = {
                "voicetools vocals": [
                    sys.executable,
                    "-m",
                    "voicetools.cli",
                    "vocals",
                    str(wav),
                    "-o",
                    str(Path(tmp) / "vt"),
                    "--model",
                    loaded.name,
                    "--stems",
                    "all",
                    "-q",
                    "-j",
                    str(threads),
                    "--overwrite",
                ]
            }
            if m in demucs_minutes:
                tools["demucs CLI"] = [
                    sys.executable,
                    "-m",
                    "demucs.separate",
                    "--repo",
                    str(repo),
                    "-n",
                    sig,
                    "-o",
                    str(Path(tmp) / "dm"),
                    "-j",
                    "0",
                    str(wav),
                ]
            for tool, cmd in tools.items():
                if m not in (minutes if tool.startswith("voicetools") else demucs_minutes):
                    continue
                print(f"speed: {m:g} min: {tool} ...", file=sys.stderr)
                stats = _measure(cmd, env)
                out.append(
                    {
                        "tool": tool,
                        "minutes": m,
                        "audio_s": audio_s,
                        **stats,
                        "rtf": stats["wall_s"] / audio_s,
                        "cpu_rtf": stats["cpu_s"] / audio_s,
                    }
                )
            wav.unlink()
    return out


def speed_table(rows: list[dict]) -> str:
    return md_table(
        ["tool", "input (44.1 kHz mono WAV)", "peak RSS MB", "wall s", "CPU s", "RTF (wall)", "RTF (CPU)", "exit"],
        [
            [
                r["tool"],
                f"{r['minutes']:g} min",
                r["peak_rss_mb"],
                r["wall_s"],
                r["cpu_s"],
                f"{r['rtf']:.3f}",
                f"{r['cpu_rtf']:.3f}",
                r["exit_code"],
            ]
            for r in rows
        ],
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "vocals", help="rendered songs (test/ inside)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N synthetic test songs")
    ap.add_argument("--mir1k", type=Path, default=mir1k.DEFAULT_ROOT, help="MIR-1K folder (audio/ inside)")
    ap.add_argument("--real-limit", type=int, default=None, help="only every k-th held-out clip, about N in all")
    ap.add_argument("--minutes", type=float, nargs="*", default=[1.0, 10.0, 30.0], help="lengths for voicetools vocals")
    ap.add_argument(
        "--demucs-minutes", type=float, nargs="*", default=[1.0, 10.0, 30.0], help="lengths for the demucs CLI"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tmp", default=None, help="folder for the long WAVs")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vocals.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    loaded = load_vocal_model(args.model)
    results = {
        "machine": machine_info(args.threads),
        "model": model_info(loaded),
        "provenance": provenance([args.model]),
    }
    if not args.skip_quality:
        real = mir1k.clips(args.mir1k, split="valid") if (args.mir1k / "audio").is_dir() else []
        if args.real_limit and real:
            real = real[:: max(1, len(real) // args.real_limit)][: args.real_limit]
        if real:
            results["real"] = real_quality(loaded, real)
            print(
                f"## Real songs: {results['real']['clips']} MIR-1K clips of held-out singers "
                f"{', '.join(results['real']['singers'])}, mixed at 0 dB\n"
            )
            print(real_table(results["real"]) + "\n")
        else:
            print(f"(no MIR-1K clips in {args.mir1k}: real-song table skipped)", file=sys.stderr)
        files = sorted((args.data / "test").glob("*-v0.npy"))[: args.limit]
        if not files:
            print(
                f"no test songs in {args.data}/test; run: python -m voicetools.vocals.data --splits test "
                f"--out {args.data}",
                file=sys.stderr,
            )
            return 1
        results["quality"] = quality(loaded, files)
        print(f"## Synthetic songs: {results['quality']['songs']} held-out chorales at {SAMPLE_RATE} Hz\n")
        print(quality_table(results["quality"]) + "\n")
    results["speed_memory"] = speed_memory(loaded, args.minutes, args.demucs_minutes, args.threads, args.tmp)
    print(f"## Speed and memory ({args.threads} thread(s), same weights, same file)\n")
    print(speed_table(results["speed_memory"]) + "\n")
    ours = [r for r in results["speed_memory"] if r["tool"].startswith("voicetools")]
    if len(ours) > 1:
        growth = max(r["peak_rss_mb"] for r in ours) - min(r["peak_rss_mb"] for r in ours)
        results["memory_growth_mb"] = growth
        print(
            f"voicetools peak RSS from {min(r['minutes'] for r in ours):g} to {max(r['minutes'] for r in ours):g} "
            f"min: +{growth:.0f} MB ({'flat' if growth <= FLAT_MB else 'NOT flat'}, limit {FLAT_MB:g} MB)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"results: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
