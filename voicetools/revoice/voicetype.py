"""The "target reached" judge of the re-voicing benchmark: a small classifier of voice type and timbre.

Labels: ``soprano``, ``alto``, ``tenor``, ``bass`` — the singing synthesizer's four formant tables,
each sung at ANY pitch from MIDI 45 to 79 (so the class is the voice's character, not its range) —
and ``clarinet`` (GM 71) and ``choir-aahs`` (GM 52) from FluidSynth, also over that range. Clips
are 2 s at 8 kHz (band-limited like the separated stems), each dry and once in a random room,
log-mel from the shared front-end into the project's ``AudioClassifier`` (CNN), trained with the
shared ``Trainer``.

    python -m voicetools.revoice.voicetype --export checkpoints/revoice-voicetype-cnn
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..audio.augment import reverberate, room_impulse_response
from ..audio.frontend import log_mel_spectrogram
from ..audio.io import resample
from ..checkpoints import publish_checkpoint, resolve_model
from ..data.chorales import Note
from ..data.render import normalise
from ..data.singing import VOWELS, Singer, sing
from ..nn.classifiers import AudioClassifier
from ..train.recipe import start
from ..train.trainer import TrainConfig, Trainer
from .orchestrate import render_notes

log = logging.getLogger(__name__)
LABELS = ("soprano", "alto", "tenor", "bass", "clarinet", "choir-aahs")
GM = {"clarinet": 71, "choir-aahs": 52}
SAMPLE_RATE = 8000
CLIP_S = 2.0
FRONTEND = dict(n_fft=512, hop_length=128, n_mels=64)
TASK = "voicetype"


def _clip_notes(rng, pitch_range=(45, 79)):
    """2-4 notes filling a 2 s clip: (pitch, start_s, end_s)."""
    k = int(rng.integers(2, 5))
    cuts = np.sort(rng.uniform(0.1, CLIP_S - 0.1, k - 1))
    edges = np.concatenate([[0.05], cuts, [CLIP_S - 0.05]])
    base = int(rng.integers(pitch_range[0], pitch_range[1] - 4))
    return [(base + int(rng.integers(0, 5)), float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]


def make_clip(label: str, rng: np.random.Generator) -> np.ndarray:
    """One 2 s training clip of ``label`` at 8 kHz, loudness-normalised."""
    notes = _clip_notes(rng)
    if label in GM:
        x = render_notes([(p, a, b, int(rng.integers(60, 115))) for p, a, b in notes], GM[label], SAMPLE_RATE, CLIP_S)
    else:
        vowels = [VOWELS[rng.integers(5)] for _ in notes]
        x = sing(
            [Note(a, b - a, p, "") for p, a, b in notes],
            voice=label,
            sample_rate=SAMPLE_RATE,
            length_s=CLIP_S,
            seconds_per_quarter=1.0,
            rng=rng,
            singer=Singer.random(label, rng),
            vowels=vowels,
        )
    return normalise(x)


def dataset(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i, label in enumerate(LABELS):
        for _ in range(n_per_class):
            xs.append(make_clip(label, rng))
            ys.append(i)
        log.info("clips: %s", label)
    return np.stack(xs), np.array(ys)


def with_rooms(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each clip dry and once more in a random room (RT60 0.2-1.6 s, the separation data's rooms), so
    that reverberation — which every label gets alike — tells the judge nothing."""
    rng = np.random.default_rng([seed, 7])
    wet = []
    for clip in x:
        r = reverberate(clip, room_impulse_response(SAMPLE_RATE, rng, rt60_s=rng.uniform(0.2, 1.6)))[: len(clip)]
        wet.append(r * (np.sqrt(np.mean(clip**2)) / (np.sqrt(np.mean(r**2)) + 1e-9)))
    return np.concatenate([x, np.stack(wet).astype(np.float32)]), np.concatenate([y, y])


def logmel(x) -> torch.Tensor:
    return log_mel_spectrogram(torch.as_tensor(x, dtype=torch.float32), sample_rate=SAMPLE_RATE, **FRONTEND)


