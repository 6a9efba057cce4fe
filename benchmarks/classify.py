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

3. Emotion on voices never heard (``--sections emotion``; skipped with a message when the data is
   not there): RAVDESS actors 01-12 and Berlin EmoDB with the six labels they share
   (``voicetools.data.labelled.read_emotion_union``), scored on speakers the model never heard —
   (a) by-actor CV on RAVDESS (6 folds of 2 actors), (b) by-speaker CV on EmoDB (5 folds of 2
   speakers), (c) by-speaker CV on the union (11 folds: the folds of (a) and (b)), (d) leave one
   corpus out, both ways. Rows: the features + logistic-regression baseline
   (``voicetools.classify.baseline``: plain, per-utterance normalised, per-speaker standardised)
   and, with ``--network``, the default emotion recipe (``voicetools.classify.train.run``, a fresh
   model per fold). Accuracy, macro-F1, per-class recall and the confusion matrix of each.

    python benchmarks/classify.py --sections emotion --threads 1                   # baseline rows
    python benchmarks/classify.py --sections emotion --threads 1 --network a       # + the network on (a)

Tables are Markdown on stdout; numbers in ``benchmarks/results/classify.json`` (speed, CV) and
``benchmarks/results/classify-emotion.json`` (emotion), each with its provenance.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from voicetools.classify import baseline, metrics
from voicetools.classify.features import FeatureConfig, logmel
from voicetools.classify.train import Recipe, default_folds, format_table, loss_fn, run
from voicetools.data.labelled import Clip, LabelledDataset, read_dataset, read_emotion_union
from voicetools.data.toy import make_toy_dataset
from voicetools.nn.classifiers import BACKBONES, AudioClassifier, n_parameters
from voicetools.train.cv import assign_folds, mean_std

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, provenance  # noqa: E402

