"""SATB training data that looks like recordings: the GM ensemble renderer plays each part at its
score's pitches whatever instrument plays it, with its own tuning and timing; recorded mixtures put
each part at its own place in a room and keep targets summing to the mixture; MuseScore General
soundfonts are never rendered with."""

import os
import shutil
import struct
import sys

import numpy as np
import pytest
from test_data import SR, TINY_PARTS, _rms, dominant_midi, f0_hz

from voicetools.data.chorales import VOICES, Chorale, Note
from voicetools.errors import VoicetoolsError

needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
SPQ = 0.5
TINY = Chorale("test/tiny", TINY_PARTS, 4.0)


def soundfonts_or_skip():
    from voicetools.data.render import usable_soundfonts

    fonts = usable_soundfonts()
    if not fonts:
        pytest.skip("no usable soundfont installed (apt-get install fluid-soundfont-gm)")
    return fonts


def font_or_skip(name):
    fonts = [f for f in soundfonts_or_skip() if os.path.basename(f) == name]
    if not fonts:
        pytest.skip(f"{name} is not installed")
    return fonts[0]


def section(*players, spread_s=0.03, ride_db=2.0):
    from voicetools.data.render import Player, Section

    return Section(tuple(Player(sf, prog, cents, level) for sf, prog, cents, level in players), spread_s, ride_db)


def assert_parts_play_their_notes(stems, parts, *, exact=True, context=None):
    """Each stem's strongest harmonic series, in the middle of each note, is that note's (with
    ``exact=False`` it may start at one of the note's harmonics 2-5: a low reed or brass note's
    fundamental is weaker than its next harmonics, as on real instruments, and a room or a microphone
    may favour one harmonic; another part's note would still be off)."""
    for i, voice in enumerate(VOICES):
        for note in parts[voice]:
            a = int((note.start_q * SPQ + 0.25) * SR)
            b = int((note.start_q + note.dur_q) * SPQ * 0.95 * SR)
            error = dominant_midi(stems[i, a:b], SR) - note.pitch
            assert error == 0 if exact else error in (0, 12, 19, 24, 28), (voice, note, error, context)


# --- the ensemble renderer ----------------------------------------------------------------------

# (soundfont, S, A, T, B programs): Bach10's own line-up (violin, clarinet, tenor sax, bassoon) and
# other sustained families, none of them a voice
LINEUPS = [
    ("FluidR3_GM.sf2", 40, 71, 66, 70),
    ("TimGM6mb.sf2", 73, 20, 60, 70),
    ("sf_GMbank.sf2", 68, 41, 57, 43),
    ("OPL-3_FM_128M.sf2", 56, 65, 49, 58),
]


@needs_fluidsynth
@pytest.mark.parametrize("font, programs", [(f, p) for f, *p in LINEUPS], ids=[f for f, *_ in LINEUPS])
def test_each_part_sounds_at_its_score_pitches_whatever_instrument_plays_it(font, programs):
    from voicetools.data.render import STEM_RMS, Version, render_ensemble

    sf = font_or_skip(font)
    plan = tuple(section((sf, p, 10.0 * (-1) ** i, 0.0)) for i, p in enumerate(programs))
    stems = render_ensemble(TINY, Version(0, SPQ, 1), sample_rate=SR, plan=plan)
    assert stems.shape == (4, int(round((4.0 * SPQ + 1.0) * SR))) and stems.dtype == np.float32
    for s in stems:
        active = np.abs(s) > 1e-3 * np.abs(s).max()
        assert _rms(s[active]) == pytest.approx(STEM_RMS, rel=0.01)  # loudness-normalised, as the others
    assert_parts_play_their_notes(stems, TINY_PARTS)


@needs_fluidsynth
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_seeded_ensemble_keeps_parts_in_score_order(seed):
    """Whatever the plan draws (families, soundfonts, doubling), part i plays the score's part i."""
    from voicetools.data.render import Version, ensemble_plan, render

    soundfonts_or_skip()
    version = Version(0, SPQ, seed)
    stems = render(TINY, version, "ensemble", sample_rate=SR)
    assert stems.shape == (4, int(round((4.0 * SPQ + 1.0) * SR))) and np.isfinite(stems).all()
    assert_parts_play_their_notes(stems, TINY_PARTS, exact=False, context=ensemble_plan(TINY, version))


