"""What every training recipe's command line shares (separation, vocals, transcription).

``recipe_parser`` gives the common options with a recipe's own defaults; ``start`` sets up logging,
handles ``--export`` and the CPU settings. Recipe-specific options are added to the parser as usual.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from ..checkpoints import load_model


def recipe_parser(
    description: str,
    *,
    data: str,
    run: str,
    epochs: int,
    steps_per_epoch: int,
    batch_size: int,
    lr: float,
    threads: int,
) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", type=Path, default=Path(data))
    ap.add_argument("--run", type=Path, default=Path(run))
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--steps-per-epoch", type=int, default=steps_per_epoch)
    ap.add_argument("--batch-size", type=int, default=batch_size)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--threads", type=int, default=threads)
    ap.add_argument("--export", type=Path, default=None, help="export the run's best model here and exit")
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start a new run from these weights (a run's .pt or a published checkpoint folder)",
    )
    return ap


def initial_weights(model: torch.nn.Module, args, *, task: str) -> torch.nn.Module:
    """Load ``--init`` into a new run's model; a run being resumed keeps its own weights."""
    if args.init is None or (args.run / "last.pt").exists():
        return model
    if args.init.is_dir():  # a published checkpoint (float16 safetensors): back to float32
        state = {k: v.float() for k, v in load_model(str(args.init), task=task).model.state_dict().items()}
    else:
        state = torch.load(args.init, map_location="cpu", weights_only=True)["model"]
    model.load_state_dict(state)
    return model


def start(args, export: Callable[[Path, Path], None]) -> bool:
    """Log to stderr; with ``--export`` export the run and return False (nothing to train).

    Otherwise set the thread count and flush denormals — trained weights produce denormal floats
    that slow CPU matmuls several-fold — and return True."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.export:
        export(args.run, args.export)
        return False
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    return True
