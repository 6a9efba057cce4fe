"""What every ``voicetools`` verb shares: its common flags, the per-input runner, progress bars and output checks.

Each verb module (``voicetools/<task>/cli.py``) imports from here; this module never imports a verb or
``voicetools.cli``. Flags every verb spells the same are declared once, in the ``add_*`` functions; a
verb that trains or evaluates something adds it to ``voicetools train`` / ``voicetools evaluate`` with
a ``SubVerb``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .errors import VoicetoolsError
from .files import STEM_FORMATS
from .outputs import check_file, check_folder, is_file_output

AUDIO_HELP = "audio files (WAV, FLAC, OGG, MP3, ...)"


# --- flags ---------------------------------------------------------------------------------------------------


def device_arg(value: str) -> str:
    """``--device``: only a device this torch can use (argparse ``type=``; a usage error otherwise)."""
    usable = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    try:
        device = torch.device(value)
    except RuntimeError:
        device = None
    ok = device is not None and usable.get(device.type, False)
    if ok and device.type == "cuda" and device.index is not None:
        ok = device.index < torch.cuda.device_count()
    if not ok:
        have = ", ".join(k for k, v in usable.items() if v)
        raise argparse.ArgumentTypeError(f"{value!r} is not a device this torch can use; available: {have}")
    return value


def add_inputs(parser: argparse.ArgumentParser) -> None:
    """The input files: ``AUDIO...``, one or more."""
    parser.add_argument("inputs", nargs="+", metavar="AUDIO", help=AUDIO_HELP)


def add_output(parser: argparse.ArgumentParser, *, default: str | None, help: str) -> None:
    """``-o/--output``: where the outputs go (each verb says what it takes)."""
    parser.add_argument("-o", "--output", default=default, help=help)


def add_format(parser: argparse.ArgumentParser) -> None:
    """``--format`` of stem files (``files.STEM_FORMATS``)."""
    parser.add_argument("--format", choices=sorted(STEM_FORMATS), default="wav", help="stem file format (default: wav)")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``: the torch device models run on."""
    parser.add_argument("--device", type=device_arg, default=None, help="torch device, e.g. cpu or cuda (default: cpu)")


def add_overwrite(parser: argparse.ArgumentParser, help: str = "replace existing outputs") -> None:
    parser.add_argument("--overwrite", action="store_true", help=help)


def add_json(parser: argparse.ArgumentParser, help: str = "print a JSON summary on stdout") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_quiet(parser: argparse.ArgumentParser, help: str = "no progress bar or summary line") -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help=help)


def add_run_flags(
    parser: argparse.ArgumentParser,
    *,
    device: bool = True,
    overwrite: str | bool = True,
    json: str | bool = True,
    quiet: str | bool = True,
) -> None:
    """The flags that end a verb's options: ``--device``, ``--overwrite``, ``--json``, ``-q``. Each is
    True (its usual help text), a help text of the verb's own, or False (the verb has no such flag)."""
    if device:
        add_device(parser)
    for add, text in ((add_overwrite, overwrite), (add_json, json), (add_quiet, quiet)):
        if text is True:
            add(parser)
        elif text:
            add(parser, text)


@dataclass(frozen=True)
class SubVerb:
    """What a verb module adds to an umbrella verb (``voicetools train TASK``, ``voicetools evaluate TASK``).

    ``tasks``: the TASK names it handles; ``run(args) -> exit code`` handles them; ``add_arguments(parser)``
    adds its own options to the umbrella's parser (the umbrella declares the shared ones); ``help``: a
    clause for the umbrella's one-line help; ``description``: sentences for its ``--help``; ``default``:
    the task run when none is named (at most one per umbrella).
    """

    tasks: tuple[str, ...]
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    help: str = ""
    description: str = ""
    default: bool = False


# --- running ---------------------------------------------------------------------------------------------------


def progress_bar(enabled: bool):
    """A ``callback(stage, done, total)`` drawing one tqdm bar per stage on stderr, if it is a terminal;
    ``callback.close()`` removes the bars."""
    isatty = getattr(sys.stderr, "isatty", None)
    enabled = enabled and bool(isatty and isatty())  # no \r or cursor codes in a log file or a pipe
    bars = {}

    def callback(stage, done, total):
        if not enabled:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="chunk", file=sys.stderr, leave=False)
        bar.total = max(bar.total or 0, total)
        bar.update(done - bar.n)

    def close():
        for bar in bars.values():
            bar.close()
        bars.clear()

    callback.close = close
    return callback


