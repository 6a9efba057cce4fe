"""Render chorales to per-part audio with unrelated renderers: FluidSynth voices, our singing synth,
and an ensemble of sustained GM instruments from every usable soundfont on the machine.

A *version* of a chorale fixes transposition and tempo; every renderer plays that same version, so a
training mixture may take each part from any renderer and still be in time and in tune (the ensemble
adds only a player's spread: a few cents and tens of milliseconds).
Stems are returned at ``sample_rate`` and normalised to the same loudness (RMS of the active
portion), so mixing gains are decided later, in one place.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from ..errors import MissingDependencyError, VoicetoolsError
from .chorales import VOICES, Chorale, Note
from .singing import sing_section

# The evaluation sets (test_mixtures, the transcription labels) render these two only, so their
# signals stay as they were; the training stem files hold STEM_RENDERERS in this order, and readers
# index them by position, so a new renderer goes at the end.
RENDERERS = ("fluidsynth", "singing")
STEM_RENDERERS = RENDERERS + ("ensemble",)
# General MIDI programs that sound like voices (0-based): choir aahs, voice oohs, synth voice,
# lead 6 (voice), pad 4 (choir)
VOICE_PROGRAMS = (52, 53, 54, 85, 91)
PROGRAM_WEIGHTS = (0.35, 0.3, 0.15, 0.1, 0.1)
SOUNDFONT_PATHS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")
# The soundfonts Debian ships that the ensemble may play (fluid-soundfont-gm/-gs, timgm6mb-soundfont,
# csound-soundfont, opl3-soundfont). Named one by one: a folder may also hold the MuseScore General
# fonts, which are kept for testing and must never reach training data.
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts")
USABLE_SOUNDFONTS = ("FluidR3_GM.sf2", "FluidR3_GS.sf2", "TimGM6mb.sf2", "sf_GMbank.sf2", "OPL-3_FM_128M.sf2")
# Sustained GM programs (0-based) by family; the brass hits (55) and plucked strings (45-47) are out,
# and so are the drawbar organs (16-18), whose registration sounds an octave below the written note
# in TimGM6mb, the csound bank and OPL3 (measured on every note): a soprano would take the alto's place.
FAMILIES = {
    "strings": (40, 41, 42, 43, 44, 48, 49, 50, 51),
    "reeds": tuple(range(64, 72)),
    "brass": tuple(range(56, 64)),
    "pipes": tuple(range(72, 80)),
    "organ": (19, 20, 21, 22, 23),
    "voices": VOICE_PROGRAMS,
}
# Presets out of tune with their own notes (measured): TimGM6mb's whistle sounds 9 semitones flat
OUT_OF_TUNE = {("TimGM6mb.sf2", 78)}
STEM_RMS = 0.05
MIN_NOTE_S = 0.02


@dataclass(frozen=True)
class Version:
    transpose: int
    seconds_per_quarter: float
    seed: int


def version_of(chorale: Chorale, index: int) -> Version:
    """The index-th version of a chorale: seeded by name, so it is the same on every machine."""
    seed = int(hashlib.sha256(f"{chorale.name}/{index}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    options = chorale.transpositions()
    bpm = rng.uniform(60, 110)
    return Version(int(rng.choice(options)), 60.0 / bpm, seed)


def transposed(notes: list[Note], k: int) -> list[Note]:
    """``notes`` moved by ``k`` semitones."""
    return [Note(n.start_q, n.dur_q, n.pitch + k, n.lyric) for n in notes]


def normalise(x: np.ndarray) -> np.ndarray:
    """``x`` scaled so that its active samples (above -60 dB of the peak) have an RMS of ``STEM_RMS``."""
    active = np.abs(x) > 1e-3 * (np.abs(x).max() + 1e-12)
    rms = np.sqrt(np.mean(x[active] ** 2)) if active.any() else 0.0
    return (x * (STEM_RMS / rms) if rms > 0 else x).astype(np.float32)


def fluidsynth_render(
    pm,
    sample_rate: int,
    *,
    gain: float = 2.0,
    render_sr: int = 22050,
    soundfont: str | None = None,
    sample_format: str | None = None,
) -> np.ndarray:
    """A ``pretty_midi.PrettyMIDI`` rendered by FluidSynth: mono float32 at ``sample_rate``.

    ``soundfont`` defaults to FluidR3_GM (which renders quietly, hence the default gain of 2); a
    MuseScore General soundfont is refused. ``sample_format="float"`` writes a float WAV, which
    never clips, for soundfonts louder than FluidR3."""
    import soundfile as sf

    font = check_soundfont(soundfont or soundfont_path())
    if shutil.which("fluidsynth") is None:
        raise MissingDependencyError("fluidsynth not found: apt-get install fluidsynth fluid-soundfont-gm")
    for inst in pm.instruments:
        for note in inst.notes:
            # MIDI files quantise times to ticks: a note shorter than a tick is written with its
            # note-off before its note-on, and FluidSynth then renders its sustain loop forever
            note.end = max(note.end, note.start + MIN_NOTE_S)
    length_s = pm.get_end_time()
    fmt = ["-O", sample_format] if sample_format else []
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "render.mid", Path(tmp) / "render.wav"
        pm.write(str(mid))
        try:
            subprocess.run(
                [
                    "fluidsynth",
                    "-ni",
                    "-g",
                    f"{gain:g}",
                    "-R",
                    "0",
                    "-C",
                    "0",
                    "-r",
                    str(render_sr),
                    *fmt,
                    "-F",
                    str(wav),
                    font,
                    str(mid),
                ],
                check=True,
                capture_output=True,
                timeout=60.0 + 2.0 * length_s,
            )
        except subprocess.TimeoutExpired:
            raise VoicetoolsError(f"FluidSynth did not finish a {length_s:.0f} s MIDI render in time") from None
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    return soxr.resample(mono, render_sr, sample_rate) if render_sr != sample_rate else mono


def soundfont_path() -> str:
    for p in SOUNDFONT_PATHS:
        if Path(p).exists():
            return p
    raise MissingDependencyError("FluidR3_GM.sf2 not found: apt-get install fluidsynth fluid-soundfont-gm")


# --- soundfonts ---------------------------------------------------------------------------------


def _riff_chunks(f, end: int):
    """(id, data offset, size) of each RIFF chunk from the file position up to ``end``."""
    while f.tell() + 8 <= end:
        cid, size = struct.unpack("<4sI", f.read(8))
        start = f.tell()
        yield cid, start, size
        f.seek(start + size + (size & 1))


# SF2 records (SoundFont 2.04, section 7) and the generators the key ranges need (section 8.1.2)
_HEADER = {
    b"phdr": [("name", "S20"), ("program", "<u2"), ("bank", "<u2"), ("bag", "<u2"), ("rest", "V12")],
    b"inst": [("name", "S20"), ("bag", "<u2")],
    b"pbag": [("gen", "<u2"), ("mod", "<u2")],
    b"ibag": [("gen", "<u2"), ("mod", "<u2")],
    b"pgen": [("oper", "<u2"), ("amount", "<u2")],
    b"igen": [("oper", "<u2"), ("amount", "<u2")],
}
_INSTRUMENT, _KEY_RANGE, _SAMPLE = 41, 43, 53


def _zone_keys(bags, gens, first: int, last: int, link: int) -> list[tuple[set, int]]:
    """(keys, linked index) of zones ``first..last-1``; a zone without a link is the global one, whose
    key range is the others' default."""
    default, out = set(range(128)), []
    for z in range(first, last):
        keys, target = None, None
        for oper, amount in gens[bags[z]["gen"] : bags[z + 1]["gen"]]:
            if oper == _KEY_RANGE:
                keys = set(range(amount & 0xFF, (amount >> 8) + 1))
            elif oper == link:
                target = int(amount)
        if target is None:
            default = keys if keys is not None else default
        else:
            out.append((default if keys is None else keys, target))
    return out


