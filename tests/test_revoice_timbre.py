"""Learned timbre transfer (DDSP) and MIDI re-orchestration, measured on signals with known answers."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import voicetools as vt
from voicetools.checkpoints import CHECKPOINT_DIR, registry
from voicetools.nn.ddsp import DDSPDecoder
from voicetools.revoice.analysis import cents_error, f0_track
from voicetools.revoice.timbre import apply_timbre, train_timbre

SR = 16000


def melody(pitches, seconds_each=0.6, sr=SR, odd_only=False, seed=0):
    """Harmonic tones (all harmonics 1/k, or odd ones only: clarinet-like) with 20 ms fades."""
    rng = np.random.default_rng(seed)
    out = []
    for p in pitches:
        f = 440 * 2 ** ((p - 69) / 12)
        t = np.arange(int(seconds_each * sr)) / sr
        ks = [k for k in range(1, 30) if k * f < sr / 2 and (k % 2 or not odd_only)]
        x = sum(np.sin(2 * np.pi * k * f * t + rng.uniform(0, 6)) / k for k in ks)
        env = np.minimum(1, np.minimum(t / 0.02, (t[-1] - t) / 0.02))
        out.append(0.1 * x * env)
    return np.concatenate(out).astype(np.float32)


def even_odd_db(x, f0):
    """Energy of harmonics 2, 4 over harmonics 3, 5 in dB (clarinet-like: strongly negative)."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    hz = np.fft.rfftfreq(len(x), 1 / SR)
    level = lambda k: spec[np.abs(hz - k * f0) < 15].max() ** 2  # noqa: E731
    return 10 * np.log10((level(2) + level(4)) / (level(3) + level(5)))


def test_harmonic_synth_plays_the_given_f0():
    torch.manual_seed(0)
    net = DDSPDecoder(n_harmonics=16, n_noise_bands=9, hidden=16).eval()
    n = 250
    f0 = torch.full((1, n), 196.0)
    y = net.render(f0, torch.full((1, n), -20.0), torch.ones(1, n), block_frames=60)[0].numpy()
    assert y.shape == (n * 128,) and np.isfinite(y).all()
    e = cents_error(np.full(200, 196.0), f0_track(y, SR)[:200], 0.0)
    assert len(e) > 150 and np.sqrt(np.mean(e**2)) < 20


def test_training_learns_the_target_timbre_and_keeps_the_melody(tmp_path):
    target = melody([57, 60, 62, 64, 65, 67, 69, 62, 60, 64], odd_only=True)
    model, summary = train_timbre(
        [target], tmp_path / "run", minutes=1.0, steps=100, batch_size=4, hidden=32, clip_frames=50
    )
    assert summary["best_valid_loss"] < 0.8 * summary["initial_valid_loss"]
    src = melody([59, 63, 66], seconds_each=0.8)  # all harmonics: even ones as strong as the odd
    y = apply_timbre(
        vt.checkpoints.LoadedModel("t", model, {"task": "timbre", "model_args": model.model_args}),
        src,
        SR,
        semitones=-2,
    )
    assert y.shape == src.shape
    e = np.abs(cents_error(f0_track(src, SR), f0_track(y, SR), -2))
    # the harmonic synth plays the given F0; the few frames off are the tracker's at note edges
    assert len(e) > 120 and np.median(e) < 5 and np.mean(e < 20) > 0.9
    f0 = 440 * 2 ** ((59 - 2 - 69) / 12)
    seg = slice(int(0.2 * SR), int(0.7 * SR))
    assert even_odd_db(y[seg], f0) < even_odd_db(src[seg], f0) - 3  # the target's odd-harmonic colour


def test_cli_train_timbre_then_revoice_with_it(tmp_path, cli):
    target, solo = tmp_path / "target.wav", tmp_path / "solo.wav"
    sf.write(str(target), melody([60, 62, 64, 65, 67, 69] * 2, odd_only=True), SR)
    sf.write(str(solo), melody([62, 64], seconds_each=0.75), SR)
    out = tmp_path / "my-timbre"
    code, stdout, err = cli("train", "timbre", target, "--out", out, "--steps", "10", "--json", "-q")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["model"] == str(out) and (out / "model.safetensors").exists()
    code, stdout, err = cli("revoice", solo, "--voice", "alto", "--timbre", out, "-o", tmp_path / "r.wav", "--json")
    assert code == 0, err
    assert json.loads(stdout)["targets"] == {"alto": "my-timbre:+0"}
    code, _, err = cli("train", "timbre", "--out", out)
    assert code == 1 and "give the target recording" in err


