"""The result player: a plot (spectrogram or piano roll, with time and frequency/pitch axes) with a
moving playhead over it, download links, and an ``<audio>`` element.

Plots are drawn with matplotlib (``Figure`` objects, never pyplot: handlers run in server threads)
and inlined as PNG data URIs, so the page needs no image files; the audio is a URL the server serves.
Each plot knows where its time axis lies in the image (``Plot.box``), and the playhead is placed
inside that box, so it lines up with the axis at any width. A small script (``PLAYER_JS``, run once
by the ``gr.HTML`` that holds the players) moves the playhead in step with ``audio.currentTime``,
seeks on a click or with the keyboard (the plot is a focusable slider), and pauses the other players
when one starts.

Nothing here imports gradio: the HTML is plain text, so it is tested without a browser too.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..audio.frontend import hz_to_mel, log_mel_spectrogram

# magma-like colour map: (position, r, g, b), interpolated linearly
_ANCHORS = np.array(
    [
        (0.00, 0, 0, 4),
        (0.13, 28, 16, 68),
        (0.25, 79, 18, 123),
        (0.38, 129, 37, 129),
        (0.50, 181, 54, 122),
        (0.63, 229, 80, 100),
        (0.75, 251, 135, 97),
        (0.88, 254, 194, 135),
        (1.00, 252, 253, 191),
    ],
    dtype=np.float64,
)
_LUT = (
    np.stack([np.interp(np.linspace(0, 1, 256), _ANCHORS[:, 0], _ANCHORS[:, i]) for i in (1, 2, 3)], axis=1)
    .round()
    .astype(np.uint8)
)

DPI = 100
TEXT_COLOUR = "#334155"
# plot widths in pixels: a stem in the two-column grid, and a plot that has the page's width
NARROW_PX, WIDE_PX = 640, 1180
NOTE_NAMES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")


def spectrogram_db(
    audio, sample_rate: int, *, max_columns: int = 800, n_mels: int = 96, f_max_hz: float | None = None
) -> np.ndarray:
    """Log-mel spectrogram for display, shape (n_mels, columns ≤ max_columns), in dB.

    audio : array or tensor shaped (time,) or (1, time). Long inputs use a wider hop and average
    neighbouring frames, so the cost stays bounded (a few thousand frames) for any length.
    """
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32)).reshape(-1)
    n_fft = 2 ** max(8, round(math.log2(sample_rate * 0.064)))
    if x.numel() < n_fft:
        x = torch.nn.functional.pad(x, (0, n_fft - x.numel()))
    hop = max(n_fft // 4, math.ceil(x.numel() / (max_columns * 4)))
    f_max = min(f_max_hz or sample_rate / 2, sample_rate / 2)
    db = log_mel_spectrogram(x, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_max=f_max)
    if db.shape[-1] > max_columns:
        db = torch.nn.functional.adaptive_avg_pool1d(db[None], max_columns)[0]
    return db.numpy()


def spectrogram_rgb(db: np.ndarray, *, ref_db: float | None = None, top_db: float = 80.0) -> np.ndarray:
    """Colour a (n_mels, columns) dB array: (height, width, 3) uint8, low frequencies at the bottom.

    ``ref_db`` is the level drawn brightest (default: this array's max); ``top_db`` below it is black.
    Give several stems the same ``ref_db`` so a quiet stem looks quiet.
    """
    ref = float(db.max()) if ref_db is None else float(ref_db)
    v = np.clip((db - (ref - top_db)) / top_db, 0.0, 1.0)
    return _LUT[(v[::-1] * 255).round().astype(np.uint8)]


# ---- plots with axes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plot:
    """A rendered plot: PNG data URI, its alt text, its size in pixels, and ``box`` — where the time
    axis runs in the image, as fractions (left, top, width, height) — so HTML laid over it lines up."""

    uri: str
    alt: str
    width: int
    height: int
    box: tuple[float, float, float, float]

    @property
    def left_pct(self) -> float:
        return 100.0 * self.box[0]

    @property
    def width_pct(self) -> float:
        return 100.0 * self.box[2]


def _figure(width_px: int, height_px: int, margins_px: tuple[int, int, int, int]):
    """A figure with one axes at fixed pixel margins (left, right, top, bottom): the axes' box is
    known exactly, so the playhead can be placed over it."""
    from matplotlib.figure import Figure

    left, right, top, bottom = margins_px
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    box = (left / width_px, top / height_px, 1 - (left + right) / width_px, 1 - (top + bottom) / height_px)
    ax = fig.add_axes((box[0], 1 - box[1] - box[3], box[2], box[3]))
    return fig, ax, box


def _style(ax, duration_s: float, *, time_labels: bool = True, time_on_top: bool = False) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_xlim(0, max(duration_s, 1e-3))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} s"))
    ax.tick_params(labelsize=9, colors=TEXT_COLOUR, length=3)
    if time_on_top:
        ax.xaxis.tick_top()
    if not time_labels:
        ax.tick_params(axis="x", labelbottom=False, labeltop=False)
    for side in ax.spines.values():
        side.set_color("#94a3b8")


def _encode(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _hz_label(f: float) -> str:
    return f"{f / 1000:g} kHz" if f >= 1000 else f"{f:g} Hz"


def spectrogram_plot(
    db: np.ndarray,
    *,
    duration_s: float,
    f_max_hz: float,
    what: str,
    ref_db: float | None = None,
    width_px: int = NARROW_PX,
    height_px: int = 230,
    left_px: int = 58,
    time_on_top: bool = False,
) -> Plot:
    """A ``spectrogram_db`` array drawn with a time axis (s) and a frequency axis (Hz, on the mel
    scale it was computed on). ``what`` names it in the alt text ("the soprano stem")."""
    n_mels = db.shape[0]
    margins = (left_px, 12, 26 if time_on_top else 8, 6 if time_on_top else 24)
    fig, ax, box = _figure(width_px, height_px, margins)
    ax.imshow(
        spectrogram_rgb(db, ref_db=ref_db),
        aspect="auto",
        extent=(0, max(duration_s, 1e-3), 0, n_mels),
        interpolation="bilinear",
    )
    # bin i is centred on the (i + 1)-th of n_mels + 2 equally spaced mels from 0 Hz to f_max
    top_mel = float(hz_to_mel(torch.tensor(float(f_max_hz))))
    step = top_mel / (n_mels + 1)
    ticks = [f for f in (100, 250, 500, 1000, 2000, 4000, 8000, 16000) if f <= f_max_hz * 1.001]
    ax.set_yticks([float(hz_to_mel(torch.tensor(float(f)))) / step - 0.5 for f in ticks])
    ax.set_yticklabels([_hz_label(f) for f in ticks])
    ax.set_ylim(0, n_mels)
    _style(ax, duration_s, time_on_top=time_on_top)
    uri = _encode(fig)
    alt = (
        f"Spectrogram of {what}: time from 0 to {duration_s:.1f} s across, frequency from 0 to "
        f"{_hz_label(f_max_hz)} up; brighter is louder."
    )
    return Plot(uri, alt, width_px, height_px, box)


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _pitch_range(tracks: dict) -> tuple[int, int]:
    """The pitches shown: every note with two semitones to spare, and at least an octave and a half."""
    pitches = [int(round(n.pitch)) for notes in tracks.values() for n in notes]
    lo, hi = (min(pitches) - 2, max(pitches) + 2) if pitches else (55, 72)
    while hi - lo < 18:
        lo, hi = lo - 1, hi + 1
    return max(lo, 12), min(hi, 120)


def piano_roll_plot(
    tracks: dict,
    *,
    audio=None,
    sample_rate: int | None = None,
    duration_s: float,
    colours: dict | None = None,
    width_px: int = WIDE_PX,
) -> Plot:
    """Notes as bars on a keyboard axis (a piano keyboard and every C named), over the spectrogram of
    ``audio`` (mono) mapped onto the same pitch axis; a legend names the tracks when there are several.

    ``tracks`` maps a track name to notes with ``pitch``, ``start_s``, ``end_s``. Each semitone gets
    at least 9 px, so note bars stay readable.
    """
    from matplotlib.patches import Patch, Rectangle

    colours = colours or {}
    lo, hi = _pitch_range(tracks)
    rows = hi - lo + 1
    several = len(tracks) > 1
    top = 34 if several else 10
    height_px = int(np.clip(rows * 11, 260, 620)) + top + 26
    fig, ax, box = _figure(width_px, height_px, (70, 12, top, 26))
    ax.set_facecolor("#0f172a")
    if audio is not None and sample_rate:
        x = torch.as_tensor(np.asarray(audio, dtype=np.float32)).reshape(-1)
        f_lo, f_hi = 440.0 * 2 ** ((lo - 1 - 69) / 12), min(440.0 * 2 ** ((hi + 1 - 69) / 12), sample_rate / 2 - 1)
        n_fft = 4096 if sample_rate > 24000 else 2048
        x = torch.nn.functional.pad(x, (0, max(0, n_fft - x.numel())))
        hop = max(sample_rate // 100, math.ceil(x.numel() / 3000))
        n_mels = 3 * rows
        db = log_mel_spectrogram(
            x, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_min=f_lo, f_max=f_hi
        ).numpy()
        # each mel bin's centre frequency, as a (fractional) MIDI pitch; then resample rows onto pitch
        m_lo, m_hi = (float(hz_to_mel(torch.tensor(f))) for f in (f_lo, f_hi))
        centres_mel = np.linspace(m_lo, m_hi, n_mels + 2)[1:-1]
        centres_hz = 700.0 * (10 ** (centres_mel / 2595.0) - 1.0)
        centres_pitch = 69 + 12 * np.log2(centres_hz / 440.0)
        grid = np.linspace(lo - 0.5, hi + 0.5, 4 * rows)
        idx = np.interp(grid, centres_pitch, np.arange(n_mels))
        i0 = np.floor(idx).astype(int).clip(0, n_mels - 1)
        i1 = (i0 + 1).clip(0, n_mels - 1)
        w = (idx - i0)[:, None]
        img = (1 - w) * db[i0] + w * db[i1]
        ref = float(img.max())
        v = np.clip((img - (ref - 70.0)) / 70.0, 0.0, 1.0)
        ax.imshow(
            v,
            cmap="magma",
            origin="lower",
            aspect="auto",
            vmin=0,
            vmax=2.0,
            interpolation="bilinear",
            extent=(0, len(x) / sample_rate, lo - 0.5, hi + 0.5),
        )
    # a faint line between octaves, so a note can be followed across to the keyboard
    for p in range(lo, hi + 1):
        if p % 12 == 0:
            ax.axhline(p - 0.5, color="#cbd5e1", lw=0.6, alpha=0.35)
    for name, notes in tracks.items():
        c = colours.get(name, "#22d3ee")
        for n in notes:
            ax.add_patch(
                Rectangle(
                    (n.start_s, n.pitch - 0.42),
                    max(n.end_s - n.start_s, 0.01),
                    0.84,
                    facecolor=c,
                    edgecolor="#0f172a",
                    lw=0.8,
                )
            )
    ax.set_ylim(lo - 0.5, hi + 0.5)
    ax.set_yticks([])
    _style(ax, duration_s)
    # the keyboard: a strip of keys just left of the plot, every C named beside it
    kb = fig.add_axes((box[0] - 22 / width_px, 1 - box[1] - box[3], 20 / width_px, box[3]))
    kb.set_xlim(0, 1)
    kb.set_ylim(lo - 0.5, hi + 0.5)
    for p in range(lo, hi + 1):
        black = p % 12 in (1, 3, 6, 8, 10)
        kb.add_patch(
            Rectangle(
                (0, p - 0.5),
                1 if not black else 0.62,
                1,
                facecolor="#1e293b" if black else "white",
                edgecolor="#94a3b8",
                lw=0.4,
            )
        )
    cs = [p for p in range(lo, hi + 1) if p % 12 == 0]
    kb.set_yticks(cs)
    kb.set_yticklabels([note_name(p) for p in cs])
    kb.set_xticks([])
    kb.tick_params(labelsize=9, colors=TEXT_COLOUR, length=0, pad=5)
    for side in kb.spines.values():
        side.set_visible(False)
    if several:
        handles = [
            Patch(facecolor=colours.get(n, "#22d3ee"), edgecolor="#0f172a", label=f"{n} ({len(v)} notes)")
            for n, v in tracks.items()
        ]
        fig.legend(
            handles=handles,
            loc="upper right",
            bbox_to_anchor=(1 - 12 / width_px, 1 - 4 / height_px),
            ncol=len(handles),
            fontsize=9,
            frameon=False,
            handlelength=1.2,
            columnspacing=1.4,
            labelcolor=TEXT_COLOUR,
        )
    uri = _encode(fig)
    n_notes = sum(len(v) for v in tracks.values())
    parts = ", ".join(f"{name} {len(v)}" for name, v in tracks.items())
    alt = (
        f"Piano roll of {n_notes} transcribed notes ({parts}), pitch {note_name(lo)} to {note_name(hi)} on a "
        f"keyboard axis, time from 0 to {duration_s:.1f} s across, drawn over the input's spectrogram."
    )
    return Plot(uri, alt, width_px, height_px, box)


# ---- HTML ----------------------------------------------------------------------------------------


def format_size(n_bytes: int) -> str:
    """``94 KB``, ``2.9 MB``: file sizes in link names."""
    if n_bytes >= 10**6:
        return f"{n_bytes / 10**6:.1f} MB"
    return f"{max(1, round(n_bytes / 1000))} KB"


@dataclass(frozen=True)
class Download:
    """A download link: its visible (and accessible) text, the URL and the saved file's name."""

    text: str
    url: str
    filename: str

    def html(self, cls: str = "vt-download") -> str:
        e = html.escape
        return f'<a class="{cls}" href="{e(self.url)}" download="{e(self.filename)}">{e(self.text)}</a>'


def ruler_html(duration_s: float) -> str:
    """Time ticks (in s) for an HTML strip that spans the clip, 0 at its left edge and the end at its right."""
    step = next((s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300) if duration_s / s <= 8), 600)
    ticks = np.arange(0.0, duration_s + 1e-9, step)
    marks = "".join(
        f'<span style="position:absolute;left:{100 * t / duration_s:.3f}%;'
        f'transform:translateX({0 if t == 0 else -50}%)">{t:g} s</span>'
        for t in ticks
    )
    return f'<div class="vt-ruler" style="position:relative;height:1.3em;font-size:11px;opacity:.8">{marks}</div>'


