"""Train the tone model (``nn.tones.ToneNet``) on real read Mandarin, plus espeak-ng speech.

    python -m voicetools.pronounce.train --aligner mandarin-aligner --run data/runs/tone-net
    python -m voicetools.pronounce.train --run data/runs/tone-net --export checkpoints/tone-net

Labels: each syllable's SURFACE tone — pypinyin's reading in context with the sandhi rules of
``pinyin`` (你好 ni2 hao3) — what a native speaker says and what the trainer expects of a learner.
Spans: the aligner's forced alignment of each recording (as at inference, never hand-made).

Data (``prepare``, cached in ``--data``): the TRAINING speaker's utterances of the corpus, each also
as ``COPIES`` perturbed copies (``data.perturb``: speed, formants and pitch, rooms, noise, phone
band; re-aligned and re-tracked, so F0 and boundary errors are the copy's own), and ``ESPEAK``
utterances of random syllables said by espeak-ng's training voices (exact spans).
The VALIDATION speaker (held out from the aligner too) picks the epoch; ``benchmarks/pronounce.py``
reports on it end to end. Augmentation while training: the utterance's pitch excursions scaled
×0.7-1.4, its register shifted ±1.5 semitones (the median F0 of a short reading wobbles), a
declination of ±2 semitones over the utterance and a slow wobble (0.5 semitone), span edges moved by
up to 20 ms (alignment is never exact).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from ..train.recipe import recipe_parser, start
from ..train.trainer import TrainConfig, Trainer, read_log
from .data import TRAIN_SPEAKER, VALID_SPEAKER
from .tones import LABELS, N_FEATURES, N_SPECTRAL, frame_features, frame_spans, spectral_track, utterance_tracks
from .tts import SAMPLE_RATE

COPIES = 3
ESPEAK = 400
MODEL_ARGS = dict(
    n_features=N_FEATURES, channels=64, hidden=64, n_classes=len(LABELS), dropout=0.2, sample_rate=SAMPLE_RATE
)


def utterance_item(x: np.ndarray, spans_s, syllables, source: str) -> dict:
    """Pitch and energy tracks, syllable spans and surface-tone labels of one recording."""
    st, energy, _ = utterance_tracks(x, SAMPLE_RATE)
    return {
        "st": st.astype(np.float32),
        "energy": energy.astype(np.float32),
        "spectrum": spectral_track(x, SAMPLE_RATE, len(st)).astype(np.float16),
        "spans": frame_spans(spans_s, len(st)),
        "y": np.array([s.tone - 1 for s in syllables]),
        "source": source,
    }


def aligned_item(aligner, x: np.ndarray, syllables, source: str) -> dict:
    from .acoustic import align_text

    return utterance_item(
        x, align_text(aligner, x, SAMPLE_RATE, [s.pinyin for s in syllables]).spans_s, syllables, source
    )


def prepare(corpus: Path, aligner_name: str, out: Path, *, seed: int = 0, copies: int = COPIES) -> None:
    import parselmouth

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
        sets[name].append(aligned_item(aligner, x, syl, r.name))
        if name == "train":
            for k in range(copies):
                sets["train"].append(aligned_item(aligner, perturb(x, rng)[0], syl, f"{r.name}-copy{k}"))
        if n % 50 == 0:
            logging.info("%d/%d readings", n + 1, len(readings))
    for k in range(ESPEAK):
        syl = random_syllables(rng, int(rng.integers(3, 12)))
        try:
            u = synthesize(syl, train_voice(rng), rng)
        except parselmouth.PraatError:  # Praat refuses a few extreme voice changes: skip that one
            continue
        sets["train"].append(utterance_item(u.samples, u.spans_s, syl, f"espeak-{k}"))
        if k % 50 == 0:
            logging.info("espeak-ng %d/%d", k + 1, ESPEAK)
    out.mkdir(parents=True, exist_ok=True)
    for name, items in sets.items():
        torch.save(items, out / f"{name}.pt")


def _tone_shape(tone: int, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random textbook contour of tone 1-4 over ``t`` in 0..1, semitones re. the speaker's median."""
    if tone == 1:
        return rng.uniform(1.5, 4.0) + rng.uniform(-0.5, 0.5) * t
    if tone == 2:
        return rng.uniform(-3.0, 0.0) + rng.uniform(2.5, 6.0) * t ** rng.uniform(1.0, 2.0)
    if tone == 3:
        return rng.uniform(-2.0, 0.0) - rng.uniform(2.5, 5.0) * np.sin(np.pi * t * rng.uniform(0.6, 1.0))
    return rng.uniform(2.5, 6.0) - rng.uniform(5.0, 10.0) * t


