"""Tone of every syllable of an utterance from per-syllable pitch and energy features.

Each syllable's features (its contour, level, energy, duration: ``pronounce.tones``) are read in
the context of the whole utterance by a bidirectional GRU over the syllables: whether a syllable is
"high" or "falling" depends on the speaker's range and on its neighbours (declination, a tone 3
before a tone 4 said low and flat, neutral tones after their host syllable).
"""

from __future__ import annotations

import torch
from torch import nn


class ToneGRU(nn.Module):
    """(batch, syllables, n_features) → (batch, syllables, n_classes) logits; ``lengths`` masks padding."""

    def __init__(self, n_features: int = 47, hidden: int = 64, n_classes: int = 5, dropout: float = 0.2,
                 sample_rate: int = 16000):
        super().__init__()
        self.model_args = dict(n_features=n_features, hidden=hidden, n_classes=n_classes, dropout=dropout,
                               sample_rate=sample_rate)
        self.embed = nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Dropout(dropout))
        self.rnn = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden + hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = self.embed(x)
        if lengths is not None:
            packed = nn.utils.rnn.pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
            ctx, _ = self.rnn(packed)
            ctx, _ = nn.utils.rnn.pad_packed_sequence(ctx, batch_first=True, total_length=x.shape[1])
        else:
            ctx, _ = self.rnn(h)
        return self.out(torch.cat([ctx, h], -1))

    @classmethod
    def from_model_args(cls, args: dict) -> "ToneGRU":
        return cls(**args)
