"""``voicetools classify`` (label audio files) and the classifier tasks of ``voicetools train`` and
``voicetools evaluate`` (``TRAIN``, ``EVALUATE``)."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path

import torch

from ..checkpoints import available_models, cache_dir
from ..cli_common import SubVerb, add_device, add_inputs, add_json, add_quiet, run_inputs, warn
from ..data.labelled import READERS, read_dataset, read_emotion_union
from ..errors import ParameterError
from ..nn.classifiers import BACKBONES, POOLINGS
from .classify import TASKS, classify, resolve_model
from .train import MODEL_ALIASES, Recipe, evaluate_on, evaluate_run, format_table, is_main_process, run


def _stderr_log(quiet: bool, verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    lg = logging.getLogger("voicetools.classify")
    lg.handlers[:] = [] if quiet else [handler]
    lg.setLevel(logging.DEBUG if verbose else logging.INFO)
    lg.propagate = False


def _train_data(args):
    """One ``--data`` folder is read with its layout; several (emotion only) are joined with the
    labels the corpora share (``read_emotion_union``)."""
    if len(args.data) == 1:
        return read_dataset(args.data[0], layout=args.layout, folds_csv=args.folds_csv)
    if args.task != "emotion":
        raise ParameterError(f"train {args.task}: give one --data folder (several are joined for emotion only)")
    if args.layout != "auto" or args.folds_csv:
        raise ParameterError("several --data folders: their layouts are detected; drop --layout and --folds-csv")
    return read_emotion_union(args.data)


def cmd_train(args) -> int:
    if not args.data or args.recordings:
        raise ParameterError(f"train {args.task}: give the dataset with --data DIR (no audio files)")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # denormal floats in trained weights slow CPU steps several-fold
    _stderr_log(args.quiet, args.verbose)
    features = {k: v for k, v in (("clip_s", args.clip_s), ("n_mels", args.n_mels)) if v is not None}
    recipe = Recipe(
        task=args.task,
        model=MODEL_ALIASES.get(args.model.lower(), args.model),
        pooling=args.pooling,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience or None,
        seed=args.seed,
        n_folds=args.folds,
        scheduler=args.scheduler,
        time_shift_s=args.time_shift_s,
        noise_snr_db=tuple(args.noise_snr_db) if args.noise_snr_db else None,
        pitch_semitones=args.pitch_semitones,
        specaugment=not args.no_specaugment,
        mixup_alpha=args.mixup,
        features=features,
    )
    dataset = _train_data(args)
    run_dir = Path(args.run or f"runs/{args.task}-{recipe.model}")
    cache = Path(args.cache) if args.cache else cache_dir() / "features"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run(
            dataset,
            recipe,
            run_dir,
            cv=args.cv,
            final=not args.no_final,
            cache_dir=cache,
            noise_dir=args.noise_dir,
            overwrite=args.overwrite,
        )
    if not is_main_process():  # torchrun: rank 0 reports
        return 0
    for w in caught:
        print(f"voicetools: warning: {w.message}", file=sys.stderr)
    for note in dataset.notes:
        print(f"voicetools: note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "confusion"}, indent=1))
    else:
        print(format_table(summary))
        if "exported" in summary:
            print(f"model: {summary['exported']}  (voicetools classify FILE --model {summary['exported']})")
        print(f"run: {run_dir}/ (summary.json, confusion.png, fold-*/curves.png)")
    return 0


def _classify_one(args, model, inp: str, _, progress) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = classify(
            inp,
            model=model,
            task=args.task,
            top_k=args.top_k,
            segments=args.segments,
            hop_s=args.hop_s,
            device=args.device,
            callback=progress,
        )
    for note in res.warnings:
        warn(note, inp)
    if not args.json:
        top = ", ".join(f"{k} {v:.2f}" for k, v in res.top_k)
        print(f"{inp}: {res.label} ({res.score:.2f})  top-{len(res.top_k)}: {top}")
        for s in res.segments:
            tag = f"  {s.token}" if res.task == "emotion" else ""
            print(f"  {s.start_s:7.2f}-{s.end_s:7.2f} s  {s.label:<14} {s.score:.2f}{tag}")
    return {"input": inp, **res.to_dict()}


def cmd_classify(args) -> int:
    model = resolve_model(args.model, task=args.task)  # once for all inputs
    return run_inputs(
        [(inp, None) for inp in args.inputs],
        lambda inp, out, progress: _classify_one(args, model, inp, out, progress),
        quiet=args.quiet,
        as_json=args.json,
    )


def cmd_evaluate(args) -> int:
    if not args.run and not args.model:
        raise ParameterError("give --run RUN (a `voicetools train` folder) or --model with --data")
    if args.data:
        dataset = read_dataset(args.data, layout=args.layout, folds_csv=args.folds_csv)
        res = evaluate_on(
            args.model or args.run, dataset, cache_dir=Path(args.cache) if args.cache else cache_dir() / "features"
        )
        if args.json:
            print(json.dumps(res, indent=1))
        else:
            print(
                f"{res['model']} on {res['data']}: accuracy {res['accuracy']:.4f}, macro-F1 "
                f"{res['macro_f1']:.4f}, loss {res['loss']:.4f} ({res['clips']} clips, {res['skipped']} skipped)"
            )
        return 0
    summary = evaluate_run(args.run)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(format_table(summary))
        gaps = [g for g in summary.get("generalization_gap_at_best", []) if g is not None]
        if gaps:
            print(
                f"generalization gap at the best epoch (valid loss - train loss in eval mode): "
                f"{sum(gaps) / len(gaps):.3f} mean over {len(gaps)} folds"
            )
        print(f"confusion matrix: {Path(args.run) / 'confusion.png'}")
    return 0


def add_parser(sub) -> None:
    c = sub.add_parser(
        "classify",
        help="label audio files (sound event, emotion, genre)",
        description="Top-k labels per file; --segments adds one label per window.",
    )
    add_inputs(c)
    installed = sorted({m for t in TASKS for m in available_models(t)})
    c.add_argument(
        "--model", default=None, help=f"model name, model folder or train run folder; installed: {', '.join(installed)}"
    )
    c.add_argument("--task", default=None, choices=TASKS, help="checks the model; picks the shipped default")
    c.add_argument("--top-k", type=int, default=3, help="labels listed per file (default 3)")
    c.add_argument("--segments", action="store_true", help="one label per window of a long file")
    c.add_argument("--hop-s", type=float, default=None, help="window hop (default half a window)")
    add_device(c)
    add_json(c, "print the results as JSON on stdout")
    add_quiet(c, "no progress bar")
    c.set_defaults(func=cmd_classify)


def add_train_arguments(t) -> None:
    """The options of ``voicetools train events|emotion|genre`` (the shared ones are ``voicetools.cli``'s)."""
    d = Recipe()
    t.add_argument(
        "--data",
        action="append",
        default=None,
        help="dataset folder as distributed (classifier tasks); emotion: give --data twice (RAVDESS and "
        "EmoDB) to train on both with the labels they share",
    )
    t.add_argument("--layout", default="auto", choices=["auto", *READERS], help="dataset layout (default: detect)")
    t.add_argument("--folds-csv", default=None, help="folder/GTZAN layouts: CSV with path + fold/group/artist")
    t.add_argument("--model", default="cnn", help=f"architecture: {', '.join(BACKBONES)} (default cnn)")
    t.add_argument("--pooling", default="avg", choices=POOLINGS, help="how frames become one clip vector (default avg)")
    t.add_argument("--cv", action="store_true", help="cross-validate over all folds")
    t.add_argument("--folds", type=int, default=None, help="folds for speaker/stratified splits")
    t.add_argument("--epochs", type=int, default=d.epochs, help=f"most epochs per model (default {d.epochs})")
    t.add_argument("--batch-size", type=int, default=d.batch_size, help=f"clips per step (default {d.batch_size})")
    t.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr:g})")
    t.add_argument("--patience", type=int, default=d.patience, help="early stopping (0 = off)")
    t.add_argument(
        "--scheduler",
        default=d.scheduler,
        choices=["cosine", "plateau"],
        help=f"learning-rate schedule: cosine decay, or cut when validation stalls (default {d.scheduler})",
    )
    t.add_argument(
        "--time-shift-s",
        type=float,
        default=d.time_shift_s,
        help=f"augmentation: shift training clips by up to this many seconds (default {d.time_shift_s:g})",
    )
    t.add_argument(
        "--noise-snr-db",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=None,
        help="augmentation: add noise at a random SNR in this range (default: none)",
    )
    t.add_argument("--noise-dir", default=None, help="background noise clips for --noise-snr-db (default white)")
    t.add_argument(
        "--pitch-semitones",
        type=float,
        default=0.0,
        help="augmentation: random pitch shift within ± this many semitones (default 0: off)",
    )
    t.add_argument("--no-specaugment", action="store_true", help="no time/frequency masking of training log-mels")
    t.add_argument(
        "--mixup",
        type=float,
        default=0.0,
        metavar="ALPHA",
        help="mixup of training clips with this Beta(ALPHA, ALPHA) (default 0: off)",
    )
    t.add_argument("--clip-s", type=float, default=None, help="window length in seconds (task default)")
    t.add_argument("--n-mels", type=int, default=None, help="mel bands of the log-mel input (task default)")
    t.add_argument("--cache", default=None, help="feature cache folder (default $VOICETOOLS_CACHE/features)")
    t.add_argument("--no-final", action="store_true", help="with --cv: skip the final all-data model")
    t.add_argument("-v", "--verbose", action="store_true", help="one progress line per epoch")


