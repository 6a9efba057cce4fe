"""Re-orchestration through MIDI: transcribe a part to notes, then play them with a General MIDI
program (FluidSynth + FluidR3_GM) or sing them with the project's singing synthesizer.

The notes come from the transcription model (``voicetools transcribe``'s ``Voice2Midi``), so
timing and dynamics (velocities from attack loudness) follow the part. Given the part's F0 track,
only the notes it sings are played, parted where it breaks its voicing, and pitch-bent to its
intonation; a sustained program plays them legato, each phrase one held note, and in tune (the
soundfont's own mistuning measured and bent away).
"""

from __future__ import annotations

import shutil

import numpy as np
import torch

from ..data.chorales import Note
from ..data.render import fluidsynth_render
from ..data.singing import Singer, sing
from ..errors import MissingDependencyError
from ..transcribe import transcribe_track
from .analysis import f0_track, stretches

RENDER_SR = 22050
BEND_RANGE = 2.0  # semitones: the General MIDI default pitch-bend range
FILL_S = 0.05  # a stretch of the part's track this long that no transcribed note covers gets a note
TRIM_S = 0.1  # a note's ends move in by at most this much where the track is on another pitch
ARTICULATION_S = 0.05  # a voicing break this close to a note change separates the two notes
# Sustained programs (organs, strings, ensembles, choirs, brass, reeds, pipes, synth leads and pads,
# bagpipe, fiddle, shanai) play a sung line legato, as a monophonic synth or a wind player does: one
# held note per phrase, the melody on the pitch bend. Re-struck, a patch such as Choir Aahs fades the
# new note in over ~200 ms while the old one rings on, and the line lags at every note change.
SUSTAINED = frozenset([*range(16, 24), *range(40, 45), *range(48, 96), 109, 110, 111])
LEGATO_GAP_S = 0.3  # notes this close are one phrase; a longer rest gets a new note-on
LEGATO_SPAN = 12  # semitones one phrase may span: the bend moves the patch's sample at most half of it
LEGATO_BEND_RANGE = 12  # semitones, set with RPN 0; covers half the span, intonation and cents of shift
REST_S = 0.01  # a rest this long inside a phrase is silenced with the expression controller
TUNE_NOTE_S, TUNE_GAP_S = 1.0, 0.3  # each key held this long, in one render, to measure its tuning
_tuning: dict[tuple[int, int], float] = {}  # (program, key) → cents the soundfont plays it off


def legato_phrases(events, bends) -> tuple[list, list, list]:
    """One-at-a-time ``events`` and their ``bends`` (semitones about each note's pitch) as phrases:
    (held notes, bends about each held note's pitch, controls (time_s, controller, value)).

    Notes less than ``LEGATO_GAP_S`` apart that keep within ``LEGATO_SPAN`` semitones are one
    phrase, held at the middle of its range; each note is a pitch-bend step and a CC 11 level
    (velocity relative to the phrase's loudest: SF2 maps both with the same curve, so the level is
    the note's own), and a rest of ``REST_S`` or more inside the phrase is CC 11 at 0. A phrase
    ends with CC 11 at 0 and the next starts after All Sound Off (CC 120): a released note would
    ring on into the next phrase's attack, and the pitch bend would move it there too."""
    phrases: list[list] = []
    for ev in sorted(events, key=lambda e: e[1]):
        if (
            phrases
            and ev[1] - phrases[-1][-1][2] < LEGATO_GAP_S
            and max(abs(ev[0] - p) for p, *_ in phrases[-1]) <= LEGATO_SPAN
        ):
            phrases[-1].append(ev)
        else:
            phrases.append([ev])
    held, out_bends, controls = [], [], []
    bends = sorted(bends)
    for k, ph in enumerate(phrases):
        pitches = [p for p, *_ in ph]
        anchor = int(round((max(pitches) + min(pitches)) / 2))
        loudest = max(v for *_, v in ph)
        held.append((anchor, ph[0][1], ph[-1][2], loudest))
        if k:
            controls.append((ph[0][1], 120, 0))
        for i, (p, s, e, v) in enumerate(ph):
            controls.append((s, 11, int(round(127 * v / loudest))))
            out_bends += _note_bends(bends, s, e, p - anchor)
            if i + 1 == len(ph) or ph[i + 1][1] - e >= REST_S:
                controls.append((e, 11, 0))
    return held, out_bends, controls