def test_classifier_training_still_needs_data(cli, assert_one_error_line):
    code, _, err = cli("train", "emotion")
    assert_one_error_line(code, err)
    assert "--data" in err


SHIPPED = [n for n, e in registry().items() if e.get("task") == "timbre"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_timbres_are_small_carded_and_keep_the_melody(name):
    folder = CHECKPOINT_DIR / registry()[name]["path"]
    assert (folder / "model.safetensors").stat().st_size < 5e6 and (folder / "MODEL_CARD.md").exists()
    src = melody([60, 64, 67], seconds_each=0.8)
    y = apply_timbre(name, src, SR)
    e = np.abs(cents_error(f0_track(src, SR), f0_track(y, SR), 0.0))
    # as in the training test: the few frames off are the tracker's at the 20 ms note edges
    assert len(e) > 120 and np.median(e) < 5 and np.mean(e < 20) > 0.9


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_midi_reorchestration_plays_the_transcribed_notes():
    from voicetools.data.chorales import Note
    from voicetools.data.singing import Singer, sing
    from voicetools.revoice.orchestrate import reorchestrate

    rng = np.random.default_rng(1)
    s = Singer.random("alto", rng)
    s.vibrato_cents = 0.0
    x = sing(
        [Note(0.2, 0.9, 62, "a"), Note(1.1, 0.9, 65, "o"), Note(2.0, 0.9, 69, "a")],
        voice="alto",
        sample_rate=SR,
        length_s=3.2,
        seconds_per_quarter=1.0,
        rng=rng,
        singer=s,
    )
    model = vt.checkpoints.resolve_model("voice2midi", "transcription")
    y, n_notes = reorchestrate(0.1 * x, SR, program=71, voice="alto", semitones=-12, model=model)
    assert n_notes == 3 and y.shape == x.shape
    f = f0_track(y, SR)
    for start, pitch in ((0.45, 50), (1.35, 53), (2.25, 57)):  # mid-note: the notes, an octave down
        mid = f[int(start * 100) : int(start * 100) + 30]
        mid = mid[mid > 0]
        assert len(mid) and abs(1200 * np.log2(np.median(mid) / (440 * 2 ** ((pitch - 69) / 12)))) < 30


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
@pytest.mark.parametrize("program", [71, None])  # a GM clarinet, and the singing synthesizer
def test_midi_reorchestration_follows_the_sung_intonation_with_pitch_bends(program):
    from voicetools.data.chorales import Note
    from voicetools.data.singing import Singer, sing
    from voicetools.revoice.orchestrate import reorchestrate

    rng = np.random.default_rng(1)
    s = Singer.random("alto", rng)
    s.vibrato_cents = 60.0  # a wide vibrato: plain MIDI notes would miss it by up to 60 cents
    x = 0.1 * sing(
        [Note(0.2, 0.9, 62, "a"), Note(1.1, 0.9, 65, "o"), Note(2.0, 0.9, 69, "a")],
        voice="alto",
        sample_rate=SR,
        length_s=3.2,
        seconds_per_quarter=1.0,
        rng=rng,
        singer=s,
    )
    model = vt.checkpoints.resolve_model("voice2midi", "transcription")
    f0 = f0_track(x, SR, voice="alto")
    errors = {}
    for name, track in (("plain", None), ("bent", f0)):
        y, n_notes = reorchestrate(x, SR, program=program, voice="alto", semitones=-12.3, model=model, f0_hz=track)
        shift = -12.3 if track is not None else -12.0  # plain notes take whole semitones only
        errors[name] = cents_error(f0, f0_track(y, SR, voice="alto", shift_semitones=-12), shift)
        assert n_notes == 3 and len(errors[name]) > 200
    rms = {k: float(np.sqrt(np.mean(e**2))) for k, e in errors.items()}
    assert rms["bent"] < 15.0 and rms["bent"] < 0.6 * rms["plain"]  # the vibrato and the 30 cents followed
    assert np.mean(np.abs(errors["bent"]) < 25) > 0.9


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_pitch_bends_move_the_output_at_the_frame_the_track_moves():
    from voicetools.revoice.orchestrate import melody_bends, render_notes

    t = np.arange(int(2.2 * SR)) / SR
    hz = np.where(t < 0.1, 0.0, np.where(t < 1.0, 293.66, 302.27))  # D4, then 50 cents up at 1 s
    x = 0.1 * sum(np.sin(k * 2 * np.pi * np.cumsum(hz) / SR) / k for k in range(1, 8)) * (hz > 0)
    f0 = f0_track(x, SR, voice="alto")
    notes = [(62, 0.1, 2.0, 100)]
    y = render_notes(notes, 71, SR, 2.2, melody_bends(notes, f0, 0.01))
    e = cents_error(f0[90:120], f0_track(y, SR, voice="alto")[90:120], 0.0, skip_transitions=False)
    assert len(e) == 30 and np.abs(e).max() < 8  # sent at a frame's centre, the step showed 15 cents late


def test_legato_phrases_hold_one_note_per_phrase_and_carry_the_melody_on_the_bend():
    from voicetools.revoice.orchestrate import legato_phrases

    events = [
        (60, 0.0, 0.5, 100),
        (64, 0.5, 1.0, 50),
        (62, 1.05, 1.4, 100),  # one phrase (gaps under 0.3 s)
        (60, 2.0, 2.5, 80),
    ]  # after a rest: a new phrase
    held, bends, controls = legato_phrases(events, [(0.2, 0.3)])  # 30 cents of intonation in the first note
    assert held == [(62, 0.0, 1.4, 100), (60, 2.0, 2.5, 80)]  # held at the middle of the phrase's range
    assert bends == [(0.0, -2.0), (0.2, pytest.approx(-1.7)), (0.5, 2.0), (1.05, 0.0), (2.0, 0.0)]
    assert controls == [
        (0.0, 11, 127),
        (0.5, 11, 64),
        (1.0, 11, 0),
        (1.05, 11, 127),
        (1.4, 11, 0),  # rest: silent
        (2.0, 120, 0),
        (2.0, 11, 127),
        (2.5, 11, 0),
    ]  # the last phrase's release cut first


def test_reorchestration_separates_notes_where_the_part_breaks_its_voicing():
    from voicetools.revoice.orchestrate import follow_melody

    hz = lambda m: 440 * 2 ** ((m - 69) / 12)  # noqa: E731
    f0 = np.r_[np.full(50, hz(62)), np.zeros(3), np.full(47, hz(64))]  # a consonant just after the change
    assert follow_melody([(62, 0.0, 0.5, 90), (64, 0.5, 1.0, 90)], f0, 0.01) == [
        (62, 0.0, 0.5, 90),
        (64, 0.53, 1.0, 90),
    ]


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_choir_aahs_plays_a_line_in_tune_and_on_time_only_legato():
    from voicetools.revoice.orchestrate import patch_tuning, render_notes

    notes = [(57, 0.2, 1.0, 100), (60, 1.0, 1.8, 100), (62, 1.8, 2.6, 100), (55, 2.6, 3.4, 100)]
    off = patch_tuning(52, [55, 57, 60, 62])
    assert max(abs(c) for c in off.values()) > 10  # FluidR3's Choir Aahs is out of tune by key

    def errors(y):  # median error (cents) just after each note change, and in each note's middle
        f = f0_track(y, SR)
        cents = lambda a, b, p: np.median(1200 * np.log2(f[a:b][f[a:b] > 0] / (440 * 2 ** ((p - 69) / 12))))  # noqa
        return (
            [cents(int(s * 100) + 3, int(s * 100) + 15, p) for p, s, _, _ in notes[1:]],
            [cents(int(s * 100) + 30, int(e * 100) - 10, p) for p, s, e, _ in notes],
        )

    change, middle = errors(render_notes(notes, 52, SR, 3.6, legato=True, in_tune=True))
    assert max(abs(c) for c in change + middle) < 20  # at the new note from its first 30 ms, and in tune
    change, middle = errors(render_notes(notes, 52, SR, 3.6))  # re-struck: the old note rings over the new one
    assert max(abs(c) for c in change) > 100 and max(abs(c) for c in middle) > 10
