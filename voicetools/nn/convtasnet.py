"""ConvTasNet (Luo & Mesgarani 2019): learned encoder, TCN masker, learned decoder.

Parameter names and ``model_args`` match asteroid 0.7's ``ConvTasNet`` (free filterbank, gLN,
non-causal), so a checkpoint trained with asteroid loads here unchanged and ours load in asteroid —
without installing asteroid and the torchaudio/lightning stack it drags in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-8


class GlobLN(nn.Module):
    """Global layer norm over channels and time (asteroid's ``GlobLN``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        mean = x.mean(dim=(1, 2), keepdim=True)
        var = (x - mean).pow(2).mean(dim=(1, 2), keepdim=True)
        return self.gamma[:, None] * ((x - mean) / (var + EPS).sqrt()) + self.beta[:, None]


class Conv1DBlock(nn.Module):
    def __init__(self, in_chan, hid_chan, skip_chan, kernel_size, dilation):
        super().__init__()
        pad = (kernel_size - 1) * dilation // 2
        self.shared_block = nn.Sequential(
            nn.Conv1d(in_chan, hid_chan, 1),
            nn.PReLU(),
            GlobLN(hid_chan),
            nn.Conv1d(hid_chan, hid_chan, kernel_size, padding=pad, dilation=dilation, groups=hid_chan),
            nn.PReLU(),
            GlobLN(hid_chan),
        )
        self.res_conv = nn.Conv1d(hid_chan, in_chan, 1)
        self.skip_conv = nn.Conv1d(hid_chan, skip_chan, 1)

    def forward(self, x):
        h = self.shared_block(x)
        return self.res_conv(h), self.skip_conv(h)


class TDConvNet(nn.Module):
    def __init__(self, in_chan, n_src, out_chan, n_blocks, n_repeats, bn_chan, hid_chan, skip_chan, conv_kernel_size):
        super().__init__()
        self.n_src, self.out_chan = n_src, out_chan
        self.bottleneck = nn.Sequential(GlobLN(in_chan), nn.Conv1d(in_chan, bn_chan, 1))
        self.TCN = nn.ModuleList(
            Conv1DBlock(bn_chan, hid_chan, skip_chan, conv_kernel_size, 2**x)
            for _ in range(n_repeats)
            for x in range(n_blocks)
        )
        self.mask_net = nn.Sequential(nn.PReLU(), nn.Conv1d(skip_chan, n_src * out_chan, 1))

    def forward(self, tf_rep):
        x = self.bottleneck(tf_rep)
        skip_sum = 0.0
        for block in self.TCN:
            res, skip = block(x)
            x = x + res
            skip_sum = skip_sum + skip
        masks = self.mask_net(skip_sum)
        return torch.sigmoid(masks.view(tf_rep.shape[0], self.n_src, self.out_chan, -1))


class _FreeFilterbank(nn.Module):
    def __init__(self, n_filters, kernel_size):
        super().__init__()
        self._filters = nn.Parameter(torch.empty(n_filters, 1, kernel_size))
        nn.init.xavier_normal_(self._filters)


class _Codec(nn.Module):
    """Holds ``filterbank._filters`` so the state-dict keys read like asteroid's."""

    def __init__(self, n_filters, kernel_size):
        super().__init__()
        self.filterbank = _FreeFilterbank(n_filters, kernel_size)


class ConvTasNet(nn.Module):
    """Separate a mono mixture into ``n_src`` sources in a fixed order.

    Parameters mirror asteroid's ``ConvTasNet``; only the free filterbank, gLN and non-causal
    convolutions are supported (asteroid's defaults).

    Examples
    --------
    >>> model = ConvTasNet(n_src=4, n_filters=32, kernel_size=16, stride=8, bn_chan=16, hid_chan=32,
    ...                    skip_chan=16, n_blocks=2, n_repeats=1)
    >>> model(torch.zeros(1, 1, 800)).shape
    torch.Size([1, 4, 800])
    """

    def __init__(
        self,
        n_src: int,
        *,
        n_filters: int = 512,
        kernel_size: int = 16,
        stride: int = 8,
        bn_chan: int = 128,
        hid_chan: int = 512,
        skip_chan: int = 128,
        conv_kernel_size: int = 3,
        n_blocks: int = 8,
        n_repeats: int = 3,
        sample_rate: float = 8000.0,
    ):
        super().__init__()
        self.model_args = dict(
            fb_name="FreeFB",
            n_filters=n_filters,
            kernel_size=kernel_size,
            stride=stride,
            sample_rate=float(sample_rate),
            in_chan=n_filters,
            out_chan=n_filters,
            bn_chan=bn_chan,
            hid_chan=hid_chan,
            skip_chan=skip_chan,
            conv_kernel_size=conv_kernel_size,
            n_blocks=n_blocks,
            n_repeats=n_repeats,
            n_src=n_src,
            norm_type="gLN",
            mask_act="sigmoid",
            causal=False,
            encoder_activation=None,
        )
        self.stride = stride
        self.sample_rate = float(sample_rate)
        self.encoder = _Codec(n_filters, kernel_size)
        self.masker = TDConvNet(
            n_filters, n_src, n_filters, n_blocks, n_repeats, bn_chan, hid_chan, skip_chan, conv_kernel_size
        )
        self.decoder = _Codec(n_filters, kernel_size)

    # keys of asteroid's model_args that this implementation can honour, with the only value allowed
    FIXED_ARGS = {
        "fb_name": "FreeFB",
        "norm_type": "gLN",
        "mask_act": "sigmoid",
        "causal": False,
        "encoder_activation": None,
    }

    @classmethod
    def from_model_args(cls, args: dict) -> ConvTasNet:
        """Build from asteroid-style ``model_args``; raises ValueError for unsupported variants."""
        args = dict(args)
        for key, allowed in cls.FIXED_ARGS.items():
            value = args.pop(key, allowed)
            if value != allowed and not (key == "encoder_activation" and value in ("linear", None)):
                raise ValueError(f"unsupported ConvTasNet option {key}={value!r} (supported: {allowed!r})")
        in_chan, out_chan = args.pop("in_chan", None), args.pop("out_chan", None)
        if in_chan not in (None, args.get("n_filters")) or out_chan not in (None, args.get("n_filters")):
            raise ValueError("unsupported ConvTasNet option: in_chan/out_chan must equal n_filters")
        return cls(**args)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (batch, 1, time) or (batch, time) → (batch, n_src, time)."""
        if wav.dim() == 2:
            wav = wav[:, None]
        tf_rep = F.conv1d(wav, self.encoder.filterbank._filters, stride=self.stride)
        masks = self.masker(tf_rep)
        masked = masks * tf_rep[:, None]
        b, s, c, t = masked.shape
        out = F.conv_transpose1d(masked.reshape(b * s, c, t), self.decoder.filterbank._filters, stride=self.stride)
        out = out.view(b, s, -1)
        return F.pad(out, [0, wav.shape[-1] - out.shape[-1]])
