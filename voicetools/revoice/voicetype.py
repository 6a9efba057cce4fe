"""The "target reached" judge of the re-voicing benchmark: a small classifier of voice type and timbre.

Labels: ``soprano``, ``alto``, ``tenor``, ``bass`` — the singing synthesizer's four formant tables,
each sung at ANY pitch from MIDI 45 to 79 (so the class is the voice's character, not its range) —
and ``clarinet`` (GM 71) and ``choir-aahs`` (GM 52) from FluidSynth, also over that range. Clips
are 2 s at 8 kHz (band-limited like the separated stems), each dry and once in a random room, log-mel from the shared front-end into
the project's ``AudioClassifier`` (CNN), trained with the shared ``Trainer``.

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

from ..audio.frontend import log_mel_spectrogram

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
    from ..data.chorales import Note
    from ..data.render import _normalise
    from ..data.singing import VOWELS, Singer, sing
    from .orchestrate import render_notes

    notes = _clip_notes(rng)
    if label in GM:
        x = render_notes([(p, a, b, int(rng.integers(60, 115))) for p, a, b in notes], GM[label], SAMPLE_RATE, CLIP_S)
    else:
        vowels = [VOWELS[rng.integers(5)] for _ in notes]
        x = sing([Note(a, b - a, p, "") for p, a, b in notes], voice=label, sample_rate=SAMPLE_RATE, length_s=CLIP_S,
                 seconds_per_quarter=1.0, rng=rng, singer=Singer.random(label, rng), vowels=vowels)
    return _normalise(x)


def dataset(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i, label in enumerate(LABELS):
        for _ in range(n_per_class):
            xs.append(make_clip(label, rng))
            ys.append(i)
        log.info("clips: %s", label)
    return np.stack(xs), np.array(ys)


def separated_clips(n_chorales: int, seed: int, *, seconds: float = 20.0, separation_model="satb-convtasnet"):
    """Voice-type clips as the benchmark meets them: parts of a separated choir, bleed and all.

    For each of the first ``n_chorales`` TRAINING chorales the four lines are sung by the singing
    synthesizer with the four voice types' formant tables in a random order (the soprano line may
    be sung with the bass table), mixed like the separation data, separated by ``separation_model``,
    and cut into 2 s windows; a window's label is the table that sang its line — so, here too, the
    label is the character and not the range. Returns (clips, labels, chorale index per clip).
    """
    from ..data.chorales import VOICES, load_chorale, split_names
    from ..data.render import _normalise, _transposed, version_of
    from ..data.satb import mix
    from ..data.singing import Singer, sing
    from ..separation import separate

    rng = np.random.default_rng([seed, 11])
    n = int(CLIP_S * SAMPLE_RATE)
    xs, ys, groups = [], [], []
    for ci, name in enumerate(split_names("train")[:n_chorales]):
        c = load_chorale(name)
        v = version_of(c, 0)
        tables = rng.permutation(4)
        stems = []
        for line, t in zip(VOICES, tables):
            notes = [m for m in _transposed(c.parts[line], v.transpose) if m.start_q * v.seconds_per_quarter < seconds]
            voice = LABELS[t]
            stems.append(_normalise(sing(notes, voice=voice, sample_rate=SAMPLE_RATE, length_s=seconds,
                                         seconds_per_quarter=v.seconds_per_quarter, rng=rng,
                                         singer=Singer.random(voice, rng))))
        mixture, _ = mix(np.stack(stems)[None], rng, sample_rate=SAMPLE_RATE, reverb_p=0.5)
        parts = separate(mixture, sample_rate=SAMPLE_RATE, model=separation_model).stems
        for line, t in zip(VOICES, tables):
            part = np.asarray(parts[line])[0]
            for s in range(0, len(part) - n + 1, n):
                w = part[s : s + n]
                if np.sqrt(np.mean(w ** 2)) > 0.2 * np.sqrt(np.mean(part ** 2)):  # not a rest
                    xs.append(_normalise(w))
                    ys.append(int(t))
                    groups.append(ci)
        log.info("separated clips: %s (%d)", name, len(xs))
    return np.stack(xs), np.array(ys), np.array(groups)


def with_rooms(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each clip dry and once more in a random room (RT60 0.2-1.6 s, the separation data's rooms), so
    that reverberation — which every label gets alike — tells the judge nothing."""
    from ..audio.augment import reverberate, room_impulse_response

    rng = np.random.default_rng([seed, 7])
    wet = []
    for clip in x:
        r = reverberate(clip, room_impulse_response(SAMPLE_RATE, rng, rt60_s=rng.uniform(0.2, 1.6)))[: len(clip)]
        wet.append(r * (np.sqrt(np.mean(clip ** 2)) / (np.sqrt(np.mean(r ** 2)) + 1e-9)))
    return np.concatenate([x, np.stack(wet).astype(np.float32)]), np.concatenate([y, y])


def logmel(x) -> torch.Tensor:
    return log_mel_spectrogram(torch.as_tensor(x, dtype=torch.float32), sample_rate=SAMPLE_RATE, **FRONTEND)