@functools.cache
def soundfont_info(path: str) -> tuple[str, dict]:
    """(name inside the file, {(bank, program): frozenset of the MIDI keys it sounds}) of an SF2/SF3 soundfont.

    Reads the headers only: the sample data (most of the file) is skipped. Key ranges matter because
    a soundfont's contrabass or tuba may have no sample for a soprano's notes, and plays silence."""
    name, tables = "", {}
    with open(path, "rb") as f:
        riff, size, kind = struct.unpack("<4sI4s", f.read(12))
        if riff != b"RIFF" or kind != b"sfbk":
            raise VoicetoolsError(f"{path} is not a SoundFont (SF2/SF3) file")
        for cid, start, chunk_size in _riff_chunks(f, 8 + size):
            if cid != b"LIST":
                continue
            f.read(4)  # INFO, sdta or pdta
            for sub, _, sub_size in _riff_chunks(f, start + chunk_size):
                if sub == b"INAM":
                    name = f.read(sub_size).split(b"\0")[0].decode("latin-1")
                elif sub in _HEADER:
                    tables[sub] = np.frombuffer(f.read(sub_size), dtype=np.dtype(_HEADER[sub]))
    if set(tables) != set(_HEADER):
        return name, {}  # no preset tables: nothing to play
    inst, phdr = tables[b"inst"], tables[b"phdr"]
    inst_keys = [
        set().union(
            *[k for k, _ in _zone_keys(tables[b"ibag"], tables[b"igen"], inst[i]["bag"], inst[i + 1]["bag"], _SAMPLE)]
        )
        for i in range(len(inst) - 1)
    ]  # the last record of each table is a terminal one
    presets = {}
    for p in range(len(phdr) - 1):
        zones = _zone_keys(tables[b"pbag"], tables[b"pgen"], phdr[p]["bag"], phdr[p + 1]["bag"], _INSTRUMENT)
        keys = set().union(*[k & inst_keys[i] for k, i in zones if i < len(inst_keys)])
        presets[(int(phdr[p]["bank"]), int(phdr[p]["program"]))] = frozenset(keys)
    return name, presets


