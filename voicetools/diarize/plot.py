"""The diarization timeline as a PNG: one row per speaker, a coloured bar per turn."""

from __future__ import annotations

from pathlib import Path

from ..audio.plot import missing_glyphs_quiet

COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")


def speaker_colour(speakers: list[str], speaker: str) -> str:
    return COLOURS[speakers.index(speaker) % len(COLOURS)]


def plot_timeline(result, path, *, title: str | None = None) -> Path:
    """One row per speaker, a bar per turn, written as a PNG to ``path``."""
    import matplotlib  # slow to import: only when a picture is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speakers = result.speakers
    rows = max(1, len(speakers))
    fig, ax = plt.subplots(figsize=(min(24, 4 + result.duration_s / 10), 0.6 + 0.45 * rows), dpi=100)
    for i, spk in enumerate(speakers):
        bars = [(t.start_s, t.duration_s) for t in result.turns if t.speaker == spk]
        ax.broken_barh(bars, (rows - 1 - i - 0.4, 0.8), facecolors=speaker_colour(speakers, spk))
    ax.set_yticks(range(rows), list(reversed(speakers)) if speakers else ["(no speech)"])
    ax.set_xlim(0, max(result.duration_s, 1e-3))
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    with missing_glyphs_quiet():
        fig.tight_layout()
        fig.savefig(path, format="png")
    plt.close(fig)
    return Path(path)