def track_html(box: Plot, inner: str = "") -> str:
    """A strip on the plot's time axis (same left edge and width as the plot's axes), holding a
    playhead: the Diarize tab's speaker rows use it so the playhead runs over them too."""
    return (
        f'<div class="vt-track vt-rows" style="margin-left:{box.left_pct:.3f}%;width:{box.width_pct:.3f}%">'
        f'{inner}<div class="vt-playhead" style="left:0%"></div></div>'
    )


def player_html(
    *,
    name: str,
    title: str,
    audio_url: str,
    plot: Plot,
    duration_s: float,
    audio_label: str,
    downloads: list[Download] = (),
    caption: str = "",
    below_plot: str = "",
) -> str:
    """One player: title, download links, an optional one-line caption, the plot with its playhead
    (a slider for the keyboard too), whatever shares its time axis (``below_plot``), the audio."""
    e = html.escape
    left, top, width, height = (100 * v for v in plot.box)
    links = "".join(d.html() for d in downloads)
    cap = f'<div class="vt-caption" title="{e(caption)}">{e(caption)}</div>' if caption else ""
    return (
        f'<div class="vt-player" data-stem="{e(name)}" data-duration="{duration_s:.3f}">'
        f'<div class="vt-head"><span class="vt-name">{e(title)}</span><span class="vt-links">{links}</span></div>'
        f"{cap}"
        f'<div class="vt-spec-wrap" tabindex="0" role="slider" aria-label="Playback position: {e(title)}" '
        f'aria-valuemin="0" aria-valuemax="{duration_s:.1f}" aria-valuenow="0" '
        f'aria-valuetext="0.0 s of {duration_s:.1f} s" title="Click to jump there; or focus and use the arrow keys">'
        f'<div class="vt-plot"><img class="vt-spec" src="{plot.uri}" alt="{e(plot.alt)}" width="{plot.width}" '
        f'height="{plot.height}" draggable="false">'
        f'<div class="vt-track" style="left:{left:.3f}%;top:{top:.3f}%;width:{width:.3f}%;height:{height:.3f}%">'
        f'<div class="vt-playhead" style="left:0%"></div></div></div>{below_plot}</div>'
        f'<audio class="vt-audio" controls preload="metadata" src="{e(audio_url)}" aria-label="{e(audio_label)}">'
        f"</audio></div>"
    )