def is_musescore(path) -> bool:
    """A MuseScore General soundfont (lossless, HQ or small), by its file after symlinks (default-GM.sf2
    may point at one) or by the name inside it."""
    real = os.path.realpath(path)
    if "musescore" in os.path.basename(real).lower():
        return True
    try:
        return "musescore" in soundfont_info(real)[0].lower()
    except (OSError, struct.error, VoicetoolsError):
        return False


def check_soundfont(path) -> str:
    """``path`` resolved, or an error for a MuseScore General soundfont: those are kept for testing,
    so audio rendered with them must never reach training data."""
    if is_musescore(path):
        raise VoicetoolsError(
            f"{path} is a MuseScore General soundfont: it is kept for testing, "
            f"never used to render (choose one of {USABLE_SOUNDFONTS})"
        )
    return os.path.realpath(path)


def usable_soundfonts(dirs=SOUNDFONT_DIRS) -> tuple[str, ...]:
    """The soundfonts of ``USABLE_SOUNDFONTS`` installed in ``dirs``: resolved, each once, none MuseScore."""
    found = []
    for d in dirs:
        for name in USABLE_SOUNDFONTS:
            p = Path(d) / name
            if p.is_file() and not is_musescore(p) and os.path.realpath(p) not in found:
                found.append(os.path.realpath(p))
    return tuple(found)


def render_fluidsynth(chorale: Chorale, version: Version, *, sample_rate: int) -> np.ndarray:
    """Render each part with a random GM voice patch; returns (4, samples) float32."""
    import pretty_midi

    if shutil.which("fluidsynth") is None:
        raise MissingDependencyError("fluidsynth not found: apt-get install fluidsynth fluid-soundfont-gm")
    rng = np.random.default_rng(version.seed + 1)
    spq = version.seconds_per_quarter
    length_s = chorale.length_q * spq + 1.0
    slot_s = length_s + 2.0  # parts one after another in one file: one FluidSynth call per chorale
    pm = pretty_midi.PrettyMIDI(initial_tempo=60.0 / spq)
    for i, voice in enumerate(VOICES):
        prog = int(rng.choice(VOICE_PROGRAMS, p=PROGRAM_WEIGHTS))
        inst = pretty_midi.Instrument(program=prog, name=voice)
        base_vel = rng.integers(70, 110)
        for n in transposed(chorale.parts[voice], version.transpose):
            start = i * slot_s + n.start_q * spq
            end = start + n.dur_q * spq * rng.uniform(0.9, 1.0)
            vel = int(np.clip(base_vel + rng.integers(-12, 13), 30, 127))
            inst.notes.append(pretty_midi.Note(velocity=vel, pitch=n.pitch, start=start, end=end))
        pm.instruments.append(inst)
    audio = fluidsynth_render(pm, sample_rate)
    n, slot = int(round(length_s * sample_rate)), int(round(slot_s * sample_rate))
    stems = np.zeros((4, n), dtype=np.float32)
    for i in range(4):
        seg = audio[i * slot : i * slot + n]
        stems[i, : len(seg)] = seg
    return np.stack([normalise(s) for s in stems])


