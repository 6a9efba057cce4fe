"""Band accompaniment for a chorale: piano, guitar, bass, strings and drums from its harmony, via FluidSynth.

The arrangement follows the chorale version's notes (same transposition and tempo as the sung
parts), so vocals rendered by ``render_singing`` sit in time and in tune over it:

- piano: block chords of the lower three parts, sometimes doubling the melody;
- guitar: eighth-note arpeggios of the chord sounding on each beat;
- bass: the bass line an octave down;
- strings: the inner voices, sustained;
- drums: kick / snare / hi-hat in 4/4 at the chorale's tempo.

Each instrument takes a random General MIDI patch of its family and is returned as its own stem,
so a mixer can drop instruments and draw gains later. Stems are loudness-normalised like the
renderers in ``render.py``.
"""

from __future__ import annotations

import shutil

import numpy as np

from ..errors import MissingDependencyError
from .chorales import Chorale
from .render import Version, fluidsynth_render, normalise, transposed

INSTRUMENTS = ("piano", "guitar", "bass", "strings", "drums")
# General MIDI programs (0-based) per instrument family
PROGRAMS = {
    "piano": (0, 1, 2, 4, 5),
    "guitar": (24, 25, 26, 27),
    "bass": (32, 33, 34, 35, 38),
    "strings": (48, 49, 50, 42, 89),
}
KICK, SNARE, HIHAT, OPEN_HAT, RIDE = 36, 38, 42, 46, 51


def _sounding(notes, q: float) -> int | None:
    for n in notes:
        if n.start_q <= q < n.start_q + n.dur_q:
            return n.pitch
    return None


def arrange(chorale: Chorale, version: Version, rng: np.random.Generator):
    """The arrangement as ``{instrument: [(pitch, start_q, end_q, velocity), ...]}`` (drums: GM keys)."""
    parts = {v: transposed(notes, version.transpose) for v, notes in chorale.parts.items()}
    out = {name: [] for name in INSTRUMENTS}
    lower = ("alto", "tenor", "bass") + (("soprano",) if rng.uniform() < 0.5 else ())
    for v in lower:
        out["piano"] += [(n.pitch, n.start_q, n.start_q + n.dur_q, int(rng.integers(60, 95))) for n in parts[v]]
    out["bass"] = [
        (n.pitch - 12 if n.pitch >= 40 else n.pitch, n.start_q, n.start_q + n.dur_q, int(rng.integers(80, 110)))
        for n in parts["bass"]
    ]
    for v in ("alto", "tenor"):
        merged = []  # tie repeated pitches so the strings sustain
        for n in parts[v]:
            if merged and merged[-1][0] == n.pitch and abs(merged[-1][2] - n.start_q) < 1e-6:
                merged[-1] = (n.pitch, merged[-1][1], n.start_q + n.dur_q, merged[-1][3])
            else:
                merged.append((n.pitch, n.start_q, n.start_q + n.dur_q, int(rng.integers(55, 85))))
        out["strings"] += merged
    pattern = rng.integers(3)
    for beat in range(int(np.ceil(chorale.length_q))):
        chord = sorted({p for v in ("bass", "tenor", "alto") if (p := _sounding(parts[v], beat + 0.01)) is not None})
        if chord:  # guitar range: fold into 48..72
            chord = sorted({48 + (p - 48) % 24 for p in chord})
            order = chord + chord[::-1][1:-1] if len(chord) > 2 else chord * 2
            for k in range(2):
                p = order[(2 * beat + k) % len(order)]
                out["guitar"].append((p, beat + 0.5 * k, beat + 0.5 * k + 0.9, int(rng.integers(60, 100))))
        bar_pos = beat % 4
        hits = [(HIHAT if pattern < 2 else RIDE, 0.0), (HIHAT if pattern < 2 else RIDE, 0.5)]
        hits.append((KICK, 0.0) if bar_pos in (0, 2) else (SNARE, 0.0))
        if pattern == 1 and bar_pos == 3:
            hits.append((OPEN_HAT, 0.5))
        out["drums"] += [(key, beat + off, beat + off + 0.25, int(rng.integers(70, 120))) for key, off in hits]
    return out


def render_arrangement(chorale: Chorale, version: Version, *, sample_rate: int) -> np.ndarray:
    """Render the accompaniment; returns (len(INSTRUMENTS), samples) float32, one stem per instrument.

    The length matches ``render_singing`` of the same version (``length_q * spq + 1`` seconds).
    """
    import pretty_midi

    if shutil.which("fluidsynth") is None:
        raise MissingDependencyError("fluidsynth not found: apt-get install fluidsynth fluid-soundfont-gm")
    rng = np.random.default_rng(version.seed + 3)
    spq = version.seconds_per_quarter
    length_s = chorale.length_q * spq + 1.0
    slot_s = length_s + 2.0  # instruments one after another in one file: one FluidSynth call
    pm = pretty_midi.PrettyMIDI(initial_tempo=60.0 / spq)
    for i, (name, notes) in enumerate(arrange(chorale, version, rng).items()):
        drums = name == "drums"
        inst = pretty_midi.Instrument(program=0 if drums else int(rng.choice(PROGRAMS[name])), is_drum=drums, name=name)
        for pitch, s, e, vel in notes:
            start = i * slot_s + s * spq
            inst.notes.append(pretty_midi.Note(velocity=vel, pitch=int(pitch), start=start, end=i * slot_s + e * spq))
        pm.instruments.append(inst)
    audio = fluidsynth_render(pm, sample_rate)
    n, slot = int(round(length_s * sample_rate)), int(round(slot_s * sample_rate))
    stems = np.zeros((len(INSTRUMENTS), n), dtype=np.float32)
    for i in range(len(INSTRUMENTS)):
        seg = audio[i * slot : i * slot + n]
        stems[i, : len(seg)] = seg
    return np.stack([normalise(s) for s in stems])
