"""Emotion extras: the mean log-mel of each emotion as one figure, and emotion tokens for transcripts.

>>> emotion_token("happy")
'<|emotion-happy|>'
>>> tag_transcript([{"start_s": 0.0, "end_s": 2.0, "text": "Hello there."}],
...                [{"start_s": 0.0, "end_s": 1.5, "label": "happy"}, {"start_s": 1.5, "end_s": 3.0, "label": "sad"}])
[{'start_s': 0.0, 'end_s': 2.0, 'text': '<|emotion-happy|> Hello there.', 'emotion': 'happy'}]
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .metrics import _pyplot


def emotion_token(label: str) -> str:
    """``<|emotion-<label>|>``, Whisper-style special-token spelling (lower case, no spaces)."""
    clean = re.sub(r"[^a-z0-9_]+", "-", str(label).strip().lower()).strip("-")
    if not clean:
        raise ParameterError(f"an emotion label needs letters or digits, got {label!r}")
    return f"<|emotion-{clean}|>"


def _get(seg, key):
    if isinstance(seg, dict):
        return seg[key] if key in seg else seg[{"start_s": "start", "end_s": "end"}.get(key, key)]
    return getattr(seg, key)


def tag_transcript(transcript: list, emotions: list) -> list[dict]:
    """Prefix every transcript segment's text with the token of the emotion overlapping it most.

    ``transcript``: dicts with ``start_s``/``end_s`` (or Whisper's ``start``/``end``) and ``text``.
    ``emotions``: ``SegmentLabel`` objects or dicts with ``start_s``, ``end_s`` and ``label`` (as
    ``classify(..., segments=True).segments`` gives). A segment no emotion overlaps keeps its text.
    """
    out = []
    for seg in transcript:
        s0, s1 = float(_get(seg, "start_s")), float(_get(seg, "end_s"))
        overlap: dict[str, float] = {}
        for e in emotions:
            ov = min(s1, float(_get(e, "end_s"))) - max(s0, float(_get(e, "start_s")))
            if ov > 0:
                overlap[_get(e, "label")] = overlap.get(_get(e, "label"), 0.0) + ov
        text = str(_get(seg, "text")).strip()
        row = {"start_s": s0, "end_s": s1, "text": text, "emotion": None}
        if overlap:
            label = max(overlap, key=overlap.get)
            row.update(text=f"{emotion_token(label)} {text}", emotion=label)
        out.append(row)
    return out


def format_tagged(transcript: list, emotions: list) -> str:
    """One line per segment: ``[0.00-2.00] <|emotion-happy|> Hello there.``"""
    return "\n".join(f"[{r['start_s']:.2f}-{r['end_s']:.2f}] {r['text']}" for r in tag_transcript(transcript, emotions))


def plot_mean_mels(mels: np.ndarray, y: np.ndarray, labels: list[str], path: str | Path, *, config=None) -> Path:
    """The mean log-mel (dB) of each label's clips side by side, one shared colour scale."""
    plt = _pyplot()
    present = [k for k in range(len(labels)) if np.any(y == k)]
    means = {k: mels[y == k].mean(0) for k in present}
    lo = min(float(np.percentile(m, 2)) for m in means.values())
    hi = max(float(m.max()) for m in means.values())
    cols = min(4, len(present))
    rows = int(np.ceil(len(present) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, constrained_layout=True)
    extent = None
    if config is not None:
        extent = [0, mels.shape[-1] * config.hop_length / config.sample_rate, 0, mels.shape[-2]]
    for ax, k in zip(axes.flat, present):
        im = ax.imshow(means[k], origin="lower", aspect="auto", vmin=lo, vmax=hi, cmap="magma", extent=extent)
        ax.set_title(f"{labels[k]} (n={int(np.sum(y == k))})", fontsize=9)
        ax.set_xlabel("s" if extent else "frame", fontsize=8)
        ax.set_ylabel("mel bin", fontsize=8)
    for ax in list(axes.flat)[len(present) :]:
        ax.axis("off")
    fig.colorbar(im, ax=axes.ravel().tolist(), label="dB", fraction=0.02)
    fig.suptitle("mean log-mel spectrogram per emotion", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