DATA = Path("/work/shared/data")
EMOTION_CORPORA = {"ravdess": "ravdess-actors-01-12", "emodb": "emodb"}
EVALUATIONS = {
    "a": "by-actor CV on RAVDESS actors 01-12 (6 folds of 2 actors)",
    "b": "by-speaker CV on EmoDB (5 folds of 2 speakers)",
    "c": "by-speaker CV on RAVDESS + EmoDB (11 folds: those of a and b)",
    "d1": "train RAVDESS -> test EmoDB",
    "d2": "train EmoDB -> test RAVDESS",
}
BASELINES = {  # row name -> (utterance_norm, speaker_norm)
    "baseline": (False, False),
    "baseline, per-utterance norm": (True, False),
    "baseline, per-speaker std": (False, True),
    "baseline, per-utterance norm + per-speaker std": (True, True),
}


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
    ap.add_argument(
        "--sections", nargs="+", default=["speed", "emotion"], choices=["speed", "emotion"], help="speed: 1+2"
    )
    ap.add_argument("--data", type=Path, default=DATA, help=f"holds {' and '.join(EMOTION_CORPORA.values())}")
    ap.add_argument(
        "--network",
        nargs="*",
        default=None,
        choices=["a", "b", "c", "d"],
        help="also train the default emotion recipe on these evaluations (no letters: all; slow)",
    )
    ap.add_argument("--pooling", default="avg", choices=["avg", "attention"], help="the network rows' pooling")
    ap.add_argument("--runs", type=Path, default=Path("runs/benchmark-emotion"), help="network run folders")
    ap.add_argument("--cache", type=Path, default=None, help="feature cache (default: none)")
    ap.add_argument("--emotion-out", type=Path, default=Path(__file__).parent / "results" / "classify-emotion.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    if "emotion" in a.sections:
        emotion_section(a)
    if "speed" in a.sections:
        speed_section(a)


def speed_section(a) -> None:
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


# ------------------------------------------------------------------------------ emotion on voices never heard


def emotion_datasets(data: Path) -> dict[str, LabelledDataset] | None:
    """The union with the shared labels and its two corpora, or None (with a message) when absent."""
    roots = [data / d for d in EMOTION_CORPORA.values()]
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        print(f"## Emotion on voices never heard: skipped, no {', '.join(missing)}\n")
        return None
    union = read_emotion_union(roots)
    sets = {"union": union}
    for corpus in EMOTION_CORPORA:
        clips = [c for c in union.clips if c.corpus == corpus]
        sets[corpus] = LabelledDataset(corpus, data / EMOTION_CORPORA[corpus], clips, union.labels, "group")
    return sets


def scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    cm = metrics.confusion_matrix(y_true, y_pred, n_classes)
    return {
        "accuracy": metrics.accuracy(y_true, y_pred),
        "macro_f1": metrics.macro_f1(y_true, y_pred),
        "confusion": cm.tolist(),
    }


def pooled(folds: list[dict], labels: list[str]) -> dict:
    """Mean ± std over folds of accuracy and macro-F1, with the summed confusion and per-class recall."""
    cm = np.sum([np.array(f["confusion"]) for f in folds], axis=0)
    recall = cm.diagonal() / np.maximum(cm.sum(1), 1)
    return {
        "accuracy": mean_std([f["accuracy"] for f in folds]),
        "macro_f1": mean_std([f["macro_f1"] for f in folds]),
        "pooled_accuracy": float(cm.trace() / cm.sum()),
        "recall": dict(zip(labels, map(float, recall))),
        "confusion": cm.tolist(),
        "folds": folds,
    }


def baseline_row(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    splits: list[tuple[str, np.ndarray, np.ndarray]],
    *,
    labels,
    speaker_norm,
) -> dict:
    """Fit a new baseline per split (train rows) and score its test rows; test speakers never trained on."""
    folds = []
    for name, train, test in splits:
        assert not set(groups[train]) & set(groups[test]), name  # the benchmark's own no-leak check
        model = baseline.Baseline(speaker_norm=speaker_norm).fit(X[train], y[train], groups[train])
        pred = model.predict(X[test], groups[test])
        folds.append({"fold": name, "test_groups": sorted(set(groups[test])), **scores(y[test], pred, len(labels))})
    return pooled(folds, labels)


def evaluation_splits(ds: LabelledDataset, rows: np.ndarray, key: str, y: np.ndarray, groups, corpus):
    """(name, train rows, test rows) per fold; the folds ``voicetools train --cv`` makes for the set."""
    if key in ("d1", "d2"):
        train_c, test_c = ("ravdess", "emodb") if key == "d1" else ("emodb", "ravdess")
        return [(f"{train_c}->{test_c}", np.flatnonzero(corpus == train_c), np.flatnonzero(corpus == test_c))]
    g = groups[rows]
    fold_of = assign_folds(labels=y[rows].tolist(), groups=g.tolist(), n_folds=default_folds(ds.name, len(set(g))))
    return [(f"fold-{k + 1:02d}", rows[fold_of != k], rows[fold_of == k]) for k in sorted(set(fold_of.tolist()))]


def network_row(sets: dict, key: str, a, labels: list[str]) -> dict:
    """The default emotion recipe through ``train.run`` (fresh model per fold, next fold validates)."""
    recipe = Recipe(task="emotion", seed=0, pooling=a.pooling)
    if key == "d":
        # one fold per corpus, no validation corpus: each direction trains the recipe's full epochs
        u = sets["union"]
        clips = [Clip(c.path, c.label, 1 if c.corpus == "ravdess" else 2, c.group, c.corpus) for c in u.clips]
        ds = LabelledDataset(u.name, u.root, clips, u.labels, "predefined", u.notes)
        recipe = replace(recipe, valid_fold=False)
    else:
        ds = sets[{"a": "ravdess", "b": "emodb", "c": "union"}[key]]
    run_dir = a.runs / f"{key}-{recipe.model}" if a.pooling == "avg" else a.runs / f"{key}-{recipe.model}-{a.pooling}"
    t0 = time.perf_counter()
    done = run_dir / "summary.json"
    if done.exists() and json.loads((run_dir / "recipe.json").read_text()) == json.loads(json.dumps(asdict(recipe))):
        summary = json.loads(done.read_text())  # a finished run of this recipe: its folds are read below
        print(f"(network rows of ({key}) read from the finished run {run_dir})\n")
    else:
        summary = run(ds, recipe, run_dir, cv=True, final=False, cache_dir=a.cache, overwrite=done.exists())
    wall = time.perf_counter() - t0
    folds = []
    for f in sorted(run_dir.glob("fold-*/fold.json")):
        o = json.loads(f.read_text())
        folds.append(
            {
                "fold": o["fold"],
                "test_groups": o.get("test_groups"),
                "best_epoch": o["best_epoch"],
                "epochs_run": o["epochs_run"],
                **scores(np.array(o["y_true"]), np.array(o["y_pred"]), len(labels)),
            }
        )
    out = pooled(folds, labels)
    out.update({"recipe": asdict(recipe), "run": str(run_dir), "wall_s": wall, "n_parameters": summary["n_parameters"]})
    return out


def _corpus_split(row: dict, key: str) -> dict:
    """For the union CV: pooled accuracy on each corpus's test speakers (each fold is one corpus's)."""
    out = {}
    for corpus in EMOTION_CORPORA:
        fs = [f for f in row["folds"] if f["test_groups"] and f["test_groups"][0].startswith(corpus)]
        cm = np.sum([np.array(f["confusion"]) for f in fs], axis=0) if fs else None
        if cm is not None:
            out[corpus] = {"pooled_accuracy": float(cm.trace() / cm.sum()), "folds": len(fs)}
    return out


def print_evaluation(key: str, rows: dict, labels: list[str], n_clips: int) -> None:
    print(f"### ({key}) {EVALUATIONS[key]}: {n_clips} test clips, 6 classes (chance 0.167)\n")
    header = ["model", "accuracy", "macro-F1", *[f"recall {lb}" for lb in labels]]
    table = []
    for name, r in rows.items():
        acc, f1 = r["accuracy"], r["macro_f1"]
        spread = lambda m: f"{m['mean']:.3f} ± {m['std']:.3f}" if m["n"] > 1 else f"{m['mean']:.3f}"  # noqa: E731
        table.append([name, spread(acc), spread(f1), *[f"{r['recall'][lb]:.2f}" for lb in labels]])
    print(md_table(header, table))
    for name, r in rows.items():
        if "by_corpus" in r:
            parts = ", ".join(f"{c} {v['pooled_accuracy']:.3f}" for c, v in r["by_corpus"].items())
            print(f"\n{name}: pooled accuracy on each corpus's test speakers: {parts}")
    for name, r in rows.items():
        print(f"\nconfusion, {name} (rows true, columns predicted: {' '.join(labels)}):")
        print("\n".join("    " + " ".join(f"{v:4d}" for v in line) for line in r["confusion"]))
    print()


def emotion_section(a) -> None:
    sets = emotion_datasets(a.data)
    if sets is None:
        return
    union = sets["union"]
    labels = union.labels
    t0 = time.perf_counter()
    tracks = [baseline.clip_tracks(c.path) for c in union.clips]  # ~15 ms a clip; an unreadable one stops here
    feature_s = time.perf_counter() - t0
    y = np.array(union.label_index())
    groups = np.array([c.group for c in union.clips])
    corpus = np.array([c.corpus for c in union.clips])
    X = {False: baseline.summarise(tracks), True: baseline.summarise(tracks, utterance_norm=True)}
    print(
        f"## Emotion on voices never heard: RAVDESS actors 01-12 + EmoDB, shared labels {labels}\n\n"
        f"{len(union)} clips ({sum(corpus == 'ravdess')} RAVDESS, {sum(corpus == 'emodb')} EmoDB), "
        f"{len(set(groups))} speakers; baseline features ({X[False].shape[1]} per clip) in {feature_s:.0f} s. "
        "Baselines train on every other fold (no validation needed); the network's next fold validates.\n"
    )
    subsets = {"a": corpus == "ravdess", "b": corpus == "emodb", "c": np.ones(len(y), bool)}
    results = {}
    network = set(a.network if a.network else ("a", "b", "c", "d")) if a.network is not None else set()
    for key in EVALUATIONS:
        ds = sets[{"a": "ravdess", "b": "emodb"}.get(key, "union")]
        splits = evaluation_splits(ds, np.flatnonzero(subsets.get(key, subsets["c"])), key, y, groups, corpus)
        rows = {}
        for name, (utt, spk) in BASELINES.items():
            rows[name] = baseline_row(X[utt], y, groups, splits, labels=labels, speaker_norm=spk)
        net_key = key[0]
        if net_key in network:
            if net_key == "d":
                if "network d" not in results:
                    results["network d"] = network_row(sets, "d", a, labels)
                nd = results["network d"]
                fold = nd["folds"][1 if key == "d1" else 0]  # fold-01 tests RAVDESS, fold-02 EmoDB
                rows["network (default emotion recipe)"] = pooled([fold], labels) | {"run": nd["run"]}
            else:
                rows["network (default emotion recipe)"] = network_row(sets, net_key, a, labels)
        if key == "c":
            for r in rows.values():
                r["by_corpus"] = _corpus_split(r, key)
        n_test = sum(len(t) for _, _, t in splits)
        print_evaluation(key, rows, labels, n_test)
        results[key] = {"description": EVALUATIONS[key], "n_test_clips": n_test, "rows": rows}
    results.pop("network d", None)
    a.emotion_out.parent.mkdir(parents=True, exist_ok=True)
    a.emotion_out.write_text(
        json.dumps(
            {
                "threads": a.threads,
                "torch": torch.__version__,
                "load_average_1min_before": os.getloadavg()[0],
                "data": {k: str(a.data / v) for k, v in EMOTION_CORPORA.items()},
                "labels": labels,
                "label_mapping": "anger->angry, anxiety->fearful, happiness->happy, sadness->sad, disgust, neutral; "
                "RAVDESS calm and EmoDB boredom -> neutral; RAVDESS surprised left out",
                "baseline": {
                    "features": baseline.feature_names(),
                    "classifier": "StandardScaler + LogisticRegression(C=1, class_weight=balanced)",
                },
                "provenance": provenance(),  # every model here is trained from scratch
                "evaluations": results,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"{a.emotion_out}\n")


if __name__ == "__main__":
    main()