def render_notes(
    events, program: int, sample_rate: int, length_s: float, bends=(), *, legato: bool = False, in_tune: bool = False
) -> np.ndarray:
    """``events`` (pitch, start_s, end_s, velocity) played by GM ``program`` → mono float32 of ``length_s``;
    ``bends`` (time_s, semitones within ±``BEND_RANGE``) are the channel's pitch-bend messages.
    With ``legato``, a ``SUSTAINED`` program plays one-at-a-time events as phrases (``legato_phrases``);
    ``in_tune`` bends each note against the patch's measured mistuning of its key (``patch_tuning``).
    (Both off for the training renders the shipped models were made from.)"""
    controls, bend_range = [], BEND_RANGE
    if legato and int(program) in SUSTAINED and _one_at_a_time(events):
        events, bends, phrasing = legato_phrases(events, bends)
        bend_range = LEGATO_BEND_RANGE
        controls = [(0, 101, 0), (0, 100, 0), (0, 6, LEGATO_BEND_RANGE), (0, 38, 0)] + phrasing  # RPN 0: bend range
    if in_tune and events:
        tuning = patch_tuning(program, [p for p, *_ in events])
        bends = sorted(bends)
        bends = [
            b
            for p, s, e, _ in sorted(events, key=lambda ev: ev[1])
            for b in _note_bends(bends, s, e, -tuning[p] / 100.0)
        ]
    return _render(events, program, sample_rate, length_s, bends, bend_range, controls)


def _note_bends(bends, start: float, end: float, offset: float) -> list[tuple[float, float]]:
    """The ``bends`` in [start, end) moved by ``offset`` semitones, with one at ``start`` (the note's
    own pitch, when it had none there)."""
    own = [(t, b + offset) for t, b in bends if start <= t < end]
    return own if own and own[0][0] <= start + 1e-6 else [(start, float(offset))] + own


def _render(
    events, program: int, sample_rate: int, length_s: float, bends, bend_range: float = BEND_RANGE, controls=()
) -> np.ndarray:
    """The MIDI of one channel through FluidSynth; ``controls`` are (time_s, controller, value), in
    time order, those at one time kept in their order one tick apart (a MIDI file orders one tick's
    controls by number)."""
    import pretty_midi

    if shutil.which("fluidsynth") is None:
        raise MissingDependencyError(
            "fluidsynth is needed for gm:<program> targets: apt-get install fluidsynth fluid-soundfont-gm"
        )
    n = int(round(length_s * sample_rate))
    if not events:
        return np.zeros(n, np.float32)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=int(program))
    tick, last = pm.tick_to_time(1), -1.0
    for t, cc, value in sorted(controls, key=lambda c: c[0]):
        last = max(float(t), last + tick)
        inst.control_changes.append(pretty_midi.ControlChange(int(cc), int(value), last))
    for p, s, e, v in events:
        if e > s and 0 <= p <= 127:
            inst.notes.append(
                pretty_midi.Note(velocity=int(np.clip(v, 1, 127)), pitch=int(p), start=float(s), end=float(e))
            )
    for t, b in bends:
        inst.pitch_bends.append(pretty_midi.PitchBend(int(round(np.clip(b / bend_range, -1, 1) * 8191)), float(t)))
    pm.instruments.append(inst)
    x = fluidsynth_render(pm, sample_rate, gain=1.0, render_sr=RENDER_SR)
    return np.pad(x, (0, max(0, n - len(x))))[:n].astype(np.float32)


