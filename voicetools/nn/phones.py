"""A small frame classifier over log-mel frames: convolutions for local spectral shape, a
bidirectional GRU for context, one logit per unit per frame. The Mandarin aligner's acoustic model
(initials and finals, or CTC with a blank).

The second convolution has stride 2, so the GRU — nearly all the compute — runs at 20 ms; the
logits are repeated back to one per input frame."""

from __future__ import annotations

import torch
from torch import nn


class PhoneNet(nn.Module):
    """(batch, n_mels, frames) → (batch, frames, n_units) logits, frames kept one to one."""

    def __init__(
        self,
        n_mels: int = 64,
        n_units: int = 60,
        channels: int = 128,
        hidden: int = 128,
        layers: int = 2,
        dropout: float = 0.15,
        sample_rate: int = 16000,
        hop_length: int = 160,
        n_fft: int = 400,
    ):
        super().__init__()
        self.model_args = dict(
            n_mels=n_mels,
            n_units=n_units,
            channels=channels,
            hidden=hidden,
            layers=layers,
            dropout=dropout,
            sample_rate=sample_rate,
            hop_length=hop_length,
            n_fft=n_fft,
        )
        self.conv = nn.Sequential(
            nn.Conv1d(n_mels, channels, 5, padding=2),
            nn.BatchNorm1d(channels),
            nn.GELU(),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2),
            nn.BatchNorm1d(channels),
            nn.GELU(),
            nn.Dropout(dropout),
        )
        self.rnn = nn.GRU(
            channels,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.out = nn.Linear(2 * hidden, n_units)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.conv(mel).transpose(1, 2)
        h, _ = self.rnn(h)
        return self.out(h).repeat_interleave(2, dim=1)[:, : mel.shape[-1]]

    @classmethod
    def from_model_args(cls, args: dict) -> PhoneNet:
        return cls(**args)
