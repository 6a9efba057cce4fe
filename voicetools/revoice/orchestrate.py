"""Re-orchestration through MIDI: transcribe a part to notes, then play them with a General MIDI
program (FluidSynth + FluidR3_GM) or sing them with the project's singing synthesizer.

The notes come from the transcription model (``voicetools transcribe``'s ``Voice2Midi``), so
timing and dynamics (velocities from attack loudness) follow the part; the pitch is the note's,
without the singer's vibrato or glides.
"""

from __future__ import annotations

import shutil

import numpy as np
import torch

from ..data.render import fluidsynth_render
from ..errors import MissingDependencyError

RENDER_SR = 22050
BEND_RANGE = 2.0  # semitones: the General MIDI default pitch-bend range
FILL_S = 0.1  # a stretch of the part's track this long that no transcribed note covers gets a note


def render_notes(events, program: int, sample_rate: int, length_s: float, bends=()) -> np.ndarray:
    """``events`` (pitch, start_s, end_s, velocity) played by GM ``program`` → mono float32 of ``length_s``;
    ``bends`` (time_s, semitones within ±``BEND_RANGE``) are the channel's pitch-bend messages."""
    import pretty_midi

    if shutil.which("fluidsynth") is None:
        raise MissingDependencyError("fluidsynth is needed for gm:<program> targets: "
                                     "apt-get install fluidsynth fluid-soundfont-gm")
    n = int(round(length_s * sample_rate))
    if not events:
        return np.zeros(n, np.float32)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=int(program))
    for p, s, e, v in events:
        if e > s and 0 <= p <= 127:
            inst.notes.append(pretty_midi.Note(velocity=int(np.clip(v, 1, 127)), pitch=int(p), start=float(s), end=float(e)))
    for t, b in bends:
        inst.pitch_bends.append(pretty_midi.PitchBend(int(round(np.clip(b / BEND_RANGE, -1, 1) * 8191)), float(t)))
    pm.instruments.append(inst)
    x = fluidsynth_render(pm, sample_rate, gain=1.0, render_sr=RENDER_SR)
    return np.pad(x, (0, max(0, n - len(x))))[:n].astype(np.float32)


def sing_notes(events, voice: str, sample_rate: int, length_s: float, *, seed: int = 0) -> np.ndarray:
    """``events`` sung by one synthetic singer of ``voice`` (vowel "a")."""
    from ..data.chorales import Note
    from ..data.singing import Singer, sing

    n = int(round(length_s * sample_rate))
    if not events:
        return np.zeros(n, np.float32)
    rng = np.random.default_rng(seed)
    notes = [Note(s, e - s, int(p), "a") for p, s, e, v in events]
    x = sing(notes, voice=voice, sample_rate=sample_rate, length_s=length_s, seconds_per_quarter=1.0, rng=rng,
             singer=Singer.random(voice, rng))
    return x.astype(np.float32)


def transcribe_part(x: np.ndarray, sample_rate: int, model) -> list[tuple[int, float, float, int]]:
    """Notes of one mono part as (pitch, start_s, end_s, velocity), with the transcription model."""
    from ..transcribe import _transcribe_track

    notes, _, _ = _transcribe_track(torch.as_tensor(np.asarray(x, np.float32))[None], sample_rate, model,
                                    onset_threshold=0.5, frame_threshold=0.5, pitch_bend=False, device="cpu",
                                    callback=None)
    return [(int(n.pitch), float(n.start_s), float(n.end_s), int(n.velocity)) for n in notes]


def follow_melody(events, f0_hz: np.ndarray, hop_s: float) -> list[tuple[int, float, float, int]]:
    """The notes of ``events`` that the part's own F0 track sings, one at a time.

    A separated part carries its neighbours' bleed, and the transcription model (made for
    polyphony) writes their notes too; played back, they turn one line into chords. A note is kept
    when the track's median pitch over it (voiced frames) is within a semitone of the note's, and
    takes that median's nearest semitone (bleed can pull the model's pitch one off); a note
    over no voiced frame is kept only if it overlaps no kept note. Where the track sings for
    ``FILL_S`` or longer with no note kept over it (the model missed the part's note, or heard it
    as a neighbour's), a note of the track's median pitch is added. Overlaps left are cut at the
    later note's start."""
    f0_hz = np.asarray(f0_hz, float)
    midi = np.where(f0_hz > 0, 69 + 12 * np.log2(np.maximum(f0_hz, 1e-3) / 440.0), np.nan)
    kept, silent = [], []
    for ev in sorted(events, key=lambda e: e[1]):
        p, s, e, _ = ev
        span = midi[int(s / hop_s): max(int(s / hop_s) + 1, int(np.ceil(e / hop_s)))]
        span = span[np.isfinite(span)]
        if len(span) == 0:
            silent.append(ev)
        elif abs(np.median(span) - p) <= 1.0:  # the part's note; its pitch as the part sings it
            kept.append((int(round(np.median(span))),) + tuple(ev[1:]))
    kept += [ev for ev in silent if not any(ev[1] < k[2] and k[1] < ev[2] for k in kept)]
    kept += _uncovered_notes(kept, f0_hz, midi, hop_s, FILL_S)
    kept.sort(key=lambda e: e[1])
    return [(p, s, min(e, kept[i + 1][1]) if i + 1 < len(kept) else e, v) for i, (p, s, e, v) in enumerate(kept)]


