"""The ``voicetools`` command: overwrite protection, --json, --version, model names, exit codes."""

import json

import numpy as np
import pytest
import soundfile as sf

import voicetools as vt

SR = 8000
SOURCES = ["soprano", "alto", "tenor", "bass"]


@pytest.fixture
def song(tmp_path, tone):
    path = tmp_path / "song.wav"
    sf.write(str(path), tone(330.0, seconds=1.5), SR)
    return path


def test_separate_writes_stems_matching_the_api(song, tmp_path, cli):
    out = tmp_path / "out"
    code, stdout, err = cli("separate", song, "-o", out, "--model", "tiny-satb", "-q")
    assert code == 0 and err == "" and stdout == ""  # --quiet: nothing on either stream
    res = vt.separate(song, model="tiny-satb")
    for s in SOURCES:
        y, sr = sf.read(str(out / "song" / f"{s}.wav"), dtype="float32")
        assert sr == SR and y.shape == (int(1.5 * SR),)
        np.testing.assert_allclose(y, np.clip(res.stems[s][0].numpy(), -1, 1), atol=2e-4)


def test_summary_line_without_quiet(song, tmp_path, cli):
    code, stdout, err = cli("separate", song, "-o", tmp_path / "out", "--model", "tiny-satb")
    assert code == 0
    assert stdout.strip() == f"{song} -> {tmp_path / 'out' / 'song'}/ (soprano.wav, alto.wav, tenor.wav, bass.wav)"
    assert "Traceback" not in err and "error" not in err


def test_existing_stems_are_not_overwritten_without_flag(song, tmp_path, cli, assert_one_error_line):
    out = tmp_path / "out"
    assert cli("separate", song, "-o", out, "--model", "tiny-satb", "-q")[0] == 0
    stem = out / "song" / "soprano.wav"
    stem.write_bytes(b"precious")  # whatever is there must survive a refused run
    code, stdout, err = cli("separate", song, "-o", out, "--model", "tiny-satb", "-q")
    assert_one_error_line(code, err)
    assert "--overwrite" in err and "soprano.wav" in err
    assert stem.read_bytes() == b"precious"
    assert sorted(p.name for p in (out / "song").iterdir()) == sorted(f"{s}.wav" for s in SOURCES)

    code, stdout, err = cli("separate", song, "-o", out, "--model", "tiny-satb", "-q", "--overwrite")
    assert code == 0, err
    assert sf.info(str(stem)).frames == int(1.5 * SR)


def test_api_save_refuses_to_overwrite(tmp_path, tone):
    res = vt.separate(tone(), sample_rate=SR, model="tiny-satb")
    paths = res.save(tmp_path / "a")
    assert sorted(p.name for p in paths.values()) == sorted(f"{s}.wav" for s in SOURCES)
    before = paths["alto"].read_bytes()
    with pytest.raises(vt.VoicetoolsError, match="overwrite=True"):
        res.save(tmp_path / "a")
    assert paths["alto"].read_bytes() == before
    res.save(tmp_path / "a", overwrite=True)


def test_json_summary(song, tmp_path, cli):
    out = tmp_path / "out"
    code, stdout, err = cli("separate", song, "-o", out, "--model", "tiny-satb", "--json", "-q")
    assert code == 0
    summary = json.loads(stdout)
    assert summary["input"] == str(song)
    assert summary["model"] == "tiny-satb"
    assert summary["sample_rate"] == SR and summary["channels"] == 1
    assert summary["duration_s"] == pytest.approx(1.5)
    assert summary["warnings"] == []
    assert list(summary["stems"]) == SOURCES
    for s, p in summary["stems"].items():
        assert p == str(out / "song" / f"{s}.wav") and sf.info(p).frames == int(1.5 * SR)


def test_json_with_several_inputs_lists_errors_too(song, tmp_path, cli, assert_one_error_line):
    missing = tmp_path / "gone.wav"
    code, stdout, err = cli("separate", song, missing, "-o", tmp_path / "out", "--model", "tiny-satb", "--json", "-q")
    assert code == 1
    assert_one_error_line(code, err)
    rows = json.loads(stdout)
    assert [r["input"] for r in rows] == [str(song), str(missing)]
    assert "stems" in rows[0] and "no such file" in rows[1]["error"]


