"""Training recipe for the SATB ConvTasNet: data, loss and validation wired into the one Trainer.

    python -m voicetools.data.satb --out data/satb              # render the chorales (minutes)
    python -m voicetools.separation.train --data data/satb --run runs/satb --max-minutes 95
    python -m voicetools.separation.train --data data/satb --run runs/satb   # resumes
    python -m voicetools.separation.train --run runs/satb --export checkpoints/satb-convtasnet

Validation scores fixed, seeded 8-second excerpts of the validation chorales (each renderer
alone), so "best" compares like with like across epochs and across resumed sessions. When Bach10's
real recordings are at hand (``--bach10``), the best checkpoint is chosen on the mean of the
synthetic and the real score, so neither a renderer nor one small real set decides alone.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from ..data import bach10
from ..data.chorales import VOICES
from ..data.satb import SAMPLE_RATE, SATBMixtures, mix
from ..nn.convtasnet import ConvTasNet
from ..train.recipe import initial_weights, recipe_parser, start
from ..train.trainer import TrainConfig, Trainer
from .metrics import si_sdr, si_sdr_loss

# The shipped model's size: 1.6 M parameters; 64-sample (8 ms) filters with a 32-sample hop keep
# the TCN at 250 frames per second, which is what lets it train to a useful quality on two cores.
MODEL_ARGS = dict(
    n_src=4,
    n_filters=256,
    kernel_size=64,
    stride=32,
    bn_chan=128,
    hid_chan=256,
    skip_chan=128,
    conv_kernel_size=3,
    n_blocks=7,
    n_repeats=2,
    sample_rate=SAMPLE_RATE,
)


def validation_set(files, *, segment_s: float = 8.0, sample_rate: int = SAMPLE_RATE):
    """Seeded excerpts: for each file and renderer, one mixture from the middle of the chorale."""
    items = []
    seg = int(segment_s * sample_rate)
    for i, f in enumerate(sorted(files)):
        stems = np.load(f).astype(np.float32)
        for r in range(stems.shape[0]):
            start = max(0, stems.shape[-1] // 2 - seg // 2)
            crop = stems[r : r + 1, :, start : start + seg]
            mixture, targets = mix(crop, np.random.default_rng([i, r]), sample_rate=sample_rate, reverb_p=0.5)
            items.append((torch.from_numpy(mixture), torch.from_numpy(targets)))
    return items


def real_set(root: Path, sample_rate: int = SAMPLE_RATE):
    """Bach10's pieces whole, as (mixture, parts) tensors; empty when the folder is absent."""
    return [(torch.from_numpy(m), torch.from_numpy(p)) for _, m, p in bach10.pieces(root, sample_rate)]


def _improvement(model, items, batch: int) -> torch.Tensor:
    """SI-SDR improvement per item and voice, (items, 4)."""
    rows = []
    for i in range(0, len(items), batch):
        mixtures = torch.stack([m for m, _ in items[i : i + batch]])[:, None]
        targets = torch.stack([t for _, t in items[i : i + batch]])
        rows.append(si_sdr(model(mixtures), targets) - si_sdr(mixtures.expand_as(targets), targets))
    return torch.cat(rows)


def make_validate(items, real=()):
    def validate(model):
        gain = _improvement(model, items, 8)
        out = {"si_sdri_synthetic": float(gain.mean())}
        for j, v in enumerate(VOICES):
            out[f"si_sdri_{v}"] = float(gain[:, j].mean())
        if real:
            real_gain = _improvement(model, list(real), 1)  # pieces differ in length
            out["si_sdri_real"] = float(real_gain.mean())
            for j, v in enumerate(VOICES):
                out[f"si_sdri_real_{v}"] = float(real_gain[:, j].mean())
        out["si_sdri"] = float(np.mean([out["si_sdri_synthetic"], out.get("si_sdri_real", out["si_sdri_synthetic"])]))
        return out

    return validate


def loss_fn(model, batch):
    mixture, targets = batch
    return si_sdr_loss(model(mixture), targets)


def export(
    run_dir: Path, out_dir: Path, *, which: str = "best.pt", shifts: int = 1, wiener_power: float | None = None
) -> None:
    """Write the run's best weights as a checkpoint folder (safetensors + config JSON).

    ``shifts`` / ``wiener_power`` go into the config as the model's test-time refinement
    (``voicetools.separation.refine``); choose them on the validation chorales with
    ``benchmarks/separation_refine.py``. A folder inside the shipped ``checkpoints/`` is also
    entered in its registry with its sha256.
    """
    from ..checkpoints import publish_checkpoint
    from ..train.trainer import read_log

    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    model = ConvTasNet(**MODEL_ARGS)
    model.load_state_dict(state["model"])
    publish_checkpoint(
        model,
        out_dir,
        task="separation",
        architecture="ConvTasNet",
        sources=["soprano", "alto", "tenor", "bass"],
        training={"epochs": state["epoch"], "steps": read_log(run_dir)[-1]["step"], "valid_si_sdri": state["score"]},
        inference={"shifts": shifts, "wiener_power": wiener_power},
    )


def main(argv=None):
    ap = recipe_parser(
        "Train the SATB ConvTasNet (resumable).",
        data="data/satb",
        run="runs/satb",
        epochs=30,
        steps_per_epoch=100,
        batch_size=8,
        lr=1e-3,
        threads=2,
    )
    ap.add_argument("--segment-s", type=float, default=4.0)
    ap.add_argument(
        "--mixed-p",
        type=float,
        default=0.5,
        help="share of training mixtures whose parts come from different renderers",
    )
    ap.add_argument("--shifts", type=int, default=1, help="with --export: the model's test-time shifts")
    ap.add_argument(
        "--wiener-power",
        type=float,
        default=None,
        help="with --export: the model's Wiener mask power (none: no Wiener step)",
    )
    ap.add_argument(
        "--bach10",
        type=Path,
        default=bach10.DEFAULT_ROOT,
        help="Bach10 pieces, validated on beside the synthetic chorales (never trained on)",
    )
    args = ap.parse_args(argv)
    if not start(args, functools.partial(export, shifts=args.shifts, wiener_power=args.wiener_power)):
        return
    train = SATBMixtures(sorted((args.data / "train").glob("*-v*.npy")), segment_s=args.segment_s, mixed_p=args.mixed_p)
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, num_workers=1)
    validate = make_validate(validation_set(sorted((args.data / "valid").glob("*-v*.npy"))), real_set(args.bach10))
    config = TrainConfig(
        lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        max_minutes=args.max_minutes,
        extra={
            "model_args": MODEL_ARGS,
            "batch_size": args.batch_size,
            "segment_s": args.segment_s,
            "mixed_p": args.mixed_p,
            "init": str(args.init),
        },
    )
    model = ConvTasNet(**MODEL_ARGS)
    initial_weights(model, args, task="separation")
    trainer = Trainer(model, loss_fn, args.run, config, validate=validate, monitor="si_sdri", mode="max")
    print(trainer.fit(loader))


if __name__ == "__main__":
    main()
