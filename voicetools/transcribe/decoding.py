"""From pitch / onset / offset activations to notes, and from notes to training targets.

One voice sings one note at a time, so per frame the model gives a distribution over "no note" and
the pitches of its range, plus an onset and an offset probability. Decoding walks the frames: a
note starts where the voice becomes active, where the onset activation peaks above
``onset_threshold``, or where the most likely pitch changes and stays changed (a legato step
without a new attack); it ends where the voice stops, where the offset activation peaks, or where
the next note starts. A note's pitch is the most frequent frame pitch inside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class NoteEvent:
    """One note: MIDI ``pitch``, times in seconds, MIDI ``velocity`` (1–127), model ``confidence``."""

    pitch: int
    start_s: float
    end_s: float
    velocity: int = 80
    confidence: float = 1.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start_s"], d["end_s"], d["confidence"] = (
            round(d["start_s"], 4),
            round(d["end_s"], 4),
            round(d["confidence"], 3),
        )
        return d


def note_targets(
    notes, n_frames: int, *, frame_rate: float, min_pitch: int, n_pitches: int, start_frame: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets for notes ``(pitch, onset_s, offset_s)`` seen from ``start_frame`` on (a crop):
    pitch class per frame (n_frames,) int64 (0 = no note, i = ``min_pitch + i - 1``), and onset and
    offset (n_frames,) float32, 1 at the event's frame and 0.5 on the frames either side."""
    pitch = np.zeros(n_frames, np.int64)
    events = np.zeros((2, n_frames), np.float32)
    for p, on, off in notes:
        k = int(p) - min_pitch
        if not 0 <= k < n_pitches:
            continue
        a = int(round(on * frame_rate)) - start_frame
        b = max(a + 1, int(round(off * frame_rate)) - start_frame)
        if b <= 0 or a >= n_frames:
            continue
        pitch[max(a, 0) : min(b, n_frames)] = k + 1
        for row, t in ((0, a), (1, b)):
            for dt, v in ((-1, 0.5), (0, 1.0), (1, 0.5)):
                if 0 <= t + dt < n_frames:
                    events[row, t + dt] = max(events[row, t + dt], v)
    return pitch, events[0], events[1]


def _peaks(x: np.ndarray, threshold: float) -> np.ndarray:
    prev = np.concatenate([[0.0], x[:-1]])
    nxt = np.concatenate([x[1:], [0.0]])
    return (x >= threshold) & (x >= prev) & (x > nxt)


def decode(
    pitch_probs: np.ndarray,
    onset: np.ndarray,
    offset: np.ndarray,
    *,
    frame_rate: float,
    min_pitch: int,
    onset_threshold: float = 0.5,
    frame_threshold: float = 0.5,
    offset_threshold: float = 0.5,
    min_note_s: float = 0.06,
    stable_frames: int = 3,
) -> list[NoteEvent]:
    """Probabilities — pitch (frames, 1 + n_pitches), onset (frames,), offset (frames,) — → notes."""
    n = len(pitch_probs)
    if n == 0:
        return []
    voiced = 1.0 - pitch_probs[:, 0]
    best = pitch_probs[:, 1:].argmax(1)
    on_peak, off_peak = _peaks(onset, onset_threshold), _peaks(offset, offset_threshold)
    min_frames = max(1, int(round(min_note_s * frame_rate)))
    segments, start = [], None
    for t in range(n + 1):
        active = t < n and voiced[t] >= frame_threshold
        if start is not None:
            held = t - start
            changed = (
                active
                and held >= min_frames
                and best[t] != _mode(best[start:t])
                and t + stable_frames <= n
                and (best[t : t + stable_frames] == best[t]).all()
            )
            if not active or (held >= min_frames and (on_peak[t] or off_peak[t] or changed)):
                segments.append((start, t))
                start = None
        if start is None and active and not (t < n and off_peak[t] and not on_peak[t]):
            start = t
    notes = []
    for a, b in segments:
        if b - a < min_frames:
            continue
        k = _mode(best[a:b])
        conf = float(pitch_probs[a:b, 1 + k].mean())
        notes.append(NoteEvent(int(k) + min_pitch, a / frame_rate, b / frame_rate, confidence=conf))
    return notes


def _mode(x: np.ndarray) -> int:
    return int(np.bincount(x).argmax())


def pitch_bends(
    pitch_probs: np.ndarray, note: NoteEvent, *, frame_rate: float, min_pitch: int
) -> list[tuple[float, float]]:
    """(time_s, semitones) deviations inside a note, from the pitch probabilities around its pitch.

    The centroid of the probabilities one semitone below, at and above the note's pitch; a coarse,
    smooth pitch curve (vibrato, scoops), not a precise f0 tracker.
    """
    frame = pitch_probs[:, 1:]
    p = note.pitch - min_pitch
    a, b = int(round(note.start_s * frame_rate)), int(round(note.end_s * frame_rate))
    lo, hi = max(p - 1, 0), min(p + 2, frame.shape[1])
    seg = frame[a:b, lo:hi]
    if seg.size == 0:
        return []
    offsets = np.arange(lo, hi) - p
    dev = (seg * offsets).sum(1) / (seg.sum(1) + 1e-6)
    dev = np.convolve(dev, np.ones(3) / 3, mode="same")
    return [(float((a + i) / frame_rate), float(np.clip(d, -1.0, 1.0))) for i, d in enumerate(dev)]
