"""Training recipe for Voice2Midi: precomputed chorale-part features wired into the one Trainer.

    python -m voicetools.data.satb --out data/satb
    python -m voicetools.transcribe.data --stems data/satb --out data/transcribe --splits train valid
    python -m voicetools.transcribe.train --data data/transcribe --run runs/voice2midi --max-minutes 40
    python -m voicetools.transcribe.train --data data/transcribe --run runs/voice2midi   # resumes
    python -m voicetools.transcribe.train --run runs/voice2midi --export checkpoints/voice2midi

Training crops are random 4-second windows of any part (both renderers), shifted in gain by a
random dB offset. Validation decodes fixed 20-second excerpts of the validation chorales' sung
parts and scores note onsets with mir_eval, so "best" is the note F1 the product is judged by.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoints import publish_checkpoint
from ..nn.voice2midi import Voice2Midi
from ..train.recipe import recipe_parser, start
from ..train.trainer import TrainConfig, Trainer, read_log
from .decoding import decode, note_targets

MODEL_ARGS = dict(
    sample_rate=8000,
    n_fft=1024,
    hop_length=128,
    n_mels=128,
    f_min=40.0,
    f_max=4000.0,
    min_pitch=36,
    max_pitch=84,
    channels=[16, 16, 32],
    hidden=192,
    rnn_hidden=96,
    dropout=0.2,
)
N_PITCHES = MODEL_ARGS["max_pitch"] - MODEL_ARGS["min_pitch"] + 1
FRAME_RATE = MODEL_ARGS["sample_rate"] / MODEL_ARGS["hop_length"]
SINGING = range(4, 8)  # examples sung by the singing synthesizer inside each file (see data.py)
ONSET_WEIGHT, OFFSET_WEIGHT = 1.0, 0.5
POS_WEIGHT = torch.tensor(3.0)  # onsets and offsets are rare frames


def load_examples(files) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features (n_mels, frames) float16, notes (n, 3) pitch/onset_s/offset_s) for every part of every file."""
    out = []
    for f in sorted(files):
        d = np.load(f)
        feats, notes = d["features"], d["notes"]
        for k in range(feats.shape[0]):
            out.append((feats[k], notes[notes[:, 0] == k, 1:]))
    return out


class Crops(torch.utils.data.IterableDataset):
    """Endless batches of random crops: features (batch, n_mels, frames), pitch classes (batch, frames),
    onset and offset targets (batch, 2, frames)."""

    def __init__(self, examples, *, frames: int = 256, batch_size: int = 16, gain_db=(-20.0, 10.0), seed: int = 0):
        self.examples, self.frames, self.batch_size, self.gain_db, self.seed = (
            examples,
            frames,
            batch_size,
            gain_db,
            seed,
        )

    def __iter__(self):
        rng = np.random.default_rng(self.seed)
        while True:
            xs, ps, es = [], [], []
            for _ in range(self.batch_size):
                feats, notes = self.examples[rng.integers(len(self.examples))]
                start = int(rng.integers(0, max(1, feats.shape[1] - self.frames)))
                x = np.full((feats.shape[0], self.frames), -100.0, np.float32)
                crop = feats[:, start : start + self.frames].astype(np.float32)
                x[:, : crop.shape[1]] = crop
                xs.append(np.maximum(x + rng.uniform(*self.gain_db), -100.0))
                p, on, off = note_targets(
                    notes,
                    self.frames,
                    frame_rate=FRAME_RATE,
                    min_pitch=MODEL_ARGS["min_pitch"],
                    n_pitches=N_PITCHES,
                    start_frame=start,
                )
                ps.append(p)
                es.append(np.stack([on, off]))
            yield torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ps)), torch.from_numpy(np.stack(es))


def loss_fn(model, batch):
    x, pitch, events = batch
    logits = model(x)
    return (
        F.cross_entropy(logits["pitch"].transpose(1, 2), pitch)
        + ONSET_WEIGHT * F.binary_cross_entropy_with_logits(logits["onset"], events[:, 0], pos_weight=POS_WEIGHT)
        + OFFSET_WEIGHT * F.binary_cross_entropy_with_logits(logits["offset"], events[:, 1], pos_weight=POS_WEIGHT)
    )


