"""Render chorales to per-part audio with two unrelated renderers: FluidSynth and our singing synth.

A *version* of a chorale fixes transposition and tempo; both renderers sing that same version, so a
training mixture may take each part from either renderer and still be in time and in tune.
Stems are returned at ``sample_rate`` and normalised to the same loudness (RMS of the active
portion), so mixing gains are decided later, in one place.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError, VoicetoolsError
from .chorales import VOICES, Chorale, Note
from .singing import sing_section

RENDERERS = ("fluidsynth", "singing")
# General MIDI programs that sound like voices (0-based): choir aahs, voice oohs, synth voice,
# lead 6 (voice), pad 4 (choir)
VOICE_PROGRAMS = (52, 53, 54, 85, 91)
PROGRAM_WEIGHTS = (0.35, 0.3, 0.15, 0.1, 0.1)
SOUNDFONT_PATHS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")
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


def _transposed(notes: list[Note], k: int) -> list[Note]:
    return [Note(n.start_q, n.dur_q, n.pitch + k, n.lyric) for n in notes]


def _normalise(x: np.ndarray) -> np.ndarray:
    active = np.abs(x) > 1e-3 * (np.abs(x).max() + 1e-12)
    rms = np.sqrt(np.mean(x[active] ** 2)) if active.any() else 0.0
    return (x * (STEM_RMS / rms) if rms > 0 else x).astype(np.float32)


def fluidsynth_render(pm, sample_rate: int, *, gain: float = 2.0, render_sr: int = 22050) -> np.ndarray:
    """A ``pretty_midi.PrettyMIDI`` rendered by FluidSynth with the GM soundfont: mono float32 at ``sample_rate``.

    (FluidR3_GM renders quietly, hence the default gain of 2.)"""
    import soundfile as sf
    import soxr

    if shutil.which("fluidsynth") is None:
        raise MissingDependencyError("fluidsynth not found: apt-get install fluidsynth fluid-soundfont-gm")
    for inst in pm.instruments:
        for note in inst.notes:
            # MIDI files quantise times to ticks: a note shorter than a tick is written with its
            # note-off before its note-on, and FluidSynth then renders its sustain loop forever
            note.end = max(note.end, note.start + MIN_NOTE_S)
    length_s = pm.get_end_time()
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "render.mid", Path(tmp) / "render.wav"
        pm.write(str(mid))
        try:
            subprocess.run(["fluidsynth", "-ni", "-g", f"{gain:g}", "-R", "0", "-C", "0", "-r", str(render_sr),
                            "-F", str(wav), soundfont_path(), str(mid)], check=True, capture_output=True,
                           timeout=60.0 + 2.0 * length_s)
        except subprocess.TimeoutExpired:
            raise VoicetoolsError(f"FluidSynth did not finish a {length_s:.0f} s MIDI render in time") from None
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    return soxr.resample(mono, render_sr, sample_rate) if render_sr != sample_rate else mono


def soundfont_path() -> str:
    for p in SOUNDFONT_PATHS:
        if Path(p).exists():
            return p
    raise MissingDependencyError(
        "FluidR3_GM.sf2 not found: apt-get install fluidsynth fluid-soundfont-gm"
    )


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
        for n in _transposed(chorale.parts[voice], version.transpose):
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
    return np.stack([_normalise(s) for s in stems])


def render_singing(chorale: Chorale, version: Version, *, sample_rate: int) -> np.ndarray:
    """Sing each part with a random section of synthetic singers; returns (4, samples) float32."""
    rng = np.random.default_rng(version.seed + 2)
    spq = version.seconds_per_quarter
    length_s = chorale.length_q * spq + 1.0
    stems = [
        sing_section(_transposed(chorale.parts[v], version.transpose), voice=v, sample_rate=sample_rate,
                     length_s=length_s, seconds_per_quarter=spq, rng=rng)
        for v in VOICES
    ]
    return np.stack([_normalise(s) for s in stems])


def render(chorale: Chorale, version: Version, renderer: str, *, sample_rate: int) -> np.ndarray:
    """Stems (4, samples) of one chorale version by one renderer (``fluidsynth`` or ``singing``)."""
    if renderer == "fluidsynth":
        return render_fluidsynth(chorale, version, sample_rate=sample_rate)
    if renderer == "singing":
        return render_singing(chorale, version, sample_rate=sample_rate)
    raise ValueError(f"unknown renderer {renderer!r}; choose one of {RENDERERS}")
