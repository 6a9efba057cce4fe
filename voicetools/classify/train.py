"""Training recipe for the classifiers: features, batches, augmentation and cross-validation wired
into the one ``Trainer``.

    voicetools train emotion --data RAVDESS --cv               # speaker-independent folds + final model
    voicetools train events --data UrbanSound8K --model cnn --cv
    voicetools evaluate --run runs/emotion-cnn

A run directory holds ``recipe.json``, ``dataset.json``, one ``fold-XX/`` per fold (the trainer's
``log.jsonl``/``log.csv``/``curves.png``/``best.pt``/``last.pt`` plus ``fold.json`` with the exact
train/valid/test clips, the fold's start and end weight fingerprints and its test metrics),
``cv.json`` (mean ± std accuracy and macro-F1), ``confusion.png`` (all test folds summed) and
``best/`` — the exported model (safetensors + config.json) that ``voicetools classify`` loads.

Per fold: a NEW model, optimizer and scheduler; normalisation statistics from the training folds
only; the next fold (cyclically) as validation for choosing the best epoch and early stopping; the
test fold is scored once, with the best weights. With ``--cv`` the shipped model is then trained on
all clips for the median best epoch count of the folds (so no test data chooses anything).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..audio import augment
from ..audio.io import load_audio
from ..checkpoints import save_checkpoint
from ..data.labelled import LabelledDataset, audio_files
from ..errors import ParameterError, VoicetoolsError
from ..nn.classifiers import BACKBONES, POOLINGS, AudioClassifier, n_parameters
from ..train.cv import (
    CVSummary,
    FreshModelGuard,
    LeakageError,
    Split,
    assign_folds,
    check_splits,
    drop_duplicates_of_test,
    make_splits,
)
from ..train.trainer import TrainConfig, Trainer, read_log
from . import metrics
from .classify import resolve_model
from .emotion import plot_mean_mels
from .features import FeatureConfig, Features, extract, logmel, prepare

log = logging.getLogger(__name__)

TASKS = ("events", "emotion", "genre")
MODEL_ALIASES = {"cnn": "cnn", "simplecnn": "cnn", "transformer": "transformer", "vgg": "vgg", "crnn": "crnn"}
# front-end per task: events are <= 4 s (UrbanSound8K) or 5 s (ESC-50), RAVDESS/CREMA-D utterances
# ~3 s, GTZAN excerpts 30 s (a 10 s centre crop keeps the tempo and texture at a third of the cost)
TASK_FEATURES = {
    "events": FeatureConfig(sample_rate=16000, clip_s=4.0, n_fft=1024, hop_length=320, n_mels=64),
    "emotion": FeatureConfig(sample_rate=16000, clip_s=3.0, n_fft=1024, hop_length=320, n_mels=64),
    "genre": FeatureConfig(sample_rate=16000, clip_s=10.0, n_fft=1024, hop_length=512, n_mels=64),
}
DEFAULT_FOLDS = {"ravdess": 6, "cremad": 5, "emodb": 5}


def default_folds(name: str, n_groups: int) -> int | None:
    """Folds for a dataset with speaker groups; joined corpora (``"ravdess+emodb"``) take the sum of
    their parts' folds, so each fold holds the speakers of one fold of one corpus (groups sort by corpus)."""
    parts = name.split("+")
    if not all(p in DEFAULT_FOLDS for p in parts):
        return None
    return min(sum(DEFAULT_FOLDS[p] for p in parts), n_groups)