def test_version(cli):
    code, stdout, err = cli("--version")
    assert code == 0
    assert stdout.strip() == f"voicetools {vt.__version__}"


def test_no_command_prints_help(cli):
    code, stdout, err = cli()
    assert code == 2
    assert "separate" in stdout and "usage" in stdout.lower()


def test_unknown_model_lists_valid_names(song, tmp_path, cli, monkeypatch, assert_one_error_line):
    monkeypatch.chdir(tmp_path)
    code, stdout, err = cli("separate", song, "--model", "no-such-model")
    assert_one_error_line(code, err)
    assert "no-such-model" in err
    for name in vt.available_models("separation"):
        assert name in err
    assert "tiny-satb" in err
    assert not (tmp_path / "separated").exists()


def test_bad_checkpoint_path_is_one_error_line(song, tmp_path, cli, assert_one_error_line):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all")
    code, stdout, err = cli("separate", song, "-o", tmp_path / "out", "--model", junk)
    assert_one_error_line(code, err)
    assert "junk.pth" in err
    assert not (tmp_path / "out").exists()


def test_models_command(cli, assert_one_error_line, monkeypatch, tmp_path):
    monkeypatch.setenv("VOICETOOLS_CACHE", str(tmp_path / "empty"))  # a user's install: no test models
    code, stdout, err = cli("models", "--json")
    assert code == 0
    listing = json.loads(stdout)
    installed = [r["name"] for r in listing["installed"]]
    assert installed == vt.available_models() and not [n for n in installed if n.startswith("tiny-")]
    assert "satb-convtasnet" in installed and "htdemucs" in [r["name"] for r in listing["fetchable"]]
    code, stdout, err = cli("models", "--task", "separation")
    assert code == 0 and "satb-convtasnet" in stdout.split() and "tiny-satb" not in stdout
    assert "tiny-satb" not in cli("separate", "--help")[1]
    assert_one_error_line(*cli("models", "--task", "bogus")[::2])


def test_internal_error_is_one_line_without_traceback(song, tmp_path, cli, monkeypatch):
    from voicetools.separation import cli as separate_cli

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(separate_cli, "separate_file", boom)
    monkeypatch.delenv("VOICETOOLS_DEBUG", raising=False)
    code, stdout, err = cli("separate", song, "-o", tmp_path / "out", "--model", "tiny-satb", "-q")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voicetools: internal error: RuntimeError: simulated bug")
    assert "Traceback" not in err


def test_broken_user_cache_folder_does_not_break_the_cli(song, tmp_path, cli, isolated_cache):
    broken = isolated_cache / "half-copied"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    code, stdout, err = cli("models", "--json")
    assert code == 0 and "satb-convtasnet" in [r["name"] for r in json.loads(stdout)["installed"]]
    code, stdout, err = cli("separate", song, "-o", tmp_path / "out", "--model", "tiny-satb", "-q")
    assert code == 0, err


def test_two_inputs_with_the_same_name_do_not_share_an_output_folder(tmp_path, tone, capsys):
    import soundfile as sf

    from voicetools.cli import main as cli_main

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    sf.write(tmp_path / "a" / "take.wav", tone(440.0), 8000)
    sf.write(tmp_path / "b" / "take.wav", tone(220.0), 8000)
    out = tmp_path / "out"
    code = cli_main(
        [
            "separate",
            str(tmp_path / "a" / "take.wav"),
            str(tmp_path / "b" / "take.wav"),
            "-o",
            str(out),
            "--model",
            "tiny-satb",
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("voicetools: error:") == 1 and "already used by" in err and "Traceback" not in err
    # the first file was still separated; the second was refused before writing anything
    soprano, sr = sf.read(out / "take" / "soprano.wav")
    assert sr == 8000 and len(soprano) == 8000


def test_every_option_of_every_command_has_help_text():
    import argparse

    from voicetools.cli import build_parser

    missing = []

    def walk(parser, path):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, [*path, name])
            elif not isinstance(a, (argparse._HelpAction, argparse._VersionAction)) and not a.help:
                missing.append(" ".join([*path, *(a.option_strings[-1:] or [a.dest])]))

    walk(build_parser(), ["voicetools"])
    assert not missing, f"options without help text: {missing}"