def patch_tuning(program: int, keys) -> dict[int, float]:
    """Cents by which FluidR3_GM's ``program`` sounds each of ``keys`` off equal temperament, measured:
    the keys are rendered one after another in one FluidSynth call and tracked (the median over
    each note's middle, frames within a semitone of the key). Sampled ensembles are not in tune —
    Choir Aahs plays 10 to 40 cents flat, depending on the key — while most programs are within
    a few cents. Cached per process; 0 for a key with no pitch (unpitched programs)."""
    todo = sorted({int(k) for k in keys if 0 <= k <= 127} - {k for p, k in _tuning if p == program})
    if todo:
        step = TUNE_NOTE_S + TUNE_GAP_S
        y = _render(
            [(k, i * step, i * step + TUNE_NOTE_S, 100) for i, k in enumerate(todo)],
            program,
            RENDER_SR,
            len(todo) * step,
            (),
        )
        f0, hop = f0_track(y, RENDER_SR), 0.01
        for i, k in enumerate(todo):
            f = f0[int((i * step + 0.3) / hop) : int((i * step + TUNE_NOTE_S - 0.1) / hop)]
            cents = 100 * (69 + 12 * np.log2(f[f > 0] / 440.0) - k)
            cents = cents[np.abs(cents) < 100]
            _tuning[program, k] = float(np.median(cents)) if len(cents) >= 10 else 0.0
    return {int(k): _tuning.get((program, int(k)), 0.0) for k in keys}


def _one_at_a_time(events) -> bool:
    ends = sorted(events, key=lambda e: e[1])
    return all(a[2] <= b[1] + 1e-9 for a, b in zip(ends, ends[1:]))


def sing_notes(events, voice: str, sample_rate: int, length_s: float, bends=None, *, seed: int = 0) -> np.ndarray:
    """``events`` sung by one synthetic singer of ``voice`` (vowel "a"), with ``bends`` (time_s, semitones)
    as the line's intonation when given."""
    n = int(round(length_s * sample_rate))
    if not events:
        return np.zeros(n, np.float32)
    rng = np.random.default_rng(seed)
    notes = [Note(s, e - s, int(p), "a") for p, s, e, v in events]
    x = sing(
        notes,
        voice=voice,
        sample_rate=sample_rate,
        length_s=length_s,
        seconds_per_quarter=1.0,
        rng=rng,
        singer=Singer.random(voice, rng),
        bends=bends,
    )
    return x.astype(np.float32)


def transcribe_part(x: np.ndarray, sample_rate: int, model) -> list[tuple[int, float, float, int]]:
    """Notes of one mono part as (pitch, start_s, end_s, velocity), with the transcription model."""
    notes, _, _ = transcribe_track(
        torch.as_tensor(np.asarray(x, np.float32))[None],
        sample_rate,
        model,
        onset_threshold=0.5,
        frame_threshold=0.5,
        pitch_bend=False,
        device="cpu",
        callback=None,
    )
    return [(int(n.pitch), float(n.start_s), float(n.end_s), int(n.velocity)) for n in notes]


