"""The one training loop of voicetools.

Every model trains through ``Trainer``: AdamW, warm-up then cosine annealing (or
ReduceLROnPlateau), gradient clipping, early stopping, ``last.pt`` (everything needed to resume)
and ``best.pt`` (weights with the best validation score), and a per-epoch log as JSON lines and CSV.
An "epoch" is ``steps_per_epoch`` optimiser steps, so endless (dynamically mixed) datasets and
finite ones train the same way. ``max_minutes`` stops cleanly at an epoch end; calling ``fit`` again
on the same run directory resumes where it stopped, schedule and all.

Generalization gap: with ``evaluate_train`` given, each epoch also re-measures the training loss
with the model in eval mode (no dropout, batch-norm running statistics, no augmentation) and logs
``train_eval_loss`` and ``generalization_gap = valid_loss - train_eval_loss`` for the same epoch and
the same weights — unlike the running training loss, which averages over an epoch of changing
weights with dropout and augmentation on. ``curves.png`` plots the log at the end of ``fit``.

Distributed: under ``torchrun`` (``WORLD_SIZE`` > 1) the trainer joins the process group (gloo on
CPU, nccl on GPU) and wraps the model in DistributedDataParallel. Every rank iterates the same
seeded batches and trains on its slice ``batch[rank::world_size]``, so with a mean loss the averaged
gradient equals the one-process gradient of the whole batch (models with batch norm differ slightly:
statistics are per slice). Only rank 0 writes checkpoints and logs.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    lr: float = 1e-3
    weight_decay: float = 1e-2
    epochs: int = 30
    steps_per_epoch: int = 100
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    scheduler: str = "cosine"  # or "plateau"
    clip_grad_norm: float = 5.0
    patience: int | None = None  # early stopping, in epochs without a better validation score
    max_minutes: float | None = None
    seed: int = 0
    plot: bool = True  # write curves.png from the log at the end of fit
    extra: dict = field(default_factory=dict)  # recipe settings, saved with the run


class Trainer:
    """Train ``model`` on batches from ``train_batches`` with ``loss_fn(model, batch) -> loss``.

    ``validate(model) -> dict`` returns metrics; ``monitor`` names the one that decides "best"
    (higher is better when ``mode="max"``). ``evaluate_train(model) -> {"loss": ...}`` re-measures
    the training loss in eval mode for the generalization gap (see the module docstring).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable,
        run_dir: str | Path,
        config: TrainConfig,
        *,
        validate: Callable[[torch.nn.Module], dict] | None = None,
        monitor: str = "loss",
        mode: str = "min",
        evaluate_train: Callable[[torch.nn.Module], dict] | None = None,
    ):
        self.model, self.loss_fn, self.validate = model, loss_fn, validate
        self.evaluate_train = evaluate_train
        self.run_dir = Path(run_dir)
        self.config = config
        self.monitor, self.mode = monitor, mode
        self.dist = _distributed()
        self.rank = self.dist.get_rank() if self.dist else 0
        self.world_size = self.dist.get_world_size() if self.dist else 1
        if self.dist:
            self.net = DistributedDataParallel(model)
        else:
            self.net = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        total = config.epochs * config.steps_per_epoch
        if config.scheduler == "cosine":

            def factor(step):
                if step < config.warmup_steps:
                    return (step + 1) / config.warmup_steps
                p = min(1.0, (step - config.warmup_steps) / max(1, total - config.warmup_steps))
                return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p))

            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        elif config.scheduler == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode=mode, factor=0.5, patience=2
            )
        else:
            raise ValueError(f"unknown scheduler {config.scheduler!r}; choose cosine or plateau")
        self.step = 0
        self.epoch = 0
        self.best: float | None = None
        self.bad_epochs = 0

    # --- checkpoints -------------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "config": asdict(self.config),
            "torch_rng": torch.get_rng_state(),
        }

    def _save(self, name: str, state: dict) -> None:
        if self.rank != 0:
            return
        tmp = self.run_dir / f".{name}.tmp"
        torch.save(state, tmp)
        tmp.replace(self.run_dir / name)  # atomic: an interrupted save never corrupts the last good one

    def resume(self) -> bool:
        path = self.run_dir / "last.pt"
        if not path.exists():
            return False
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        # the scheduler's saved base rate would silently override a new --lr: a resumed run with a
        # different lr continues the same schedule scaled to the new peak (a gentler warm restart)
        if self.config.scheduler == "cosine" and self.scheduler.base_lrs != [self.config.lr]:
            log.info("peak lr %s -> %s from here on", self.scheduler.base_lrs[0], self.config.lr)
            factor = self.scheduler.lr_lambdas[0](self.scheduler.last_epoch)
            self.scheduler.base_lrs = [self.config.lr] * len(self.optimizer.param_groups)
            for group in self.optimizer.param_groups:
                group["initial_lr"], group["lr"] = self.config.lr, self.config.lr * factor
        self.step, self.epoch = state["step"], state["epoch"]
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed %s at epoch %d, step %d", self.run_dir, self.epoch, self.step)
        return True

    def _log(self, row: dict) -> None:
        if self.rank != 0:
            return
        with open(self.run_dir / "log.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        csv_path = self.run_dir / "log.csv"
        new = not csv_path.exists()
        with open(csv_path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    # --- the loop ----------------------------------------------------------------------------
    def fit(self, train_batches: Iterable, *, callback: Callable[[str, int, int], None] | None = None) -> dict:
        """Train until ``epochs`` are done, early stopping triggers or ``max_minutes`` pass."""
        cfg = self.config
        if self.rank == 0:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
        torch.manual_seed(cfg.seed)
        self.resume()
        if cfg.patience is not None and self.bad_epochs >= cfg.patience:  # it had stopped early
            return {"epoch": self.epoch, "step": self.step, "best": self.best}
        started = time.time()
        batches = iter(train_batches)
        while self.epoch < cfg.epochs:
            self.model.train()
            t0, total_loss = time.time(), 0.0
            for _ in range(cfg.steps_per_epoch):
                try:
                    batch = next(batches)
                except StopIteration:  # finite loaders: start another pass
                    batches = iter(train_batches)
                    batch = next(batches)
                loss = self.loss_fn(self.net, _shard(batch, self.rank, self.world_size))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad_norm)
                self.optimizer.step()
                if cfg.scheduler == "cosine":
                    self.scheduler.step()
                self.step += 1
                total_loss += loss.item()
            self.epoch += 1
            if self.dist:  # the logged loss is the mean over all ranks' slices
                t = torch.tensor([total_loss])
                self.dist.all_reduce(t)
                total_loss = float(t) / self.world_size
            row = {
                "epoch": self.epoch,
                "step": self.step,
                "lr": self.optimizer.param_groups[0]["lr"],
                "train_loss": total_loss / cfg.steps_per_epoch,
                "seconds_per_step": (time.time() - t0) / cfg.steps_per_epoch,
            }
            self.model.eval()
            with torch.no_grad():
                if self.validate is not None:
                    row.update({f"valid_{k}": v for k, v in self.validate(self.model).items()})
                if self.evaluate_train is not None:
                    row.update({f"train_eval_{k}": v for k, v in self.evaluate_train(self.model).items()})
            if "valid_loss" in row and "train_eval_loss" in row:
                row["generalization_gap"] = row["valid_loss"] - row["train_eval_loss"]
            score = row.get(f"valid_{self.monitor}", row["train_loss"])
            if self.dist:  # every rank takes rank 0's decision (best, plateau, early stop)
                box = [score]
                self.dist.broadcast_object_list(box, src=0)
                score = box[0]
            if cfg.scheduler == "plateau":
                self.scheduler.step(score)
            if self._improved(score):
                self.best, self.bad_epochs = score, 0
                self._save("best.pt", {"model": self.model.state_dict(), "epoch": self.epoch, "score": score})
            else:
                self.bad_epochs += 1
            row["best"] = self.best
            self._log(row)
            self._save("last.pt", self._state())
            if self.dist:
                self.dist.barrier()
            log.info("epoch %s", row)
            if callback:
                callback("train", self.epoch, cfg.epochs)
            if cfg.patience is not None and self.bad_epochs >= cfg.patience:
                log.info("early stop: no better %s for %d epochs", self.monitor, cfg.patience)
                break
            if cfg.max_minutes is not None and time.time() - started > cfg.max_minutes * 60:
                log.info("time limit reached; run again to resume")
                break
        if cfg.plot and self.rank == 0:
            try:
                plot_log(self.run_dir)
            except Exception as exc:  # a missing plotting library must not lose a finished run
                log.warning("no curves.png: %s", exc)
        return {"epoch": self.epoch, "step": self.step, "best": self.best}


def _distributed():
    """The process group when running under torchrun (initialised here if needed), else None."""
    if not dist.is_available():
        return None
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return None
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist if dist.get_world_size() > 1 else None


def _shard(batch, rank: int, world: int):
    """This rank's slice ``[rank::world]`` of every tensor in a (nested) batch."""
    if world == 1:
        return batch
    if isinstance(batch, torch.Tensor):
        return batch[rank::world]
    if isinstance(batch, (list, tuple)):
        return type(batch)(_shard(b, rank, world) for b in batch)
    if isinstance(batch, dict):
        return {k: _shard(v, rank, world) for k, v in batch.items()}
    return batch


def read_log(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def plot_log(run_dir: str | Path) -> Path | None:
    """``curves.png``: losses per epoch (train running, train re-measured in eval mode, valid) and
    the validation metrics."""
    rows = read_log(run_dir)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [r["epoch"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, label in (
        ("train_loss", "train (running, train mode)"),
        ("train_eval_loss", "train (eval mode)"),
        ("valid_loss", "validation"),
    ):
        if any(key in r for r in rows):
            a.plot(ep, [r.get(key, float("nan")) for r in rows], label=label)
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend(fontsize=8)
    metrics = sorted({k for r in rows for k in r if k.startswith("valid_") and k != "valid_loss"})
    for key in metrics:
        b.plot(ep, [r.get(key, float("nan")) for r in rows], label=key[len("valid_") :])
    if any("generalization_gap" in r for r in rows):
        b.plot(ep, [r.get("generalization_gap", float("nan")) for r in rows], "--", label="generalization gap")
    b.set_xlabel("epoch")
    if metrics:
        b.legend(fontsize=8)
    fig.tight_layout()
    out = Path(run_dir) / "curves.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
