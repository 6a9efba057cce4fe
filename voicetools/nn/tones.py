"""Tone of every syllable of an utterance from its frame-level pitch and energy tracks.

Frames (10 ms: pitch in semitones re. the speaker, voicing, energy) go through a convolution and a
bidirectional GRU over the whole utterance, so each frame sees its neighbours, the speaker's range
and the declination of the sentence. Each syllable is the attention-weighted mean of its frames (the
model learns which frames carry the tone: a tone 3's low part, a tone 4's fall, not the consonant or
a transition into the next syllable), and a second GRU over the syllables reads them in context
(a neutral tone after its host, a tone 3 before a tone 4 said low and flat).
"""

from __future__ import annotations

import torch
from torch import nn


class ToneNet(nn.Module):
    """(batch, n_features, frames) and per-syllable frame spans → (batch, syllables, n_classes) logits.

    ``spans``: (batch, syllables, 2) first and past-the-end frame of every syllable; padded syllables
    have start = end = 0 and give logits that are to be ignored.
    """

    def __init__(
        self,
        n_features: int = 6,
        channels: int = 64,
        hidden: int = 64,
        n_classes: int = 5,
        dropout: float = 0.2,
        sample_rate: int = 16000,
    ):
        super().__init__()
        self.model_args = dict(
            n_features=n_features,
            channels=channels,
            hidden=hidden,
            n_classes=n_classes,
            dropout=dropout,
            sample_rate=sample_rate,
        )
        self.conv = nn.Sequential(
            nn.Conv1d(n_features, channels, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(channels, channels, 5, padding=2),
            nn.GELU(),
        )
        self.frames = nn.GRU(channels, hidden, batch_first=True, bidirectional=True)
        self.attend = nn.Linear(2 * hidden, 1)
        self.syllables = nn.GRU(4 * hidden, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(2 * hidden + 4 * hidden, hidden), nn.GELU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        h, _ = self.frames(self.conv(x).transpose(1, 2))  # (B, T, 2H)
        t = torch.arange(h.shape[1], device=h.device)
        inside = (t[None, None] >= spans[..., :1]) & (t[None, None] < spans[..., 1:])  # (B, S, T)
        inside = inside | (spans[..., 1:] <= spans[..., :1])  # empty spans: attend anywhere (no NaNs)
        score = self.attend(h).squeeze(-1)[:, None].expand(-1, spans.shape[1], -1)  # (B, S, T)
        w = torch.softmax(score.masked_fill(~inside, -1e9), -1)
        pooled = torch.einsum("bst,btc->bsc", w, h)
        mean = torch.einsum("bst,btc->bsc", inside.float() / inside.float().sum(-1, keepdim=True), h)
        syl = torch.cat([pooled, mean], -1)
        lengths = (spans[..., 1] > spans[..., 0]).sum(1).clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(syl, lengths.cpu(), batch_first=True, enforce_sorted=False)
        ctx, _ = self.syllables(packed)
        ctx, _ = nn.utils.rnn.pad_packed_sequence(ctx, batch_first=True, total_length=syl.shape[1])
        return self.out(torch.cat([ctx, syl], -1))

    @classmethod
    def from_model_args(cls, args: dict) -> ToneNet:
        return cls(**args)
