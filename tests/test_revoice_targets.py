"""The --map grammar, the choir pipeline on tiny models, errors that list valid names, and the CLI."""

import json

import numpy as np
import pytest
import soundfile as sf

import voicetools as vt
from voicetools.errors import ParameterError
from voicetools.revoice.targets import Target, default_octaves, parse_map, parse_target

SR = 16000
PARTS = ["soprano", "alto", "tenor", "bass"]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("tenor:+0", Target("voice", "tenor", 0.0)),
        ("Bass", Target("voice", "bass", None)),
        ("alto:-50c", Target("voice", "alto", -0.5)),
        ("gm:71", Target("gm", 71, None)),
        ("gm:clarinet:-12", Target("gm", 71, -12.0)),
        ("gm:choir_aahs", Target("gm", 52, None)),
        ("singing:+2", Target("singing", None, 2.0)),
        ("keep", Target("keep", None, None)),
        ("tiny-timbre:+3", Target("timbre", "tiny-timbre", 3.0)),
    ],
)
def test_target_grammar(spec, expected):
    assert parse_target(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("baritone", "unknown target 'baritone'; choose a voice type (soprano, alto, tenor, bass), a timbre ("),
        ("gm:999", "General MIDI programs are 0-127"),
        ("tenor:up", "bad shift 'up'"),
    ],
)
def test_bad_targets_name_the_valid_choices(spec, message):
    with pytest.raises(vt.ParameterError, match=None) as info:
        parse_target(spec)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_part_lists_the_parts():
    with pytest.raises(vt.ParameterError) as info:
        parse_map(["sopran=tenor"], PARTS)
    assert str(info.value) == "unknown part 'sopran'; this input's parts are: soprano, alto, tenor, bass"
    with pytest.raises(vt.ParameterError, match="PART=TARGET"):
        parse_map(["soprano"], PARTS)


def test_default_octave_is_the_one_nearest_the_target_range():
    assert default_octaves(72.0, "tenor") == -12  # a soprano line, sung by tenors, an octave down
    assert default_octaves(50.0, "soprano") == 24
    assert default_octaves(60.0, "alto") == 0
    assert default_octaves(None, "bass") == 0


def test_choir_pipeline_separates_maps_and_remixes(tone):
    x = np.concatenate([tone(220.0, seconds=1.0, sample_rate=SR), tone(330.0, seconds=1.0, sample_rate=SR)])
    res = vt.revoice(
        x,
        sample_rate=SR,
        map={"soprano": "tenor:+0", "alto": "tiny-timbre"},
        gains_db={"bass": -60},
        separation_model="tiny-satb",
    )
    assert list(res.parts) == PARTS and res.audio.shape == (1, len(x))
    assert res.targets == {"soprano": "tenor:+0", "alto": "tiny-timbre:+0", "tenor": "keep", "bass": "keep"}
    np.testing.assert_allclose(res.parts["tenor"], res.originals["tenor"], atol=1e-6)  # keep = untouched
    assert np.abs(res.parts["bass"]).max() < 2e-3 * np.abs(res.originals["bass"]).max()  # -60 dB
    # parts kept as they were: the mix is the input plus each part's change, not the stems' sum
    change = sum(res.parts[p] - res.originals[p] for p in res.parts)
    np.testing.assert_allclose(res.audio, x[None] + change, atol=1e-5)
    d = res.to_dict()
    assert d["separation_model"] == "tiny-satb" and set(d["analysis"]) == set(PARTS)


def test_silent_input_gives_silence_and_a_warning():
    with pytest.warns(UserWarning, match="silent"):
        res = vt.revoice(np.zeros(SR, np.float32), sample_rate=SR, voice="bass", pitch=3)
    assert not np.any(res.audio)


def test_bad_arguments_fail_before_any_compute():
    x = np.zeros(SR, np.float32)
    with pytest.raises(vt.ParameterError, match="unknown voice 'baritone'; choose one of: soprano, alto"):
        vt.revoice(x, sample_rate=SR, voice="baritone")
    with pytest.raises(vt.ParameterError, match=r"--formant \(formant in Python\) must be between 0.5 and 2.0"):
        vt.revoice(x, sample_rate=SR, voice="alto", formant=3)
    with pytest.raises(vt.ParameterError, match="unknown part 'soprano'; this input's parts are: alto"):
        vt.revoice(x, sample_rate=SR, voice="alto", map=["soprano=bass"])


