"""Learned timbre transfer: train a DDSP decoder (``nn.ddsp``) on one timbre, apply it to any part.

Training pairs are made from the target audio itself: its F0 and voicing (Praat, as in
``analysis``) and loudness on the model's frame grid are the input, the audio the target. At
inference a part's F0 (shifted) and loudness drive the decoder, so the melody and dynamics are the
part's and the spectrum is the target's. Everything trains with the shared ``Trainer``.

    voicetools train timbre target.wav --out my-timbre         # a user's recording, minutes on one core
    python -m voicetools.revoice.train --target synth-choir      # the shipped models (see their cards)
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch

from ..audio.io import load_mono, resample
from ..checkpoints import LoadedModel, cache_dir, publish_checkpoint, resolve_model, save_checkpoint
from ..errors import AudioLoadError
from ..nn.ddsp import DDSPDecoder, spectral_loss
from ..train.trainer import TrainConfig, Trainer, read_log
from .analysis import f0_track, loudness_db

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000
HOP = 128
TASK = "timbre"


def features(
    x: np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    hop_length: int = HOP,
    voice: str | None = None,
    f0_hz: np.ndarray | None = None,
    f0_hop_s: float = 0.01,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f0_hz, loudness_db, voiced) on the decoder's frame grid (frames = len(x) // hop). The F0 is
    ``x``'s own, tracked on that grid, unless a track ``f0_hz`` (one value per ``f0_hop_s``) is given:
    then its nearest frames."""
    n = len(x) // hop_length
    hop_s = hop_length / sample_rate
    if f0_hz is None:
        f0 = f0_track(x, sample_rate, voice=voice, hop_s=hop_s, n_frames=n)
    else:
        f0_hz = np.asarray(f0_hz, float)
        f0 = f0_hz[np.clip(np.round(np.arange(n) * hop_s / f0_hop_s).astype(int), 0, len(f0_hz) - 1)]
    # frames of the decoder cover [i·hop, (i+1)·hop): measure at their centres
    loud = loudness_db(np.pad(x, (hop_length // 2, 0)), sample_rate, hop_s=hop_s, n_frames=n)
    voiced = (f0 > 0).astype(np.float32)
    return _fill_unvoiced(f0), loud.astype(np.float32), voiced


def _fill_unvoiced(f0: np.ndarray) -> np.ndarray:
    """Unvoiced frames take the nearest voiced F0 (the harmonic synth needs some pitch; voicing says off)."""
    f0 = np.asarray(f0, np.float32).copy()
    v = np.flatnonzero(f0 > 0)
    if not len(v):
        return np.full_like(f0, 220.0)
    return np.interp(np.arange(len(f0)), v, f0[v]).astype(np.float32)


class Clips:
    """Training examples from target audio: random crops of ``clip_frames`` frames with their features."""

    def __init__(
        self, audios: list[np.ndarray], *, clip_frames: int = 125, voice: str | None = None, cache: Path | None = None
    ):
        """``cache``: an ``.npz`` holding the features of these audios (written on first use)."""
        self.items = []
        stored = np.load(cache) if cache is not None and Path(cache).exists() else None
        feats = {}
        for i, x in enumerate(audios):
            x = np.asarray(x, np.float32)
            n = len(x) // HOP * HOP
            if n < clip_frames * HOP:
                continue
            if stored is not None:
                f0, loud, voiced = (stored[f"{k}{i}"] for k in ("f0_", "loud_", "voiced_"))
            else:
                f0, loud, voiced = features(x[:n], voice=voice)
            feats.update({f"f0_{i}": f0, f"loud_{i}": loud, f"voiced_{i}": voiced})
            self.items.append((x[:n], f0, loud, voiced))
        if cache is not None and stored is None and feats:
            np.savez(cache, **feats)
        if not self.items:
            raise AudioLoadError(
                f"the target audio is too short: give at least {clip_frames * HOP / SAMPLE_RATE:.0f} s "
                "of singing or playing (a minute or more works best)"
            )
        self.clip_frames = clip_frames
        loud = np.concatenate([it[2] for it in self.items])
        voiced = np.concatenate([it[3] for it in self.items]) > 0
        self.loudness_mean, self.loudness_std = float(loud.mean()), float(loud.std() + 1e-3)
        self.loudness_ref_db = float(np.percentile(loud[voiced] if voiced.any() else loud, 90))
        self.voiced_fraction = float(voiced.mean())
        self.seconds = sum(len(it[0]) for it in self.items) / SAMPLE_RATE

    def batches(self, batch_size: int, seed: int):
        rng = np.random.default_rng(seed)
        weights = np.array([len(it[1]) for it in self.items], float)
        weights /= weights.sum()
        while True:
            xs, fs, ls, vs = [], [], [], []
            for _ in range(batch_size):
                x, f0, loud, voiced = self.items[rng.choice(len(self.items), p=weights)]
                for _ in range(10):  # prefer crops with some voice in them
                    a = int(rng.integers(0, len(f0) - self.clip_frames + 1))
                    if voiced[a : a + self.clip_frames].mean() > 0.3:
                        break
                b = a + self.clip_frames
                xs.append(x[a * HOP : b * HOP])
                fs.append(f0[a:b])
                ls.append(loud[a:b])
                vs.append(voiced[a:b])
            yield tuple(torch.from_numpy(np.stack(v)) for v in (xs, fs, ls, vs))


def _loss(model, batch):
    x, f0, loud, voiced = batch
    return spectral_loss(model(f0, loud, voiced), x)


def train_timbre(
    audios: list[np.ndarray],
    run_dir: str | Path,
    *,
    minutes: float = 3.0,
    steps: int = 3000,
    batch_size: int = 8,
    lr: float = 2e-3,
    hidden: int = 128,
    seed: int = 0,
    voice: str | None = None,
    clip_frames: int = 125,
    callback=None,
) -> tuple[DDSPDecoder, dict]:
    """Train a decoder on mono 16 kHz ``audios`` of one timbre with the shared ``Trainer``.

    Stops after ``steps`` or ``minutes`` (whichever first; rerunning on the same ``run_dir`` resumes).
    Returns the best model (lowest validation spectral loss) and a summary.
    """
    clips = audios if isinstance(audios, Clips) else Clips(audios, voice=voice, clip_frames=clip_frames)
    torch.manual_seed(seed)
    model = DDSPDecoder(
        hidden=hidden,
        loudness_mean=clips.loudness_mean,
        loudness_std=clips.loudness_std,
        loudness_ref_db=clips.loudness_ref_db,
    )
    valid = [next(clips.batches(batch_size, seed + 1000)) for _ in range(2)]  # fixed crops, seeded

    def validate(m):
        torch.manual_seed(0)
        return {"loss": float(np.mean([_loss(m, b).item() for b in valid]))}

    steps_per_epoch = max(1, min(100, steps // 5))  # max_minutes is checked at epoch ends
    with torch.no_grad():
        initial = validate(model.eval())["loss"]
    cfg = TrainConfig(
        lr=lr,
        weight_decay=0.0,
        epochs=max(1, steps // steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        warmup_steps=min(100, steps // 4),
        clip_grad_norm=3.0,
        max_minutes=minutes,
        seed=seed,
        plot=False,
        extra={"target_seconds": clips.seconds},
    )
    trainer = Trainer(model, _loss, run_dir, cfg, validate=validate)
    result = trainer.fit(clips.batches(batch_size, seed), callback=callback)
    best = torch.load(Path(run_dir) / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(best["model"])
    rows = read_log(run_dir)
    summary = {
        "steps": result["step"],
        "epochs": result["epoch"],
        "initial_valid_loss": initial,
        "best_valid_loss": result["best"],
        "target_seconds": round(clips.seconds, 1),
        "voiced_fraction": round(clips.voiced_fraction, 3),
        "first_valid_loss": rows[0].get("valid_loss") if rows else None,
        "seconds_per_step": rows[-1]["seconds_per_step"] if rows else None,
    }
    return model.eval(), summary


def export(model: DDSPDecoder, out_dir: str | Path, *, publish: bool = False, **meta) -> str:
    writer = publish_checkpoint if publish else save_checkpoint
    return writer(model, out_dir, task=TASK, architecture="DDSPDecoder", **meta)


def load_target_audio(path: str | Path) -> np.ndarray:
    x, _ = load_mono(path, SAMPLE_RATE)
    if not np.any(x):
        raise AudioLoadError(f"{path}: the target recording is silent")
    return x


def cached_timbre(path: str | Path, *, minutes: float = 3.0, callback=None) -> LoadedModel:
    """The timbre model of a target recording: trained once (``minutes``) and kept in the user cache
    under ``timbre-<sha256 of the file>``; later calls load it."""
    p = Path(path)
    digest = hashlib.sha256(p.read_bytes()).hexdigest()[:12] if p.is_file() else None
    x = load_target_audio(p)  # the precise error for a bad file
    name = f"timbre-{p.stem[:40]}-{digest}"
    folder = cache_dir() / name
    if not (folder / "model.safetensors").exists():
        model, summary = train_timbre([x], cache_dir() / "runs" / name, minutes=minutes, callback=callback)
        export(model, folder, target=str(p.name), training=summary)
    return resolve_model(name, TASK)


def apply_timbre(
    model,
    x: np.ndarray,
    sample_rate: int,
    *,
    semitones: float = 0.0,
    voice: str | None = None,
    seed: int = 0,
    f0_hz: np.ndarray | None = None,
    hop_s: float = 0.01,
) -> np.ndarray:
    """Resynthesise mono ``x`` with a timbre model: its F0 (× 2^(semitones/12)) and loudness in, the
    model's timbre out, at ``sample_rate`` and the same length.

    ``f0_hz`` (one value per ``hop_s``, 0 unvoiced; ``analysis.f0_track``) is the melody to play;
    without it ``x`` is tracked on the decoder's own frames — which, on a separated part with
    bleed, can land on another voice where the part's analysis did not."""
    loaded = resolve_model(model, TASK)
    net: DDSPDecoder = loaded.model
    sr = net.sample_rate
    y = resample(torch.as_tensor(np.asarray(x, np.float32))[None], sample_rate, sr)[0].numpy()
    n = len(y)
    y = np.pad(y, (0, (-n) % net.hop + net.hop))
    f0, loud, voiced = features(y, sample_rate=sr, hop_length=net.hop, voice=voice, f0_hz=f0_hz, f0_hop_s=hop_s)
    if voiced.any():  # move the part's level to the training level
        loud = loud + (net.model_args["loudness_ref_db"] - np.percentile(loud[voiced > 0], 90))
    f0 = f0 * 2.0 ** (semitones / 12.0)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))[None]  # noqa: E731
    out = net.render(t(f0), t(loud), t(voiced), seed=seed)[0]
    out = resample(out[None], sr, sample_rate)[0].numpy()
    m = len(x)
    return np.pad(out, (0, max(0, m - len(out))))[:m].astype(np.float32)
