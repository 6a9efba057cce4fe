"""Per-syllable features for the tone model (``nn.tones.ToneGRU``), normalised per speaker.

A learner's recording is one speaker, so the utterance is the speaker's sample: F0 is in semitones
re. the utterance's median voiced F0 (a man's and a child's tone 4 look alike), energy in dB re.
the utterance's loud frames. Per syllable (``syllable_features``):

* the voiced F0 contour resampled to ``N_POINTS`` points (÷6) and its differences,
* its mean level, its voiced fraction, its log duration re. the utterance's mean syllable,
* its energy contour (``N_ENERGY`` points, ÷20 dB) — a neutral tone is short and weak.

The model reads the syllables of an utterance in order, so neighbours' contours and the speaker's
range come from context, not from hand-made features.
"""

from __future__ import annotations

import numpy as np
import torch

from .pitch import N_POINTS, f0_track, syllable_contour, to_semitones

HOP_S = 0.01
N_ENERGY = 5
N_FEATURES = N_POINTS + (N_POINTS - 1) + 3 + N_ENERGY
LABELS = ["1", "2", "3", "4", "5"]  # tone 5 = neutral


def energy_db(x: np.ndarray, sample_rate: int, *, hop_s: float = HOP_S) -> np.ndarray:
    """RMS in dB per ``hop_s`` frame (frame k centred at k·hop_s), re. the 95th percentile frame."""
    hop = int(round(hop_s * sample_rate))
    n = int(np.ceil(len(x) / hop))
    pad = np.pad(np.asarray(x, np.float64), (hop // 2, n * hop + hop))
    frames = pad[: (n + 1) * hop].reshape(n + 1, hop)
    e = 10 * np.log10((frames[:-1] ** 2).mean(1) / 2 + (frames[1:] ** 2).mean(1) / 2 + 1e-12)
    return e - np.percentile(e, 95)


def utterance_tracks(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(semitones re. the median F0, NaN unvoiced), energy in dB, and the median F0 in Hz."""
    st, median_hz = to_semitones(f0_track(x, sample_rate))
    e = energy_db(x, sample_rate)
    n = min(len(st), len(e))
    return st[:n], e[:n], median_hz


def syllable_features(semitones: np.ndarray, energy: np.ndarray, spans_s: list[tuple[float, float]], *,
                      hop_s: float = HOP_S) -> np.ndarray:
    """(n_syllables, N_FEATURES) float32 for the spans of one utterance."""
    durs = np.array([max(1e-3, e - s) for s, e in spans_s])
    rel = np.log(durs / durs.mean())
    rows = []
    for (s, e), r in zip(spans_s, rel):
        c, voiced = syllable_contour(semitones, s, e, hop_s=hop_s)
        a, b = int(np.floor(s / hop_s)), int(np.ceil(e / hop_s))
        seg = energy[max(0, a) : max(a + 1, min(len(energy), b))]
        en = np.interp(np.linspace(0, len(seg) - 1, N_ENERGY), np.arange(len(seg)), seg) if len(seg) else \
            np.full(N_ENERGY, -60.0)
        rows.append(np.concatenate([c / 6.0, np.diff(c), [c.mean() / 6.0, voiced, r], np.maximum(en, -60) / 20.0]))
    return np.asarray(rows, np.float32).reshape(-1, N_FEATURES)


def predict(model: torch.nn.Module, features: np.ndarray) -> np.ndarray:
    """Tone probabilities (n_syllables, 5) for one utterance's ``syllable_features``."""
    if len(features) == 0:
        return np.zeros((0, len(LABELS)), np.float32)
    with torch.inference_mode():
        return torch.softmax(model.eval()(torch.as_tensor(features)[None]), -1)[0].numpy()