@dataclass
class Recipe:
    task: str = "emotion"
    model: str = "cnn"
    pooling: str = "avg"
    epochs: int = 30
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2
    patience: int | None = 8
    scheduler: str = "cosine"  # or "plateau" (ReduceLROnPlateau on the validation score)
    seed: int = 0
    n_folds: int | None = None
    valid_fold: bool = True
    # augmentation, training batches only
    time_shift_s: float = 0.25
    noise_snr_db: tuple | None = None  # (low, high): white noise (or --noise-dir clips) at a random SNR
    pitch_semitones: float = 0.0  # ± range; 0 = off (costs a phase vocoder per clip)
    specaugment: bool = True
    mixup_alpha: float = 0.0
    gap_max_clips: int = 256  # training clips (a fixed random subset) re-measured in eval mode per epoch
    features: dict = field(default_factory=dict)
    backbone_args: dict = field(default_factory=dict)

    def feature_config(self) -> FeatureConfig:
        return replace(TASK_FEATURES[self.task], **self.features)

    def waveform_augment(self) -> bool:
        return bool(self.time_shift_s or self.noise_snr_db or self.pitch_semitones)


def check_recipe(r: Recipe) -> None:
    if r.task not in TASKS:
        raise ParameterError(f"unknown task {r.task!r}; choose one of {list(TASKS)}")
    if r.model not in BACKBONES:
        raise ParameterError(f"unknown model {r.model!r}; choose one of {list(BACKBONES)}")
    if r.pooling not in POOLINGS:
        raise ParameterError(f"unknown pooling {r.pooling!r}; choose one of {list(POOLINGS)}")
    for name in ("epochs", "batch_size"):
        if getattr(r, name) < 1:
            raise ParameterError(
                f"--{name.replace('_', '-')} ({name} in Python) must be at least 1, got {getattr(r, name)}"
            )
    if r.lr <= 0:
        raise ParameterError(f"--lr (lr in Python) must be positive, got {r.lr}")
    if r.scheduler not in ("cosine", "plateau"):
        raise ParameterError(f"unknown scheduler {r.scheduler!r}; choose cosine or plateau")


def build_model(r: Recipe, n_classes: int, *, seed: int) -> AudioClassifier:
    """A freshly initialised classifier (``seed`` fixes the initialisation)."""
    fc = r.feature_config()
    torch.manual_seed(seed)
    return AudioClassifier(
        backbone=r.model,
        n_classes=n_classes,
        n_mels=fc.n_mels,
        pooling=r.pooling,
        sample_rate=fc.sample_rate,
        n_fft=fc.n_fft,
        hop_length=fc.hop_length,
        clip_s=fc.clip_s,
        backbone_args=r.backbone_args,
    )