@pytest.fixture
def solo(tmp_path, tone):
    path = tmp_path / "solo.wav"
    sf.write(str(path), tone(300.0, seconds=1.5, sample_rate=SR), SR)
    return path


def test_cli_solo_writes_the_file_and_json(solo, tmp_path, cli):
    out = tmp_path / "out.wav"
    code, stdout, err = cli(
        "revoice", solo, "--voice", "alto", "--formant", "1.15", "--pitch", "-12", "-o", out, "--json"
    )
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["output"] == str(out) and summary["targets"] == {"alto": "keep:-12"}
    y, sr = sf.read(str(out))
    assert sr == SR and len(y) == int(1.5 * SR)
    code, _, err = cli("revoice", solo, "--voice", "alto", "-o", out)
    assert code == 1 and "exists; pass --overwrite" in err


def test_cli_choir_with_map_and_stems(solo, tmp_path, cli):
    code, stdout, err = cli(
        "revoice",
        solo,
        "--map",
        "soprano=tenor:+0",
        "--map",
        "bass=tiny-timbre",
        "--separation-model",
        "tiny-satb",
        "-o",
        tmp_path,
        "--stems",
        "-q",
    )
    assert code == 0, err
    assert (tmp_path / "solo-revoiced.wav").exists()
    assert sorted(p.name for p in (tmp_path / "solo-revoiced").iterdir()) == sorted(f"{p}.wav" for p in PARTS)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--map", "soprano=baritone"], "unknown target 'baritone'; choose a voice type"),
        (["--map", "sopran=tenor"], "unknown part 'sopran'; this input's parts are: soprano, alto, tenor, bass"),
        (["--gain", "basso=-3"], "unknown part 'basso' in --gain"),
    ],
)
def test_cli_bad_names_are_one_error_line(solo, tmp_path, cli, assert_one_error_line, argv, message):
    code, _, err = cli("revoice", solo, "--separation-model", "tiny-satb", "-o", tmp_path / "x.wav", *argv)
    assert_one_error_line(code, err)
    assert message in err and not (tmp_path / "x.wav").exists()


def test_cli_bad_input_file_is_one_error_line(tmp_path, cli, assert_one_error_line):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    code, _, err = cli("revoice", bad, "--voice", "alto", "-o", tmp_path / "x.wav")
    assert_one_error_line(code, err)
    assert "not a readable audio file" in err and not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    "samples,rate,message",
    [
        (400, 16000, "25 ms of audio is too short; voicetools needs at least 0.1 s"),  # a click
        (4000, 1000, "sample rate is 1000 Hz; voicetools needs at least 8000 Hz"),  # Praat hung on it
    ],
)
def test_cli_too_short_or_too_coarse_input_is_one_error_line(
    tmp_path, cli, assert_one_error_line, samples, rate, message
):
    path = tmp_path / "in.wav"
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal(samples).astype(np.float32), rate)
    code, _, err = cli("revoice", path, "--separation-model", "tiny-satb", "-o", tmp_path / "x.wav")
    assert_one_error_line(code, err)
    assert message in err and not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("text", ["", "  ", "a", "zz"])
def test_a_missing_or_too_short_gm_program_is_an_error_not_the_piano(text):
    from voicetools.revoice.targets import gm_program

    with pytest.raises(ParameterError, match="gm:"):
        gm_program(text)


def test_gm_names_and_numbers_still_resolve():
    from voicetools.revoice.targets import gm_program

    assert gm_program("71") == 71 and gm_program("clarinet") == 71 and gm_program("choir_aahs") == 52
    assert gm_program("sax") == 64  # a part of a name: its first program (soprano sax)


@pytest.mark.parametrize("db", [1e9, -1e9, float("nan"), 30.0])
def test_remix_gains_outside_the_sane_range_are_refused(db):
    from voicetools.revoice.targets import check_gain_db

    with pytest.raises(ParameterError, match="--gain bass=DB"):
        check_gain_db("bass", db)
    assert check_gain_db("bass", -6) == -6.0