@contextlib.contextmanager
def progress_for(enabled: bool):
    """``progress_bar`` for one job, closed after it."""
    progress = progress_bar(enabled)
    try:
        yield progress
    finally:
        progress.close()


@contextlib.contextmanager
def warnings_kept_quiet():
    """Python warnings are held back inside the block: a verb reports them once, from the result's ``warnings``."""
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        yield


def warn(note: str, inp: str | None = None) -> None:
    """One ``voicetools: warning: ...`` line on stderr (naming the input when there are several)."""
    print(f"voicetools: warning: {inp + ': ' if inp else ''}{note}", file=sys.stderr)


def run_inputs(jobs: Iterable, run_one: Callable, *, quiet: bool, as_json: bool) -> int:
    """``run_one(input, output, progress) -> summary`` for each (input, output) pair: a failing input is
    one error line on stderr and the run goes on; ``as_json`` prints the summaries. Returns the exit code."""
    summaries = []
    for inp, out in jobs:
        progress = progress_bar(not quiet)
        try:
            summaries.append(run_one(inp, out, progress))
        except VoicetoolsError as exc:
            print(f"voicetools: error: {exc}", file=sys.stderr)
            summaries.append({"input": inp, "error": str(exc)})
        finally:
            progress.close()
    if as_json:
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=1))
    return 1 if any("error" in s for s in summaries) else 0


def stems_per_input(args, run: Callable, *, verb: str) -> int:
    """``run_inputs`` for verbs writing stems into ``OUTPUT/<input name>/`` (``separate``, ``vocals``).

    ``run(inp, out_dir, progress) -> summary``; two inputs with the same name are refused rather than
    written into one folder; soft warnings and a summary line per input go to the terminal.
    """
    used: dict[Path, str] = {}

    def one(inp, out_dir, progress):
        if out_dir in used:  # a.wav and other/a.wav would write the same stems
            raise VoicetoolsError(
                f"{inp}: its stems would go to {out_dir}/, already used by {used[out_dir]}; "
                f"rename it or {verb} it in another run"
            )
        used[out_dir] = inp
        with warnings_kept_quiet():
            summary = run(inp, out_dir, progress)
        progress.close()
        for note in summary["warnings"]:
            warn(note, inp)
        if not args.json and not args.quiet:
            print(f"{inp} -> {out_dir}/ ({', '.join(Path(s).name for s in summary['stems'].values())})")
        return summary

    jobs = [(inp, Path(args.output) / Path(inp).stem) for inp in args.inputs]
    return run_inputs(jobs, one, quiet=args.quiet, as_json=args.json)


# --- where outputs go ----------------------------------------------------------------------------------------


def refuse_shared_outputs(pairs: Iterable[tuple[str, Path]], verb: str) -> None:
    """Two inputs whose outputs would be the same file: refused before any work."""
    seen: dict[Path, str] = {}
    for inp, out in pairs:
        if out in seen:
            raise VoicetoolsError(
                f"{inp} and {seen[out]} would both write {out}; rename one or {verb} it in another run"
            )
        seen[out] = inp


def file_per_input(
    inputs: list[str], output: str | None, *, suffixes: tuple[str, ...], name: Callable[[str], str], verb: str
) -> list[Path]:
    """Where each input's one output file goes: ``-o x.<suffix>`` for a single input, else
    ``<folder>/<name(input stem)>`` (default folder: the current one); checked by the rules of
    ``voicetools.outputs`` before any work."""
    if output and is_file_output(output, suffixes):
        if len(inputs) > 1:
            raise VoicetoolsError(
                f"-o {output} names one {'/'.join(suffixes)} file but {len(inputs)} inputs were "
                "given; give a folder instead"
            )
        return [check_file(output, suffixes)]
    folder = check_folder(output or ".")
    outs = [check_file(folder / name(Path(i).stem)) for i in inputs]
    refuse_shared_outputs(zip(inputs, outs), verb)
    return outs


def refuse_existing_outputs(paths: Iterable[Path], overwrite: bool) -> None:
    """The first of ``paths`` that exists is refused before any compute, unless ``--overwrite``."""
    for path in paths:
        if path.exists() and not overwrite:
            raise VoicetoolsError(f"{path} exists; pass --overwrite to replace it")
