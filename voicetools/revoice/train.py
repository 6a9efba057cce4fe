"""Training recipe of the shipped timbre models: render training chorales in one timbre, train a DDSP
decoder on them with the shared ``Trainer``, export to ``checkpoints/timbre-<target>/``.

    python -m voicetools.revoice.train --target synth-choir --max-minutes 8 --export checkpoints/timbre-synth-choir
    python -m voicetools.revoice.train --target clarinet --max-minutes 8 --export checkpoints/timbre-clarinet

Targets: ``synth-choir`` — every part of the chorales sung by the project's singing synthesizer
(random singers, sections of 1-3); ``clarinet`` — the soprano, alto and tenor lines (tenor an octave
up, into the clarinet's range) played by General MIDI program 71 (Clarinet) of FluidR3_GM through
FluidSynth. Only TRAIN-split chorales are rendered (``chorale_splits.json``); rendered audio is
cached in ``--data`` (generated, never committed).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..data.chorales import VOICES, load_chorale, split_names
from ..data.render import normalise, transposed, version_of
from ..data.singing import Singer, sing
from ..train.recipe import recipe_parser, start
from .orchestrate import render_notes
from .timbre import SAMPLE_RATE, Clips, export, train_timbre

log = logging.getLogger(__name__)
TARGETS = {"synth-choir": "singing synthesizer, all four voices", "clarinet": "FluidSynth GM 71 (Clarinet)"}
CLARINET_PROGRAM = 71


def _chorales(n: int, offset: int = 0):
    names = split_names("train")[offset : offset + n]
    for name in names:
        c = load_chorale(name)
        if c is not None:
            yield name, c, version_of(c, 0)


def render_target(target: str, n_chorales: int, *, offset: int = 0, max_s: float = 30.0) -> list[np.ndarray]:
    """Mono 16 kHz recordings of ``target`` playing/singing the first ``max_s`` seconds of the train
    chorales' parts (the singing synthesizer needs about a second per second of voice)."""
    out = []
    for i, (name, c, v) in enumerate(_chorales(n_chorales, offset)):
        spq = v.seconds_per_quarter
        length_s = min(c.length_q * spq + 1.0, max_s)
        rng = np.random.default_rng(v.seed + 7)
        for voice in VOICES:
            notes = [n for n in transposed(c.parts[voice], v.transpose) if n.start_q * spq < length_s - 0.5]
            if target == "synth-choir":  # one random singer per part
                x = sing(
                    notes,
                    voice=voice,
                    sample_rate=SAMPLE_RATE,
                    length_s=length_s,
                    seconds_per_quarter=spq,
                    rng=rng,
                    singer=Singer.random(voice, rng),
                )
            elif target == "clarinet":
                if voice == "bass":
                    continue
                shift = 12 if min(n.pitch for n in notes) < 52 else 0
                events = [
                    (n.pitch + shift, n.start_q * spq, (n.start_q + n.dur_q) * spq, int(rng.integers(60, 110)))
                    for n in notes
                ]
                x = render_notes(events, CLARINET_PROGRAM, SAMPLE_RATE, length_s)
            else:
                raise ValueError(f"unknown target {target!r}; choose one of {list(TARGETS)}")
            out.append(normalise(x))
        log.info("rendered %s (%d/%d)", name, i + 1, n_chorales)
    return out


def cached_render(data: Path, target: str, n_chorales: int, max_s: float = 30.0) -> list[np.ndarray]:
    path = Path(data) / f"{target}-{n_chorales}-{max_s:g}s.npz"
    if path.exists():
        z = np.load(path)
        return [z[k] for k in sorted(z.files, key=int)]
    audios = render_target(target, n_chorales, max_s=max_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{str(i): a for i, a in enumerate(audios)})
    tmp.rename(path)
    return audios


def main(argv=None):
    ap = recipe_parser(
        "Train a shipped timbre model (DDSP decoder) on rendered train chorales.",
        data="data/revoice",
        run="runs/timbre",
        epochs=30,
        steps_per_epoch=100,
        batch_size=8,
        lr=2e-3,
        threads=1,
    )
    ap.add_argument("--target", choices=list(TARGETS), required=True)
    ap.add_argument("--chorales", type=int, default=12, help="train chorales to render (default 12)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds rendered per part (default 30)")
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args(argv)
    run = args.run / args.target if args.run == Path("runs/timbre") else args.run
    out = args.export
    args.export = None  # this recipe trains and exports in one go
    if not start(args, lambda *a: None):
        return
    audios = cached_render(args.data, args.target, args.chorales, args.seconds)
    clips = Clips(audios, cache=args.data / f"{args.target}-{args.chorales}-{args.seconds:g}s-features.npz")
    model, summary = train_timbre(
        clips,
        run,
        minutes=args.max_minutes or 8.0,
        steps=args.epochs * args.steps_per_epoch,
        batch_size=args.batch_size,
        lr=args.lr,
        hidden=args.hidden,
    )
    summary.update(
        target=args.target, source=TARGETS[args.target], chorales=args.chorales, seconds_per_part=args.seconds
    )
    print(json.dumps(summary, indent=1))
    if out:
        sha = export(model, out, publish=True, target=args.target, source=TARGETS[args.target], training=summary)
        print(f"exported {out} (sha256 {sha[:12]})")


if __name__ == "__main__":
    main()