def render_singing(chorale: Chorale, version: Version, *, sample_rate: int) -> np.ndarray:
    """Sing each part with a random section of synthetic singers; returns (4, samples) float32."""
    rng = np.random.default_rng(version.seed + 2)
    spq = version.seconds_per_quarter
    length_s = chorale.length_q * spq + 1.0
    stems = [
        sing_section(
            transposed(chorale.parts[v], version.transpose),
            voice=v,
            sample_rate=sample_rate,
            length_s=length_s,
            seconds_per_quarter=spq,
            rng=rng,
        )
        for v in VOICES
    ]
    return np.stack([normalise(s) for s in stems])


# --- the ensemble: sustained GM instruments from every usable soundfont ---------------------------

DOUBLING_P = 0.3  # a second program doubles the part, as strings and an organ, or a choir and reeds do
DETUNE_CENTS = 15.0
SPREAD_S = (0.02, 0.04)
RIDE_DB = (1.0, 4.0)
LEAD_S = 0.1  # silence before each slot, so that an onset played early still falls inside it


@dataclass(frozen=True)
class Player:
    """One instrument of a section: a GM program (bank 0) of one soundfont, ``cents`` out of tune."""

    soundfont: str
    program: int
    cents: float
    level_db: float


@dataclass(frozen=True)
class Section:
    """Who plays one part and how loosely: onsets off by up to ``spread_s``, level ridden by up to ±``ride_db``."""

    players: tuple[Player, ...]
    spread_s: float
    ride_db: float


def _draw_program(rng: np.random.Generator, fonts, pitches: set) -> tuple[str, int]:
    """A random family, program and soundfont that has a sample for every note of the part (else the
    notes out of its range would be silent: FluidR3's contrabass stops at B3, and FluidR3_GS holds
    sound effects only)."""
    families = list(FAMILIES.values())
    for _ in range(200):
        program = int(rng.choice(families[rng.integers(len(families))]))
        having = [
            sf
            for sf, presets in fonts
            if pitches <= presets.get((0, program), frozenset()) and (Path(sf).name, program) not in OUT_OF_TUNE
        ]
        if having:
            return having[rng.integers(len(having))], program
    raise MissingDependencyError(
        f"no usable soundfont plays MIDI notes {min(pitches)}-{max(pitches)} "
        "with a sustained program: apt-get install fluid-soundfont-gm"
    )


def ensemble_plan(chorale: Chorale, version: Version, soundfonts=None) -> tuple[Section, ...]:
    """Seeded sections for S, A, T, B (in score order, whatever plays them): each part one or two
    sustained programs from a random family and soundfont, its own detuning, timing spread and riding."""
    fonts = [(sf, soundfont_info(sf)[1]) for sf in (usable_soundfonts() if soundfonts is None else soundfonts)]
    if not fonts:
        raise MissingDependencyError(f"none of {USABLE_SOUNDFONTS} found: apt-get install fluid-soundfont-gm")
    rng = np.random.default_rng(version.seed + 3)
    sections = []
    for voice in VOICES:
        pitches = {n.pitch + version.transpose for n in chorale.parts[voice]}
        cents = rng.uniform(-DETUNE_CENTS, DETUNE_CENTS)
        players = []
        for k in range(2 if rng.uniform() < DOUBLING_P else 1):
            sf, program = _draw_program(rng, fonts, pitches)
            # a doubling player is a little out of tune with the first, and usually a little softer
            c = cents if k == 0 else float(np.clip(cents + rng.uniform(-5, 5), -DETUNE_CENTS, DETUNE_CENTS))
            players.append(Player(sf, program, float(c), 0.0 if k == 0 else float(rng.uniform(-6, 0))))
        sections.append(Section(tuple(players), float(rng.uniform(*SPREAD_S)), float(rng.uniform(*RIDE_DB))))
    return tuple(sections)


def _played(notes: list[Note], spq: float, t0: float, spread_s: float, rng: np.random.Generator) -> list:
    """One player's MIDI notes from ``t0``: onsets off by up to ``spread_s`` (a quarter of the note at
    most, so notes keep their order), one note at a time, velocities around the player's own."""
    import pretty_midi

    base_vel = rng.integers(60, 110)
    starts = [t0 + n.start_q * spq + rng.uniform(-1, 1) * min(spread_s, 0.25 * n.dur_q * spq) for n in notes]
    out = []
    for k, (n, start) in enumerate(zip(notes, starts)):
        end = start + n.dur_q * spq * rng.uniform(0.9, 1.0)
        if k + 1 < len(starts):
            end = min(end, starts[k + 1])
        vel = int(np.clip(base_vel + rng.integers(-12, 13), 30, 127))
        out.append(pretty_midi.Note(velocity=vel, pitch=n.pitch, start=start, end=max(end, start + MIN_NOTE_S)))
    return out


