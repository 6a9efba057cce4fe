"""Re-voicing with Praat (PSOLA): each transform measured on synthesized singing with a known answer.

A tenor or alto sings two notes on the project's singing synthesizer without vibrato or jitter; the
F0 of the output must follow the input's times 2^(shift/12) within 20 cents (RMS over frames voiced
in both), a formant shift must stretch the spectral envelope by its factor, a pitch shift alone must
leave the envelope where it was, and breathiness must lower the harmonics-to-noise ratio.
"""

import numpy as np
import pytest

import voicetools as vt
from voicetools.data.chorales import Note
from voicetools.data.singing import Singer, sing
from voicetools.revoice.analysis import analyse, cents_error, envelope_shift_factor, f0_track
from voicetools.revoice.vocoder import transform

SR = 16000


def sung(voice, pitches, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    s = Singer.random(voice, rng)
    s.vibrato_cents, s.jitter, s.breath_db, s.formant_scale, s.shimmer_db = 0.0, 0.0, -70.0, 1.0, 0.0
    d = (seconds - 0.5) / len(pitches)
    notes = [Note(i * d, d, p, "a") for i, p in enumerate(pitches)]
    return 0.1 * sing(notes, voice=voice, sample_rate=SR, length_s=seconds, seconds_per_quarter=1.0, rng=rng, singer=s)


PARTS = [("soprano", [67, 69]), ("alto", [62, 65]), ("tenor", [55, 57]), ("bass", [43, 47])]


@pytest.fixture(scope="module")
def tenor():
    return sung("tenor", [48, 52])


@pytest.fixture(scope="module")
def alto():
    return sung("alto", [62, 65])


def rms_cents(x, y, shift, voice):
    e = cents_error(f0_track(x, SR, voice=voice), f0_track(y, SR), shift)
    assert len(e) > 150  # most frames voiced in both
    return float(np.sqrt(np.mean(e**2)))


@pytest.mark.parametrize("shift", [-12.0, 3.0, 0.5])
def test_pitch_shift_moves_f0_by_the_shift_within_20_cents(alto, shift):
    y = transform(alto, SR, semitones=shift, voice="alto")
    assert y.shape == alto.shape and y.dtype == np.float32
    assert rms_cents(alto, y, shift, "alto") < 20.0


def test_pitch_shift_keeps_the_formants(tenor):
    y = transform(tenor, SR, semitones=-5, voice="tenor")
    assert rms_cents(tenor, y, -5, "tenor") < 20.0
    assert envelope_shift_factor(tenor, y, SR) == pytest.approx(1.0, abs=0.04)


@pytest.mark.parametrize("factor", [1.15, 0.87])
def test_formant_shift_moves_the_envelope_by_the_factor_and_keeps_the_pitch(tenor, factor):
    y = transform(tenor, SR, formant=factor, voice="tenor")
    assert envelope_shift_factor(tenor, y, SR) == pytest.approx(factor, rel=0.04)
    assert rms_cents(tenor, y, 0.0, "tenor") < 20.0


def test_raising_a_voice_leaves_no_infrasonic_drift(tenor):
    an = analyse(tenor, SR, voice="tenor")
    y = transform(tenor, SR, semitones=12, formant=1.1, voice="tenor", f0_hz=an.f0_hz, hop_s=an.hop_s)
    f, p = np.fft.rfftfreq(len(y), 1 / SR), np.abs(np.fft.rfft(y)) ** 2
    assert 10 * np.log10(p[f < 20].sum() / p.sum()) < -50  # PSOLA alone left -39 dB there
    assert rms_cents(tenor, y, 12, "tenor") < 20


def test_breathiness_lowers_the_harmonics_to_noise_ratio(tenor):
    import parselmouth
    from parselmouth.praat import call

    def hnr(x):
        h = call(parselmouth.Sound(x.astype(np.float64), SR), "To Harmonicity (cc)", 0.01, 75, 0.1, 1.0)
        return call(h, "Get mean", 0, 0)

    plain, breathy = (
        transform(tenor, SR, semitones=-1, voice="tenor"),
        transform(tenor, SR, semitones=-1, breathiness=0.6, voice="tenor"),
    )
    assert hnr(breathy) < hnr(plain) - 6.0  # dB
    assert rms_cents(tenor, breathy, -1, "tenor") < 20.0  # the melody is still there


def test_analysis_finds_pitch_voicing_and_loudness(tenor):
    an = analyse(tenor, SR, voice="tenor")
    f = an.f0_hz[an.voiced]
    assert 0.6 < an.voiced.mean() < 0.95
    first = 440 * 2 ** ((48 - 69) / 12)
    assert np.median(f[: len(f) // 3]) == pytest.approx(first, rel=0.01)
    assert an.loudness_db[an.voiced].mean() > an.loudness_db[~an.voiced].mean() + 20
    assert an.envelope_db.shape[0] == len(an.f0_hz)


def test_revoice_solo_shifts_and_keeps_level(alto):
    res = vt.revoice(alto, sample_rate=SR, voice="alto", pitch=-12, formant=1.1)
    assert isinstance(res.audio, np.ndarray) and res.audio.shape == (1, len(alto))
    assert res.targets == {"alto": "keep:-12"} and res.separation_model is None
    y = res.audio[0]
    assert rms_cents(alto, y, -12, "alto") < 20.0
    rms = lambda v: np.sqrt(np.mean(v[np.abs(v) > 1e-3 * np.abs(v).max()] ** 2))  # noqa: E731
    assert rms(y) == pytest.approx(rms(alto), rel=0.05)


def test_voice_type_target_moves_by_octaves_into_its_range_and_scales_formants():
    tenor = sung("tenor", [55, 59], seconds=2.5)  # a tenor line around G3-B3
    res = vt.revoice(tenor, sample_rate=SR, voice="tenor", map={"tenor": "soprano"})
    assert res.shifts == {"tenor": 12.0} and res.targets == {"tenor": "soprano:+12"}
    y = res.audio[0]
    assert rms_cents(tenor, y, 12, "tenor") < 20.0
    kept = vt.revoice(tenor, sample_rate=SR, voice="tenor", map=["tenor=soprano:+0"])
    assert kept.shifts == {"tenor": 0.0}
    assert rms_cents(tenor, kept.audio[0], 0, "tenor") < 20.0
    # the character is the soprano's: her 'a' envelope now fits better than the tenor's
    assert table_fit(kept.audio[0], "soprano", "a") > table_fit(kept.audio[0], "tenor", "a") + 0.1
    assert table_fit(tenor, "tenor", "a") > table_fit(tenor, "soprano", "a") + 0.1


def table_fit(x, voice, vowel):
    """Correlation (250-3800 Hz) of ``x``'s mean envelope with ``voice``'s table envelope for ``vowel``."""
    from voicetools.data.singing import VOWELS
    from voicetools.revoice.analysis import mean_envelope_db
    from voicetools.revoice.colour import vowel_envelopes_db

    env, hz = mean_envelope_db(x, SR)
    band = (hz > 250) & (hz < 3800)
    a = env[band] - env[band].mean()
    b = vowel_envelopes_db(voice, hz)[VOWELS.index(vowel)][band]
    b = b - b.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def band_db(x, hz, width=15.0):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return 20 * np.log10(spec[np.abs(f - hz) < width].max() + 1e-12)


def test_keep_harmonics_removes_a_bleeding_voice_and_keeps_the_part():
    from voicetools.revoice.vocoder import keep_harmonics

    t = np.arange(2 * SR) / SR
    part = sum(0.2 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 6))
    bleed = sum(0.05 / k * np.sin(2 * np.pi * 311 * k * t) for k in range(1, 4))  # another voice, 6 semitones up
    y = keep_harmonics((part + bleed).astype(np.float32), SR, np.full(201, 220.0))
    mid = slice(SR // 2, 3 * SR // 2)
    for k in range(1, 6):
        assert abs(band_db(y[mid], 220 * k) - band_db(part[mid], 220 * k)) < 1.0
    drops = [band_db(bleed[mid], 311 * k) - band_db(y[mid], 311 * k) for k in range(1, 4)]
    assert drops[0] > 20.0 and min(drops) > 10.0  # 622 Hz lies 38 Hz from the part's 660: less room there


def test_psola_follows_a_given_melody_track(alto):
    f0 = f0_track(alto, SR, voice="alto")
    y = transform(alto, SR, semitones=-7, voice="alto", f0_hz=f0)
    assert rms_cents(alto, y, -7, "alto") < 20.0
    wobble = np.where(f0 > 0, f0 * 2 ** (0.5 * np.sin(np.arange(len(f0)) / 15) / 12), 0.0)  # a different melody
    z = transform(alto, SR, voice="alto", f0_hz=wobble)
    e = cents_error(wobble, f0_track(z, SR, voice="alto"), 0.0)
    assert len(e) > 150 and np.sqrt(np.mean(e**2)) < 20.0


def test_psola_marks_follow_the_track_where_praats_pulses_disagree_or_are_missing():
    from voicetools.revoice.vocoder import psola_marks

    f0 = np.r_[np.full(50, 200.0), np.full(50, 400.0), np.full(20, 300.0), np.zeros(30)]  # 1.5 s, 10 ms frames
    own = np.arange(0.0025, 1.0, 1 / 200)  # Praat's pulses: 200 Hz throughout the first second, none after
    marks = psola_marks(own, f0, 0.01, 1.5)
    first, second, third = (marks[(marks > a) & (marks < b)] for a, b in ((0.05, 0.45), (0.55, 0.95), (1.02, 1.18)))
    assert np.isin(first, own).all() and np.allclose(np.diff(first), 1 / 200)  # agreeing pulses kept as they are
    assert not np.isin(second, own).any() and np.allclose(np.diff(second), 1 / 400, atol=3e-4)  # octave off: replaced
    assert np.allclose(np.diff(third), 1 / 300, atol=3e-4)  # voiced in the track, no pulse: filled
    assert not np.any(marks > 1.21)  # unvoiced in both: no marks


def test_reorchestration_plays_only_the_notes_the_part_sings():
    from voicetools.revoice.orchestrate import follow_melody

    hz = lambda m: 440 * 2 ** ((m - 69) / 12)  # noqa: E731
    f0 = np.r_[np.full(50, hz(62)), np.full(50, hz(64.3)), np.zeros(20), np.full(40, hz(67))]
    events = [
        (62, 0.0, 0.55, 80),
        (66, 0.1, 0.9, 60),  # the part's note and a bleeding voice's, a third up
        (65, 0.5, 1.0, 80),  # the part's, one semitone off (bleed pulled the model)
        (72, 1.0, 1.2, 50),  # no voiced frame under it, overlapping nothing kept: kept
        (67, 1.2, 1.6, 90),
        (60, 1.25, 1.5, 40),
    ]  # the part's, and a lower voice's
    assert follow_melody(events, f0, 0.01) == [
        (62, 0.0, 0.5, 80),
        (64, 0.5, 1.0, 80),
        (72, 1.0, 1.2, 50),
        (67, 1.2, 1.6, 90),
    ]


def test_pitch_bends_follow_the_track_within_each_note_and_hold_where_it_slips():
    from voicetools.revoice.orchestrate import melody_bends

    hz = lambda m: 440 * 2 ** ((m - 69) / 12)  # noqa: E731
    f0 = np.r_[np.full(20, hz(62.3)), np.full(10, hz(50.3)), np.full(20, hz(61.8)), np.zeros(10), np.full(40, hz(65))]
    bends = melody_bends([(62, 0.0, 0.6, 80), (65, 0.6, 1.0, 80)], f0, 0.01)
    # the octave slip held; each value sent half a hop before its frame's centre
    assert bends[0] == (0.0, pytest.approx(0.3)) and bends[1] == (pytest.approx(0.295), pytest.approx(-0.2))
    assert bends[2] == (0.6, pytest.approx(0.0)) and bends[-1] == (1.0, 0.0) and len(bends) == 4


def test_pitch_track_drops_stretches_shorter_than_40_ms_and_keeps_notes_and_glides():
    from voicetools.revoice.analysis import drop_blips

    glide = 220 * 2 ** (np.arange(8) * 0.9 / 12)  # 90 cents a frame: one stretch
    f = np.r_[0, 200, 201, 0, np.full(6, 300.0), 0, 150, glide, 600, 601, 0]
    out = drop_blips(f, 4)
    assert not np.any(out[:4]) and np.array_equal(out[4:10], f[4:10])  # 2-frame blip gone, 6-frame note kept
    assert out[11] == 0 and np.array_equal(out[12:20], glide)  # 150 Hz is a jump away from the glide
    assert not np.any(out[20:])


def test_pitch_track_repairs_slips_into_another_voice_and_keeps_short_notes():
    from voicetools.revoice.analysis import repair_slips

    slip, note = np.full(5, 300.0), np.full(8, 300.0)
    f = np.r_[np.full(10, 200.0), slip, np.full(10, 202.0), note, np.full(10, 200.0), slip, np.full(10, 250.0)]
    out = repair_slips(f, 6)
    assert np.allclose(out[10:15], np.linspace(200, 202, 7)[1:-1], rtol=1e-3)  # back to 202: a slip, bridged
    assert np.array_equal(out[25:33], note)  # 80 ms: a note
    assert np.array_equal(out[43:48], slip)  # on to 250 Hz, not back: a note between two others
    assert np.array_equal(repair_slips(np.r_[np.full(10, 200.0), 0, slip, np.full(10, 200.0)], 6)[11:16], slip)


def test_pitch_track_of_a_clean_sung_melody_keeps_its_voicing(alto, monkeypatch):
    from voicetools.revoice import analysis

    cleaned = f0_track(alto, SR, voice="alto")
    monkeypatch.setattr(analysis, "MIN_RUN_S", 0.0)
    raw = f0_track(alto, SR, voice="alto")
    assert np.mean(raw > 0) > 0.8 and np.mean(cleaned > 0) > np.mean(raw > 0) - 0.01


def test_a_long_part_is_revoiced_in_pieces_without_seams(monkeypatch):
    from voicetools.revoice import analysis

    rng = np.random.default_rng(3)
    singer = Singer.random("alto", rng)
    phrases = [
        Note(0.1 + 1.2 * i + 0.3 * j, 0.28, p, "a")
        for i, ph in enumerate([[60, 62, 64], [65, 67, 65], [64, 62, 60], [59, 60, 62], [64, 65, 67]])
        for j, p in enumerate(ph)
    ]  # 0.3 s breaths between
    x = 0.1 * sing(phrases, voice="alto", sample_rate=SR, length_s=6.3, seconds_per_quarter=1.0, rng=rng, singer=singer)
    whole = vt.revoice(x, sample_rate=SR, voice="alto", map={"alto": "bass"}).parts["alto"][0]
    monkeypatch.setattr(analysis, "PIECE_S", 1.0)  # 6 s in ~1 s pieces: the path an hour-long part takes
    monkeypatch.setattr(analysis, "CUT_SEARCH_S", 0.4)
    monkeypatch.setattr(analysis, "CONTEXT_S", 0.3)
    f0 = f0_track(x, SR, voice="alto")
    cuts = [a for a, _ in analysis.pieces(x, SR, f0_hz=f0)][1:]
    assert len(cuts) >= 3 and all(f0[c] == 0 for c in cuts)  # cut in the breaths
    y = vt.revoice(x, sample_rate=SR, voice="alto", map={"alto": "bass"}).parts["alto"][0]
    assert rms_cents(x, y, -12, "alto") < 20.0
    a, b = analysis.loudness_db(whole, SR), analysis.loudness_db(y, SR)
    loud = a > a.max() - 30
    # the same output up to the tracker's frame jitter (Praat centres its frames in each piece) ...
    assert np.percentile(np.abs(a - b)[loud], 95) < 3.0
    for c in cuts:  # ... and no click where two pieces meet
        assert b[c] < b.max() - 20


def test_psola_along_a_track_copes_with_a_part_where_praat_finds_no_pulse():
    x = (np.random.default_rng(0).standard_normal(SR) * 1e-4).astype(np.float32)  # faint noise: no glottal pulse
    y = transform(x, SR, semitones=-12, voice="alto", f0_hz=np.full(101, 200.0))
    assert y.shape == x.shape and np.all(np.isfinite(y))


def test_reorchestration_fills_a_sung_stretch_the_transcription_missed():
    from voicetools.revoice.orchestrate import follow_melody

    hz = lambda m: 440 * 2 ** ((m - 69) / 12)  # noqa: E731
    f0 = np.r_[np.full(50, hz(62)), np.full(30, hz(57.2)), np.zeros(10), np.full(4, hz(70))]
    notes = follow_melody([(62, 0.0, 0.5, 90), (69, 0.5, 0.8, 40)], f0, 0.01)  # the A3 heard as a neighbour's A4
    assert notes == [(62, 0.0, 0.5, 90), (57, 0.5, 0.8, 90)]  # filled at the track's pitch; the 40 ms blip is not


def test_reorchestration_follows_the_track_where_it_leaves_a_note():
    from voicetools.revoice.orchestrate import follow_melody

    hz = lambda m: 440 * 2 ** ((m - 69) / 12)  # noqa: E731
    glide = hz(np.linspace(64, 66, 4))
    f0 = np.r_[np.full(30, hz(64)), glide, np.full(30, hz(66)), np.full(3, hz(52)), np.full(33, hz(64))]
    # one transcribed note over 64-66-64 (the model merged them), with a 30 ms slip to a bass's note
    notes = follow_melody([(64, 0.0, 1.0, 90)], f0, 0.01)
    assert [n[0] for n in notes] == [64, 66, 64]  # the F#, 340 ms, is played; the slip is held
    assert abs(notes[1][1] - 0.32) <= 0.03 and abs(notes[1][2] - 0.64) <= 0.01
    # and the same line with no note transcribed at all: filled note by note
    assert [n[0] for n in follow_melody([], f0, 0.01)] == [64, 66, 64]


def test_reorchestration_starts_a_note_where_the_part_reaches_it():
    from voicetools.revoice.orchestrate import follow_melody

    hz = lambda m: 440 * 2 ** ((m - 69) / 12)  # noqa: E731
    f0 = np.r_[np.full(40, hz(60)), np.full(40, hz(62))]
    # the model's second onset 40 ms early and its first note's end running on: each ends where the track leaves it
    notes = follow_melody([(60, 0.0, 0.42, 90), (62, 0.36, 0.8, 90)], f0, 0.01)
    assert [n[0] for n in notes] == [60, 62]
    assert abs(notes[1][1] - 0.40) <= 0.011 and notes[0][2] == notes[1][1]  # legato kept: no gap


def test_melody_error_leaves_out_the_frames_whose_window_holds_two_notes():
    f0_in = np.r_[np.full(50, 200.0), np.full(50, 300.0)]
    f0_out = np.r_[np.full(52, 200.0), np.full(48, 300.0)]  # the change two frames late
    assert np.abs(cents_error(f0_in, f0_out, 0.0)).max() > 600  # a one-frame guard keeps a late frame
    e = cents_error(f0_in, f0_out, 0.0, window_s=0.06)  # a 60 ms window spans 3 frames either side
    assert len(e) == 100 - 6 and np.abs(e).max() < 1e-9


def harmonic_to_rest_db(y, f0_hz, hop_s=0.01):
    """Energy within 8 % of F0 of the harmonics of ``f0_hz`` over the rest below 4 kHz, voiced frames (dB)."""
    import scipy.signal as ss

    f, t, z = ss.stft(y, SR, nperseg=1024, noverlap=1024 - 160)
    p = np.abs(z) ** 2
    on = off = 0.0
    for j, tj in enumerate(t):
        f0 = f0_hz[min(int(round(tj / hop_s)), len(f0_hz) - 1)]
        if f0 > 0:
            near = np.abs(f / f0 - np.round(f / f0)) * f0 < 0.08 * f0
            band = (f > 0.5 * f0) & (f < 4000)
            on, off = on + p[near & band, j].sum(), off + p[~near & band, j].sum()
    return 10 * np.log10(on / off)


def test_a_separated_part_is_revoiced_without_its_bleed(alto, monkeypatch):
    from voicetools.revoice import separation_loss
    from voicetools.revoice.revoice import _transform_part
    from voicetools.revoice.targets import parse_target

    # the combs alone: this alto never went through the separator, whose loss the voice route also undoes
    monkeypatch.setattr(separation_loss, "restore", lambda x, *args: x)

    x = alto + 0.3 * sung("bass", [46, 43], seed=1)  # a separated alto: the bass bleeds into it
    an = analyse(x, SR, voice="alto")
    out = {}
    for separated_by in (None, "satb-convtasnet"):
        y, shift = _transform_part(
            x,
            SR,
            "alto",
            parse_target("tenor:-12"),
            an,
            pitch=0.0,
            formant=1.0,
            breathiness=0.0,
            timbre_models={},
            notes_model=None,
            notes=[],
            separated_by=separated_by,
            median_midi=63,
        )
        out[separated_by is not None] = harmonic_to_rest_db(y, an.f0_hz * 2 ** (shift / 12))
    # as a solo voice the bleed is moved and recoloured with the part; as a separated part it is combed
    # out before PSOLA and again after the colour, whose boosts lift what was left
    assert out[True] > out[False] + 3.0


def test_a_bass_with_a_tenor_bleeding_a_fifth_above_is_tracked_at_its_own_octave(monkeypatch):
    from voicetools.revoice import analysis

    x = sung("bass", [45, 47]) + 0.8 * sung("tenor", [52, 54], seed=1)  # A2+E3, B2+F#3: 2:3, one common period
    f = f0_track(x, SR, voice="bass")
    midi = 69 + 12 * np.log2(f[f > 0] / 440)
    assert np.mean(f > 0) > 0.75 and np.all(np.abs(midi - np.round(midi)) < 0.3)
    assert set(np.round(midi).astype(int)) == {45, 47}  # both notes, at their own octave
    monkeypatch.setattr(analysis, "MISSING_DB", np.inf)  # Praat alone: the common period, an octave low
    f = f0_track(x, SR, voice="bass")
    assert np.mean(69 + 12 * np.log2(f[f > 0] / 440) < 40) > 0.8


def test_parts_kept_as_they_were_keep_what_the_separator_cannot_hear():
    sr = 22050
    t = np.arange(3 * sr) / sr
    choir = sum(np.interp(t, np.arange(3 * SR) / SR, sung(v, p, seed=i)) for i, (v, p) in enumerate(PARTS))
    air = 0.02 * np.sin(2 * np.pi * 6000 * t)  # above the 8 kHz separator's band
    x = (0.4 * choir + air).astype(np.float32)  # no peak above 0.99, which the remix would scale
    res = vt.revoice(x, sample_rate=sr, map={"soprano": "tenor"})

    def band(y, lo, hi):
        spec = np.abs(np.fft.rfft(y)) ** 2
        f = np.fft.rfftfreq(len(y), 1 / sr)
        return spec[(f > lo) & (f < hi)].sum()

    y = res.audio[0]
    # the air above 4 kHz is still there, within 1 dB, where a sum of separated stems would have lost it
    assert abs(10 * np.log10(band(y, 5900, 6100) / band(x, 5900, 6100))) < 1.0
    assert band(sum(s[0] for s in res.originals.values()), 5900, 6100) < 0.01 * band(x, 5900, 6100)
    # and the soprano did change: the mix is the input plus exactly the soprano's change
    change = res.parts["soprano"][0] - res.originals["soprano"][0]
    np.testing.assert_allclose(y - x, change, atol=1e-5)
    assert band(change, 200, 4000) > 0.01 * band(x, 200, 4000)
