"""Train the tone model (``nn.tones.ToneGRU``) on real read Mandarin, plus espeak-ng speech.

    python -m voicetools.pronounce.train --aligner mandarin-aligner --run data/runs/tone-gru
    python -m voicetools.pronounce.train --run data/runs/tone-gru --export checkpoints/tone-gru

Labels: each syllable's SURFACE tone — pypinyin's reading in context with the sandhi rules of
``pinyin`` (你好 ni2 hao3) — what a native speaker says and what the trainer expects of a learner.
Spans: the aligner's forced alignment of each recording (as at inference, never hand-made).

Data (``prepare``, cached in ``--data``): the TRAINING speaker's utterances of the corpus, each also
as ``COPIES`` perturbed copies (``data.perturb``: speed, formants and pitch, rooms, noise, phone
band; re-aligned and re-tracked, so F0 and boundary errors are the copy's own), and ``ESPEAK``
utterances of random syllables said by espeak-ng's training voices (exact spans, jittered ±20 ms).
The VALIDATION speaker (held out from the aligner too) picks the epoch; ``benchmarks/pronounce.py``
reports on it end to end. Feature augmentation while training: the utterance's pitch excursions
scaled ×0.7-1.4 and its register shifted ±1.5 semitones (the median F0 of a short reading wobbles).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from ..train.recipe import recipe_parser, start
from ..train.trainer import TrainConfig, Trainer, read_log
from .pitch import N_POINTS
from .tones import LABELS, N_FEATURES, syllable_features, utterance_tracks

TRAIN_SPEAKER, VALID_SPEAKER = "S0150", "S0252"
COPIES = 3
ESPEAK = 400
SAMPLE_RATE = 16000
MODEL_ARGS = dict(n_features=N_FEATURES, hidden=64, n_classes=len(LABELS), dropout=0.2, sample_rate=SAMPLE_RATE)


def utterance_item(aligner, x: np.ndarray, syllables, source: str) -> dict:
    """Features and surface-tone labels of one recording, spans from the aligner."""
    from .acoustic import align_text

    al = align_text(aligner, x, SAMPLE_RATE, [s.pinyin for s in syllables])
    st, energy, _ = utterance_tracks(x, SAMPLE_RATE)
    return {"x": syllable_features(st, energy, al.spans_s), "y": np.array([s.tone - 1 for s in syllables]),
            "source": source}


def prepare(corpus: Path, aligner_name: str, out: Path, *, seed: int = 0) -> None:
    from ..audio.io import load_mono
    from ..checkpoints import resolve_model
    from ..data.mandarin import read_corpus
    from .data import perturb, random_syllables, synthesize, train_voice
    from .pinyin import text_to_syllables

    aligner = resolve_model(aligner_name, "mandarin-aligner")
    rng = np.random.default_rng(seed)
    sets = {"train": [], "valid": []}
    readings = [r for r in read_corpus(corpus) if r.speaker in (TRAIN_SPEAKER, VALID_SPEAKER)]
    for n, r in enumerate(readings):
        syl = text_to_syllables(r.text)
        x, _ = load_mono(r.path, SAMPLE_RATE)
        name = "valid" if r.speaker == VALID_SPEAKER else "train"
        sets[name].append(utterance_item(aligner, x, syl, r.name))
        if name == "train":
            for k in range(COPIES):
                sets["train"].append(utterance_item(aligner, perturb(x, rng)[0], syl, f"{r.name}-copy{k}"))
        if n % 50 == 0:
            logging.info("%d/%d readings", n + 1, len(readings))
    for k in range(ESPEAK):
        syl = random_syllables(rng, int(rng.integers(3, 12)))
        u = synthesize(syl, train_voice(rng), rng)
        spans = [(a + rng.uniform(-0.02, 0.02), b + rng.uniform(-0.02, 0.02)) for a, b in u.spans_s]
        st, energy, _ = utterance_tracks(u.samples, SAMPLE_RATE)
        sets["train"].append({"x": syllable_features(st, energy, spans), "y": np.array([s.tone - 1 for s in syl]),
                              "source": f"espeak-{k}"})
        if k % 50 == 0:
            logging.info("espeak-ng %d/%d", k + 1, ESPEAK)
    out.mkdir(parents=True, exist_ok=True)
    for name, items in sets.items():
        torch.save(items, out / f"{name}.pt")


def pad(items: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(it["y"]) for it in items])
    x = torch.zeros(len(items), int(lengths.max()), N_FEATURES)
    y = torch.full((len(items), int(lengths.max())), -100, dtype=torch.long)
    for i, it in enumerate(items):
        x[i, : lengths[i]] = torch.as_tensor(it["x"])
        y[i, : lengths[i]] = torch.as_tensor(it["y"])
    return x, y, lengths


class Batches:
    """Endless batches of whole utterances with the pitch augmentation of the module docstring."""

    def __init__(self, items: list[dict], batch_size: int, seed: int):
        self.items, self.batch_size = items, batch_size
        self.gen = torch.Generator().manual_seed(seed)

    def __iter__(self):
        n = N_POINTS
        while True:
            idx = torch.randint(len(self.items), (self.batch_size,), generator=self.gen)
            x, y, lengths = pad([self.items[i] for i in idx])
            scale = 0.7 + 0.7 * torch.rand(len(idx), 1, 1, generator=self.gen)
            shift = (torch.rand(len(idx), 1, 1, generator=self.gen) - 0.5) * 0.5  # ±1.5 semitones (÷6)
            x[..., :n] = x[..., :n] * scale + shift
            x[..., n : 2 * n - 1] *= scale
            x[..., 2 * n - 1 : 2 * n] = x[..., 2 * n - 1 : 2 * n] * scale + shift
            yield x, y, lengths


def loss_fn(model, batch):
    x, y, lengths = batch
    logits = model(x, lengths)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100,
                                             label_smoothing=0.05)


def make_validate(items: list[dict]):
    x, y, lengths = pad(items)

    def validate(model):
        logits = model(x, lengths)
        on = y >= 0
        return {"loss": float(torch.nn.functional.cross_entropy(logits[on], y[on])),
                "accuracy": float((logits[on].argmax(-1) == y[on]).float().mean())}

    return validate


def export(run_dir: Path, out_dir: Path, *, which: str = "best.pt") -> None:
    from ..checkpoints import publish_checkpoint
    from ..nn.tones import ToneGRU

    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    model = ToneGRU.from_model_args(MODEL_ARGS)
    model.load_state_dict(state["model"])
    training = {"epochs": state["epoch"], "steps_run": read_log(run_dir)[-1]["step"],
                "valid_accuracy": state["score"],
                "data": f"AISHELL sample set speaker {TRAIN_SPEAKER} (real, with {COPIES} perturbed copies) and "
                        f"{ESPEAK} espeak-ng utterances; validated on speaker {VALID_SPEAKER}"}
    publish_checkpoint(model, out_dir, task="tone", architecture="ToneGRU", labels=LABELS, training=training)


def main(argv=None):
    from ..nn.tones import ToneGRU

    ap = recipe_parser("Train the Mandarin tone model on real read speech (resumable).", data="data/tones-real",
                       run="data/runs/tone-gru", epochs=30, steps_per_epoch=100, batch_size=32, lr=2e-3, threads=1)
    ap.add_argument("--corpus", type=Path, default=Path("../shared/data/mandarin-aishell-sample"))
    ap.add_argument("--aligner", default="mandarin-aligner")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not start(args, export):
        return
    if not (args.data / "train.pt").exists():
        prepare(args.corpus, args.aligner, args.data, seed=args.seed)
    train = torch.load(args.data / "train.pt", weights_only=False)
    valid = torch.load(args.data / "valid.pt", weights_only=False)
    logging.info("%d training utterances, %d validation", len(train), len(valid))
    config = TrainConfig(lr=args.lr, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, warmup_steps=100,
                         max_minutes=args.max_minutes, seed=args.seed,
                         extra={"model_args": MODEL_ARGS, "batch_size": args.batch_size})
    torch.manual_seed(args.seed)
    trainer = Trainer(ToneGRU.from_model_args(MODEL_ARGS), loss_fn, args.run, config,
                      validate=make_validate(valid), monitor="accuracy", mode="max")
    print(trainer.fit(Batches(train, args.batch_size, args.seed)))


if __name__ == "__main__":
    main()
