"""``voicetools vocals``: songs → ``OUTPUT/<song>/{vocals,accompaniment}.<format>`` (or every Demucs stem)."""

from __future__ import annotations

import sys

from ..checkpoints import available_models
from ..cli_common import add_device, add_format, add_inputs, add_output, add_run_flags, stems_per_input
from ..official_weights import hub_dir
from ..outputs import check_folder
from .extract import DEFAULT_MODEL, OVERLAP, STEMS, check_args, extract_vocals_file
from .model import load_vocal_model, official_names


def cmd_vocals(args) -> int:
    check_args(args.stems, args.overlap, args.jobs)  # usage errors before loading anything
    check_folder(args.output)
    model = load_vocal_model(args.model, weights=args.weights)  # once for all inputs
    if model.name == DEFAULT_MODEL and not args.quiet:
        print(
            f"note: {DEFAULT_MODEL} is a small model trained here; for studio-grade separation run "
            "`voicetools models fetch htdemucs` once (an opt-in download) and add --model htdemucs",
            file=sys.stderr,
        )

    def run(inp, out_dir, progress):
        return extract_vocals_file(
            inp,
            out_dir,
            model=model,
            stems=args.stems,
            format=args.format,
            overlap=args.overlap,
            device=args.device,
            jobs=args.jobs,
            overwrite=args.overwrite,
            callback=progress,
        )

    return stems_per_input(args, run, verb="extract")


def add_parser(sub) -> None:
    v = sub.add_parser(
        "vocals",
        help="split songs into vocals and accompaniment (Demucs)",
        description="Split songs into OUTPUT/<song>/vocals + accompaniment (or every stem of "
        "the model with --stems all). Stems keep the input's sample rate, length and "
        "channels; long files stream in overlapping segments.",
    )
    add_inputs(v)
    add_output(v, default="separated", help="output folder (default: separated)")
    v.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"installed: {', '.join(available_models('vocals'))}; or an official Demucs name "
        f"({', '.join(official_names())}) with its weights in {hub_dir()}",
    )
    v.add_argument(
        "--weights",
        default=None,
        metavar="FILE",
        help="official Demucs weights (.th) or bag of models (.yaml); overrides --model",
    )
    v.add_argument(
        "--stems",
        choices=STEMS,
        default="vocals",
        help="vocals: vocals + accompaniment (default); all: every source of the model",
    )
    add_format(v)
    v.add_argument("--overlap", type=float, default=OVERLAP, help="share of a segment cross-faded (default 0.25)")
    add_device(v)
    v.add_argument("-j", "--jobs", type=int, default=None, help="CPU threads for inference (default: torch's)")
    add_run_flags(v, device=False, overwrite="replace existing stems")
    v.set_defaults(func=cmd_vocals)