def train(run_dir: Path, *, n_per_class: int, epochs: int, seed: int = 0, data: Path | None = None):
    """Train the judge on ``n_per_class`` synthetic clips per label, each dry and in a room.

    Validation holds out a fifth of the clips (both copies of each). Every training batch draws the
    labels evenly, and half of its clips get another voice type mixed in 12-25 dB down — the bleed
    a separated part carries. (Training on the separated parts of training chorales sung with the
    tables in a random order was tried: 37 % on held-out separated clips, and worse on clean ones;
    and clips taken through a jittered ideal ratio mask against other voices: no better on separated
    parts. See the model card.)"""
    cache = Path(data) / f"voicetype-{n_per_class}-{seed}.npz" if data else None
    if cache is not None and cache.exists():
        z = np.load(cache)
        x, y = z["x"], z["y"]
    else:
        x, y = dataset(n_per_class, seed)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, x=x, y=y)
    n_clean = len(y)
    x, y = with_rooms(x, y, seed)
    rng = np.random.default_rng(seed)
    held = rng.permutation(n_clean)[: n_clean // 5]
    is_valid = np.isin(np.concatenate([np.arange(n_clean)] * 2), held)
    valid, tr = np.flatnonzero(is_valid), np.flatnonzero(~is_valid)
    voices = tr[y[tr] < 4]
    model = AudioClassifier(
        backbone="cnn",
        n_classes=len(LABELS),
        n_mels=FRONTEND["n_mels"],
        sample_rate=SAMPLE_RATE,
        n_fft=FRONTEND["n_fft"],
        hop_length=FRONTEND["hop_length"],
        clip_s=CLIP_S,
    )
    train_mels = logmel(x[tr])
    model.set_normalization(train_mels.mean((0, 2)), train_mels.std((0, 2)))
    del train_mels
    valid_mels, yt = logmel(x[valid]), torch.as_tensor(y)
    by_label = [tr[y[tr] == k] for k in range(len(LABELS))]

    def batches():
        g = np.random.default_rng(seed + 1)
        while True:
            idx = np.array([g.choice(by_label[k]) for k in g.integers(len(LABELS), size=32)])
            clips = x[idx].copy()
            for i in np.flatnonzero(g.uniform(size=32) < 0.5):
                other = g.choice(voices)
                if y[other] != y[idx[i]]:
                    clips[i] += x[other] * 10 ** (g.uniform(-25, -12) / 20)
            shift = int(g.integers(-12, 13))  # a small time shift
            yield torch.roll(logmel(clips), shift, -1), yt[idx]

    def loss_fn(net, batch):
        m, labels = batch
        return F.cross_entropy(net(m), labels)

    def validate(net):
        logits = net(valid_mels)
        return {
            "loss": float(F.cross_entropy(logits, yt[valid])),
            "accuracy": float((logits.argmax(1) == yt[valid]).float().mean()),
        }

    cfg = TrainConfig(
        lr=2e-3,
        epochs=epochs,
        steps_per_epoch=50,
        warmup_steps=50,
        seed=seed,
        plot=False,
        extra={"n_per_class": n_per_class, "labels": list(LABELS)},
    )
    trainer = Trainer(model, loss_fn, run_dir, cfg, validate=validate, monitor="accuracy", mode="max")
    result = trainer.fit(batches())
    best = torch.load(Path(run_dir) / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(best["model"])
    model.eval()
    with torch.no_grad():
        pred = model(valid_mels).argmax(1).numpy()
    confusion = np.zeros((len(LABELS), len(LABELS)), int)
    for t, p in zip(y[valid], pred):
        confusion[t, p] += 1
    return model, {
        "valid_accuracy": float((pred == y[valid]).mean()),
        "valid_clips": int(len(valid)),
        "train_clips": int(len(tr)),
        "epochs": result["epoch"],
        "confusion": confusion.tolist(),
    }


def classify(x: np.ndarray, sample_rate: int, model) -> dict[str, float]:
    """Class probabilities of mono ``x``, averaged over 2 s windows (hop 1 s) that are not silent."""
    net = resolve_model(model, TASK).model
    y = resample(torch.as_tensor(np.asarray(x, np.float32))[None], sample_rate, SAMPLE_RATE)[0].numpy()
    n = int(CLIP_S * SAMPLE_RATE)
    y = np.pad(y, (0, max(0, n - len(y))))
    wins = [y[s : s + n] for s in range(0, len(y) - n + 1, SAMPLE_RATE)]
    rms = np.array([np.sqrt(np.mean(w**2)) for w in wins])
    keep = [w for w, r in zip(wins, rms) if r > 0.1 * rms.max()] or wins
    scale = 0.05 / (np.sqrt(np.mean(np.concatenate(keep) ** 2)) + 1e-9)  # the training clips' level
    with torch.no_grad():
        p = torch.softmax(net(logmel(np.stack(keep) * scale)), -1).mean(0).numpy()
    return {label: float(v) for label, v in zip(LABELS, p)}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Train the voice-type / timbre classifier of the re-voicing benchmark.")
    ap.add_argument("--data", type=Path, default=Path("data/revoice"))
    ap.add_argument("--run", type=Path, default=Path("runs/revoice-voicetype"))
    ap.add_argument("--clips", type=int, default=400, help="clips per class (default 400)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--export", type=Path, default=None)
    args = ap.parse_args(argv)
    out, args.export = args.export, None
    start(args, lambda *a: None)
    model, summary = train(args.run, n_per_class=args.clips, epochs=args.epochs, data=args.data)
    print(json.dumps(summary, indent=1))
    if out:
        sha = publish_checkpoint(
            model, out, task=TASK, architecture="AudioClassifier", labels=list(LABELS), training=summary
        )
        print(f"exported {out} (sha256 {sha[:12]})")


if __name__ == "__main__":
    main()
