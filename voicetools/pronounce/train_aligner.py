"""Train the Mandarin aligner (``PhoneNet`` over initials and finals) on real read speech.

    python -m voicetools.pronounce.train_aligner --corpus ../shared/data/mandarin-aishell-sample \
        --stage ctc --run data/runs/aligner-ctc
    python -m voicetools.pronounce.train_aligner --corpus ... --stage frames --labels-from data/runs/aligner-ctc \
        --run data/runs/aligner-frames
    python -m voicetools.pronounce.train_aligner --run data/runs/aligner-frames --export checkpoints/mandarin-aligner

Align, train, re-align: round one learns the units with CTC from the text alone (no boundaries are
known); its forced alignments of the clean training recordings (spikes split at their midpoints,
``spike_labels``) become frame labels; round two trains on those frames, starting from round one's
weights, and may be repeated with ``--labels-from`` the round-two run, whose alignments find the
pauses themselves. Frame models give boundaries where the sound changes, not CTC's spikes.

Data (``prepare``, cached in ``--data``): the TRAINING speaker's real utterances, each also as
``COPIES`` perturbed versions (speed 0.85-1.15 — tempo and pitch together, as Kaldi's speed
perturbation —, Praat formant and pitch changes that turn one speaker into men, women and
children, synthetic rooms, noise at 5-30 dB, telephone band), plus espeak-ng readings of the same
sentences by random voices (one source among others). The VALIDATION speaker is never trained on;
the unit error rate of free decoding on its utterances picks the best epoch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio.augment import spec_augment
from ..audio.io import load_mono
from ..checkpoints import publish_checkpoint
from ..data.mandarin import read_corpus
from ..errors import ParameterError
from ..nn.phones import PhoneNet
from ..train.recipe import recipe_parser, start
from ..train.trainer import TrainConfig, Trainer, read_log
from .acoustic import features, force_align, log_probs
from .data import TRAIN_SPEAKER, TRAIN_VOICES, VALID_SPEAKER, perturb
from .pinyin import text_to_syllables
from .tts import SAMPLE_RATE, EspeakNG, synthesize_reference
from .units import text_units, unit_inventory

COPIES = 3
ESPEAK_PER_SENTENCE = 1
MODEL_ARGS = dict(
    n_mels=64, channels=128, hidden=128, layers=2, dropout=0.15, sample_rate=SAMPLE_RATE, hop_length=160, n_fft=400
)


@dataclass
class Item:
    feats: torch.Tensor  # (n_mels, frames) float16
    units: list[int]
    owner: list[int]
    key: str  # the clean recording this copy was made from (frame labels are found there)
    speed: float  # the copy's time axis is the original's divided by this


def prepare(corpus: Path, out: Path, *, seed: int = 0) -> None:
    """``out/{train,valid}.pt``: features, unit sequences and provenance of every item."""
    inv = unit_inventory()
    rng = np.random.default_rng(seed)
    readings = read_corpus(corpus)
    sets = {"train": [], "valid": []}
    clean = {}
    for n, r in enumerate(readings):
        if r.speaker not in (TRAIN_SPEAKER, VALID_SPEAKER):
            continue
        try:
            syl = text_to_syllables(r.text)
        except ParameterError as exc:  # a transcript pypinyin cannot read: skipped, said in the log
            logging.info("skipping %s: %s", r.name, exc)
            continue
        units, owner = text_units([s.pinyin for s in syl], inv)
        x, _ = load_mono(r.path, SAMPLE_RATE)
        if r.speaker == VALID_SPEAKER:
            sets["valid"].append(Item(features(x, SAMPLE_RATE).half(), units, owner, r.name, 1.0))
            continue
        clean[r.name] = x
        sets["train"].append(Item(features(x, SAMPLE_RATE).half(), units, owner, r.name, 1.0))
        for _ in range(COPIES):
            y, speed = perturb(x, rng)
            sets["train"].append(Item(features(y, SAMPLE_RATE).half(), units, owner, r.name, speed))
        for _ in range(ESPEAK_PER_SENTENCE):
            voice = TRAIN_VOICES[rng.integers(len(TRAIN_VOICES))]
            backend = EspeakNG(variant=voice, pitch=int(rng.integers(20, 80)), speed=int(rng.integers(140, 220)))
            gaps = [
                float(rng.uniform(0.0, 0.08)) if syl[i + 1].phrase == syl[i].phrase else 0.25
                for i in range(len(syl) - 1)
            ]
            ref = synthesize_reference(syl, backend, gaps_s=gaps, edge_s=float(rng.uniform(0.05, 0.3)))
            key = f"espeak-{r.name}"
            clean[key] = ref.samples
            sets["train"].append(Item(features(ref.samples, SAMPLE_RATE).half(), units, owner, key, 1.0))
            y, speed = perturb(ref.samples, rng)
            sets["train"].append(Item(features(y, SAMPLE_RATE).half(), units, owner, key, speed))
        logging.info("%d/%d readings", n + 1, len(readings))
    out.mkdir(parents=True, exist_ok=True)
    for name, items in sets.items():
        torch.save([it.__dict__ for it in items], out / f"{name}.pt")
    np.savez_compressed(out / "clean.npz", **clean)


def load_items(data: Path, name: str) -> list[Item]:
    return [Item(**d) for d in torch.load(data / f"{name}.pt", weights_only=False)]


def spike_labels(
    spikes: list[int], units: list[int], owner: list[int], n_frames: int, *, edge: int = 10, pause: int = 40
) -> np.ndarray:
    """Frame labels from CTC spikes (one frame per unit): each unit owns the frames from the midpoint
    with the previous spike to the midpoint with the next; silence before the first spike and after
    the last beyond ``edge`` frames, and in the middle of any gap over ``pause`` frames between two
    syllables. Rough on purpose: the frame model's own alignments refine them (align, train, re-align)."""
    lab = np.zeros(n_frames, np.int64)
    bounds = [max(0, spikes[0] - edge)]
    bounds += [(a + b + 1) // 2 for a, b in zip(spikes, spikes[1:])]
    bounds.append(min(n_frames, spikes[-1] + 1 + edge))
    for i, u in enumerate(units):
        lab[bounds[i] : bounds[i + 1]] = u
    for i in range(len(units) - 1):
        if owner[i] != owner[i + 1] and spikes[i + 1] - spikes[i] > pause:
            lab[spikes[i] + edge : spikes[i + 1] - edge] = 0
    return lab


def frame_labels(model, items: list[Item], clean: dict, *, ctc: bool) -> dict[str, np.ndarray]:
    """Unit label per 10 ms frame of every clean recording, from forced alignment with ``model``."""
    out = {}
    for it in items:
        if it.key in out or it.speed != 1.0:
            continue
        lp = log_probs(model, clean[it.key], SAMPLE_RATE)
        al = force_align(lp, it.units, it.owner, ctc=ctc)
        if ctc:
            out[it.key] = spike_labels([a for a, _ in al.unit_spans], it.units, it.owner, len(lp))
        else:
            out[it.key] = al.frame_labels.astype(np.int64)
    return out


def stretch(labels: np.ndarray, n_frames: int, speed: float) -> np.ndarray:
    """Labels of the original timeline on a copy whose time axis is divided by ``speed``."""
    idx = np.minimum((np.arange(n_frames) * speed).astype(int), len(labels) - 1)
    return labels[idx]


class Batches:
    """Endless random batches of similar length, SpecAugment on, padded; with frame labels if given."""

    def __init__(self, items: list[Item], batch_size: int, seed: int, labels: dict | None = None):
        self.items, self.batch_size, self.labels = items, batch_size, labels
        self.order = np.argsort([it.feats.shape[1] for it in items])
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)

    def __iter__(self):
        while True:
            k = int(self.rng.integers(0, max(1, len(self.order) - self.batch_size)))
            batch = [self.items[i] for i in self.order[k : k + self.batch_size]]
            lengths = torch.tensor([it.feats.shape[1] for it in batch])
            x = torch.zeros(len(batch), batch[0].feats.shape[0], int(lengths.max()))
            for i, it in enumerate(batch):
                x[i, :, : lengths[i]] = it.feats.float()
            x = spec_augment(x, self.gen, freq_masks=2, freq_width=8, time_masks=2, time_width=10)
            if self.labels is None:
                targets = [torch.tensor(it.units) for it in batch]
                yield x, lengths, targets
            else:
                y = torch.full((len(batch), int(lengths.max())), -100, dtype=torch.long)
                for i, it in enumerate(batch):
                    y[i, : lengths[i]] = torch.from_numpy(stretch(self.labels[it.key], int(lengths[i]), it.speed))
                yield x, lengths, y


