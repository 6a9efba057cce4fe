"""Reference and learner pitch contours side by side, syllable by syllable, coloured by tone correctness.

Each syllable gets one slot on the x axis (its own time runs left to right inside the slot), so the
two voices line up syllable for syllable whatever their speed; the y axis is semitones relative to
each speaker's median, so a low and a high voice are comparable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OK_COLOUR, WRONG_COLOUR, REF_COLOUR = "#2e8b57", "#d62728", "#7f7f7f"


def contour_figure(result, *, title: str | None = None):
    """A matplotlib ``Figure``: grey reference contours, learner contours green (right) or red (wrong)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    n = len(result.syllables)
    fig = Figure(figsize=(max(5.0, 1.1 * n + 1.5), 3.4), constrained_layout=True)
    ax = fig.add_subplot(1, 1, 1)
    for i, s in enumerate(result.syllables):
        if i:
            ax.axvline(i, color="#dddddd", lw=0.8)
        ref = np.asarray(s.reference_contour_semitones, float)
        if len(ref):
            ax.plot(
                i + 0.1 + 0.8 * np.linspace(0, 1, len(ref)),
                ref,
                color=REF_COLOUR,
                lw=2,
                ls="--",
                label="reference" if i == 0 else None,
            )
        if s.contour_semitones:
            c = np.asarray(s.contour_semitones, float)
            colour = OK_COLOUR if s.tone_ok else WRONG_COLOUR
            ax.plot(i + 0.1 + 0.8 * np.linspace(0, 1, len(c)), c, color=colour, lw=2.5, label=None)
    ax.set_xlim(0, max(1, n))
    ax.set_xticks(np.arange(n) + 0.5)
    cjk = _cjk_font()
    labels = []
    for s in result.syllables:
        heard = "" if s.heard_tone is None else f"\nheard {s.heard_tone}"
        labels.append(f"{s.hanzi + chr(10) if cjk else ''}{s.marked} ({s.expected_tone}){heard}")
    ax.set_xticklabels(labels, fontsize=9, **({"fontfamily": cjk} if cjk else {}))
    ax.set_ylabel("semitones re. median")
    ax.axhline(0, color="#eeeeee", lw=0.8, zorder=0)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=REF_COLOUR, ls="--", lw=2, label="reference")]
    if any(s.contour_semitones for s in result.syllables):
        handles += [
            Line2D([], [], color=OK_COLOUR, lw=2.5, label="you: tone right"),
            Line2D([], [], color=WRONG_COLOUR, lw=2.5, label="you: tone wrong"),
        ]
    values = [v for s in result.syllables for v in (*s.reference_contour_semitones, *s.contour_semitones)]
    if values:  # room above the contours for the legend
        lo, hi = float(np.min(values)), float(np.max(values))
        ax.set_ylim(lo - 0.5, hi + 0.35 * (hi - lo) + 1.0)
    ax.legend(handles=handles, fontsize=8, loc="upper right", ncol=3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _cjk_font() -> str | None:
    """A CJK font's name when one is installed (without one, characters would be drawn as boxes and
    the labels show pinyin only)."""
    from matplotlib import font_manager

    keys = ("Noto Sans CJK", "Noto Serif CJK", "WenQuanYi", "AR PL", "Droid Sans Fallback", "Source Han")
    return next((f.name for f in font_manager.fontManager.ttflist if any(k in f.name for k in keys)), None)


def save_contour_figure(result, path: str | Path, *, title: str | None = None) -> Path:
    fig = contour_figure(result, title=title)
    fig.savefig(str(path), dpi=100)
    return Path(path)
