"""FluidSynth rendering (``voicetools.data.render.fluidsynth_render``)."""

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="needs fluidsynth")


def test_a_note_shorter_than_a_midi_tick_still_ends():
    """A note whose end lies within a tick of its start was written with its note-off first, and
    FluidSynth rendered the choir's sustain loop forever (a 14 GB file); it must end."""
    import pretty_midi

    from voicetools.data.render import fluidsynth_render

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=52)  # choir aahs: a looped sample that sustains
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=0.5, end=0.5005))
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=64, start=1.0, end=1.5))
    pm.instruments.append(inst)
    x = fluidsynth_render(pm, 16000)
    assert len(x) < 16000 * 10  # the notes and their release, not forever
    f = np.abs(np.fft.rfft(x[int(1.1 * 16000) : int(1.4 * 16000)]))
    hz = np.fft.rfftfreq(int(0.3 * 16000), 1 / 16000)
    assert 300 < hz[np.argmax(f)] < 340 or 640 < hz[np.argmax(f)] < 680  # E4 (330 Hz) or its octave