def ctc_loss(model, batch):
    x, lengths, targets = batch
    logp = torch.log_softmax(model(x), -1).transpose(0, 1)
    return torch.nn.functional.ctc_loss(
        logp, torch.cat(targets), lengths, torch.tensor([len(t) for t in targets]), blank=0, zero_infinity=True
    )


def frame_loss(model, batch):
    x, _, y = batch
    return torch.nn.functional.cross_entropy(
        model(x).reshape(-1, model.model_args["n_units"]), y.reshape(-1), ignore_index=-100, label_smoothing=0.05
    )


def unit_error_rate(model, items: list[Item]) -> float:
    """Edit distance of the free decoding (best unit per frame, repeats merged, silence dropped) to
    the text's units, over all units."""
    errors = total = 0
    with torch.inference_mode():
        for it in items:
            best = model(it.feats.float()[None])[0].argmax(-1).numpy()
            hyp = [int(u) for i, u in enumerate(best) if u != 0 and (i == 0 or u != best[i - 1])]
            errors += _edit_distance(hyp, it.units)
            total += len(it.units)
    return errors / max(1, total)


def _edit_distance(a: list[int], b: list[int]) -> int:
    d = np.arange(len(b) + 1)
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return int(d[-1])


def export(run_dir: Path, out_dir: Path, *, which: str = "best.pt") -> None:
    state = torch.load(Path(run_dir) / which, map_location="cpu", weights_only=True)
    args = torch.load(Path(run_dir) / "last.pt", map_location="cpu", weights_only=False)["config"]["extra"]
    model = PhoneNet.from_model_args(args["model_args"])
    model.load_state_dict(state["model"])
    training = {
        "epochs": state["epoch"],
        "steps_run": read_log(run_dir)[-1]["step"],
        "valid_unit_error_rate": state["score"],
        "stage": args["stage"],
        "data": f"AISHELL sample set speaker {TRAIN_SPEAKER} (real, {COPIES} perturbed copies each) and "
        f"espeak-ng readings of its sentences; validated on speaker {VALID_SPEAKER}",
    }
    publish_checkpoint(
        model, out_dir, task="mandarin-aligner", architecture="PhoneNet", labels=unit_inventory(), training=training
    )


