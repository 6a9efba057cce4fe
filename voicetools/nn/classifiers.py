"""Audio classifiers on log-mel spectrograms, chosen by name.

Every model reads a log-mel batch shaped (batch, n_mels, frames) in dB, as made by
``voicetools.audio.frontend.log_mel_spectrogram``, normalises it per mel bin with statistics that
are stored in the model (fitted on the training folds only, see ``AudioClassifier.set_normalization``),
turns it into a sequence of frame vectors with a backbone, pools the sequence over time (mean or
attention) and classifies.

Backbones (``BACKBONES``):

``cnn``          the research notes' SimpleCNN: 3 conv layers 16/32/64 (3x3, ReLU, 2x2 max-pool),
                 dropout, fc 128 per frame, then pooling and the output layer.
``transformer``  the notes' AudioTransformer: conv stem (3 strided convs 32/64/128 with batch norm),
                 a linear projection, sinusoidal positions and a 4-layer transformer encoder.
``vgg``          VGG-like: 3 blocks of two 3x3 conv + batch norm + ReLU and a 2x2 max-pool (32/64/128).
``crnn``         conv blocks (32/64/64) pooling frequency more than time, then a bidirectional GRU.

``pooling="attention"`` replaces the average over time by learned attention weights
(softmax over frames of ``v . tanh(W h)``), as the notes ask.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BACKBONES = ("cnn", "transformer", "vgg", "crnn")
POOLINGS = ("avg", "attention")


class AttentionPool(nn.Module):
    """Attention pooling over time: (batch, frames, dim) → (batch, dim)."""

    def __init__(self, dim: int, hidden: int = 64):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(self.score(h).squeeze(-1), dim=1)
        return torch.einsum("bt,btd->bd", w, h)


class AvgPool(nn.Module):
    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.mean(dim=1)


class SimpleCNN(nn.Module):
    """3 conv layers 16/32/64 with 2x2 max-pooling, then fc 128 per frame: → (batch, frames/8, 128)."""

    def __init__(self, n_mels: int, *, dropout: float = 0.3, batchnorm: bool = True, hidden: int = 128):
        super().__init__()
        chans = [1, 16, 32, 64]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, padding=1)]
            layers += [nn.BatchNorm2d(cout)] if batchnorm else []
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
        self.conv = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(64 * (n_mels // 8), hidden)
        self.out_dim = hidden

    def forward(self, x):  # x: (batch, 1, mels, frames)
        h = self.conv(x)
        h = h.flatten(1, 2).transpose(1, 2)  # (batch, frames, channels * mels)
        return F.relu(self.fc1(self.dropout(h)))


class PositionalEncoding(nn.Module):
    def __init__(self, dim: int, max_len: int = 4000):
        super().__init__()
        pos = torch.arange(max_len)[:, None]
        div = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, h):
        return h + self.pe[: h.shape[1]]


class AudioTransformer(nn.Module):
    """Conv stem (3 stride-2 convs 32/64/128 + BN + ReLU), projection, 4-layer transformer encoder."""

    def __init__(self, n_mels: int, *, d_model: int = 128, n_heads: int = 4, n_layers: int = 4, dropout: float = 0.1):
        super().__init__()
        chans = [1, 32, 64, 128]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        freq = n_mels
        for _ in range(3):
            freq = (freq + 1) // 2
        self.proj = nn.Linear(128 * freq, d_model)
        self.pos = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, 2 * d_model, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.out_dim = d_model

    def forward(self, x):
        h = self.conv(x).flatten(1, 2).transpose(1, 2)
        return self.encoder(self.pos(self.proj(h)))


class VGGish(nn.Module):
    """VGG-like: 3 blocks of (conv-BN-ReLU) x2 + 2x2 max-pool, channels 32/64/128."""

    def __init__(self, n_mels: int, *, dropout: float = 0.3, hidden: int = 128):
        super().__init__()
        layers, cin = [], 1
        for cout in (32, 64, 128):
            for _ in range(2):
                layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
                cin = cout
            layers += [nn.MaxPool2d(2)]
        self.conv = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(128 * (n_mels // 8), hidden)
        self.out_dim = hidden

    def forward(self, x):
        h = self.conv(x).flatten(1, 2).transpose(1, 2)
        return F.relu(self.fc1(self.dropout(h)))


class CRNN(nn.Module):
    """Conv blocks (32/64/64; pool 2x2, 2x2, 4x1 in frequency x time) then a bidirectional GRU."""

    def __init__(self, n_mels: int, *, hidden: int = 64, dropout: float = 0.3):
        super().__init__()
        spec = [(32, (2, 2)), (64, (2, 2)), (64, (4, 1))]
        layers, cin, freq = [], 1, n_mels
        for cout, pool in spec:
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(pool)]
            cin, freq = cout, freq // pool[0]
        self.conv = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(64 * freq, hidden, batch_first=True, bidirectional=True)
        self.out_dim = 2 * hidden

    def forward(self, x):
        h = self.conv(x).flatten(1, 2).transpose(1, 2)
        return self.gru(self.dropout(h))[0]


def _backbone(name: str, n_mels: int, args: dict) -> nn.Module:
    if name == "cnn":
        return SimpleCNN(n_mels, **args)
    if name == "transformer":
        return AudioTransformer(n_mels, **args)
    if name == "vgg":
        return VGGish(n_mels, **args)
    if name == "crnn":
        return CRNN(n_mels, **args)
    raise ValueError(f"unknown classifier backbone {name!r}; choose one of {list(BACKBONES)}")


class AudioClassifier(nn.Module):
    """Log-mel (batch, n_mels, frames) in dB → class logits (batch, n_classes).

    ``model_args`` holds everything needed to rebuild it and to make its input from audio: the
    backbone and pooling names and the front-end settings (``sample_rate``, ``n_fft``,
    ``hop_length``, ``n_mels``, ``clip_s``). The per-mel-bin normalisation is a pair of buffers, so
    it travels with the weights.
    """

    def __init__(
        self,
        *,
        backbone: str = "cnn",
        n_classes: int,
        n_mels: int = 64,
        pooling: str = "avg",
        sample_rate: int = 16000,
        n_fft: int = 1024,
        hop_length: int = 320,
        clip_s: float = 3.0,
        backbone_args: dict | None = None,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose one of {list(POOLINGS)}")
        if n_mels < 8 or n_mels % 8:
            raise ValueError(f"n_mels must be a multiple of 8 (the backbones pool it 8x), got {n_mels}")
        self.model_args = dict(
            backbone=backbone,
            n_classes=n_classes,
            n_mels=n_mels,
            pooling=pooling,
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            clip_s=clip_s,
            backbone_args=dict(backbone_args or {}),
        )
        self.register_buffer("norm_mean", torch.zeros(n_mels))
        self.register_buffer("norm_std", torch.ones(n_mels))
        self.backbone = _backbone(backbone, n_mels, dict(backbone_args or {}))
        self.pool = AttentionPool(self.backbone.out_dim) if pooling == "attention" else AvgPool()
        self.head = nn.Linear(self.backbone.out_dim, n_classes)

    @classmethod
    def from_model_args(cls, args: dict) -> AudioClassifier:
        return cls(**args)

    @property
    def frontend_args(self) -> dict:
        a = self.model_args
        return dict(sample_rate=a["sample_rate"], n_fft=a["n_fft"], hop_length=a["hop_length"], n_mels=a["n_mels"])

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-mel-bin mean and std of the training folds' log-mels (dB), shape (n_mels,)."""
        self.norm_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.norm_std.copy_(torch.clamp(torch.as_tensor(std, dtype=torch.float32), min=1e-3))

    def embed(self, logmel: torch.Tensor) -> torch.Tensor:
        x = (logmel - self.norm_mean[:, None]) / self.norm_std[:, None]
        return self.pool(self.backbone(x[:, None]))

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(logmel))


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
