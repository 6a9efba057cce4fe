"""Figures: a piano roll of notes drawn over the audio's spectrogram (the shared log-mel front-end)."""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .frontend import hz_to_mel, log_mel_spectrogram, mel_to_hz

# colours that stand out on the magma spectrogram (none of its black-purple-orange-yellow)
TRACK_COLOURS = {"melody": "#00e5ff", "soprano": "#00e5ff", "alto": "#7cfc00", "tenor": "#ffffff", "bass": "#4169ff"}


@contextlib.contextmanager
def missing_glyphs_quiet():
    """A title naming a file in a script the font lacks (CJK with DejaVu Sans) draws boxes for those
    characters; the figure is right otherwise, so matplotlib's warning per character is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        yield


def midi_to_hz(pitch):
    return 440.0 * 2.0 ** ((np.asarray(pitch, float) - 69.0) / 12.0)


def piano_roll(
    tracks: dict,
    *,
    audio: torch.Tensor | None = None,
    sample_rate: int | None = None,
    duration_s: float | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    bare: bool = False,
):
    """Notes of every track as bars at their pitch (log-frequency axis), over the spectrogram of
    ``audio`` (mono, shape (time,) or (1, time)) when given. Writes a PNG to ``path`` when given;
    returns the matplotlib figure.

    ``tracks`` maps a track name to notes with ``pitch``, ``start_s``, ``end_s``. ``bare=True`` draws
    the plot edge to edge without axes (time runs exactly across the image, for a playhead over it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if bare:
        fig = plt.figure(figsize=(10, 2.8))
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig, ax = plt.subplots(figsize=(10, 4))
    f_lo, f_hi = 50.0, 2000.0
    if audio is not None and sample_rate:
        x = torch.as_tensor(audio, dtype=torch.float32).reshape(-1)
        n_mels, hop = 128, max(1, sample_rate // 100)
        f_max = min(4000.0, sample_rate / 2)
        spec = log_mel_spectrogram(
            x,
            sample_rate=sample_rate,
            n_fft=2048 if sample_rate > 16000 else 1024,
            hop_length=hop,
            n_mels=n_mels,
            f_min=40.0,
            f_max=f_max,
        ).numpy()
        mels = torch.linspace(float(hz_to_mel(torch.tensor(40.0))), float(hz_to_mel(torch.tensor(f_max))), n_mels + 2)
        freqs = mel_to_hz(mels[1:-1]).numpy()
        times = np.arange(spec.shape[1]) * hop / sample_rate
        top = spec.max()
        ax.pcolormesh(times, freqs, np.maximum(spec, top - 80), shading="auto", cmap="magma")
        duration_s = duration_s or len(x) / sample_rate
    for name, notes in tracks.items():
        colour = TRACK_COLOURS.get(name, "#00e5ff")
        for i, n in enumerate(notes):
            lo, hi = midi_to_hz(n.pitch - 0.4), midi_to_hz(n.pitch + 0.4)
            ax.fill_between(
                [n.start_s, n.end_s],
                lo,
                hi,
                facecolor=colour,
                alpha=0.9,
                edgecolor="black",
                lw=0.6,
                label=name if i == 0 and len(tracks) > 1 else None,
            )
    ax.set_yscale("log")
    ax.set_ylim(f_lo, f_hi)
    ticks = [36, 48, 60, 72, 84]
    ax.set_yticks(midi_to_hz(ticks))
    ax.set_yticklabels([f"C{p // 12 - 1}" for p in ticks])
    ax.minorticks_off()
    if duration_s:
        ax.set_xlim(0, duration_s)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    if len(tracks) > 1 and any(tracks.values()):
        ax.legend(loc="upper right", fontsize=8)
    if title and not bare:
        ax.set_title(title)
    with missing_glyphs_quiet():
        if bare:
            ax.set_axis_off()
        else:
            fig.tight_layout()
        if path is not None:
            fig.savefig(Path(path), dpi=100)
    return fig