def _cached(data: Path | None, name: str, make):
    """``make()``'s arrays, kept in ``data/name`` (npz) so a second training run skips the rendering."""
    path = Path(data) / name if data else None
    if path is not None and path.exists():
        z = np.load(path)
        return tuple(z[k] for k in sorted(z.files))
    arrays = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{f"a{i}": a for i, a in enumerate(arrays)})
    return arrays


def train(run_dir: Path, *, n_per_class: int, epochs: int, seed: int = 0, data: Path | None = None,
          n_chorales: int = 0):
    """Train the judge on ``n_per_class`` synthetic clips per label (each dry and in a room) and, with
    ``n_chorales``, the separated parts of that many training chorales (``separated_clips``).

    Validation holds out whole clips (both copies) and whole chorales: a fifth of each. Every
    training batch draws the labels evenly, and half of its clips get another voice mixed in 12-25 dB
    down — the bleed a separated part carries."""
    from ..nn.classifiers import AudioClassifier
    from ..train.trainer import TrainConfig, Trainer

    x, y = _cached(data, f"voicetype-{n_per_class}-{seed}.npz", lambda: dataset(n_per_class, seed))
    n_clean = len(y)
    x, y = with_rooms(x, y, seed)
    rng = np.random.default_rng(seed)
    held = rng.permutation(n_clean)[: n_clean // 5]
    is_valid = np.isin(np.concatenate([np.arange(n_clean)] * 2), held)
    if n_chorales:
        xs, ys, groups = _cached(data, f"voicetype-separated-{n_chorales}-{seed}.npz",
                                 lambda: separated_clips(n_chorales, seed))
        x, y = np.concatenate([x, xs]), np.concatenate([y, ys])
        is_valid = np.concatenate([is_valid, groups % 5 == 4])
    valid, tr = np.flatnonzero(is_valid), np.flatnonzero(~is_valid)
    voices = tr[y[tr] < 4]
    model = AudioClassifier(backbone="cnn", n_classes=len(LABELS), n_mels=FRONTEND["n_mels"], sample_rate=SAMPLE_RATE,
                            n_fft=FRONTEND["n_fft"], hop_length=FRONTEND["hop_length"], clip_s=CLIP_S)
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
        return {"loss": float(F.cross_entropy(logits, yt[valid])),
                "accuracy": float((logits.argmax(1) == yt[valid]).float().mean())}

    cfg = TrainConfig(lr=2e-3, epochs=epochs, steps_per_epoch=50, warmup_steps=50, seed=seed, plot=False,
                      extra={"n_per_class": n_per_class, "n_chorales": n_chorales, "labels": list(LABELS)})
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
    separated = valid >= 2 * n_clean
    return model, {"valid_accuracy": float((pred == y[valid]).mean()),
                   "valid_accuracy_synthetic": float((pred == y[valid])[~separated].mean()),
                   "valid_accuracy_separated": float((pred == y[valid])[separated].mean()) if separated.any() else None,
                   "valid_clips": int(len(valid)), "train_clips": int(len(tr)), "epochs": result["epoch"],
                   "confusion": confusion.tolist()}


def classify(x: np.ndarray, sample_rate: int, model) -> dict[str, float]:
    """Class probabilities of mono ``x``, averaged over 2 s windows (hop 1 s) that are not silent."""
    from ..audio.io import resample
    from ..checkpoints import resolve_model

    net = resolve_model(model, TASK).model
    y = resample(torch.as_tensor(np.asarray(x, np.float32))[None], sample_rate, SAMPLE_RATE)[0].numpy()
    n = int(CLIP_S * SAMPLE_RATE)
    y = np.pad(y, (0, max(0, n - len(y))))
    wins = [y[s : s + n] for s in range(0, len(y) - n + 1, SAMPLE_RATE)]
    rms = np.array([np.sqrt(np.mean(w ** 2)) for w in wins])
    keep = [w for w, r in zip(wins, rms) if r > 0.1 * rms.max()] or wins
    scale = 0.05 / (np.sqrt(np.mean(np.concatenate(keep) ** 2)) + 1e-9)  # the training clips' level
    with torch.no_grad():
        p = torch.softmax(net(logmel(np.stack(keep) * scale)), -1).mean(0).numpy()
    return {label: float(v) for label, v in zip(LABELS, p)}


def main(argv=None):
    from ..train.recipe import start

    ap = argparse.ArgumentParser(description="Train the voice-type / timbre classifier of the re-voicing benchmark.")
    ap.add_argument("--data", type=Path, default=Path("data/revoice"))
    ap.add_argument("--run", type=Path, default=Path("runs/revoice-voicetype"))
    ap.add_argument("--clips", type=int, default=100, help="clips per class (default 100)")
    ap.add_argument("--chorales", type=int, default=0,
                    help="also train on the separated parts of this many training chorales (default 0)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--export", type=Path, default=None)
    args = ap.parse_args(argv)
    out, args.export = args.export, None
    start(args, lambda *a: None)
    model, summary = train(args.run, n_per_class=args.clips, epochs=args.epochs, data=args.data,
                           n_chorales=args.chorales)
    print(json.dumps(summary, indent=1))
    if out:
        from ..checkpoints import publish_checkpoint

        sha = publish_checkpoint(model, out, task=TASK, architecture="AudioClassifier", labels=list(LABELS),
                                 training=summary)
        print(f"exported {out} (sha256 {sha[:12]})")


if __name__ == "__main__":
    main()