class Batches:
    """Seeded training batches ``(logmel, y, y_partner, lam)`` with augmentation; each pass reshuffles.

    Waveform augmentations (time shift, noise at an SNR, pitch shift) run before the front-end,
    SpecAugment and mixup after it. Evaluation never goes through here, so it is never augmented.
    """

    def __init__(
        self,
        feats: Features,
        idx: np.ndarray,
        y: np.ndarray,
        r: Recipe,
        *,
        seed: int,
        noise_bank: list[np.ndarray] | None = None,
    ):
        self.feats, self.idx, self.y, self.r = feats, np.asarray(idx), np.asarray(y), r
        self.seed, self.noise_bank, self.passes = seed, noise_bank, 0
        self.fc = feats.config

    def __len__(self) -> int:
        return math.ceil(len(self.idx) / self.r.batch_size)

    def _waves(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = []
        for i in rows:
            x = self.feats.wave(i)
            if self.r.pitch_semitones:
                x = augment.pitch_shift(x, rng.uniform(-self.r.pitch_semitones, self.r.pitch_semitones))
            if self.r.time_shift_s:
                x = augment.time_shift(x, self.r.time_shift_s, self.fc.sample_rate, rng)
            if self.r.noise_snr_db:
                bank = self.noise_bank
                noise = bank[int(rng.integers(len(bank)))] if bank else None
                x = augment.add_noise(x, rng.uniform(*self.r.noise_snr_db), rng, noise=noise)
            out.append(x)
        return np.stack(out)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.passes])
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        self.passes += 1
        order = rng.permutation(len(self.idx))
        for s in range(0, len(order), self.r.batch_size):
            rows = self.idx[order[s : s + self.r.batch_size]]
            if self.r.waveform_augment():
                x = logmel(self._waves(rows, rng), self.fc)
            else:
                x = torch.from_numpy(self.feats.mels[rows])
            if self.r.specaugment:
                fw, tw = max(1, self.fc.n_mels // 8), max(1, self.fc.n_frames // 10)
                x = augment.spec_augment(x, gen, freq_width=fw, time_width=tw)
            y = torch.from_numpy(self.y[order[s : s + self.r.batch_size]]).long()
            if self.r.mixup_alpha > 0:
                x, y, y2, lam = augment.mixup(x, y, self.r.mixup_alpha, rng)
            else:
                y2, lam = y, 1.0
            yield x, y, y2, torch.full((len(y),), lam)


def loss_fn(model, batch):
    x, y, y2, lam = batch
    logits = model(x)
    return (
        lam * F.cross_entropy(logits, y, reduction="none") + (1 - lam) * F.cross_entropy(logits, y2, reduction="none")
    ).mean()


@torch.no_grad()
def predict_logits(model: torch.nn.Module, mels: np.ndarray, *, batch: int = 64) -> torch.Tensor:
    model.eval()
    return torch.cat([model(torch.from_numpy(mels[s : s + batch])) for s in range(0, len(mels), batch)])


def scores(model, mels: np.ndarray, y: np.ndarray) -> tuple[dict, np.ndarray]:
    logits = predict_logits(model, mels)
    pred = logits.argmax(1).numpy()
    loss = float(F.cross_entropy(logits, torch.from_numpy(y).long()))
    return {"loss": loss, "accuracy": metrics.accuracy(y, pred), "macro_f1": metrics.macro_f1(y, pred)}, pred


def normalization(feats: Features, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-mel-bin mean and std over the given (training) clips and all their frames."""
    m = feats.mels[idx]
    return m.mean(axis=(0, 2)), m.std(axis=(0, 2))


@dataclass
class Prepared:
    dataset: LabelledDataset
    feats: Features
    rows: np.ndarray  # dataset rows that were readable, in order
    y: np.ndarray  # label index per row
    clip_ids: list[str]
    groups: list | None
    content: list[str]


def prepare_dataset(dataset: LabelledDataset, r: Recipe, *, cache_dir=None, callback=None) -> Prepared:
    """Read (or reuse cached) features; unreadable clips are skipped, counted and named in a warning."""
    feats = extract([c.path for c in dataset.clips], r.feature_config(), cache_dir=cache_dir, callback=callback)
    if feats.errors:
        first = feats.errors[0][1]
        warnings.warn(
            f"{len(feats.errors)} of {len(dataset)} clips could not be read and were skipped (first: {first})",
            stacklevel=2,
        )
    rows = np.flatnonzero(feats.ok)
    if len(rows) == 0:
        raise VoicetoolsError(f"{dataset.root}: none of the {len(dataset)} clips could be read")
    labels = dataset.label_index()
    clips = [dataset.clips[i] for i in rows]
    groups = [c.group for c in clips]
    return Prepared(
        dataset,
        feats,
        rows,
        np.array([labels[i] for i in rows]),
        [c.clip_id for c in clips],
        groups if all(g is not None for g in groups) else None,
        [feats.content[i] for i in rows],
    )


def dataset_splits(p: Prepared, r: Recipe) -> list[Split]:
    """Index splits into ``p.rows`` that respect the dataset's folds / speakers / artists."""
    ds = p.dataset
    clips = [ds.clips[i] for i in p.rows]
    n_groups = len({c.group for c in clips})
    n_folds = r.n_folds or default_folds(ds.name, n_groups)
    if ds.name == "gtzan" and ds.fold_kind == "predefined":  # the artist-filtered train/valid/test lists
        f = np.array([c.fold for c in clips])
        return [Split("filtered", np.flatnonzero(f == 1), np.flatnonzero(f == 2), np.flatnonzero(f == 3))]
    fold_of = assign_folds(
        labels=p.y.tolist(),
        groups=[c.group for c in clips] if ds.fold_kind == "group" else None,
        folds=[c.fold for c in clips] if ds.fold_kind == "predefined" else None,
        n_folds=n_folds,
        seed=r.seed,
    )
    return make_splits(fold_of, valid_fold=r.valid_fold)


def train_fold(
    p: Prepared,
    split: Split,
    r: Recipe,
    fold_dir: Path,
    *,
    guard: FreshModelGuard,
    seed: int,
    noise_bank=None,
    callback=None,
) -> dict:
    """Train a NEW model on ``split.train`` and score ``split.test`` once with the best weights.

    A fold whose ``fold.json`` is already written (an interrupted CV run started again) is not
    trained again: its recorded result and weights are reused after checking they are that split's.
    """
    feats, y = p.feats, p.y
    mels = feats.mels[p.rows]
    n_classes = len(p.dataset.labels)
    done = fold_dir / "fold.json"
    if done.exists():
        out = json.loads(done.read_text())
        if out.get("test_clips") == [p.clip_ids[i] for i in split.test] and out.get("train_clips") == [
            p.clip_ids[i] for i in split.train
        ]:
            model = build_model(r, n_classes, seed=seed)
            guard.finals[split.name] = out["end_fingerprint"]
            state = torch.load(
                fold_dir / ("best.pt" if len(split.valid) else "last.pt"), map_location="cpu", weights_only=True
            )
            model.load_state_dict(state["model"])
            log.info("%s: already done, reusing %s", split.name, done)
            return {"out": out, "model": model}
        raise VoicetoolsError(f"{done} belongs to a different split; use a new --run or pass --overwrite")
    model = build_model(r, n_classes, seed=seed)
    model.set_normalization(*normalization(feats, p.rows[split.train]))
    steps = math.ceil(len(split.train) / r.batch_size)
    config = TrainConfig(
        lr=r.lr,
        weight_decay=r.weight_decay,
        epochs=r.epochs,
        steps_per_epoch=steps,
        warmup_steps=steps,
        patience=r.patience if len(split.valid) else None,
        seed=seed,
        scheduler=r.scheduler,
        extra={"recipe": asdict(r), "split": split.name},
    )
    gap_rows = np.random.default_rng(seed).permutation(split.train)[: r.gap_max_clips]
    validate = (lambda m: scores(m, mels[split.valid], y[split.valid])[0]) if len(split.valid) else None
    trainer = Trainer(
        model,
        loss_fn,
        fold_dir,
        config,
        validate=validate,
        monitor="macro_f1" if validate else "loss",
        mode="max" if validate else "min",
        evaluate_train=lambda m: {"loss": scores(m, mels[gap_rows], y[gap_rows])[0]["loss"]},
    )
    start_fp = guard.check_start(split.name, model, trainer.optimizer)
    t0 = time.time()
    batches = Batches(feats, p.rows[split.train], y[split.train], r, seed=seed, noise_bank=noise_bank)

    def progress(stage, done, total):
        row = read_log(fold_dir)[-1] if is_main_process() else {}
        log.debug(
            "%s epoch %d/%d: train loss %.3f, eval-mode %.3f, valid loss %s acc %s, gap %s",
            split.name,
            done,
            total,
            row.get("train_loss", float("nan")),
            row.get("train_eval_loss", float("nan")),
            _fmt(row.get("valid_loss")),
            _fmt(row.get("valid_accuracy")),
            _fmt(row.get("generalization_gap")),
        )
        if callback:
            callback(stage, done, total)

    trainer.fit(batches, callback=progress)
    end_fp = guard.record_end(split.name, model)
    best = torch.load(fold_dir / "best.pt", map_location="cpu", weights_only=True)
    if len(split.valid):
        model.load_state_dict(best["model"])
    guard.record_end(split.name + " (best epoch)", model)
    out = {
        "fold": split.name,
        "seed": seed,
        "start_fingerprint": start_fp,
        "end_fingerprint": end_fp,
        "epochs_run": trainer.epoch,
        "best_epoch": int(best["epoch"]),
        "seconds": time.time() - t0,
        "n_train": len(split.train),
        "n_valid": len(split.valid),
        "n_test": len(split.test),
        "train_clips": [p.clip_ids[i] for i in split.train],
        "valid_clips": [p.clip_ids[i] for i in split.valid],
        "test_clips": [p.clip_ids[i] for i in split.test],
    }
    if p.groups is not None:
        out.update(
            {
                f"{k}_groups": sorted({str(p.groups[i]) for i in getattr(split, k)}, key=str)
                for k in ("train", "valid", "test")
            }
        )
    rows = read_log(fold_dir)
    at_best = next((row for row in rows if row["epoch"] == out["best_epoch"]), rows[-1] if rows else {})
    out["at_best_epoch"] = {
        k: at_best.get(k)
        for k in (
            "train_loss",
            "train_eval_loss",
            "valid_loss",
            "valid_accuracy",
            "valid_macro_f1",
            "generalization_gap",
        )
    }
    if len(split.test):
        test, pred = scores(model, mels[split.test], y[split.test])
        out["test"] = test
        out["y_true"] = y[split.test].tolist()
        out["y_pred"] = pred.tolist()
        out["confusion"] = metrics.confusion_matrix(y[split.test], pred, n_classes).tolist()
    if is_main_process():
        (fold_dir / "fold.json").write_text(json.dumps(out, indent=1) + "\n")
    return {"out": out, "model": model}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def export_model(model: AudioClassifier, p: Prepared, r: Recipe, out_dir: Path, **meta) -> str:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    return save_checkpoint(
        model,
        out_dir,
        task=r.task,
        architecture="AudioClassifier",
        labels=list(p.dataset.labels),
        dataset=p.dataset.name,
        recipe=asdict(r),
        **meta,
    )


def _noise_bank(noise_dir, fc: FeatureConfig) -> list[np.ndarray] | None:
    if noise_dir is None:
        return None
    files = audio_files(Path(noise_dir))
    if not files:
        raise ParameterError(f"{noise_dir}: no audio files for background noise")
    return [prepare(load_audio(f), fc.sample_rate) for f in files]


def run(
    dataset: LabelledDataset,
    r: Recipe,
    run_dir: str | Path,
    *,
    cv: bool = False,
    final: bool = True,
    cache_dir=None,
    noise_dir=None,
    overwrite: bool = False,
    callback=None,
) -> dict:
    """Train (one split) or cross-validate (every fold) and export ``run_dir/best``; returns a summary."""
    check_recipe(r)
    run_dir = Path(run_dir)
    main = is_main_process()  # under torchrun only rank 0 checks and writes the run folder
    if main:
        if (run_dir / "summary.json").exists() and not overwrite:
            raise VoicetoolsError(f"{run_dir} holds a finished run; choose another --run or pass --overwrite")
        if overwrite and run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        recipe_file = run_dir / "recipe.json"
        if recipe_file.exists() and json.loads(recipe_file.read_text()) != json.loads(json.dumps(asdict(r))):
            raise VoicetoolsError(
                f"{run_dir} holds an unfinished run with other settings; choose another --run or pass --overwrite"
            )
        recipe_file.write_text(json.dumps(asdict(r), indent=1) + "\n")
    p = prepare_dataset(dataset, r, cache_dir=cache_dir, callback=callback)
    if main:
        (run_dir / "dataset.json").write_text(
            json.dumps({**dataset.summary(), "skipped": [{"path": a, "error": b} for a, b in p.feats.errors]}, indent=1)
            + "\n"
        )
    splits, notes = drop_duplicates_of_test(dataset_splits(p, r), p.content, p.clip_ids)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    check_splits(splits, p.clip_ids, groups=p.groups, content=p.content, cover_all=cv)
    if not cv:
        splits = splits[:1]
    noise_bank = _noise_bank(noise_dir, p.feats.config)
    guard = FreshModelGuard()
    folds = []
    for k, split in enumerate(splits):
        if callback:
            callback("folds", k, len(splits))
        res = train_fold(p, split, r, run_dir / split.name, guard=guard, seed=r.seed + k, noise_bank=noise_bank)
        folds.append(res["out"])
        o = res["out"]
        if "test" in o:
            log.info(
                "%s: accuracy %.4f macro-F1 %.4f (best epoch %d of %d, %.0f s, %d train / %d valid / %d test)",
                split.name,
                o["test"]["accuracy"],
                o["test"]["macro_f1"],
                o["best_epoch"],
                o["epochs_run"],
                o["seconds"],
                o["n_train"],
                o["n_valid"],
                o["n_test"],
            )
        if not cv:
            single = res["model"]
    summary = {
        "task": r.task,
        "model": r.model,
        "pooling": r.pooling,
        "dataset": dataset.name,
        "data": str(dataset.root),
        "clips": len(p.rows),
        "skipped": len(p.feats.errors),
        "n_parameters": n_parameters(build_model(r, len(dataset.labels), seed=0)),
        "labels": list(dataset.labels),
        "cv": cv,
        "fold_kind": dataset.fold_kind,
    }
    cvs = CVSummary([f for f in folds if "test" in f]).to_dict()
    summary.update({"accuracy": cvs["accuracy"], "macro_f1": cvs["macro_f1"], "folds": cvs["folds"]})
    cm = np.sum([np.array(f["confusion"]) for f in folds if "confusion" in f], axis=0)
    summary["confusion"] = cm.tolist()
    summary["generalization_gap_at_best"] = [f["at_best_epoch"].get("generalization_gap") for f in folds]
    if main:
        _figures(run_dir, p, summary, cm)
    if cv and final:
        epochs = max(1, int(np.median([f["best_epoch"] for f in folds])))
        every = np.arange(len(p.rows))
        last = Split("final", every, np.array([], dtype=int), np.array([], dtype=int))
        fr = replace(r, epochs=epochs, patience=None)
        log.info("final model: all %d clips, %d epochs", len(p.rows), epochs)
        res = train_fold(p, last, fr, run_dir / "final", guard=guard, seed=r.seed + len(splits), noise_bank=noise_bank)
        summary["final"] = {
            "epochs": epochs,
            "clips": len(p.rows),
            "note": "trained on all clips for the folds' median best epoch count",
        }
        model = res["model"]
    else:
        model = single if not cv else None
    if model is not None and main:
        cv_numbers = {k: summary[k] for k in ("accuracy", "macro_f1")}
        export_model(
            model, p, r, run_dir / "best", evaluation={"cv" if cv else "split": cv_numbers, "folds": summary["folds"]}
        )
        summary["exported"] = str(run_dir / "best")
    if main:
        (run_dir / "cv.json" if cv else run_dir / "split.json").write_text(json.dumps(cvs, indent=1) + "\n")
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def is_main_process() -> bool:
    """False on every torchrun rank but 0 (the process group may not be initialised yet)."""
    return int(os.environ.get("RANK", "0")) == 0


def _confusion_title(summary: dict) -> str:
    return (
        f"{summary['task']} {summary['model']} on {summary['dataset']}: acc "
        f"{summary['accuracy']['mean']:.3f}±{summary['accuracy']['std']:.3f}, "
        f"macro-F1 {summary['macro_f1']['mean']:.3f}±{summary['macro_f1']['std']:.3f}\n"
        f"{summary['accuracy']['n']} test folds summed"
    )


def _figures(run_dir: Path, p: Prepared, summary: dict, cm: np.ndarray) -> None:
    try:
        metrics.plot_confusion(cm, list(p.dataset.labels), run_dir / "confusion.png", title=_confusion_title(summary))
        if summary["task"] == "emotion":
            plot_mean_mels(
                p.feats.mels[p.rows], p.y, list(p.dataset.labels), run_dir / "mean_mel.png", config=p.feats.config
            )
    except VoicetoolsError as exc:  # matplotlib missing: the numbers are in the JSON anyway
        log.warning("no figures: %s", exc)


def format_table(summary: dict) -> str:
    """Per-fold table plus mean ± std, as printed by ``voicetools train`` and ``voicetools evaluate``."""
    lines = [f"{'fold':<10} {'accuracy':>9} {'macro-F1':>9}"]
    for f in summary["folds"]:
        lines.append(f"{f['fold']:<10} {f['accuracy']:>9.4f} {f['macro_f1']:>9.4f}")
    a, m = summary["accuracy"], summary["macro_f1"]
    lines.append(
        f"{'mean±std':<10} {a['mean']:.4f}±{a['std']:.4f} {m['mean']:.4f}±{m['std']:.4f}  "
        f"({a['n']} folds, {summary['task']} {summary['model']}/{summary.get('pooling', 'avg')}"
        f" on {summary['dataset']}, {summary['clips']} clips)"
    )
    return "\n".join(lines)


def evaluate_run(run_dir: str | Path) -> dict:
    """Re-read a run's per-fold JSON: the summary with its table, and a fresh ``confusion.png``."""
    run_dir = Path(run_dir)
    folds = sorted(run_dir.glob("fold-*/fold.json")) + sorted(run_dir.glob("filtered/fold.json"))
    if not folds:
        raise VoicetoolsError(f"{run_dir}: no fold-XX/fold.json here; is it a `voicetools train` run folder?")
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    outs = [json.loads(f.read_text()) for f in folds]
    outs = [o for o in outs if "test" in o]
    cvs = CVSummary(outs).to_dict()
    summary.update({"accuracy": cvs["accuracy"], "macro_f1": cvs["macro_f1"], "folds": cvs["folds"]})
    for o in outs:  # the leakage invariants, re-checked from what was recorded
        if set(o["train_clips"]) & set(o["test_clips"]) or set(o.get("train_groups", [])) & set(
            o.get("test_groups", [])
        ):
            raise LeakageError(f"{run_dir}: {o['fold']} trained on test clips or speakers")
    for key in ("task", "model", "dataset"):
        summary.setdefault(key, "?")
    summary.setdefault("clips", sum(o["n_test"] for o in outs))
    labels = summary.get("labels")
    if labels:
        cm = np.sum([np.array(o["confusion"]) for o in outs], axis=0)
        summary["confusion"] = cm.tolist()
        try:
            metrics.plot_confusion(cm, labels, run_dir / "confusion.png", title=_confusion_title(summary))
        except VoicetoolsError:
            pass
    return summary


def evaluate_on(model_ref, dataset: LabelledDataset, *, cache_dir=None) -> dict:
    """Score a trained model on every readable clip of ``dataset`` (e.g. speakers it never heard)."""
    loaded = resolve_model(model_ref)
    labels = list(loaded.config["labels"])
    unknown = sorted(set(dataset.labels) - set(labels))
    if unknown:
        raise VoicetoolsError(f"{dataset.root}: labels {unknown} are not among the model's {labels}")
    fc = FeatureConfig.from_model_args(loaded.config["model_args"])
    feats = extract([c.path for c in dataset.clips], fc, cache_dir=cache_dir)
    rows = np.flatnonzero(feats.ok)
    y = np.array([labels.index(dataset.clips[i].label) for i in rows])
    res, pred = scores(loaded.model, feats.mels[rows], y)
    return {
        "model": loaded.name,
        "data": str(dataset.root),
        "clips": len(rows),
        "skipped": len(feats.errors),
        **res,
        "confusion": metrics.confusion_matrix(y, pred, len(labels)).tolist(),
        "labels": labels,
    }