@needs_fluidsynth
def test_a_doubled_section_and_its_tuning_are_heard():
    """Every part plays A4 on the same flute: the alto 15 cents sharp of the soprano and the tenor
    15 cents flat (FluidSynth plays the pitch bend); the bass is doubled by a violin from another
    soundfont and still plays A4."""
    from voicetools.data.render import Version, render_ensemble

    fonts = soundfonts_or_skip()
    gm, other = font_or_skip("FluidR3_GM.sf2"), fonts[-1]
    unison = {v: [Note(0.0, 4.0, 69, "")] for v in VOICES}  # A4 for two seconds in every part
    plan = (
        section((gm, 73, 0.0, 0.0)),
        section((gm, 73, 15.0, 0.0)),
        section((gm, 73, -15.0, 0.0)),
        section((gm, 73, 0.0, 0.0), (other, 40, 0.0, -3.0)),
    )
    stems = render_ensemble(Chorale("test/unison", unison, 4.0), Version(0, SPQ, 0), sample_rate=SR, plan=plan)
    mid = slice(int(0.5 * SR), int(1.8 * SR))
    # against the soprano: the samples have a tuning of their own (FluidR3's flute A4 is ~25 cents flat)
    cents = [1200 * np.log2(f0_hz(s[mid], SR) / f0_hz(stems[0][mid], SR)) for s in stems[1:3]]
    assert cents[0] == pytest.approx(15.0, abs=3.0) and cents[1] == pytest.approx(-15.0, abs=3.0)
    assert dominant_midi(stems[3][mid], SR) == 69 and _rms(stems[3][mid]) > 0.02


def test_the_plan_draws_sustained_families_with_spread_between_parts():
    from voicetools.data.render import DETUNE_CENTS, FAMILIES, SPREAD_S, Version, ensemble_midis, ensemble_plan

    fonts = soundfonts_or_skip()
    allowed = {p for family in FAMILIES.values() for p in family}
    plans = [ensemble_plan(TINY, Version(0, SPQ, seed)) for seed in range(40)]
    players = [p for plan in plans for sec in plan for p in sec.players]
    assert all(len(plan) == 4 for plan in plans)
    assert all(p.program in allowed and p.soundfont in fonts and abs(p.cents) <= DETUNE_CENTS for p in players)
    assert {f for f, progs in FAMILIES.items() for p in players if p.program in progs} == set(FAMILIES)
    assert any(len(sec.players) == 2 for plan in plans for sec in plan)  # several programs per section
    assert len({p.soundfont for p in players}) == len({f for f in fonts if "GS" not in f})  # GS: effects only
    # in the MIDI, each part's onsets are the score's, each moved by at most its section's spread
    # (20-40 ms), differently in each part; its detuning is a pitch bend
    version = Version(0, SPQ, 7)
    plan = ensemble_plan(TINY, version)
    midis, slot_s = ensemble_midis(TINY, version, plan)
    offsets = {}
    for pm, slots in midis.values():
        for k, (inst, (i, player)) in enumerate(zip(pm.instruments, slots)):
            score = [k * slot_s + 0.1 + n.start_q * SPQ for n in TINY_PARTS[VOICES[i]]]
            off = np.array([n.start for n in inst.notes]) - score
            assert [n.pitch for n in inst.notes] == [n.pitch for n in TINY_PARTS[VOICES[i]]]
            assert SPREAD_S[0] <= plan[i].spread_s <= SPREAD_S[1] and np.abs(off).max() <= plan[i].spread_s
            assert inst.pitch_bends[0].pitch == pytest.approx(player.cents / 200 * 8192, abs=1)
            offsets[i] = off
    assert len({tuple(np.round(o, 4)) for o in offsets.values()}) == 4


# --- MuseScore General is kept for testing, never rendered with -----------------------------------