def follow_melody(events, f0_hz: np.ndarray, hop_s: float) -> list[tuple[int, float, float, int]]:
    """The notes of ``events`` that the part's own F0 track sings, one at a time.

    A separated part carries its neighbours' bleed, and the transcription model (made for
    polyphony) writes their notes too; played back, they turn one line into chords. A note is kept
    when the track's median pitch over it (voiced frames) is within a semitone of the note's, and
    takes that median's nearest semitone (bleed can pull the model's pitch one off); a note
    over no voiced frame is kept only if it overlaps no kept note. Where the track sings for
    ``FILL_S`` or longer with no note kept over it (the model missed the part's note, or heard it
    as a neighbour's), a note of the track's median pitch is added — also where the track leaves a
    kept note's pitch by more than a semitone for that long (the model merged two notes, or the
    track is on another line there: every route follows the part's one track, and so does this
    one; shorter slips are held by the pitch bend). Each note's ends move in to where the track reaches
    its pitch (``_trimmed``); overlaps left are cut at the later note's start."""
    f0_hz = np.asarray(f0_hz, float)
    midi = np.where(f0_hz > 0, 69 + 12 * np.log2(np.maximum(f0_hz, 1e-3) / 440.0), np.nan)
    kept, silent = [], []
    for ev in sorted(events, key=lambda e: e[1]):
        p, s, e, _ = ev
        span = midi[int(s / hop_s) : max(int(s / hop_s) + 1, int(np.ceil(e / hop_s)))]
        span = span[np.isfinite(span)]
        if len(span) == 0:
            silent.append(ev)
        elif abs(np.median(span) - p) <= 1.0:  # the part's note; its pitch as the part sings it
            kept.append((int(round(np.median(span))),) + tuple(ev[1:]))
    kept += [ev for ev in silent if not any(ev[1] < k[2] and k[1] < ev[2] for k in kept)]
    kept = _cut_at_departures(kept, midi, hop_s, FILL_S)
    kept += _uncovered_notes(kept, f0_hz, midi, hop_s, FILL_S)
    kept = sorted(_trimmed(kept, midi, hop_s), key=lambda e: e[1])
    kept = [(p, s, min(e, kept[i + 1][1]) if i + 1 < len(kept) else e, v) for i, (p, s, e, v) in enumerate(kept)]
    return _articulated(kept, f0_hz > 0, hop_s)


def _trimmed(notes, midi: np.ndarray, hop_s: float) -> list[tuple[int, float, float, int]]:
    """Each note started later and ended sooner by the frames, up to ``TRIM_S`` at each end, where the
    track is voiced on another pitch (more than a semitone off): the model's onsets and offsets can
    be a few frames off the sung ones, and a note is not played before the part reaches it."""
    w, out = int(round(TRIM_S / hop_s)), []
    for p, s, e, v in notes:
        a, b = int(round(s / hop_s)), min(len(midi), int(round(e / hop_s)))
        off = np.abs(midi[a:b] - p) > 1.0  # NaN (unvoiced) compares False
        head = int(np.argmin(off[:w])) if len(off) and not off[:w].all() else 0
        tail = int(np.argmin(off[::-1][:w])) if len(off) and not off[::-1][:w].all() else 0
        if head + tail < b - a:
            out.append((p, (a + head) * hop_s if head else s, (b - tail) * hop_s if tail else e, v))
    return out


def _articulated(notes, voiced: np.ndarray, hop_s: float) -> list[tuple[int, float, float, int]]:
    """Where the track breaks its voicing within ``ARTICULATION_S`` of a note change (a consonant, a
    breath between two notes), the earlier note ends at the break and the later starts after it."""
    out = [list(n) for n in notes]
    w = int(round(ARTICULATION_S / hop_s))
    for a, b in zip(out, out[1:]):
        if b[1] - a[2] > ARTICULATION_S:
            continue
        i = int(round(b[1] / hop_s))
        near = np.flatnonzero(~voiced[max(0, i - w) : i + w + 1]) + max(0, i - w)
        if not len(near):
            continue
        j = near[np.argmin(np.abs(near - i))]  # the break nearest the change, all of it
        lo, hi = j, j + 1
        while lo > 0 and not voiced[lo - 1]:
            lo -= 1
        while hi < len(voiced) and not voiced[hi]:
            hi += 1
        if lo * hop_s > a[1] and hi * hop_s < b[2]:
            a[2], b[1] = min(a[2], lo * hop_s), max(b[1], hi * hop_s)
    return [tuple(n) for n in out]


def _cut_at_departures(notes, midi: np.ndarray, hop_s: float, min_s: float) -> list[tuple[int, float, float, int]]:
    """``notes`` with the stretches of ``min_s`` or longer where the track (MIDI ``midi``, NaN unvoiced)
    is more than a semitone off the note's pitch cut out (``_uncovered_notes`` fills them)."""
    out = []
    for p, s, e, v in notes:
        a, b = int(round(s / hop_s)), min(len(midi), int(round(e / hop_s)))
        off = np.flatnonzero(np.abs(midi[a:b] - p) > 1.0) + a  # NaN (unvoiced) compares False
        cuts = (
            [r for r in np.split(off, np.flatnonzero(np.diff(off) > 1) + 1) if len(r) * hop_s >= min_s]
            if len(off)
            else []
        )
        start = s
        for r in cuts:
            if r[0] * hop_s > start:
                out.append((p, start, r[0] * hop_s, v))
            start = (r[-1] + 1) * hop_s
        if e > start:
            out.append((p, start, e, v))
    return out