def players_html(players: list[str], *, note: str = "", links: list[Download] = ()) -> str:
    """The grid of players, with an optional note and links (e.g. the zip of all stems) above it."""
    head = f'<p class="vt-note">{html.escape(note)}</p>' if note else ""
    if links:
        head += '<p class="vt-all">' + " ".join(d.html("vt-download vt-zip") for d in links) + "</p>"
    return f'{head}<div class="vt-players">{"".join(players)}</div>'


def placeholder_html(text: str) -> str:
    return f'<p class="vt-note vt-placeholder">{html.escape(text)}</p>'


# Run once per page by gr.HTML(js_on_load=...): `element` is the component's root. Listeners are
# delegated (capture phase, since media events do not bubble), so re-rendered players need no setup.
PLAYER_JS = r"""
const length = (p, a) => (isFinite(a.duration) && a.duration > 0) ? a.duration : parseFloat(p.dataset.duration) || 0;
const place = (p) => {
  const a = p.querySelector('audio');
  if (!a) return;
  const d = length(p, a), f = d ? Math.max(0, Math.min(1, a.currentTime / d)) : 0;
  p.querySelectorAll('.vt-playhead').forEach((line) => {
    line.style.left = (100 * f).toFixed(3) + '%';
    line.dataset.fraction = f.toFixed(5);
  });
  const s = p.querySelector('.vt-spec-wrap');
  if (s) {
    s.setAttribute('aria-valuenow', a.currentTime.toFixed(1));
    s.setAttribute('aria-valuetext', a.currentTime.toFixed(1) + ' s of ' + d.toFixed(1) + ' s');
  }
};
let frame = null;
const tick = () => {
  let playing = false;
  element.querySelectorAll('.vt-player').forEach((p) => {
    place(p);
    const a = p.querySelector('audio');
    if (a && !a.paused && !a.ended) playing = true;
  });
  frame = playing ? requestAnimationFrame(tick) : null;
};
const kick = () => { if (frame === null) frame = requestAnimationFrame(tick); };
const seek = (p, t) => {
  const a = p.querySelector('audio'), d = length(p, a);
  if (d) { a.currentTime = Math.max(0, Math.min(d, t)); place(p); kick(); }
};
['play', 'playing', 'pause', 'seeking', 'seeked', 'timeupdate', 'loadedmetadata', 'ended', 'emptied']
  .forEach((type) => element.addEventListener(type, kick, true));
element.addEventListener('play', (ev) => {
  element.querySelectorAll('.vt-player audio').forEach((a) => { if (a !== ev.target) a.pause(); });
}, true);
element.addEventListener('click', (ev) => {
  const wrap = ev.target.closest && ev.target.closest('.vt-spec-wrap');
  if (!wrap) return;
  const p = wrap.closest('.vt-player');
  // the time axis under the click: the plot's, or a strip that shares it (e.g. speaker rows)
  const tracks = [...wrap.querySelectorAll('.vt-track')];
  const hit = tracks.find((t) => {
    const r = t.getBoundingClientRect();
    return ev.clientY >= r.top && ev.clientY <= r.bottom;
  });
  const r = (hit || tracks[0]).getBoundingClientRect();
  if (r.width) seek(p, length(p, p.querySelector('audio')) * Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)));
});
element.addEventListener('keydown', (ev) => {
  const wrap = ev.target.closest && ev.target.closest('.vt-spec-wrap');
  if (!wrap || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const p = wrap.closest('.vt-player'), a = p.querySelector('audio'), d = length(p, a);
  const step = ev.shiftKey ? 10 : Math.max(1, Math.round(d / 40));
  const to = {ArrowRight: a.currentTime + step, ArrowUp: a.currentTime + step, ArrowLeft: a.currentTime - step,
              ArrowDown: a.currentTime - step, PageUp: a.currentTime + d / 10, PageDown: a.currentTime - d / 10,
              Home: 0, End: d}[ev.key];
  if (to !== undefined) { seek(p, to); ev.preventDefault(); }
  else if (ev.key === ' ' || ev.key === 'Enter') { if (a.paused) a.play(); else a.pause(); ev.preventDefault(); }
});
"""