def fake_soundfont(path, name):
    """A RIFF/sfbk file with just an INFO list naming it."""
    inam = name.encode() + b"\0" * (2 - len(name) % 2)
    info = b"INFO" + b"ifil" + struct.pack("<IHH", 4, 2, 1) + b"INAM" + struct.pack("<I", len(inam)) + inam
    body = b"sfbk" + b"LIST" + struct.pack("<I", len(info)) + info
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_musescore_soundfonts_are_refused(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    from voicetools.data.render import check_soundfont, fluidsynth_render, is_musescore, usable_soundfonts

    general = fake_soundfont(tmp_path / "MuseScore_General.sf3", "MuseScore_General")
    renamed = fake_soundfont(tmp_path / "bank.sf2", "MuseScore_General-HQ")  # the name inside gives it away
    (tmp_path / "default-GM.sf2").symlink_to(general)  # Debian's default-GM link may point at it
    (tmp_path / "FluidR3_GM.sf2").symlink_to(renamed)
    other = fake_soundfont(tmp_path / "TimGM6mb.sf2", "TimGM6mb1.sf2")
    for path in (general, renamed, tmp_path / "default-GM.sf2", tmp_path / "FluidR3_GM.sf2"):
        assert is_musescore(path)
        with pytest.raises(VoicetoolsError, match="MuseScore"):
            check_soundfont(path)
        with pytest.raises(VoicetoolsError, match="MuseScore"):
            fluidsynth_render(pretty_midi.PrettyMIDI(), SR, soundfont=str(path))
    assert check_soundfont(other) == str(other) and not is_musescore(other)
    assert usable_soundfonts(dirs=[tmp_path]) == (str(other),)
    # and on this machine: nothing the renderers use is MuseScore, whatever default-GM points at
    for path in usable_soundfonts():
        assert "musescore" not in os.path.realpath(path).lower()
    for link in ("/usr/share/sounds/sf2/default-GM.sf2", "/usr/share/sounds/sf3/default-GM.sf3"):
        if os.path.exists(link) and "musescore" in os.path.realpath(link).lower():
            with pytest.raises(VoicetoolsError):
                check_soundfont(link)


# --- rooms, microphone, noise -------------------------------------------------------------------


def test_parts_stand_at_their_own_places_in_the_room():
    pytest.importorskip("pyroomacoustics")
    from voicetools.data.rooms import SPEED_OF_SOUND, image_source_room

    for seed in range(3):
        room = image_source_room(4, SR, np.random.default_rng(seed))
        rirs, d = room.rirs, np.linalg.norm(room.sources - room.mic, axis=1)
        assert rirs.shape[0] == 4 and np.isfinite(rirs).all()
        assert np.all((room.sources > 0) & (room.sources < room.size)) and 0.2 <= room.rt60_s <= 1.5
        assert min(np.linalg.norm(room.sources[i] - room.sources[j]) for i in range(4) for j in range(i)) > 0.05
        np.testing.assert_allclose(np.sum(rirs.astype(np.float64) ** 2, axis=1), 1.0, rtol=1e-4)
        for i in range(4):  # four different responses ...
            for j in range(i):
                xc = np.correlate(rirs[i], rirs[j], "full").max()
                assert xc < 0.95, (seed, i, j)
        # ... each with its direct sound arriving after the part's own distance
        onset = np.array([np.argmax(np.abs(h) > 0.3 * np.abs(h).max()) for h in rirs])
        near = int(np.argmin(d))
        np.testing.assert_allclose(onset - onset[near], (d - d[near]) / SPEED_OF_SOUND * SR, atol=2.5)
        # and a decaying tail: the room is heard after the direct sound
        tail = rirs[:, onset.max() + int(0.02 * SR) :]
        assert np.all(np.sum(tail**2, axis=1) > 1e-3)


def sung_tiny(seed=0):
    from voicetools.data.render import Version, render_singing

    return render_singing(TINY, Version(0, SPQ, seed), sample_rate=SR)


def test_recorded_mixtures_keep_targets_summing_to_the_mixture():
    pytest.importorskip("pyroomacoustics")
    from voicetools.data.rooms import RoomPool
    from voicetools.data.satb import mix

    stems = sung_tiny()[None]
    pool = RoomPool(size=2)
    for seed in range(6):
        rooms = pool if seed % 2 else None  # reused rooms and new ones
        mixture, targets = mix(
            stems, np.random.default_rng(seed), sample_rate=SR, recording=True, reverb_p=1.0, rooms=rooms
        )
        assert mixture.shape == (stems.shape[-1],) and targets.shape == (4, stems.shape[-1])
        assert mixture.dtype == targets.dtype == np.float32 and np.isfinite(targets).all()
        np.testing.assert_allclose(targets.sum(0), mixture, atol=1e-5)
        assert np.abs(mixture).max() <= 0.5 + 1e-6
        # a target is its part after the room: no longer a scaled copy of the dry part
        for t, dry in zip(targets, stems[0]):
            assert abs(np.dot(t, dry)) / (np.linalg.norm(t) * np.linalg.norm(dry)) < 0.99
        # each part keeps the score's pitches through the room and the microphone (whose colour may
        # favour a bass note's upper harmonics)
        assert_parts_play_their_notes(targets, TINY_PARTS, exact=False)


def test_the_noise_floor_is_35_to_60_db_below_the_mixture():
    from voicetools.data.satb import NOISE_DB, mix

    stems = sung_tiny(1)[None]
    quiet = slice(int(2.4 * SR), None)  # after the last note's release: nothing sings
    assert np.abs(stems[..., quiet]).max() == 0
    levels = []
    for seed in range(12):
        mixture, targets = mix(stems, np.random.default_rng(seed), sample_rate=SR, recording=True, reverb_p=0.0)
        np.testing.assert_allclose(targets.sum(0), mixture, atol=1e-5)
        db = 20 * np.log10(_rms(mixture[quiet]) / _rms(mixture) + 1e-12)
        if db > -70:  # below, only the microphone colour's FFT filter wrapping the song's start around
            levels.append(db)
    assert len(levels) >= 6  # most recordings have a noise floor
    assert all(NOISE_DB[0] - 1 <= db <= NOISE_DB[1] + 1 for db in levels), levels


def test_coloured_noise_is_pink_or_brown():
    from voicetools.data.rooms import coloured_noise

    rng = np.random.default_rng(0)
    for exponent, slope_db in ((1.0, -3.0), (2.0, -6.0)):
        x = coloured_noise(SR * 8, rng, exponent=exponent)
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / SR)
        band = lambda f, power=power, freqs=freqs: power[(freqs >= f) & (freqs < 2 * f)].mean()  # noqa: E731
        per_octave = [10 * np.log10(band(2 * f) / band(f)) for f in (100, 200, 400, 800, 1600)]
        assert _rms(x) == pytest.approx(1.0, rel=1e-3)
        assert np.mean(per_octave) == pytest.approx(slope_db, abs=0.7), per_octave


