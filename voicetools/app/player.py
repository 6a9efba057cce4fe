"""The stem player: a spectrogram with a moving playhead over an ``<audio>`` element.

The spectrogram comes from the shared front-end (``voicetools.audio.frontend.log_mel_spectrogram``)
and is inlined as a PNG data URI, so the page needs no image files; the audio is a URL the server
serves. A small script (``PLAYER_JS``, run once by the ``gr.HTML`` that holds the players) moves a
vertical line across the image in step with ``audio.currentTime`` on every animation frame while a
stem plays, seeks when the image is clicked, and pauses the other stems when one starts.

Nothing here imports gradio: the HTML is plain text, so it is tested without a browser too.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np
import torch

from ..audio.frontend import log_mel_spectrogram

# magma-like colour map: (position, r, g, b), interpolated linearly
_ANCHORS = np.array([
    (0.00, 0, 0, 4), (0.13, 28, 16, 68), (0.25, 79, 18, 123), (0.38, 129, 37, 129), (0.50, 181, 54, 122),
    (0.63, 229, 80, 100), (0.75, 251, 135, 97), (0.88, 254, 194, 135), (1.00, 252, 253, 191)], dtype=np.float64)
_LUT = np.stack([np.interp(np.linspace(0, 1, 256), _ANCHORS[:, 0], _ANCHORS[:, i]) for i in (1, 2, 3)],
                axis=1).round().astype(np.uint8)


def spectrogram_db(audio, sample_rate: int, *, max_columns: int = 800, n_mels: int = 96,
                   f_max_hz: float | None = None) -> np.ndarray:
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


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode a (height, width, 3) uint8 array as PNG (zlib only, no imaging library)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def png_data_uri(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


def player_html(*, name: str, audio_url: str, image_uri: str, duration_s: float, download_name: str,
                title: str | None = None, below_image: str = "") -> str:
    """One stem: title and download link, spectrogram with playhead, and an ``<audio>`` player.

    ``below_image``: HTML placed between the spectrogram and the player, on the same time axis
    (e.g. the Diarize tab's speaker timeline)."""
    e = html.escape
    title = title or name.capitalize()
    return (
        f'<div class="vt-player" data-stem="{e(name)}" data-duration="{duration_s:.3f}">'
        f'<div class="vt-head"><span class="vt-name">{e(title)}</span>'
        f'<a class="vt-download" href="{e(audio_url)}" download="{e(download_name)}">Download {e(title)}</a></div>'
        f'<div class="vt-spec-wrap" title="Click to seek">'
        f'<img class="vt-spec" src="{image_uri}" alt="Spectrogram of the {e(name)} stem" draggable="false">'
        f'<div class="vt-playhead" style="left:0%"></div></div>{below_image}'
        f'<audio class="vt-audio" controls preload="metadata" src="{e(audio_url)}"></audio>'
        f'</div>')


def players_html(players: list[str], *, note: str = "") -> str:
    """The grid of players (one per stem), with an optional note above it."""
    head = f'<p class="vt-note">{html.escape(note)}</p>' if note else ""
    return f'{head}<div class="vt-players">{"".join(players)}</div>'


# Run once per page by gr.HTML(js_on_load=...): `element` is the component's root. Listeners are
# delegated (capture phase, since media events do not bubble), so re-rendered players need no setup.
PLAYER_JS = r"""
const place = (p) => {
  const a = p.querySelector('audio'), line = p.querySelector('.vt-playhead');
  if (!a || !line) return;
  const d = (isFinite(a.duration) && a.duration > 0) ? a.duration : parseFloat(p.dataset.duration) || 0;
  const f = d ? Math.max(0, Math.min(1, a.currentTime / d)) : 0;
  line.style.left = (100 * f).toFixed(3) + '%';
  line.dataset.fraction = f.toFixed(5);
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
['play', 'playing', 'pause', 'seeking', 'seeked', 'timeupdate', 'loadedmetadata', 'ended', 'emptied']
  .forEach((type) => element.addEventListener(type, kick, true));
element.addEventListener('play', (ev) => {
  element.querySelectorAll('.vt-player audio').forEach((a) => { if (a !== ev.target) a.pause(); });
}, true);
element.addEventListener('click', (ev) => {
  const img = ev.target.closest && ev.target.closest('.vt-spec-wrap');
  if (!img) return;
  const p = img.closest('.vt-player'), a = p.querySelector('audio');
  const d = (isFinite(a.duration) && a.duration > 0) ? a.duration : parseFloat(p.dataset.duration) || 0;
  const r = img.getBoundingClientRect();
  if (d && r.width) { a.currentTime = d * Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)); kick(); }
});
"""

# Scoped to the component by gr.HTML(css_template=...).
PLAYER_CSS = """
.vt-note { margin: 0 0 .5rem; opacity: .8; }
.vt-players { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: .75rem; }
.vt-player { border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px; padding: .5rem;
             display: flex; flex-direction: column; gap: .4rem; }
.vt-head { display: flex; justify-content: space-between; align-items: baseline; }
.vt-name { font-weight: 600; }
.vt-download { font-size: .85em; }
.vt-spec-wrap { position: relative; line-height: 0; cursor: pointer; }
.vt-spec { width: 100%; height: 140px; image-rendering: auto; border-radius: 4px; display: block; margin: 0; }
.vt-playhead { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; background: #fff;
               box-shadow: 0 0 3px #000; pointer-events: none; }
.vt-audio { width: 100%; }
"""