# Scoped to the component by gr.HTML(css_template=...).
PLAYER_CSS = """
.vt-note { margin: 0 0 .5rem; }
.vt-placeholder { opacity: .75; }
.vt-all { margin: 0 0 .6rem; }
.vt-zip { font-weight: 600; font-size: 1em; }
.vt-players { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: .75rem; }
.vt-player { border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px; padding: .5rem;
             display: flex; flex-direction: column; gap: .35rem; min-width: 0; }
.vt-head { display: flex; justify-content: space-between; align-items: baseline; gap: .75rem; min-width: 0; }
.vt-name { font-weight: 600; white-space: nowrap; }
.vt-links { display: flex; gap: .75rem; flex-wrap: wrap; justify-content: flex-end; }
.vt-download { font-size: .9em; color: var(--link-text-color, #1d4ed8); text-decoration: underline; }
.vt-caption { font-size: .9em; opacity: .8; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.vt-spec-wrap { position: relative; cursor: pointer; border-radius: 4px; }
.vt-spec-wrap:focus-visible { outline: 3px solid var(--color-accent, #4f46e5); outline-offset: 2px; }
.vt-plot { position: relative; line-height: 0; }
.vt-spec { width: 100%; height: auto; display: block; margin: 0; border-radius: 4px; }
.vt-track { position: absolute; pointer-events: none; }
.vt-rows { position: relative; pointer-events: auto; }
.vt-playhead { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; background: #fff;
               box-shadow: 0 0 2px 1px rgba(15, 23, 42, .8); pointer-events: none; }
.vt-audio { width: 100%; }
"""
