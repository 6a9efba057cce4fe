"""Voice to MIDI: decoding, labels, the shipped model on sung melodies with known notes, the CLI, bad input."""

import json
import warnings

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from test_bad_input import BAD, VALID

import voicetools as vt
from voicetools.checkpoints import registry
from voicetools.data.chorales import Note
from voicetools.data.singing import sing
from voicetools.transcribe.decoding import NoteEvent, decode, note_targets
from voicetools.transcribe.midi import estimate_tempo, parse_grid, quantize_notes

SR = 8000
MELODY = [62, 64, 66, 67, 69, 67, 66, 64, 62]  # D major up and down, alto range
SHIPPED = "voice2midi" in registry()
needs_model = pytest.mark.skipif(not SHIPPED, reason="the voice2midi checkpoint is not shipped")


def sung_melody(pitches=MELODY, *, beat_s=0.45, rest_every=3, sample_rate=SR, seed=0):
    """A synthetic singer sings ``pitches``, one per beat, a short rest after every ``rest_every`` notes.

    Returns (audio (time,) float32, notes (pitch, onset_s, offset_s))."""
    notes, q = [], 0.5
    for i, p in enumerate(pitches):
        notes.append(Note(q, 0.9 if (i + 1) % rest_every == 0 else 1.0, p, "la"))
        q += 1.0
    length_s = (q + 0.5) * beat_s
    x = sing(
        notes,
        voice="alto",
        sample_rate=sample_rate,
        length_s=length_s,
        seconds_per_quarter=beat_s,
        rng=np.random.default_rng(seed),
    )
    x = 0.3 * x / np.abs(x).max()
    return x.astype(np.float32), [(n.pitch, n.start_q * beat_s, (n.start_q + n.dur_q) * beat_s) for n in notes]


def match(ref, est, tol_s=0.05):
    """How many reference notes have an estimated note of the same pitch starting within ``tol_s``."""
    used, hits = set(), 0
    for p, on, _ in ref:
        for j, n in enumerate(est):
            if j not in used and n.pitch == p and abs(n.start_s - on) <= tol_s:
                used.add(j)
                hits += 1
                break
    return hits


# --- decoding and labels (no model) ---------------------------------------------------------------


def _one_hot(pitch_classes, n_classes=50):
    return np.eye(n_classes)[pitch_classes]


def test_targets_decode_back_to_the_same_notes():
    fr, notes = 62.5, [(60, 0.5, 1.0), (62, 1.0, 1.6), (62, 1.6, 2.0), (55, 2.5, 3.0)]
    pitch, on, off = note_targets(notes, 200, frame_rate=fr, min_pitch=36, n_pitches=49)
    got = decode(_one_hot(pitch), on, off, frame_rate=fr, min_pitch=36)
    assert [n.pitch for n in got] == [p for p, _, _ in notes]
    for n, (_, on, off) in zip(got, notes):  # within a frame (16 ms)
        assert abs(n.start_s - on) <= 1 / fr and abs(n.end_s - off) <= 1 / fr


def test_targets_of_a_crop_are_shifted():
    pitch, on, off = note_targets([(60, 1.0, 2.0)], 50, frame_rate=50.0, min_pitch=36, n_pitches=49, start_frame=40)
    assert on[10] == 1 and on[9] == on[11] == 0.5 and (pitch[10:] == 25).all() and not pitch[:10].any()


def test_legato_pitch_change_without_an_onset_starts_a_new_note():
    pitch = np.zeros(100, np.int64)
    pitch[10:40], pitch[40:41], pitch[41:70] = 25, 27, 27  # C4 then D4, no gap, no onset at the change
    onset = np.zeros(100)
    onset[10] = 0.9
    got = decode(_one_hot(pitch), onset, np.zeros(100), frame_rate=62.5, min_pitch=36)
    assert [(n.pitch, round(n.start_s * 62.5), round(n.end_s * 62.5)) for n in got] == [(60, 10, 40), (62, 40, 70)]


def test_quantize_and_tempo():
    notes = [NoteEvent(60, 0.02 + 0.5 * i, 0.48 + 0.5 * i) for i in range(8)]  # 120 BPM crotchets, a bit late
    assert abs(estimate_tempo(notes) - 120) < 1.5
    q = quantize_notes(notes, tempo_bpm=120, grid=parse_grid("1/16"))
    assert [round(n.start_s, 3) for n in q] == [round(0.02 + 0.5 * i, 3) for i in range(8)]
    assert all(abs((n.end_s - n.start_s) - 0.5) < 1e-9 for n in q)
    with pytest.raises(vt.ParameterError):
        parse_grid("3/7")


# --- the shipped model on sung melodies ---------------------------------------------------------


@needs_model
def test_sung_melody_gives_its_notes():
    x, ref = sung_melody()
    res = vt.transcribe(x, sample_rate=SR)
    assert match(ref, res.tracks["melody"]) >= len(ref) - 1, [(n.pitch, round(n.start_s, 2)) for n in res.notes]
    assert len(res.notes) <= len(ref) + 1
    assert all(1 <= n.velocity <= 127 for n in res.notes)
    midi = res.midi
    assert isinstance(midi, pretty_midi.PrettyMIDI) and midi.instruments[0].name == "melody"