def add_evaluate_arguments(e) -> None:
    """The options of ``voicetools evaluate [classify]`` (the shared ones are ``voicetools.cli``'s)."""
    e.add_argument("--run", default=None, help="a `voicetools train` run folder")
    e.add_argument("--model", default=None, help="with --data: a model name or folder to score instead of RUN's")
    e.add_argument("--layout", default="auto", choices=["auto", *READERS], help="dataset layout (default: detect)")
    e.add_argument("--folds-csv", default=None, help="folder/GTZAN layouts: CSV with path + fold/group/artist")
    e.add_argument("--cache", default=None, help="feature cache folder (default $VOICETOOLS_CACHE/features)")


TRAIN = SubVerb(
    tasks=TASKS,
    run=cmd_train,
    add_arguments=add_train_arguments,
    help="a sound-event, emotion or genre classifier (with --cv: k-fold)",
    description="Train a classifier on a dataset in its distributed layout. With --cv every fold trains "
    "a fresh model (normalisation from its training folds, the next fold validates, the test "
    "fold is scored once), then a final model is trained on all clips and exported to "
    "RUN/best.",
)
EVALUATE = SubVerb(
    tasks=("classify",),
    run=cmd_evaluate,
    add_arguments=add_evaluate_arguments,
    default=True,
    help="per-fold table and confusion matrix of a training run",
    description="Without --data: re-read RUN's per-fold results (table, mean±std, confusion.png). "
    "With --data: score RUN's (or --model's) exported model on every clip of that "
    "dataset.",
)