def _uncovered_notes(
    notes, f0_hz: np.ndarray, midi: np.ndarray, hop_s: float, min_s: float
) -> list[tuple[int, float, float, int]]:
    """Notes for the stretches of the track (``analysis.stretches``) that no note covers for at
    least ``min_s``: the track's median pitch there, at the kept notes' median velocity."""
    covered = np.zeros(len(midi), bool)
    for _, s, e, _ in notes:
        covered[int(round(s / hop_s)) : int(round(e / hop_s))] = True
    velocity = int(np.median([n[3] for n in notes])) if notes else 80
    out, w = [], max(1, int(round(min_s / hop_s)))
    for a, b in stretches(f0_hz):
        free = np.flatnonzero(~covered[a:b]) + a
        for run in np.split(free, np.flatnonzero(np.diff(free) > 1) + 1) if len(free) else []:
            if len(run) >= w:
                out += [(p, (run[0] + i) * hop_s, (run[0] + j) * hop_s, velocity) for i, j, p in _segment(midi[run], w)]
    return out


def _segment(midi: np.ndarray, w: int) -> list[tuple[int, int, int]]:
    """A voiced run of the track (MIDI per frame) as notes (first, end, pitch): a note ends where the
    track has been more than a semitone off it for ``w`` frames (a glide or a step to the next note,
    not a slip); each note's pitch is the track's median over it."""
    out, start, n = [], 0, len(midi)
    while start < n:
        p, end, off = np.nanmedian(midi[start : start + w]), n, 0
        for i in range(start, n):
            off = off + 1 if abs(midi[i] - p) > 1.0 else 0
            if off >= w:
                end = i - w + 1
                break
        out.append((start, end, int(round(np.nanmedian(midi[start:end])))))
        start = end
    return out


def melody_bends(events, f0_hz: np.ndarray, hop_s: float, *, step: float = 0.05) -> list[tuple[float, float]]:
    """Pitch-bend messages (time_s, semitones) that make one-at-a-time ``events`` follow the part's
    own F0 track — its intonation, vibrato and glides — as Basic Pitch's MIDI does: per note, the
    track minus the note's pitch, sent when it has moved by ``step`` semitones; held through frames
    unvoiced or more than a semitone off the note; back to 0 after the last note. A frame's value
    is sent half a hop before its centre, so that it holds over the time nearest that frame (sent at
    the centre, the output's pitch would lag the track by half a hop)."""
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
                out.append((s if last is None else max(s, (i - 0.5) * hop_s), b))
                last = b
        if last is None:
            out.append((s, 0.0))
    if events:
        out.append((events[-1][2], 0.0))
    return out


def reorchestrate(
    x: np.ndarray,
    sample_rate: int,
    *,
    program: int | None,
    voice: str | None,
    semitones: float,
    model,
    f0_hz: np.ndarray | None = None,
    hop_s: float = 0.01,
) -> tuple[np.ndarray, int]:
    """Transcribe, transpose by ``semitones`` (whole ones on the notes, the cents on the pitch bends when
    ``f0_hz`` is given), and play with ``program`` (or sing in ``voice`` when None).
    With the part's ``f0_hz`` track (one value per ``hop_s``), only the notes it sings are played
    (``follow_melody``), bent to its intonation (``melody_bends``) — the singing synthesizer takes
    the same bends. Returns (audio of the same length, number of notes)."""
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
        y = sing_notes(events, voice or "alto", sample_rate, length_s, bends if f0_hz is not None else None)
    else:
        y = render_notes(events, program, sample_rate, length_s, bends, legato=True, in_tune=True)
    return y[: len(x)], len(events)
