"""Train the tone classifier (``ToneNet``) with the shared ``Trainer`` on synthesized Mandarin.

    python -m voicetools.pronounce.train --data data/tones --run data/runs/tone-mlp
    python -m voicetools.pronounce.train --run data/runs/tone-mlp --export checkpoints/tone-mlp

The first run synthesizes ``--data``/{train,valid,test}.npz (``data.make_tone_set``): training and
validation utterances from the training voices (different seeds), the test set from held-out voices
(``data.TEST_VOICES``, settings outside the training ranges). Validation picks the best epoch; the
test set is scored by ``benchmarks/pronounce.py``. Training-time augmentation on the features: a
random shift of the whole contour (semitones) and a random scale of its excursions.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from ..train.recipe import recipe_parser, start
from ..train.trainer import TrainConfig, Trainer, read_log
from .model import LABELS, N_BASE, N_FEATURES, ToneNet, with_context
from .pitch import N_POINTS

MODEL_ARGS = dict(n_features=N_FEATURES, hidden=128, n_classes=len(LABELS), dropout=0.1, sample_rate=16000)
SETS = {"train": (800, 1, False), "valid": (150, 2, False), "test": (250, 3, True)}  # utterances, seed, held out


def load_set(data: Path, name: str, *, utterances: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``data/<name>.npz``, synthesized first if missing (``SETS`` gives its size, seed and voices)."""
    from .data import make_tone_set

    path = Path(data) / f"{name}.npz"
    if not path.exists():
        n, seed, held_out = SETS[name]
        n = utterances or n
        logging.info("synthesizing %s: %d utterances (%s voices)", path, n, "held-out" if held_out else "training")
        def progress(stage, done, total):
            if done % 50 == 0 or done == total:
                logging.info("%s: %d/%d utterances", name, done, total)

        x, y, utt = make_tone_set(n, seed=seed, held_out=held_out, callback=progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        np.savez(tmp, x=x, y=y, utt=utt)
        tmp.replace(path)
    z = np.load(path)
    x = z["x"].astype(np.float32)
    if x.shape[1] == N_BASE:  # sets store the per-syllable features; the neighbours' are added here
        x = with_context(x, z["utt"])
    return x, z["y"].astype(np.int64)


class Batches:
    """Endless shuffled batches with feature-level augmentation (contour shift and excursion scale)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0):
        self.x, self.y, self.batch_size = torch.as_tensor(x), torch.as_tensor(y), batch_size
        self.gen = torch.Generator().manual_seed(seed)

    def __iter__(self):
        while True:
            idx = torch.randint(len(self.y), (self.batch_size,), generator=self.gen)
            x = self.x[idx].clone()
            n = N_POINTS
            scale = 0.75 + 0.5 * torch.rand(len(idx), 1, generator=self.gen)
            shift = (torch.rand(len(idx), 1, generator=self.gen) - 0.5) * 0.5  # ±1.5 semitones (/6)
            mean = x[:, :n].mean(1, keepdim=True)
            x[:, :n] = (x[:, :n] - mean) * scale + mean + shift
            x[:, n : 2 * n - 1] *= scale
            x[:, 2 * n - 1] += shift[:, 0]
            nb = x[:, N_BASE : N_BASE + 2]  # the neighbours' levels move with the speaker's register
            x[:, N_BASE : N_BASE + 2] = torch.where(nb != 0, nb + shift, nb)
            yield x, self.y[idx]


def loss_fn(model, batch):
    x, y = batch
    return torch.nn.functional.cross_entropy(model(x), y, label_smoothing=0.05)


def make_validate(x: np.ndarray, y: np.ndarray):
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)

    def validate(model):
        logits = model(xt)
        return {"loss": float(torch.nn.functional.cross_entropy(logits, yt)),
                "accuracy": float((logits.argmax(1) == yt).float().mean())}

    return validate


def export(run_dir: Path, out_dir: Path, *, which: str = "best.pt") -> None:
    """The run's best weights as a checkpoint folder; inside ``checkpoints/`` also registered."""
    from ..checkpoints import publish_checkpoint

    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    model = ToneNet.from_model_args(MODEL_ARGS)
    model.load_state_dict(state["model"])
    training = {"epochs": state["epoch"], "steps_run": read_log(run_dir)[-1]["step"],
                "valid_accuracy": state["score"],
                "data": "espeak-ng cmn-latn-pinyin syllables, training voices, Praat voice changes and noise "
                        "(voicetools.pronounce.data)"}
    publish_checkpoint(model, out_dir, task="tone", architecture="ToneNet", labels=LABELS, training=training)


def main(argv=None):
    ap = recipe_parser("Train the Mandarin tone classifier on synthesized speech (resumable).", data="data/tones",
                       run="data/runs/tone-mlp", epochs=30, steps_per_epoch=200, batch_size=128, lr=3e-3, threads=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not start(args, export):
        return
    x, y = load_set(args.data, "train")
    xv, yv = load_set(args.data, "valid")
    logging.info("%d training syllables (per tone %s), %d validation", len(y), np.bincount(y).tolist(), len(yv))
    config = TrainConfig(lr=args.lr, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, warmup_steps=200,
                         max_minutes=args.max_minutes, seed=args.seed,
                         extra={"model_args": MODEL_ARGS, "batch_size": args.batch_size})
    torch.manual_seed(args.seed)
    trainer = Trainer(ToneNet.from_model_args(MODEL_ARGS), loss_fn, args.run, config,
                      validate=make_validate(xv, yv), monitor="accuracy", mode="max")
    print(trainer.fit(Batches(x, y, args.batch_size, args.seed)))
    load_set(args.data, "test")  # the held-out voices, for benchmarks/pronounce.py


if __name__ == "__main__":
    main()