def _said_in_another_tone(st: np.ndarray, spans: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """A learner's slip: one toned syllable's voiced F0 replaced by another tone's contour, and its
    label with it. Its spectrum stays the speaker's, so the model learns that the pitch decides."""
    cand = [k for k, (a, b) in enumerate(spans) if y[k] < 4 and b - a >= 8 and np.isfinite(st[a:b]).sum() >= 5]
    if not cand:
        return st, y
    k = int(rng.choice(cand))
    a, b = spans[k]
    new = int(rng.choice([t for t in range(4) if t != y[k]]))
    st, y = st.copy(), y.copy()
    voiced = np.isfinite(st[a:b])
    contour = _tone_shape(new + 1, np.linspace(0, 1, b - a), rng) + rng.normal(0, 0.2, b - a)
    st[a:b][voiced] = contour[voiced]
    y[k] = new
    return st, y


def pad(items: list[dict], rng: np.random.Generator | None = None, *, spectral: bool = False, swap_p: float = 0.0):
    """A batch: (features (B, N_FEATURES [+ N_SPECTRAL], T), spans (B, S, 2), labels (B, S) with -100
    padding). With ``rng``, the augmentation of the module docstring, span edges moved by up to 20 ms
    and, for the spectrum, a random tilt and one masked band range (another microphone, another voice)."""
    T = max(len(it["st"]) for it in items)
    S = max(len(it["y"]) for it in items)
    x = torch.zeros(len(items), N_FEATURES + (N_SPECTRAL if spectral else 0), T)
    spans = torch.zeros(len(items), S, 2, dtype=torch.long)
    y = torch.full((len(items), S), -100, dtype=torch.long)
    for i, it in enumerate(items):
        st, sp = it["st"], it["spans"].copy()
        if rng is not None and rng.random() < swap_p:
            st, y_i = _said_in_another_tone(st, sp, it["y"], rng)
        else:
            y_i = it["y"]
        if rng is not None:  # another speaker's range, register, declination and wobble
            n = len(st)
            wobble = np.interp(np.arange(n), np.linspace(0, n, 8), rng.normal(0, 0.5, 8))
            declination = rng.uniform(-2, 2) * np.linspace(-1, 1, n)
            st = st * rng.uniform(0.7, 1.4) + rng.uniform(-1.5, 1.5) + declination + wobble
            sp = sp + rng.integers(-2, 3, sp.shape)
            sp[:, 0] = sp[:, 0].clip(0, len(st) - 1)
            sp[:, 1] = np.maximum(sp[:, 1].clip(0, len(st)), sp[:, 0] + 1)
        spectrum = None
        if spectral:
            spectrum = it["spectrum"].astype(np.float32)
            if rng is not None:
                spectrum = spectrum + rng.uniform(-0.3, 0.3) * np.linspace(-1, 1, N_SPECTRAL)[:, None]
                lo = rng.integers(N_SPECTRAL)
                spectrum[lo : lo + rng.integers(0, 5)] = 0.0
        x[i, :, : len(st)] = torch.from_numpy(frame_features(st, it["energy"], spectrum))
        spans[i, : len(sp)] = torch.from_numpy(sp)
        y[i, : len(y_i)] = torch.from_numpy(y_i)
    return x, spans, y


class Batches:
    """Endless batches of whole utterances, augmented (``pad`` with a generator)."""

    def __init__(self, items: list[dict], batch_size: int, seed: int, *, spectral: bool = False, swap_p: float = 0.0):
        self.items, self.batch_size, self.spectral, self.swap_p = items, batch_size, spectral, swap_p
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        while True:
            idx = self.rng.integers(len(self.items), size=self.batch_size)
            yield pad([self.items[i] for i in idx], self.rng, spectral=self.spectral, swap_p=self.swap_p)


def loss_fn(model, batch):
    x, spans, y = batch
    logits = model(x, spans)
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100, label_smoothing=0.05
    )


