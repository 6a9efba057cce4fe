"""Voice2Midi: a small encoder–decoder that turns a log-mel spectrogram into note activations.

Encoder: a conv stack over (frequency, time) of the shared log-mel front-end
(``voicetools.audio.frontend``), pooled along frequency, then a linear bottleneck.
Decoder: a bidirectional GRU over time and three heads per frame: ``pitch``, logits over
"no note" and each MIDI pitch of the range (one voice sings one note at a time: a softmax learns
far faster on two CPU cores than independent per-pitch sigmoids), ``onset`` (a note starts here)
and ``offset`` (a note ends here), one logit each. ``voicetools.transcribe.decoding`` turns the
three into notes.
"""

from __future__ import annotations

import torch
from torch import nn

from ..audio.frontend import log_mel_spectrogram

HEADS = ("pitch", "onset", "offset")


class Voice2Midi(nn.Module):
    """Log-mel (batch, n_mels, frames) → logits: ``pitch`` (batch, frames, 1 + n_pitches), index 0 being
    "no note" and index i pitch ``min_pitch + i - 1``; ``onset`` and ``offset`` (batch, frames).

    ``model_args`` (saved with every checkpoint) fix the front-end (``sample_rate``, ``n_fft``,
    ``hop_length``, ``n_mels``, ``f_min``, ``f_max``), the pitch range (``min_pitch`` … ``max_pitch``,
    MIDI numbers, inclusive) and the sizes of the network.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 8000,
        n_fft: int = 1024,
        hop_length: int = 128,
        n_mels: int = 128,
        f_min: float = 40.0,
        f_max: float = 4000.0,
        min_pitch: int = 36,
        max_pitch: int = 84,
        channels: tuple = (16, 16, 32),
        hidden: int = 192,
        rnn_hidden: int = 96,
        dropout: float = 0.2,
    ):
        super().__init__()
        self.model_args = dict(
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            n_mels=n_mels,
            f_min=f_min,
            f_max=f_max,
            min_pitch=min_pitch,
            max_pitch=max_pitch,
            channels=list(channels),
            hidden=hidden,
            rnn_hidden=rnn_hidden,
            dropout=dropout,
        )
        c1, c2, c3 = channels
        self.conv = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d((2, 1)),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.BatchNorm2d(c3),
            nn.ReLU(),
            nn.MaxPool2d((2, 1)),
        )
        self.proj = nn.Sequential(nn.Linear(c3 * (n_mels // 4), hidden), nn.ReLU(), nn.Dropout(dropout))
        self.rnn = nn.GRU(hidden, rnn_hidden, batch_first=True, bidirectional=True)
        self.n_pitches = max_pitch - min_pitch + 1
        self.heads = nn.ModuleDict(
            {
                "pitch": nn.Linear(2 * rnn_hidden, 1 + self.n_pitches),
                "onset": nn.Linear(2 * rnn_hidden, 1),
                "offset": nn.Linear(2 * rnn_hidden, 1),
            }
        )

    @classmethod
    def from_model_args(cls, args: dict) -> Voice2Midi:
        args = dict(args)
        args["channels"] = tuple(args.get("channels", (16, 16, 32)))
        return cls(**args)

    @property
    def frame_rate(self) -> float:
        return self.model_args["sample_rate"] / self.model_args["hop_length"]

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Mono audio (batch, time) at ``sample_rate`` → log-mel (batch, n_mels, frames) in dB."""
        a = self.model_args
        return log_mel_spectrogram(
            audio,
            sample_rate=a["sample_rate"],
            n_fft=a["n_fft"],
            hop_length=a["hop_length"],
            n_mels=a["n_mels"],
            f_min=a["f_min"],
            f_max=a["f_max"],
        )

    def forward(self, logmel: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((logmel + 50.0) / 25.0)[:, None]  # dB to roughly unit range; gain is learnt by augmentation
        x = self.conv(x)  # (batch, c3, n_mels // 4, frames)
        b, c, f, t = x.shape
        x = self.proj(x.permute(0, 3, 1, 2).reshape(b, t, c * f))
        x, _ = self.rnn(x)
        return {
            "pitch": self.heads["pitch"](x),
            "onset": self.heads["onset"](x)[..., 0],
            "offset": self.heads["offset"](x)[..., 0],
        }
