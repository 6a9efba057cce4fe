"""The tone classifier: a syllable's pitch contour → tone 1, 2, 3, 4 or neutral.

Input per syllable (``tone_features``): the voiced F0 contour in semitones re. the speaker's median
(``pitch.N_POINTS`` points), its first differences, the syllable's mean level, the voiced fraction,
and its log duration relative to the utterance's mean syllable. A small MLP reads it (a few thousand
weights: pitch contours are simple shapes; the hard part is the variety of voices, which the
synthesized and augmented training data supplies).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .pitch import N_POINTS, syllable_contour

LABELS = ["1", "2", "3", "4", "5"]  # tone 5 = neutral
N_BASE = N_POINTS + (N_POINTS - 1) + 3
N_FEATURES = N_BASE + 4
LEVEL = N_BASE - 3  # column of the syllable's mean level


def tone_features(semitones: np.ndarray, spans_s: list[tuple[float, float]], *, hop_s: float = 0.01) -> np.ndarray:
    """(n_syllables, N_FEATURES) float32 for the spans of one utterance (semitones from ``pitch``)."""
    durs = np.array([max(1e-3, e - s) for s, e in spans_s])
    rel = np.log(durs / durs.mean())
    rows = []
    for (s, e), r in zip(spans_s, rel):
        c, voiced = syllable_contour(semitones, s, e, hop_s=hop_s)
        rows.append(np.concatenate([c / 6.0, np.diff(c), [c.mean() / 6.0, voiced, r]]))
    return with_context(np.asarray(rows, np.float32).reshape(-1, N_BASE))


def with_context(base: np.ndarray, utterance: np.ndarray | None = None) -> np.ndarray:
    """Append the neighbours' pitch: the previous and next syllable's mean level and the syllable's
    level minus each (0 at the utterance's edges). A tone 1 is high *compared with its neighbours*."""
    utt = np.zeros(len(base), int) if utterance is None else np.asarray(utterance)
    level = base[:, LEVEL]
    prev, nxt = np.zeros_like(level), np.zeros_like(level)
    has_prev = np.r_[False, utt[1:] == utt[:-1]]
    has_next = np.r_[utt[:-1] == utt[1:], False]
    prev[has_prev] = level[np.flatnonzero(has_prev) - 1]
    nxt[has_next] = level[np.flatnonzero(has_next) + 1]
    ctx = np.stack([prev, nxt, (level - prev) * has_prev, (level - nxt) * has_next], axis=1)
    return np.concatenate([base, ctx.astype(np.float32)], axis=1)


class ToneNet(nn.Module):
    """MLP over ``tone_features``: (batch, N_FEATURES) → (batch, 5) logits."""

    def __init__(self, n_features: int = N_FEATURES, hidden: int = 96, n_classes: int = 5, dropout: float = 0.1,
                 sample_rate: int = 16000):
        super().__init__()
        self.model_args = dict(n_features=n_features, hidden=hidden, n_classes=n_classes, dropout=dropout,
                               sample_rate=sample_rate)
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @classmethod
    def from_model_args(cls, args: dict) -> "ToneNet":
        return cls(**args)


def predict_tones(model: nn.Module, features: np.ndarray) -> np.ndarray:
    """Tone probabilities (n, 5) for rows of ``tone_features``; columns are tones 1-4 and neutral."""
    if len(features) == 0:
        return np.zeros((0, len(LABELS)), np.float32)
    with torch.inference_mode():
        return torch.softmax(model.eval()(torch.as_tensor(features)), dim=1).numpy()
