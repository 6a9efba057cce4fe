"""Speaker encoders: audio → an L2-normalised embedding that is close for the same voice.

``SpeakerLSTM`` is the d-vector encoder of Wan et al. 2018 (GE2E) in the layout of Resemblyzer's
``VoiceEncoder`` (3-layer LSTM over 40 Slaney-mel power bands, 25 ms / 10 ms frames at 16 kHz, the
last hidden state through a linear layer and a ReLU), so Resemblyzer's pretrained weights load
as they are (``python -m voicetools.diarize.convert``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_sequence

from ..audio.frontend import mel_spectrogram


class SpeakerLSTM(nn.Module):
    def __init__(
        self,
        n_mels: int = 40,
        hidden_size: int = 256,
        num_layers: int = 3,
        embedding_size: int = 256,
        sample_rate: int = 16000,
        window_ms: float = 25.0,
        hop_ms: float = 10.0,
        partial_frames: int = 160,
    ):
        super().__init__()
        self.model_args = dict(
            n_mels=n_mels,
            hidden_size=hidden_size,
            num_layers=num_layers,
            embedding_size=embedding_size,
            sample_rate=sample_rate,
            window_ms=window_ms,
            hop_ms=hop_ms,
            partial_frames=partial_frames,
        )
        self.sample_rate = sample_rate
        self.n_fft = int(sample_rate * window_ms / 1000)
        self.hop_length = int(sample_rate * hop_ms / 1000)
        self.n_mels = n_mels
        self.partial_frames = partial_frames
        self.lstm = nn.LSTM(n_mels, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, embedding_size)

    @classmethod
    def from_model_args(cls, args: dict) -> SpeakerLSTM:
        return cls(**args)

    @property
    def window_samples(self) -> int:
        """Samples of audio one embedding hears (``partial_frames`` frames: 1.6 s)."""
        return self.partial_frames * self.hop_length

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, samples) at ``sample_rate`` → (batch, frames, n_mels) mel power, as the weights expect."""
        mel = mel_spectrogram(
            audio,
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            n_mels=self.n_mels,
            mel_scale="slaney",
            pad_mode="constant",
        )
        return mel.transpose(-1, -2)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """(batch, frames, n_mels) → (batch, embedding_size), unit length."""
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / torch.clamp(raw.norm(dim=1, keepdim=True), min=1e-9)

    def embed_variable(self, clips: list[torch.Tensor]) -> torch.Tensor:
        """Embeddings of clips of different lengths (16 kHz, 1-D), packed so none is padded."""
        mels = [self.features(c[None])[0] for c in clips]
        _, (hidden, _) = self.lstm(pack_sequence(mels, enforce_sorted=False))
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / torch.clamp(raw.norm(dim=1, keepdim=True), min=1e-9)

    def embed(self, windows: torch.Tensor) -> torch.Tensor:
        """(batch, window_samples) audio windows → (batch, embedding_size) embeddings."""
        mels = self.features(windows)[:, : self.partial_frames]
        return self(mels)
