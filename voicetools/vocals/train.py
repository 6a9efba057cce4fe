"""Training recipe for the shipped vocal / accompaniment HTDemucs, wired into the one Trainer.

    python -m voicetools.vocals.data --out data/vocals --splits valid train --limit 100 --jobs 2
    python -m voicetools.vocals.train --data data/vocals --run runs/vocals --max-minutes 40
    python -m voicetools.vocals.train --data data/vocals --run runs/vocals   # resumes
    python -m voicetools.vocals.train --run runs/vocals --export checkpoints/vocals-htdemucs-small

The model is demucs' own ``HTDemucs`` class in a small configuration (``MODEL_ARGS``): mono,
16 kHz, two sources. Loss: L1 on the waveforms, as Demucs trains. Validation scores fixed,
seeded 6-second excerpts of the validation songs, so "best" compares like with like.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..train.recipe import recipe_parser, start
from ..train.trainer import TrainConfig, Trainer
from .data import SAMPLE_RATE, SOURCES, VocalMixtures, fixed_mixtures
from .metrics import sdr
from .model import build_htdemucs

# 1.4 M parameters: depth 4 with a 2048-point STFT leaves a short sequence for the transformer,
# which is what lets it train on one shared CPU thread in tens of minutes.
MODEL_ARGS = dict(sources=list(SOURCES), audio_channels=1, sample_rate=SAMPLE_RATE, segment=3.0, channels=16,
                  depth=4, nfft=2048, t_layers=2, t_heads=4)


def validation_set(files, *, segment_s: float = 6.0):
    return [(torch.from_numpy(m), torch.from_numpy(t)) for _, m, t in fixed_mixtures(files, segment_s=segment_s)]


def _separate(model, mixtures: torch.Tensor) -> torch.Tensor:
    """(batch, time) mixtures → (batch, sources, time), in chunks of the model's segment."""
    from demucs.apply import apply_model

    with torch.no_grad():
        return apply_model(model, mixtures[:, None], shifts=0, split=True, overlap=0.25)[:, :, 0]


def make_validate(items):
    def validate(model):
        mixtures = torch.stack([m for m, _ in items])
        targets = torch.stack([t for _, t in items])
        est = _separate(model, mixtures)
        scores = sdr(est, targets)  # (batch, sources)
        base = sdr(mixtures[:, None].expand_as(targets), targets)
        out = {"sdr": float(scores.mean()), "sdri": float((scores - base).mean())}
        for j, name in enumerate(SOURCES):
            out[f"sdr_{name}"] = float(scores[:, j].mean())
        return out
    return validate


def loss_fn(model, batch):
    mixture, targets = batch
    return torch.nn.functional.l1_loss(model(mixture)[:, :, 0], targets)


def export(run_dir: Path, out_dir: Path, *, which: str = "best.pt") -> None:
    """Write the run's best weights as a checkpoint folder (safetensors + config JSON with the HTDemucs kwargs).

    A folder inside the shipped ``checkpoints/`` is also entered in its registry with its sha256.
    """
    from ..checkpoints import publish_checkpoint
    from ..train.trainer import read_log

    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    model = build_htdemucs(MODEL_ARGS)
    model.load_state_dict(state["model"])
    model.half()  # weights stored as float16 (3.6 MB); loading casts them back to float32
    publish_checkpoint(model, out_dir, task="vocals", architecture="HTDemucs", sources=list(SOURCES),
                       segment_s=MODEL_ARGS["segment"],
                       training={"epochs": state["epoch"], "steps": read_log(run_dir)[-1]["step"],
                                 "valid_sdr": state["score"]})


def main(argv=None):
    ap = recipe_parser("Train the small vocal/accompaniment HTDemucs (resumable).", data="data/vocals",
                       run="runs/vocals", epochs=40, steps_per_epoch=50, batch_size=4, lr=1e-3, threads=1)
    ap.add_argument("--segment-s", type=float, default=MODEL_ARGS["segment"])
    args = ap.parse_args(argv)
    if not start(args, export):
        return
    train = VocalMixtures(sorted((args.data / "train").glob("*-v*.npy")), segment_s=args.segment_s)
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, num_workers=0)
    validate = make_validate(validation_set(sorted((args.data / "valid").glob("*-v*.npy"))))
    config = TrainConfig(lr=args.lr, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, warmup_steps=50,
                         max_minutes=args.max_minutes, clip_grad_norm=5.0, weight_decay=0.0,
                         extra={"model_args": MODEL_ARGS, "batch_size": args.batch_size,
                                "segment_s": args.segment_s, "train_files": len(train.files)})
    trainer = Trainer(build_htdemucs(MODEL_ARGS), loss_fn, args.run, config, validate=validate,
                      monitor="sdr", mode="max")
    print(trainer.fit(loader))


if __name__ == "__main__":
    main()
