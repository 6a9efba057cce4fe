"""data: the singing synthesizer sings the right pitch at the right time; FluidSynth renders each part
at its own pitches; the chorale splits are fixed and disjoint; mixing keeps targets consistent."""

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from voicetools.audio.augment import reverberate, room_impulse_response
from voicetools.data.chorales import VOICE_RANGES, VOICES, Chorale, Note, split_names
from voicetools.data.singing import Singer, sing, sing_section
from voicetools.errors import VoicetoolsError

SR = 8000


def f0_hz(x, sample_rate, *, floor_db=-30.0):
    """Fundamental of a harmonic sound: the lowest spectral peak within ``floor_db`` of the strongest."""
    from scipy.signal import find_peaks

    x = np.asarray(x, dtype=np.float64)
    n = 16 * len(x)
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    peaks, _ = find_peaks(mag, height=mag.max() * 10 ** (floor_db / 20))
    k = peaks[0]
    a, b, c = np.log(mag[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sample_rate / n


def dominant_midi(x, sample_rate, candidates=range(36, 90)):
    """The MIDI pitch whose first five harmonics carry the most (decaying-weighted) spectral energy."""
    n = 8 * len(x)
    mag = np.abs(np.fft.rfft(np.asarray(x, np.float64) * np.hanning(len(x)), n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    scores = {}
    for p in candidates:
        f0 = 440.0 * 2 ** ((p - 69) / 12)
        score = 0.0
        for k in range(1, 6):
            if k * f0 > 0.95 * sample_rate / 2:
                break
            band = (freqs > k * f0 * 2 ** (-0.5 / 12)) & (freqs < k * f0 * 2 ** (0.5 / 12))
            score += 0.8 ** (k - 1) * mag[band].max()
        scores[p] = score
    return max(scores, key=scores.get)


def steady_singer(voice):
    return Singer(
        voice=voice,
        formant_scale=1.0,
        bandwidth_scale=1.0,
        tilt_db_per_oct=0.0,
        vibrato_hz=5.5,
        vibrato_cents=0.0,
        vibrato_delay_s=0.2,
        jitter=0.002,
        shimmer_db=0.5,
        breath_db=-35.0,
        attack_s=0.05,
        glide_s=0.0,
    )


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# --- singing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "voice, pitch, lyric", [("soprano", 69, "la"), ("alto", 69, "du"), ("bass", 45, "Herr"), ("tenor", 57, "mi")]
)
def test_sung_note_has_the_right_f0(voice, pitch, lyric):
    notes = [Note(1.0, 2.0, pitch, lyric)]  # 0.5 s .. 1.5 s at 0.5 s per quarter
    x = sing(
        notes,
        voice=voice,
        sample_rate=SR,
        length_s=2.0,
        seconds_per_quarter=0.5,
        rng=np.random.default_rng(0),
        singer=steady_singer(voice),
    )
    assert x.dtype == np.float32 and x.shape == (2 * SR,) and np.isfinite(x).all()
    expected = 440.0 * 2 ** ((pitch - 69) / 12)
    assert f0_hz(x[int(0.7 * SR) : int(1.4 * SR)], SR) == pytest.approx(expected, rel=0.01)
    assert dominant_midi(x[int(0.7 * SR) : int(1.4 * SR)], SR) == pitch


def test_notes_sound_at_their_times_and_nowhere_else():
    notes = [Note(1.0, 1.0, 69, "la"), Note(3.0, 1.0, 64, "lu")]  # 0.5-1.0 s and 1.5-2.0 s
    x = sing(
        notes,
        voice="alto",
        sample_rate=SR,
        length_s=2.5,
        seconds_per_quarter=0.5,
        rng=np.random.default_rng(1),
        singer=steady_singer("alto"),
    )
    seg = lambda a, b: x[int(a * SR) : int(b * SR)]  # noqa: E731
    loud = min(_rms(seg(0.6, 0.95)), _rms(seg(1.6, 1.95)))
    assert loud > 0.3  # normalised to unit RMS over the voiced part
    for quiet in (seg(0.0, 0.49), seg(1.05, 1.45), seg(2.05, 2.5)):  # before, between, after
        assert _rms(quiet) < 1e-3 * loud
    # the onset is where the note starts: the first sound is within a few ms of 0.5 s
    first = np.argmax(np.abs(x) > 1e-3 * np.abs(x).max()) / SR
    assert first == pytest.approx(0.5, abs=0.01)
    assert f0_hz(seg(1.65, 1.95), SR) == pytest.approx(440.0 * 2 ** (-5 / 12), rel=0.01)


def test_same_seed_same_audio_and_sections():
    notes = [Note(0.0, 2.0, 60, "o")]
    kw = dict(voice="tenor", sample_rate=SR, length_s=1.5, seconds_per_quarter=0.5)
    a = sing_section(notes, rng=np.random.default_rng(5), n_singers=3, **kw)
    b = sing_section(notes, rng=np.random.default_rng(5), n_singers=3, **kw)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (int(1.5 * SR),) and np.isfinite(a).all()
    # a section of detuned singers still sings the note (median pitch within a quarter tone)
    assert dominant_midi(a[int(0.3 * SR) : int(0.95 * SR)], SR) == 60
    assert _rms(a[int(1.1 * SR) :]) < 1e-3 * _rms(a[int(0.3 * SR) : int(0.9 * SR)])


# --- FluidSynth rendering -----------------------------------------------------------------------

TINY_PARTS = {
    "soprano": [Note(0.0, 2.0, 72, ""), Note(2.0, 2.0, 76, "")],
    "alto": [Note(0.0, 2.0, 67, ""), Note(2.0, 2.0, 69, "")],
    "tenor": [Note(0.0, 2.0, 60, ""), Note(2.0, 2.0, 64, "")],
    "bass": [Note(0.0, 2.0, 48, ""), Note(2.0, 2.0, 53, "")],
}


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
@pytest.mark.parametrize("seed", [0, 3])
def test_render_fluidsynth_gives_each_part_its_own_pitches(seed):
    from voicetools.data.render import STEM_RMS, Version, render_fluidsynth, soundfont_path

    try:
        soundfont_path()
    except VoicetoolsError as exc:
        pytest.skip(str(exc))
    chorale = Chorale("test/tiny", TINY_PARTS, 4.0)
    spq = 0.5
    stems = render_fluidsynth(chorale, Version(0, spq, seed), sample_rate=SR)
    assert stems.shape == (4, int(round((4.0 * spq + 1.0) * SR))) and stems.dtype == np.float32
    for i, voice in enumerate(VOICES):
        s = stems[i]
        active = np.abs(s) > 1e-3 * np.abs(s).max()
        assert _rms(s[active]) == pytest.approx(STEM_RMS, rel=0.01)  # loudness-normalised
        for note in TINY_PARTS[voice]:
            a = int((note.start_q * spq + 0.25) * SR)
            b = int((note.start_q + note.dur_q) * spq * 0.95 * SR)
            assert dominant_midi(s[a:b], SR) == note.pitch, (voice, note)


# --- chorale splits -----------------------------------------------------------------------------


def test_splits_are_disjoint_and_fixed():
    splits = {name: split_names(name) for name in ("train", "valid", "test", "bach10")}
    assert len(splits["test"]) >= 16 and len(splits["valid"]) >= 8 and len(splits["train"]) > 200
    for name, names in splits.items():
        assert len(set(names)) == len(names), f"duplicates in {name}"
        assert all(n.startswith("bach/") for n in names)
    for a, b in itertools.combinations(splits, 2):
        assert not set(splits[a]) & set(splits[b]), (a, b)
    with pytest.raises(VoicetoolsError, match="unknown split"):
        split_names("holdout")


# Same tune under other BWV numbers (the examples) and the chorales Bach10 recorded
SAME_TUNE = [
    ("bach/bwv398", "bach/bwv197.7-a"),
    ("bach/bwv84.5", "bach/bwv166.6"),
    ("bach/bwv415", "bach/bwv245.26"),
    ("bach/bwv274", "bach/bwv62.6"),
    ("bach/bwv255", "bach/bwv48.3"),
]


def test_a_tune_never_crosses_splits():
    pytest.importorskip("music21")
    from voicetools.data.chorales import load_chorale, melody_grams, tune_similarity

    where = {n: s for s in ("train", "valid", "test", "bach10") for n in split_names(s)}
    for a, b in SAME_TUNE:
        ga, gb = (melody_grams([n.pitch for n in load_chorale(x).parts["soprano"]]) for x in (a, b))
        assert tune_similarity(ga, gb) >= 0.8, (a, b)
        assert where[a] == where[b] != "train", (a, b)
    for bwv in ("bach/bwv255", "bach/bwv256", "bach/bwv274", "bach/bwv275", "bach/bwv296"):  # Bach10 dev
        assert where[bwv] != "train"
    # two different tunes share almost no 8-interval n-grams
    g1, g2 = (melody_grams([n.pitch for n in load_chorale(x).parts["soprano"]]) for x in ("bach/bwv255", "bach/bwv296"))
    assert tune_similarity(g1, g2) < 0.1


def test_the_examples_use_a_test_chorale():
    for script in ("make_choir_example.py", "make_song_example.py"):
        text = (Path(__file__).resolve().parent.parent / "examples" / script).read_text()
        assert 'EXAMPLE_CHORALE = "bach/bwv139.6"' in text
    assert "bach/bwv139.6" in split_names("test")


def test_a_test_chorale_loads_as_four_singable_parts():
    pytest.importorskip("music21")
    from voicetools.data.chorales import load_chorale

    chorale = load_chorale(split_names("test")[0])
    assert chorale is not None and list(chorale.parts) == list(VOICES)
    shifts = chorale.transpositions()
    assert shifts and all(-4 <= k <= 4 for k in shifts)  # at least one singable key, within ±4
    k = shifts[0]
    for voice, notes in chorale.parts.items():
        lo, hi = VOICE_RANGES[voice]
        assert all(lo <= n.pitch + k <= hi for n in notes), voice
        onsets = [n.start_q for n in notes]
        assert onsets == sorted(onsets)
        assert max(n.start_q + n.dur_q for n in notes) <= chorale.length_q + 1e-9


# --- mixing and rooms ---------------------------------------------------------------------------


def test_mix_targets_sum_to_the_mixture():
    from voicetools.data.satb import mix

    rng = np.random.default_rng(0)
    stems = rng.uniform(-0.1, 0.1, size=(2, 4, SR)).astype(np.float32)  # (renderer, voice, time)
    for seed in range(4):
        mixture, targets = mix(stems, np.random.default_rng(seed), sample_rate=SR)
        assert mixture.shape == (SR,) and targets.shape == (4, SR)
        np.testing.assert_allclose(targets.sum(0), mixture, atol=1e-5)
        assert np.abs(mixture).max() <= 0.5 + 1e-6


def test_room_impulse_response_keeps_timing_and_decays():
    rng = np.random.default_rng(0)
    ir = room_impulse_response(SR, rng, rt60_s=0.5, predelay_s=0.01)
    assert ir[0] == pytest.approx(1.0, abs=0.05) and np.all(np.abs(ir[1 : int(0.01 * SR)]) == 0)
    early = _rms(ir[int(0.02 * SR) : int(0.1 * SR)])
    late = _rms(ir[int(0.4 * SR) : int(0.5 * SR)])
    assert late < early * 10 ** (-30 / 20)  # 0.4 s into a 0.5 s RT60: clearly decayed
    click = np.zeros(SR, np.float32)
    click[100] = 1.0
    wet = reverberate(click, ir)
    assert wet.shape == click.shape and int(np.argmax(np.abs(wet))) == 100  # direct sound first and loudest
