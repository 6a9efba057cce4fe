"""``voicetools separate``: choir recordings → ``OUTPUT/<input name>/{soprano,alto,tenor,bass}.<format>``."""

from __future__ import annotations

from ..checkpoints import available_models, resolve_model
from ..cli_common import add_format, add_inputs, add_output, add_run_flags, stems_per_input
from ..outputs import check_folder
from .separate import DEFAULT_MODEL, OVERLAP_S, SEGMENT_S, separate_file


def cmd_separate(args) -> int:
    check_folder(args.output)  # before loading anything
    model = resolve_model(args.model, "separation")  # once for all inputs

    def run(inp, out_dir, progress):
        return separate_file(
            inp,
            out_dir,
            model=model,
            format=args.format,
            segment_s=args.segment_s,
            overlap_s=args.overlap_s,
            shifts=args.shifts,
            wiener=False if args.no_wiener else None,
            device=args.device,
            overwrite=args.overwrite,
            callback=progress,
        )

    return stems_per_input(args, run, verb="separate")


def add_parser(sub) -> None:
    s = sub.add_parser(
        "separate",
        help="split a choir recording into soprano, alto, tenor and bass",
        description="Split choir recordings into soprano/alto/tenor/bass stems "
        "(OUTPUT/<input name>/<voice>.<format>). Stereo and multichannel "
        "input is downmixed to mono; stems keep the input's sample rate.",
    )
    add_inputs(s)
    add_output(s, default="separated", help="output folder (default: separated)")
    s.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"model name or checkpoint path; installed: {', '.join(available_models('separation'))}",
    )
    add_format(s)
    s.add_argument("--segment-s", type=float, default=SEGMENT_S, help="chunk length in seconds")
    s.add_argument("--overlap-s", type=float, default=OVERLAP_S, help="cross-fade between chunks in seconds")
    s.add_argument(
        "--shifts",
        type=int,
        default=None,
        help="average this many sub-frame shifts of the input (default: the model's own setting; 1 is fastest)",
    )
    s.add_argument(
        "--no-wiener",
        action="store_true",
        help="skip the final Wiener filter that refits the stems to the mixture (if the model uses one)",
    )
    add_run_flags(s, overwrite="replace existing stems")
    s.set_defaults(func=cmd_separate)
