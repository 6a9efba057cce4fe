"""From frame / onset / offset activations to notes, and from notes to frame targets.

Decoding follows Onsets and Frames (Hawthorne et al. 2018): a note starts where the onset
activation peaks above ``onset_threshold`` and lasts while the frame activation stays above
``frame_threshold``, until its offset activation fires, or until another onset of the same pitch.
With ``monophonic=True`` (one voice at a time: a sung melody, a separated part) overlapping notes
are resolved in time order — a new note cuts the one sounding — and of two notes starting within
``merge_s`` the more confident one is kept (this removes octave doubles).
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
        d["start_s"], d["end_s"], d["confidence"] = (round(d["start_s"], 4), round(d["end_s"], 4),
                                                     round(d["confidence"], 3))
        return d


def note_targets(notes, n_frames: int, *, frame_rate: float, min_pitch: int, n_pitches: int,
                 start_frame: int = 0) -> np.ndarray:
    """Targets (3, n_frames, n_pitches) float32 — frame, onset, offset — for notes
    ``(pitch, onset_s, offset_s)`` seen from ``start_frame`` on (a crop of a longer example)."""
    y = np.zeros((3, n_frames, n_pitches), np.float32)
    for pitch, on, off in notes:
        p = int(pitch) - min_pitch
        if not 0 <= p < n_pitches:
            continue
        a = int(round(on * frame_rate)) - start_frame
        b = max(a + 1, int(round(off * frame_rate)) - start_frame)
        if b <= 0 or a >= n_frames:
            continue
        y[0, max(a, 0) : min(b, n_frames), p] = 1.0
        if 0 <= a < n_frames:
            y[1, a, p] = 1.0
        if 0 <= b < n_frames:
            y[2, b, p] = 1.0
    return y


def decode(frame: np.ndarray, onset: np.ndarray, offset: np.ndarray, *, frame_rate: float, min_pitch: int,
           onset_threshold: float = 0.5, frame_threshold: float = 0.5, offset_threshold: float = 0.5,
           min_note_s: float = 0.06, monophonic: bool = True, merge_s: float = 0.05) -> list[NoteEvent]:
    """Probabilities (frames, n_pitches) of the three heads → notes sorted by start time."""
    n_frames, n_pitches = frame.shape
    if n_frames == 0:
        return []
    prev = np.vstack([np.zeros((1, n_pitches)), onset[:-1]])
    nxt = np.vstack([onset[1:], np.zeros((1, n_pitches))])
    peaks = (onset >= onset_threshold) & (onset >= prev) & (onset > nxt)
    min_frames = max(1, int(round(min_note_s * frame_rate)))
    notes = []
    for t, p in zip(*np.nonzero(peaks)):
        end = t + 1
        while end < n_frames:
            if frame[end, p] < frame_threshold and onset[end, p] < onset_threshold:
                break
            if peaks[end, p] or (end - t >= min_frames and offset[end, p] >= offset_threshold):
                break
            end += 1
        if end - t < min_frames:
            continue
        conf = float(onset[t, p] * frame[t:end, p].mean())
        notes.append(NoteEvent(int(p) + min_pitch, t / frame_rate, end / frame_rate, confidence=conf))
    notes.sort(key=lambda n: (n.start_s, -n.confidence))
    return _monophonic(notes, merge_s=merge_s, min_note_s=min_note_s) if monophonic else notes


def _monophonic(notes: list[NoteEvent], *, merge_s: float, min_note_s: float) -> list[NoteEvent]:
    kept: list[NoteEvent] = []
    for n in notes:
        if kept and n.start_s - kept[-1].start_s < merge_s:
            if n.confidence > kept[-1].confidence:
                kept[-1] = n
            continue
        if kept and kept[-1].end_s > n.start_s:
            kept[-1].end_s = n.start_s
        kept.append(n)
    return [n for n in kept if n.end_s - n.start_s >= min_note_s * 0.5]


def pitch_bends(frame: np.ndarray, note: NoteEvent, *, frame_rate: float, min_pitch: int) -> list[tuple[float, float]]:
    """(time_s, semitones) deviations inside a note, from the frame activations around its pitch.

    The centroid of the activations one semitone below, at and above the note's pitch; a coarse,
    smooth pitch curve (vibrato, scoops), not a precise f0 tracker.
    """
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