@needs_model
def test_another_singer_at_another_rate_in_stereo(write_wav):
    x, ref = sung_melody([57, 60, 59, 57, 55, 57], beat_s=0.6, sample_rate=22050, seed=3)
    path = write_wav("stereo.wav", np.stack([x, 0.8 * x], 1), 22050)
    with pytest.warns(UserWarning, match="downmixed"):
        res = vt.transcribe(path)
    assert match(ref, res.notes) >= len(ref) - 1


@needs_model
def test_cli_writes_the_melody_as_midi_with_json_and_plot(tmp_path, write_wav, cli):
    x, ref = sung_melody()
    path = write_wav("melody.wav", x)
    out = tmp_path / "melody.mid"
    code, stdout, err = cli("transcribe", path, "-o", out, "--json", "--plot", "-q")
    assert code == 0, err
    summary = json.loads(stdout)
    pm = pretty_midi.PrettyMIDI(str(out))
    notes = pm.instruments[0].notes
    assert len(notes) == len(summary["tracks"]["melody"])
    est = [NoteEvent(n.pitch, n.start, n.end) for n in notes]
    assert match(ref, est) >= len(ref) - 1
    assert (tmp_path / "melody.png").stat().st_size > 1000


# --- options, parts, silence, bad input (tiny random model: fast) --------------------------------


def test_parts_writes_four_named_tracks(tmp_path, write_wav, cli):
    x, _ = sung_melody()
    path = write_wav("choir.wav", x)
    out = tmp_path / "choir.mid"
    code, _, err = cli(
        "transcribe", path, "--parts", "-o", out, "--model", "tiny-voice2midi", "--separation-model", "tiny-satb", "-q"
    )
    assert code == 0, err
    assert [i.name for i in pretty_midi.PrettyMIDI(str(out)).instruments] == ["soprano", "alto", "tenor", "bass"]


def test_silence_gives_an_empty_valid_midi_and_says_so(tmp_path, write_wav, cli):
    path = write_wav("quiet.wav", np.zeros(SR, np.float32))
    out = tmp_path / "quiet.mid"
    code, stdout, err = cli("transcribe", path, "-o", out, "--model", "tiny-voice2midi")
    assert code == 0
    assert "silent" in err and "empty" in err
    pm = pretty_midi.PrettyMIDI(str(out))
    assert sum(len(i.notes) for i in pm.instruments) == 0


def test_options_quantize_tempo_and_pitch_bend(tone):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = vt.transcribe(
            tone(440.0, 2.0),
            sample_rate=SR,
            model="tiny-voice2midi",
            quantize="1/8",
            tempo_bpm=90,
            pitch_bend=True,
            onset_threshold=0.3,
        )
    assert res.tempo_bpm == 90 and res.to_dict()["quantize"] == "1/8"
    step = 60 / 90 / 2
    t0 = min((n.start_s for n in res.notes), default=0.0)
    assert all(abs(((n.start_s - t0) / step) - round((n.start_s - t0) / step)) < 1e-6 for n in res.notes)
    with pytest.raises(vt.ParameterError, match="onset_threshold"):
        vt.transcribe(tone(), sample_rate=SR, model="tiny-voice2midi", onset_threshold=1.5)
    with pytest.raises(vt.ParameterError, match="not a transcription model"):
        vt.transcribe(tone(), sample_rate=SR, model="tiny-satb")


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_bad_input_fails_cleanly_without_a_midi_file(case, tmp_path, cli, assert_one_error_line):
    path = BAD[case](tmp_path)
    out = tmp_path / "out.mid"
    code, _, err = cli("transcribe", path, "-o", out, "--model", "tiny-voice2midi")
    assert_one_error_line(code, err)
    assert path.name in err
    assert not out.exists() and not list(tmp_path.glob(".voicetools-*"))


@pytest.mark.parametrize("case", ["stereo", "six_channels", "rate_96k", "pcm_u8", "odd_length"])
def test_unusual_but_valid_input_transcribes(case, tmp_path, cli):
    data, rate, subtype = VALID[case]
    path = tmp_path / f"{case}.wav"
    sf.write(str(path), data, rate, subtype=subtype)
    code, _, err = cli("transcribe", path, "-o", tmp_path, "--model", "tiny-voice2midi", "-q")
    assert code == 0, err
    pretty_midi.PrettyMIDI(str(tmp_path / f"{case}.mid"))


def test_existing_midi_is_not_overwritten_without_flag(tmp_path, write_wav, cli, assert_one_error_line, tone):
    path = write_wav("a.wav", tone())
    out = tmp_path / "a.mid"
    out.write_bytes(b"keep")
    code, _, err = cli("transcribe", path, "-o", out, "--model", "tiny-voice2midi")
    assert_one_error_line(code, err)
    assert out.read_bytes() == b"keep"
    code, _, err = cli("transcribe", path, "-o", out, "--model", "tiny-voice2midi", "--overwrite", "-q")
    assert code == 0 and out.read_bytes()[:4] == b"MThd"