def validation_set(examples, *, seconds: float = 20.0):
    """The middle ``seconds`` of every sung part: (features, notes) with note times relative to the excerpt."""
    n = int(seconds * FRAME_RATE)
    items = []
    for i, (feats, notes) in enumerate(examples):
        if i % 8 not in SINGING:
            continue
        start = max(0, feats.shape[1] // 2 - n // 2)
        t0 = start / FRAME_RATE
        inside = notes[(notes[:, 1] >= t0) & (notes[:, 1] < t0 + n / FRAME_RATE)].copy()
        inside[:, 1:] -= t0
        items.append((torch.from_numpy(feats[:, start : start + n].astype(np.float32)), inside))
    return items


def note_f1(ref_notes, est_notes, *, offset_ratio=None) -> float:
    """mir_eval note F1 (onset ±50 ms; with ``offset_ratio=0.2`` offsets count too)."""
    import mir_eval

    ref = np.asarray(ref_notes, float).reshape(-1, 3)
    est = np.asarray(est_notes, float).reshape(-1, 3)
    if len(ref) == 0 or len(est) == 0:
        return float(len(ref) == len(est))
    hz = lambda p: 440.0 * 2 ** ((p - 69) / 12)  # noqa: E731
    _, _, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref[:, 1:], hz(ref[:, 0]), est[:, 1:], hz(est[:, 0]), onset_tolerance=0.05, offset_ratio=offset_ratio
    )
    return float(f)


def probabilities(logits: dict) -> dict[str, np.ndarray]:
    """Logits of one clip (batch of 1) → numpy probabilities: softmax for pitch, sigmoid for events."""
    return {
        "pitch": torch.softmax(logits["pitch"][0], -1).numpy(),
        "onset": torch.sigmoid(logits["onset"][0]).numpy(),
        "offset": torch.sigmoid(logits["offset"][0]).numpy(),
    }


def make_validate(items):
    def validate(model):
        losses, f1s, f1o = [], [], []
        for feats, notes in items:
            logits = model(feats[None])
            p, on, off = note_targets(
                notes, feats.shape[1], frame_rate=FRAME_RATE, min_pitch=MODEL_ARGS["min_pitch"], n_pitches=N_PITCHES
            )
            batch = (feats[None], torch.from_numpy(p)[None], torch.from_numpy(np.stack([on, off]))[None])
            losses.append(float(loss_fn(lambda _, logits=logits: logits, batch)))
            probs = probabilities(logits)
            est = decode(
                probs["pitch"],
                probs["onset"],
                probs["offset"],
                frame_rate=FRAME_RATE,
                min_pitch=MODEL_ARGS["min_pitch"],
            )
            est = [(n.pitch, n.start_s, n.end_s) for n in est]
            f1s.append(note_f1(notes, est))
            f1o.append(note_f1(notes, est, offset_ratio=0.2))
        return {"loss": float(np.mean(losses)), "note_f1": float(np.mean(f1s)), "note_f1_offset": float(np.mean(f1o))}

    return validate


def export(run_dir: Path, out_dir: Path, *, which: str = "best.pt") -> None:
    """Write the run's best weights as a checkpoint folder; inside ``checkpoints/`` also register it."""
    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    model = Voice2Midi.from_model_args(MODEL_ARGS)
    model.load_state_dict(state["model"])
    training = {
        "epochs": state["epoch"],
        "steps_run": read_log(run_dir)[-1]["step"],
        "valid_note_f1": state["score"],
        "data": "music21 Bach chorale parts (train split), singing synth + FluidSynth",
    }
    publish_checkpoint(model, out_dir, task="transcription", architecture="Voice2Midi", training=training)


def main(argv=None):
    ap = recipe_parser(
        "Train Voice2Midi on sung chorale parts (resumable).",
        data="data/transcribe",
        run="runs/voice2midi",
        epochs=20,
        steps_per_epoch=100,
        batch_size=16,
        lr=2e-3,
        threads=1,
    )
    ap.add_argument("--frames", type=int, default=256, help="crop length in frames (16 ms each)")
    args = ap.parse_args(argv)
    if not start(args, export):
        return
    train = load_examples((args.data / "train").glob("*.npz"))
    valid = validation_set(load_examples((args.data / "valid").glob("*.npz")))
    logging.info("%d training parts, %d validation excerpts", len(train), len(valid))
    config = TrainConfig(
        lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        warmup_steps=100,
        max_minutes=args.max_minutes,
        extra={"model_args": MODEL_ARGS, "batch_size": args.batch_size, "frames": args.frames},
    )
    trainer = Trainer(
        Voice2Midi.from_model_args(MODEL_ARGS),
        loss_fn,
        args.run,
        config,
        validate=make_validate(valid),
        monitor="note_f1",
        mode="max",
    )
    print(trainer.fit(Crops(train, frames=args.frames, batch_size=args.batch_size)))


if __name__ == "__main__":
    main()