def main(argv=None):
    ap = recipe_parser(
        "Train the Mandarin aligner on real read speech (resumable).",
        data="data/aligner",
        run="data/runs/aligner-ctc",
        epochs=30,
        steps_per_epoch=100,
        batch_size=16,
        lr=2e-3,
        threads=2,
    )
    ap.add_argument("--corpus", type=Path, default=Path("../shared/data/mandarin-aishell-sample"))
    ap.add_argument("--stage", choices=["ctc", "frames"], default="ctc")
    ap.add_argument("--labels-from", type=Path, default=None, help="a finished run whose alignments label the frames")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not start(args, export):
        return
    if not (args.data / "train.pt").exists():
        prepare(args.corpus, args.data, seed=args.seed)
    train, valid = load_items(args.data, "train"), load_items(args.data, "valid")
    model_args = {**MODEL_ARGS, "n_units": len(unit_inventory())}
    labels, init = None, None
    if args.stage == "frames":
        src = args.labels_from
        cache = args.run / "frame_labels.npz"
        if cache.exists():
            labels = dict(np.load(cache))
        else:
            z = torch.load(src / "best.pt", map_location="cpu", weights_only=True)
            prev_stage = torch.load(src / "last.pt", map_location="cpu", weights_only=False)["config"]["extra"]["stage"]
            prev = PhoneNet.from_model_args(model_args)
            prev.load_state_dict(z["model"])
            clean = dict(np.load(args.data / "clean.npz"))
            logging.info("labelling frames with %s (%s)", src, prev_stage)
            labels = frame_labels(prev, train, clean, ctc=prev_stage == "ctc")
            args.run.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, **labels)
        init = torch.load(src / "best.pt", map_location="cpu", weights_only=True)["model"]
    logging.info("%d training items, %d validation utterances", len(train), len(valid))
    config = TrainConfig(
        lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        warmup_steps=200,
        max_minutes=args.max_minutes,
        seed=args.seed,
        extra={"model_args": model_args, "batch_size": args.batch_size, "stage": args.stage},
    )
    torch.manual_seed(args.seed)
    model = PhoneNet.from_model_args(model_args)
    if init is not None:  # the previous round's weights: its units are right, only their timing moves
        model.load_state_dict(init)
    trainer = Trainer(
        model,
        ctc_loss if args.stage == "ctc" else frame_loss,
        args.run,
        config,
        validate=lambda m: {"unit_error_rate": unit_error_rate(m, valid)},
        monitor="unit_error_rate",
        mode="min",
    )
    print(trainer.fit(Batches(train, args.batch_size, args.seed, labels)))


if __name__ == "__main__":
    main()