def test_without_pyroomacoustics_each_part_gets_a_synthetic_room(monkeypatch):
    from voicetools.data.rooms import random_room
    from voicetools.data.satb import mix

    monkeypatch.setitem(sys.modules, "pyroomacoustics", None)  # import fails as if not installed
    room = random_room(4, SR, np.random.default_rng(0))
    assert np.isnan(room.sources).all() and room.rirs.shape[0] == 4
    assert not np.allclose(room.rirs[0], room.rirs[1])
    stems = sung_tiny()[None]
    mixture, targets = mix(stems, np.random.default_rng(0), sample_rate=SR, recording=True, reverb_p=1.0)
    np.testing.assert_allclose(targets.sum(0), mixture, atol=1e-5)


# --- the stem files -----------------------------------------------------------------------------


@needs_fluidsynth
def test_an_old_stem_file_gets_the_new_renderer_appended(tmp_path, monkeypatch):
    from voicetools.data import satb
    from voicetools.data.render import STEM_RENDERERS, Version, render
    from voicetools.data.stemfiles import save_stems, stem_path

    soundfonts_or_skip()
    version = Version(0, SPQ, 3)
    monkeypatch.setattr(satb, "load_chorale", lambda name: TINY)
    monkeypatch.setattr(satb, "version_of", lambda chorale, index: version)
    old = np.stack([render(TINY, version, r, sample_rate=SR) for r in STEM_RENDERERS[:2]])
    path = save_stems(stem_path(tmp_path, "test/tiny", 0), old)
    assert satb._render_one(("test/tiny", 0, tmp_path, SR)) == path
    stems = np.load(path)
    assert stems.shape == (len(STEM_RENDERERS), 4, old.shape[-1]) and stems.dtype == np.float16
    np.testing.assert_array_equal(stems[:2], old.astype(np.float16))  # the old stems are kept as they were
    assert_parts_play_their_notes(stems[2].astype(np.float32), TINY_PARTS, exact=False)
