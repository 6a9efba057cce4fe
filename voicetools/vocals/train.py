"""Training recipe for the shipped vocal / accompaniment HTDemucs, wired into the one Trainer.

    python -m voicetools.vocals.data --out data/vocals --splits valid train --limit 40   # synthetic songs
    python -m voicetools.vocals.train --data data/vocals --run runs/vocals --max-minutes 100
    python -m voicetools.vocals.train --data data/vocals --run runs/vocals   # resumes
    python -m voicetools.vocals.train --run runs/vocals --export checkpoints/vocals-htdemucs-small

The model is demucs' own ``HTDemucs`` class in a small configuration (``MODEL_ARGS``): mono,
16 kHz, two sources. Loss: negative SDR of each source (``loss_fn``). Training examples are real
songs remixed (``remix.SongRemixes``: MIR-1K minus the validation singers, Bach10 recordings as
extra accompaniment) and, one in five, the synthetic songs of ``--data``. Validation is the SI-SDR
improvement on whole clips of the held-out MIR-1K singers mixed at 0 dB: real voices never heard.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoints import publish_checkpoint
from ..data import bach10
from ..data.mir1k import DEFAULT_ROOT as MIR1K_ROOT
from ..data.mir1k import clips as mir1k_clips
from ..nn.htdemucs import build_htdemucs
from ..train.recipe import initial_weights, recipe_parser, start
from ..train.trainer import TrainConfig, Trainer, read_log
from .data import SAMPLE_RATE, SOURCES, VocalMixtures
from .metrics import sdr, si_sdr
from .remix import SongRemixes, load_extra_accompaniment, mixed_at

# 7.2 M parameters, about a second per batch of 4 x 3 s on two threads: depth 4 with a 2048-point
# STFT leaves a short sequence for the transformer.
MODEL_ARGS = dict(
    sources=list(SOURCES),
    audio_channels=1,
    sample_rate=SAMPLE_RATE,
    segment=3.0,
    channels=32,
    depth=4,
    nfft=2048,
    t_layers=2,
    t_heads=4,
)
VALID_CLIPS_EVERY = 3  # a third of the held-out singers' clips during training; the benchmark scores all


def _separate(model, mixtures: torch.Tensor) -> torch.Tensor:
    """(batch, time) mixtures → (batch, sources, time), in chunks of the model's segment."""
    from demucs.apply import apply_model

    with torch.no_grad():
        return apply_model(model, mixtures[:, None], shifts=0, split=True, overlap=0.25)[:, :, 0]


def make_validate(items):
    """Mean SDR and SI-SDR improvement per source over ``items`` of (mixture (T,), targets (2, T))."""

    def validate(model):
        rows = []
        for mixture, targets in items:
            est = _separate(model, mixture[None])[0]
            mix = mixture[None].expand_as(targets)
            rows.append(torch.stack([sdr(est, targets), si_sdr(est, targets) - si_sdr(mix, targets)]))
        rows = torch.stack(rows)  # (clips, metric, source)
        out = {"sdr": float(rows[:, 0].mean())}
        for j, name in enumerate(SOURCES):
            out[f"sdr_{name}"] = float(rows[:, 0, j].mean())
            out[f"si_sdri_{name}"] = float(rows[:, 1, j].mean())
        return out

    return validate


def real_validation_set(mir1k: Path):
    files = mir1k_clips(mir1k, split="valid")[::VALID_CLIPS_EVERY]
    return [tuple(torch.from_numpy(a) for a in mixed_at(f)) for f in files]


def loss_fn(model, batch):
    """Negative SDR per source (scale-dependent: ``accompaniment = mixture − vocals`` needs the vocals'
    level right), averaged over the sources that sound; a silent target is trained towards silence
    with L1, where SDR is undefined."""
    mixture, targets = batch
    est = model(mixture)[:, :, 0]
    sounding = targets.pow(2).mean(-1) > 1e-8
    neg_sdr = -sdr(est, targets)
    loss = neg_sdr[sounding].mean() if sounding.any() else est.new_zeros(())
    if (~sounding).any():
        loss = loss + 100 * (est - targets).abs().mean(-1)[~sounding].mean()
    return loss


def export(run_dir: Path, out_dir: Path, *, which: str = "best.pt") -> None:
    """Write the run's best weights as a checkpoint folder (safetensors + config JSON with the HTDemucs kwargs).

    A folder inside the shipped ``checkpoints/`` is also entered in its registry with its sha256.
    """
    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    model = build_htdemucs(MODEL_ARGS)
    model.load_state_dict(state["model"])
    model.half()  # weights stored as float16 (3.6 MB); loading casts them back to float32
    publish_checkpoint(
        model,
        out_dir,
        task="vocals",
        architecture="HTDemucs",
        sources=list(SOURCES),
        segment_s=MODEL_ARGS["segment"],
        training={"epochs": state["epoch"], "steps": read_log(run_dir)[-1]["step"], "valid_sdr": state["score"]},
    )


def main(argv=None):
    ap = recipe_parser(
        "Train the small vocal/accompaniment HTDemucs (resumable).",
        data="data/vocals",
        run="runs/vocals",
        epochs=40,
        steps_per_epoch=50,
        batch_size=4,
        lr=1e-3,
        threads=1,
    )
    ap.add_argument("--segment-s", type=float, default=MODEL_ARGS["segment"])
    ap.add_argument("--mir1k", type=Path, default=MIR1K_ROOT, help="MIR-1K folder (audio/ inside)")
    ap.add_argument(
        "--bach10", type=Path, default=bach10.DEFAULT_ROOT, help="Bach10 pieces (mixes as extra accompaniment)"
    )
    ap.add_argument("--synthetic-p", type=float, default=0.2, help="share of synthetic songs (from --data)")
    args = ap.parse_args(argv)
    if not start(args, export):
        return
    synth_files = sorted((args.data / "train").glob("*-v*.npy"))
    synthetic = VocalMixtures(synth_files, segment_s=args.segment_s) if synth_files else None
    extra = load_extra_accompaniment(sorted(args.bach10.glob("*/*.flac")))  # mixes and single instruments
    train = SongRemixes(
        mir1k_clips(args.mir1k, split="train"),
        extra_accompaniment=extra,
        synthetic=synthetic,
        synthetic_p=args.synthetic_p if synthetic is not None else 0.0,
        segment_s=args.segment_s,
    )
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, num_workers=0)
    validate = make_validate(real_validation_set(args.mir1k))
    config = TrainConfig(
        lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        warmup_steps=50,
        max_minutes=args.max_minutes,
        clip_grad_norm=5.0,
        weight_decay=0.0,
        extra={
            "model_args": MODEL_ARGS,
            "batch_size": args.batch_size,
            "segment_s": args.segment_s,
            "mir1k_clips": len(train.clips),
            "init": str(args.init),
            "extra_accompaniment": len(extra),
            "synthetic_files": len(synth_files),
        },
    )
    model = build_htdemucs(MODEL_ARGS)
    initial_weights(model, args, task="vocals")
    trainer = Trainer(model, loss_fn, args.run, config, validate=validate, monitor="si_sdri_vocals", mode="max")
    print(trainer.fit(loader))


if __name__ == "__main__":
    main()
