"""``voicetools vocals``: songs → ``OUTPUT/<song>/{vocals,accompaniment}.<format>`` (or every Demucs stem)."""

from __future__ import annotations


def cmd_vocals(args) -> int:
    from ..cli import stems_per_input
    from ..outputs import check_folder
    from .extract import DEFAULT_MODEL, _check_args, extract_vocals_file
    from .model import load_vocal_model

    _check_args(args.stems, args.overlap, args.jobs)  # usage errors before loading anything
    check_folder(args.output)
    model = load_vocal_model(args.model, weights=args.weights)  # once for all inputs
    if model.name == DEFAULT_MODEL and not args.quiet:
        import sys

        print(f"note: {DEFAULT_MODEL} is a small model trained here; for studio-grade separation run "
              "`voicetools models fetch htdemucs` once (an opt-in download) and add --model htdemucs",
              file=sys.stderr)

    def run(inp, out_dir, progress):
        return extract_vocals_file(inp, out_dir, model=model, stems=args.stems, format=args.format,
                                   overlap=args.overlap, device=args.device, jobs=args.jobs,
                                   overwrite=args.overwrite, callback=progress)

    return stems_per_input(args, run, verb="extract")


def add_parser(sub) -> None:
    from ..checkpoints import available_models
    from ..cli import device_arg
    from ..separation import FORMATS
    from .extract import DEFAULT_MODEL, OVERLAP, STEMS
    from ..official_weights import hub_dir
    from .model import official_names

    v = sub.add_parser("vocals", help="split songs into vocals and accompaniment (Demucs)",
                       description="Split songs into OUTPUT/<song>/vocals + accompaniment (or every stem of "
                                   "the model with --stems all). Stems keep the input's sample rate, length and "
                                   "channels; long files stream in overlapping segments.")
    v.add_argument("inputs", nargs="+", metavar="AUDIO", help="audio files (WAV, FLAC, OGG, MP3, ...)")
    v.add_argument("-o", "--output", default="separated", help="output folder (default: separated)")
    v.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"installed: {', '.join(available_models('vocals'))}; or an official Demucs name "
                        f"({', '.join(official_names())}) with its weights in {hub_dir()}")
    v.add_argument("--weights", default=None, metavar="FILE",
                   help="official Demucs weights (.th) or bag of models (.yaml); overrides --model")
    v.add_argument("--stems", choices=STEMS, default="vocals",
                   help="vocals: vocals + accompaniment (default); all: every source of the model")
    v.add_argument("--format", choices=sorted(FORMATS), default="wav", help="stem file format (default: wav)")
    v.add_argument("--overlap", type=float, default=OVERLAP, help="share of a segment cross-faded (default 0.25)")
    v.add_argument("--device", type=device_arg, default=None, help="torch device, e.g. cpu or cuda (default: cpu)")
    v.add_argument("-j", "--jobs", type=int, default=None, help="CPU threads for inference (default: torch's)")
    v.add_argument("--overwrite", action="store_true", help="replace existing stems")
    v.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary line")
    v.set_defaults(func=cmd_vocals)
