#!/usr/bin/env python
"""Benchmark the classifiers on this CPU: training time per epoch, inference throughput, and a
cross-validation run end to end on a synthetic dataset.

    python benchmarks/classify.py                 # all four models, 2 threads
    python benchmarks/classify.py --quick         # smoke test: fewer clips and batches

1. Speed per model (cnn, transformer, vgg, crnn; average pooling): one training epoch over 480
   clips (the size of a RAVDESS 8-actor training fold) of 3 s 16 kHz log-mels (64 x 151), batch 32,
   forward + backward + AdamW; inference throughput in clips per second (batch 64, no grad),
   front-end excluded and included (log-mel from the waveform).
2. CV end to end: ``voicetools.classify.train.run`` on a synthetic UrbanSound8K-layout dataset
   (``voicetools.data.toy``: 4 classes, 4 predefined folds) — features, every fold with a fresh
   model, the final model, export — with its wall time and mean ± std accuracy/macro-F1.

Tables are Markdown on stdout, all numbers in ``benchmarks/results/classify.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from voicetools.classify.features import FeatureConfig, logmel
from voicetools.classify.train import Recipe, format_table, loss_fn, run
from voicetools.data.labelled import read_dataset
from voicetools.data.toy import make_toy_dataset
from voicetools.nn.classifiers import BACKBONES, AudioClassifier, n_parameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import provenance  # noqa: E402


def speed(backbone: str, *, clips: int, batch: int = 32) -> dict:
    fc = FeatureConfig()  # the emotion front-end: 16 kHz, 3 s, 64 mels, 151 frames
    torch.manual_seed(0)
    model = AudioClassifier(backbone=backbone, n_classes=8, n_mels=fc.n_mels)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, fc.n_mels, fc.n_frames)
    y = torch.randint(0, 8, (batch,))
    one = torch.ones(batch)
    model.train()
    loss_fn(model, (x, y, y, one)).backward()  # warm-up
    t0 = time.perf_counter()
    for _ in range(int(np.ceil(clips / batch))):
        loss = loss_fn(model, (x, y, y, one))
        opt.zero_grad()
        loss.backward()
        opt.step()
    epoch_s = time.perf_counter() - t0
    model.eval()
    xb = torch.randn(64, fc.n_mels, fc.n_frames)
    waves = np.random.default_rng(0).standard_normal((64, fc.n_samples)).astype(np.float32) * 0.1
    with torch.no_grad():
        model(xb)
        t0 = time.perf_counter()
        reps = max(1, clips // 64)
        for _ in range(reps):
            model(xb)
        infer = 64 * reps / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(reps):
            model(logmel(waves, fc))
        infer_fe = 64 * reps / (time.perf_counter() - t0)
    return {
        "model": backbone,
        "parameters": n_parameters(model),
        "size_mb": n_parameters(model) * 4 / 1e6,
        "train_epoch_s": epoch_s,
        "train_clips": clips,
        "train_clips_per_s": clips / epoch_s,
        "infer_clips_per_s": infer,
        "infer_with_frontend_clips_per_s": infer_fe,
    }


def cv_end_to_end(tmp: Path, *, quick: bool) -> dict:
    root = make_toy_dataset(
        tmp / "us8k",
        "urbansound8k",
        n_classes=4,
        n_groups=4,
        clips_per_group=2 if quick else 6,
        seconds=1.0,
        sample_rate=16000,
    )
    ds = read_dataset(root)
    recipe = Recipe(
        task="events", model="cnn", epochs=3 if quick else 10, batch_size=16, lr=3e-3, features=dict(clip_s=1.0)
    )
    t0 = time.perf_counter()
    summary = run(ds, recipe, tmp / "run", cv=True, cache_dir=tmp / "cache")
    wall = time.perf_counter() - t0
    return {
        "dataset": "toy UrbanSound8K layout (voicetools.data.toy)",
        "clips": len(ds),
        "classes": len(ds.labels),
        "folds": summary["accuracy"]["n"],
        "epochs": recipe.epochs,
        "wall_s": wall,
        "accuracy": summary["accuracy"],
        "macro_f1": summary["macro_f1"],
        "per_fold": summary["folds"],
        "table": format_table(summary),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--models", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "classify.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    load_before = os.getloadavg()[0]  # other jobs on the machine slow every number below
    clips = 96 if a.quick else 480
    rows = [speed(m, clips=clips) for m in a.models]
    print(
        f"## Classifier speed ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{a.threads} threads, torch {torch.__version__}, load average {load_before:.1f} before the run)\n"
    )
    print(
        "| model | params | train s/epoch (480 clips) | train clips/s | infer clips/s | infer clips/s incl. log-mel |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        per480 = r["train_epoch_s"] * 480 / r["train_clips"]
        print(
            f"| {r['model']} | {r['parameters'] / 1e3:.0f} k | {per480:.1f} | {r['train_clips_per_s']:.0f} | "
            f"{r['infer_clips_per_s']:.0f} | {r['infer_with_frontend_clips_per_s']:.0f} |"
        )
    with tempfile.TemporaryDirectory() as tmp:
        cv = cv_end_to_end(Path(tmp), quick=a.quick)
    print(
        f"\n## Cross-validation end to end: {cv['dataset']}, {cv['clips']} clips, {cv['folds']} folds, "
        f"{cv['epochs']} epochs, wall {cv['wall_s']:.1f} s\n"
    )
    print(cv["table"])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(
        json.dumps(
            {
                "threads": a.threads,
                "torch": torch.__version__,
                "quick": a.quick,
                "load_average_1min_before": load_before,
                "cpu_count": os.cpu_count(),
                "provenance": provenance(),  # every model here is trained from scratch
                "speed": rows,
                "cv": cv,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"\n{a.out}")


if __name__ == "__main__":
    main()
