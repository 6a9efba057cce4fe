"""Writers for transcriptions: MIDI (all or nothing), a JSON note list, and quantisation to a tempo grid."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..files import atomic_output
from .decoding import NoteEvent

# General MIDI programs (0-based) for the tracks: choir aahs for the parts, voice oohs for a melody.
PROGRAMS = {"melody": 53, "soprano": 52, "alto": 52, "tenor": 52, "bass": 52}


def parse_grid(quantize: str) -> Fraction:
    """``"1/16"`` → 1/16 of a whole note; refuses anything but 1/1 … 1/64 and triplets like ``1/12``."""
    try:
        grid = Fraction(quantize)
    except (ValueError, ZeroDivisionError):
        raise ParameterError(f"--quantize (quantize in Python) must look like 1/8 or 1/16, got {quantize!r}") from None
    if grid.numerator != 1 or not 1 <= grid.denominator <= 64:
        raise ParameterError(f"--quantize (quantize in Python) must be 1/1 … 1/64 (e.g. 1/16), got {quantize!r}")
    return grid


def estimate_tempo(notes: list[NoteEvent]) -> float:
    """Beats per minute from note onsets (inter-onset intervals folded into 60–180 BPM); 120 without notes."""
    onsets = np.array(sorted(n.start_s for n in notes))
    if len(onsets) < 3:
        return 120.0
    iois = np.diff(onsets)
    iois = iois[iois > 0.08]
    if not len(iois):
        return 120.0
    best, best_score = 120.0, -1.0
    for bpm in np.arange(60.0, 180.5, 0.5):  # how well the onsets fall on some subdivision of this beat
        beat = 60.0 / bpm
        score = 0.0
        for div in (1, 2, 4):
            phase = 2 * np.pi * iois / (beat / div)
            score += np.mean(np.cos(phase)) / div
        if score > best_score:
            best, best_score = float(bpm), score
    return best


def quantize_notes(notes: list[NoteEvent], *, tempo_bpm: float, grid: Fraction) -> list[NoteEvent]:
    """Snap starts and ends to ``grid`` (fraction of a whole note) at ``tempo_bpm``; the grid starts at
    the first onset. Notes keep at least one grid step."""
    if not notes:
        return []
    step = 60.0 / tempo_bpm * 4 * float(grid)
    t0 = min(n.start_s for n in notes)
    out = []
    for n in notes:
        a = t0 + round((n.start_s - t0) / step) * step
        b = t0 + max(round((n.end_s - t0) / step) * step, (round((a - t0) / step) + 1) * step)
        out.append(NoteEvent(n.pitch, a, b, n.velocity, n.confidence))
    return out


def to_pretty_midi(
    tracks: dict[str, list[NoteEvent]], *, tempo_bpm: float = 120.0, bends: dict[str, list] | None = None
):
    """One named instrument per track; ``bends[track]`` holds (time_s, semitones) pitch-bend points."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo_bpm))
    for name, notes in tracks.items():
        inst = pretty_midi.Instrument(program=PROGRAMS.get(name, 53), name=name)
        for n in notes:
            inst.notes.append(
                pretty_midi.Note(
                    velocity=int(n.velocity), pitch=int(n.pitch), start=float(n.start_s), end=float(n.end_s)
                )
            )
        for t, semis in (bends or {}).get(name, []):  # default bend range: ±2 semitones
            inst.pitch_bends.append(pretty_midi.PitchBend(int(np.clip(semis / 2 * 8191, -8192, 8191)), float(t)))
        pm.instruments.append(inst)
    return pm


def write_midi(pm, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a PrettyMIDI to ``path`` through a temp file in the same folder: a file appears whole or not at
    all, with the usual permissions; a missing folder is created (``voicetools.outputs``)."""
    p = Path(path)
    with atomic_output(p, overwrite=overwrite) as tmp:
        pm.write(str(tmp))
    return p
