"""The ``voicetools`` command: one verb per task, mirroring the Python API's names.

Each verb lives with its task, in ``voicetools/<task>/cli.py``, which defines ``add_parser(subparsers)``;
this module only lists those modules (``VERB_MODULES``) and dispatches. A verb module may also add a
task to the two umbrella verbs ``voicetools train TASK`` and ``voicetools evaluate TASK`` with a
module-level ``TRAIN`` or ``EVALUATE`` (a ``cli_common.SubVerb``). What verbs share (flags, the
per-input runner, progress bars) is ``voicetools.cli_common``.

Exit codes: 0 all inputs done, 1 at least one input failed (each failure is one line on stderr),
2 a usage error, 128 + the signal number when stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP (partial
outputs are removed first). ``--json`` puts a machine-readable summary on stdout; progress bars go to
stderr when it is a terminal. Where outputs may go: ``voicetools.outputs``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import signal
import sys
import threading

from .cli_common import SubVerb, add_json, add_overwrite, add_quiet
from .errors import VoicetoolsError
from .outputs import refusal
from .version import __version__

# The verbs, in the order ``voicetools --help`` lists them. A new verb is one more line here.
VERB_MODULES: tuple[str, ...] = (
    "voicetools.separation.cli",
    "voicetools.vocals.cli",
    "voicetools.transcribe.cli",
    "voicetools.classify.cli",
    "voicetools.diarize.cli",
    "voicetools.revoice.cli",
    "voicetools.pronounce.cli",
    "voicetools.models_cli",
    "voicetools.app.cli",
)


def _sub_verbs(modules, attr: str) -> list[SubVerb]:
    return [getattr(m, attr) for m in modules if hasattr(m, attr)]


def _dispatch(specs: list[SubVerb]):
    handlers = {task: spec.run for spec in specs for task in spec.tasks}

    def run(args) -> int:
        return handlers[args.task](args)

    return run


def add_train_parser(sub, specs: list[SubVerb]) -> None:
    """``voicetools train TASK``: the tasks and options come from the verb modules' ``TRAIN``; the options
    every task reads are declared here."""
    t = sub.add_parser(
        "train", help="train " + ", or ".join(s.help for s in specs), description=" ".join(s.description for s in specs)
    )
    t.add_argument("task", choices=[task for s in specs for task in s.tasks], help="what to train")
    t.add_argument(
        "recordings",
        nargs="*",
        metavar="AUDIO",
        help="recordings to learn from, for a task that takes them (timbre: the target voice/instrument)",
    )
    t.add_argument(
        "--run",
        "--run-dir",
        dest="run",
        default=None,
        help="run folder (default: one per task and model); spell it --run-dir under torchrun",
    )
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: the task's)")
    add_overwrite(t, "replace a finished run folder (and the model it exported)")
    add_json(t, "print the run summary as JSON on stdout")
    add_quiet(t, "no progress lines on stderr")
    for spec in specs:
        if spec.add_arguments:
            spec.add_arguments(t)
    t.set_defaults(func=_dispatch(specs))


def add_evaluate_parser(sub, specs: list[SubVerb]) -> None:
    """``voicetools evaluate [TASK]``: the tasks and options come from the verb modules' ``EVALUATE``."""
    default = next(task for s in specs if s.default for task in s.tasks[:1])
    e = sub.add_parser(
        "evaluate", help="; ".join(s.help for s in specs), description=" ".join(s.description for s in specs)
    )
    e.add_argument(
        "task",
        nargs="?",
        choices=[task for s in specs for task in s.tasks],
        default=default,
        help=f"what to evaluate (default: {default})",
    )
    e.add_argument("--data", default=None, help="the data to score on (what each task reads: see above)")
    add_json(e, "print the results as JSON on stdout")
    for spec in specs:
        if spec.add_arguments:
            spec.add_arguments(e)
    e.set_defaults(func=_dispatch(specs))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voicetools", description="Offline music and voice tools.")
    p.add_argument("--version", action="version", version=f"voicetools {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    modules = [importlib.import_module(name) for name in VERB_MODULES]
    for module in modules:
        module.add_parser(sub)
    add_train_parser(sub, _sub_verbs(modules, "TRAIN"))
    add_evaluate_parser(sub, _sub_verbs(modules, "EVALUATE"))
    return p


STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Stopped(BaseException):
    """SIGTERM or SIGHUP: unwinds the stack like Ctrl-C's KeyboardInterrupt, so the all-or-nothing
    writers remove their partial output (a BaseException, so ``except Exception`` does not swallow it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(main_pid: int, signum, frame):
    if os.getpid() != main_pid:  # a forked worker (DataLoader) inherited this handler: die as before
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    for s in STOP_SIGNALS:  # a terminal closing sends SIGHUP then SIGTERM: let the first one's cleanup run
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


def main(argv=None) -> int:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return _main(argv)
    previous = {s: signal.signal(s, functools.partial(_stop, os.getpid())) for s in STOP_SIGNALS}
    try:
        return _main(argv)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return args.func(args)
    except VoicetoolsError as exc:
        print(f"voicetools: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("voicetools: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Stopped as exc:
        print(f"voicetools: stopped by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:  # a bug, not a user error: say so in one line unless debugging
        if os.environ.get("VOICETOOLS_DEBUG"):
            raise
        reason = refusal(exc)  # the OS said no to a file not written through voicetools.files: not a bug
        if reason:
            print(f"voicetools: error: {exc.filename or 'a file'}: {reason}", file=sys.stderr)
            return 1
        print(
            f"voicetools: internal error: {type(exc).__name__}: {exc} "
            "(set VOICETOOLS_DEBUG=1 for the traceback and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