def ensemble_midis(chorale: Chorale, version: Version, plan) -> tuple[dict, float]:
    """({soundfont: (PrettyMIDI, [(part index, player) per slot])}, slot length in seconds).

    Each player gets a slot of its soundfont's MIDI, one after another (one FluidSynth call per
    soundfont), with its detuning as a pitch bend and its notes from ``LEAD_S`` into the slot."""
    import pretty_midi

    rng = np.random.default_rng(version.seed + 4)
    spq = version.seconds_per_quarter
    slot_s = LEAD_S + chorale.length_q * spq + 3.0
    midis = {}
    for i, (voice, section) in enumerate(zip(VOICES, plan)):
        notes = transposed(chorale.parts[voice], version.transpose)
        for player in section.players:
            pm, slots = midis.setdefault(player.soundfont, (pretty_midi.PrettyMIDI(initial_tempo=60.0 / spq), []))
            t0 = len(slots) * slot_s
            inst = pretty_midi.Instrument(program=player.program, name=voice)
            # FluidSynth bends ±2 semitones by default: 8192 steps per 200 cents
            inst.pitch_bends.append(pretty_midi.PitchBend(int(round(player.cents / 200 * 8192)), t0))
            inst.notes = _played(notes, spq, t0 + LEAD_S, section.spread_s, rng)
            pm.instruments.append(inst)
            slots.append((i, player))
    return midis, slot_s


def _ride(n: int, sample_rate: int, depth_db: float, rng: np.random.Generator) -> np.ndarray:
    """A slow gain curve over the piece: random levels within ±``depth_db`` every 3-8 s, joined in dB."""
    step = rng.uniform(3.0, 8.0) * sample_rate
    knots = np.arange(0, n + step, step)
    db = np.interp(np.arange(n), knots, rng.uniform(-depth_db, depth_db, size=len(knots)))
    return (10 ** (db / 20)).astype(np.float32)


def render_ensemble(chorale: Chorale, version: Version, *, sample_rate: int, plan=None) -> np.ndarray:
    """Play each part with its section of GM instruments (``ensemble_plan`` unless given); returns
    (4, samples) float32, parts in score order."""
    if shutil.which("fluidsynth") is None:
        raise MissingDependencyError("fluidsynth not found: apt-get install fluidsynth fluid-soundfont-gm")
    plan = ensemble_plan(chorale, version) if plan is None else plan
    midis, slot_s = ensemble_midis(chorale, version, plan)
    n = int(round((chorale.length_q * version.seconds_per_quarter + 1.0) * sample_rate))
    slot, lead = int(round(slot_s * sample_rate)), int(round(LEAD_S * sample_rate))
    stems = np.zeros((4, n), dtype=np.float32)
    for soundfont, (pm, slots) in midis.items():
        audio = fluidsynth_render(pm, sample_rate, soundfont=soundfont, sample_format="float")
        for k, (i, player) in enumerate(slots):
            seg = audio[k * slot + lead : k * slot + lead + n]
            # each player loudness-matched first: soundfonts differ in level by more than the balance wanted
            stems[i, : len(seg)] += normalise(seg) * np.float32(10 ** (player.level_db / 20))
    rng = np.random.default_rng(version.seed + 5)
    return np.stack([normalise(s * _ride(n, sample_rate, sec.ride_db, rng)) for s, sec in zip(stems, plan)])


def render(chorale: Chorale, version: Version, renderer: str, *, sample_rate: int) -> np.ndarray:
    """Stems (4, samples) of one chorale version by one renderer (one of ``STEM_RENDERERS``)."""
    if renderer == "fluidsynth":
        return render_fluidsynth(chorale, version, sample_rate=sample_rate)
    if renderer == "singing":
        return render_singing(chorale, version, sample_rate=sample_rate)
    if renderer == "ensemble":
        return render_ensemble(chorale, version, sample_rate=sample_rate)
    raise ValueError(f"unknown renderer {renderer!r}; choose one of {STEM_RENDERERS}")
