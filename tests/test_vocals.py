"""Vocal extraction: shapes, rates and sums on synthetic signals; streaming; CLI; every bad input.

The tiny random-weight HTDemucs (``tiny-vocals``, 8 kHz mono, 1 s segments) runs the same code as
the shipped model, in milliseconds.
"""

import os

import numpy as np
import pytest
import soundfile as sf
import torch
from test_bad_input import BAD, _nan_late

import voicetools as vt
from voicetools.errors import AudioLoadError, ParameterError

SR = 8000


def _song(seconds=2.5, sample_rate=SR, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(len(t))
    return np.stack([x * (1 - 0.3 * c) for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("rate,channels", [(SR, 1), (44100, 2), (22050, 1)])
def test_stems_sum_to_the_mixture_at_input_rate_length_and_channels(rate, channels):
    x = _song(1.7, rate, channels)
    res = vt.extract_vocals(x, sample_rate=rate, model="tiny-vocals")
    assert sorted(res.stems) == ["accompaniment", "vocals"] and res.sample_rate == rate
    for stem in res.stems.values():
        assert isinstance(stem, np.ndarray) and stem.shape == x.shape
    np.testing.assert_allclose(res.stems["vocals"] + res.stems["accompaniment"], x, atol=1e-5)
    assert np.abs(res.stems["vocals"]).max() > 0  # the model did produce something


def test_stems_all_gives_the_model_sources_and_tensor_in_tensor_out():
    x = torch.from_numpy(_song(1.2))
    res = vt.extract_vocals(x, sample_rate=SR, model="tiny-vocals", stems="all")
    assert list(res.stems) == ["vocals", "accompaniment"]
    assert all(isinstance(s, torch.Tensor) and s.shape == x.shape for s in res.stems.values())


def test_streaming_in_small_blocks_equals_one_block(tmp_path):
    """Block size (how the file is read) must not change the result: the stream is exact."""
    path = tmp_path / "song.wav"
    x = _song(3.3, 16000, 2)
    sf.write(str(path), x.T, 16000, subtype="FLOAT")
    a = vt.extract_vocals_file(path, tmp_path / "a", model="tiny-vocals", block_s=0.37)
    b = vt.extract_vocals_file(path, tmp_path / "b", model="tiny-vocals", block_s=30.0)
    assert a["channels"] == 2 and a["sample_rate"] == 16000
    for stem in ("vocals", "accompaniment"):
        ya, ra = sf.read(a["stems"][stem])
        yb, _ = sf.read(b["stems"][stem])
        assert ra == 16000 and ya.shape == x.T.shape
        np.testing.assert_allclose(ya, yb, atol=1e-4)


def test_progress_callback_counts_chunks():
    calls = []
    vt.extract_vocals(
        _song(2.5),
        sample_rate=SR,
        model="tiny-vocals",
        overlap=0.25,
        callback=lambda stage, done, total: calls.append((stage, done, total)),
    )
    # 1 s segments, 0.75 s hop: 2.5 s takes 3 chunks
    assert [c[1] for c in calls] == [1, 2, 3] and calls[-1][2] == 3 and calls[0][0] == "vocals"


def test_silent_input_gives_silent_stems_and_a_warning():
    with pytest.warns(UserWarning, match="silent"):
        res = vt.extract_vocals(np.zeros(SR, np.float32), sample_rate=SR, model="tiny-vocals")
    assert all(np.abs(s).max() < 1e-6 for s in res.stems.values())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"stems": "drums"}, "stems"),
        ({"overlap": 1.0}, "overlap"),
        ({"jobs": 0}, "jobs"),
        ({"model": "nope"}, "htdemucs"),
    ],
)
def test_bad_arguments_name_the_valid_choices(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        vt.extract_vocals(_song(0.5), sample_rate=SR, **{"model": "tiny-vocals", **kwargs})


def test_missing_official_weights_name_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(vt.ModelLoadError, match="955717e8.*not found.*voicetools models fetch htdemucs"):
        vt.extract_vocals(_song(0.5), sample_rate=SR, model="htdemucs")


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_bad_input_fails_cleanly(case, tmp_path, cli, assert_one_error_line):
    path = BAD[case](tmp_path)
    out = tmp_path / "out"
    code, stdout, err = cli("vocals", path, "-o", out, "--model", "tiny-vocals")
    assert_one_error_line(code, err)
    assert path.name in err
    assert not out.exists()


def test_cli_writes_stems_json_and_refuses_to_overwrite(tmp_path, cli, assert_one_error_line):
    path = tmp_path / "song.wav"
    sf.write(str(path), _song(1.5, 22050, 2).T, 22050)
    out = tmp_path / "sep"
    code, stdout, err = cli(
        "vocals", path, "-o", out, "--model", "tiny-vocals", "--format", "flac", "--json", "-j", "1", "-q"
    )
    assert code == 0, err
    import json

    summary = json.loads(stdout)
    assert summary["stems"] == {s: str(out / "song" / f"{s}.flac") for s in ("vocals", "accompaniment")}
    info = sf.info(summary["stems"]["vocals"])
    assert (info.samplerate, info.channels, info.frames) == (22050, 2, int(1.5 * 22050))
    code, stdout, err = cli("vocals", path, "-o", out, "--model", "tiny-vocals", "--format", "flac", "-q")
    assert_one_error_line(code, err)
    assert "--overwrite" in err


def test_cli_weights_that_are_not_a_checkpoint_give_one_line(tmp_path, cli, assert_one_error_line):
    song = tmp_path / "song.wav"
    sf.write(str(song), _song(0.5).T, SR)
    code, _, err = cli("vocals", song, "-o", tmp_path / "out", "--weights", song)
    assert_one_error_line(code, err)
    assert "not a Demucs checkpoint" in err and not (tmp_path / "out").exists()


def test_failure_mid_stream_leaves_no_partial_folder(tmp_path):
    path = _nan_late(tmp_path, seconds=6.0, nan_at_s=5.0)
    out = tmp_path / "new" / "stems"
    calls = []
    with pytest.raises(AudioLoadError, match="NaN") as info:
        vt.extract_vocals_file(
            path, out, model="tiny-vocals", block_s=1.0, callback=lambda stage, done, total: calls.append(done)
        )
    assert str(path) in str(info.value) and len(calls) >= 2  # it failed after chunks were written
    assert not (tmp_path / "new").exists()


def test_failure_keeps_an_existing_folder_untouched(tmp_path):
    path = _nan_late(tmp_path, seconds=4.0, nan_at_s=3.0)
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(AudioLoadError):
        vt.extract_vocals_file(path, out, model="tiny-vocals", block_s=1.0)
    assert sorted(os.listdir(out)) == ["keep.txt"]


def test_the_small_default_model_points_once_to_the_official_weights(tmp_path, cli, write_wav):
    a = write_wav("a.wav", _song(1.0, 16000)[0], sample_rate=16000)
    b = write_wav("b.wav", _song(1.0, 16000, seed=1)[0], sample_rate=16000)
    code, out, err = cli("vocals", a, b, "-o", tmp_path / "out")
    assert code == 0, err
    assert err.count("voicetools models fetch htdemucs") == 1  # once per run, not per file
    code, out, err = cli("vocals", a, "-o", tmp_path / "quiet", "-q")
    assert code == 0 and "fetch" not in err