def _uncovered_notes(notes, f0_hz: np.ndarray, midi: np.ndarray, hop_s: float,
                     min_s: float) -> list[tuple[int, float, float, int]]:
    """Notes for the stretches of the track (``analysis.stretches``) that no note covers for at
    least ``min_s``: the track's median pitch there, at the kept notes' median velocity."""
    from .analysis import stretches

    covered = np.zeros(len(midi), bool)
    for _, s, e, _ in notes:
        covered[int(round(s / hop_s)) : int(round(e / hop_s))] = True
    velocity = int(np.median([n[3] for n in notes])) if notes else 80
    out = []
    for a, b in stretches(f0_hz):
        free = np.flatnonzero(~covered[a:b]) + a
        for run in np.split(free, np.flatnonzero(np.diff(free) > 1) + 1) if len(free) else []:
            if len(run) * hop_s >= min_s:
                out.append((int(round(np.median(midi[run]))), run[0] * hop_s, (run[-1] + 1) * hop_s, velocity))
    return out


def melody_bends(events, f0_hz: np.ndarray, hop_s: float, *, step: float = 0.05) -> list[tuple[float, float]]:
    """Pitch-bend messages (time_s, semitones) that make one-at-a-time ``events`` follow the part's
    own F0 track — its intonation, vibrato and glides — as Basic Pitch's MIDI does: per note, the
    track minus the note's pitch, sent when it has moved by ``step`` semitones; held through frames
    unvoiced or more than a semitone off the note; back to 0 after the last note."""
    f0_hz = np.asarray(f0_hz, float)
    out: list[tuple[float, float]] = []
    for p, s, e, _ in events:
        last = None
        for i in range(int(round(s / hop_s)), min(len(f0_hz), int(round(e / hop_s)))):
            if f0_hz[i] <= 0:
                continue
            b = float(69 + 12 * np.log2(f0_hz[i] / 440.0) - p)
            if abs(b) > 1.0:  # the track is on another note (an octave slip, a neighbour's bleed): hold
                continue
            if last is None or abs(b - last) >= step:
                out.append((s if last is None else i * hop_s, b))
                last = b
        if last is None:
            out.append((s, 0.0))
    if events:
        out.append((events[-1][2], 0.0))
    return out


def reorchestrate(x: np.ndarray, sample_rate: int, *, program: int | None, voice: str | None, semitones: float,
                  model, f0_hz: np.ndarray | None = None, hop_s: float = 0.01) -> tuple[np.ndarray, int]:
    """Transcribe, transpose by ``semitones`` (whole ones on the notes, the cents on the pitch bends when
    ``f0_hz`` is given), and play with ``program`` (or sing when None, whole semitones).
    With the part's ``f0_hz`` track (one value per ``hop_s``), only the notes it sings are played
    (``follow_melody``), bent to its intonation (``melody_bends``). Returns (audio of the same
    length, number of notes)."""
    events = transcribe_part(x, sample_rate, model)
    bends = []
    if f0_hz is not None:
        events = follow_melody(events, f0_hz, hop_s)
        bends = melody_bends(events, f0_hz, hop_s)
    k = int(round(semitones))
    events = [(p + k, s, e, v) for p, s, e, v in events]
    bends = [(t, b + semitones - k) for t, b in bends]  # the cents of the shift ride on the bends
    length_s = len(x) / sample_rate
    if program is None:
        y = sing_notes(events, voice or "alto", sample_rate, length_s)
    else:
        y = render_notes(events, program, sample_rate, length_s, bends)
    return y[: len(x)], len(events)