def make_validate(items: list[dict], *, spectral: bool = False):
    x, spans, y = pad(items, spectral=spectral)

    def validate(model):
        logits = model(x, spans)
        on = y >= 0
        return {
            "loss": float(torch.nn.functional.cross_entropy(logits[on], y[on])),
            "accuracy": float((logits[on].argmax(-1) == y[on]).float().mean()),
        }

    return validate


def export(run_dir: Path, out_dir: Path, *, which: str = "best.pt") -> None:
    from ..checkpoints import publish_checkpoint
    from ..nn.tones import ToneNet

    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    extra = json.loads((Path(run_dir) / "config.json").read_text())["extra"]
    model_args, copies = extra["model_args"], extra.get("copies", COPIES)
    model = ToneNet.from_model_args(model_args)
    model.load_state_dict(state["model"])
    training = {
        "epochs": state["epoch"],
        "steps_run": read_log(run_dir)[-1]["step"],
        "valid_accuracy": state["score"],
        "data": f"AISHELL sample set speaker {TRAIN_SPEAKER} (real, with {copies} perturbed copies) and "
        f"{ESPEAK} espeak-ng utterances; validated on speaker {VALID_SPEAKER}",
    }
    publish_checkpoint(model, out_dir, task="tone", architecture="ToneNet", labels=LABELS, training=training)


def main(argv=None):
    from ..nn.tones import ToneNet

    ap = recipe_parser(
        "Train the Mandarin tone model on real read speech (resumable).",
        data="data/tones-real",
        run="data/runs/tone-net",
        epochs=30,
        steps_per_epoch=100,
        batch_size=32,
        lr=2e-3,
        threads=1,
    )
    ap.add_argument("--corpus", type=Path, default=Path("../shared/data/mandarin-aishell-sample"))
    ap.add_argument("--aligner", default="mandarin-aligner")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--copies", type=int, default=COPIES, help="perturbed copies of each training reading")
    ap.add_argument(
        "--swap-p",
        type=float,
        default=0.0,
        help="share of training readings with one syllable's F0 put in another tone (a learner's slip)",
    )
    ap.add_argument("--spectral", action="store_true", help="also read the coarse log-mel spectrum (tones.N_SPECTRAL)")
    args = ap.parse_args(argv)
    if not start(args, export):
        return
    if not (args.data / "train.pt").exists():
        prepare(args.corpus, args.aligner, args.data, seed=args.seed, copies=args.copies)
    train = torch.load(args.data / "train.pt", weights_only=False)
    valid = torch.load(args.data / "valid.pt", weights_only=False)
    logging.info("%d training utterances, %d validation", len(train), len(valid))
    model_args = {**MODEL_ARGS, "n_features": N_FEATURES + (N_SPECTRAL if args.spectral else 0)}
    config = TrainConfig(
        lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        warmup_steps=100,
        max_minutes=args.max_minutes,
        seed=args.seed,
        extra={"model_args": model_args, "batch_size": args.batch_size, "copies": args.copies, "swap_p": args.swap_p},
    )
    torch.manual_seed(args.seed)
    trainer = Trainer(
        ToneNet.from_model_args(model_args),
        loss_fn,
        args.run,
        config,
        validate=make_validate(valid, spectral=args.spectral),
        monitor="accuracy",
        mode="max",
    )
    print(trainer.fit(Batches(train, args.batch_size, args.seed, spectral=args.spectral, swap_p=args.swap_p)))


if __name__ == "__main__":
    main()
