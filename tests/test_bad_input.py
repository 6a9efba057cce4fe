"""Every kind of bad (and unusual but valid) input, through the CLI and through the API.

A bad input must give one clear ``voicetools: error:`` line (CLI) or an ``AudioLoadError`` (API),
never a traceback and never a partial output folder. An unusual but valid input must give four
mono stems of the input's length and sample rate.
"""

import os
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

import voicetools as vt
from voicetools.errors import AudioLoadError

SR = 8000
SOURCES = ["soprano", "alto", "tenor", "bass"]


def _sine(seconds=1.5, sample_rate=SR, freq_hz=440.0):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


# --- bad inputs: name -> function(tmp_path) creating the file, returning its path -----------------


def _missing(tmp):
    return tmp / "missing.wav"


def _directory(tmp):
    d = tmp / "folder.wav"
    d.mkdir()
    return d


def _empty(tmp):
    p = tmp / "empty.wav"
    p.write_bytes(b"")
    return p


def _zero_length(tmp):
    p = tmp / "zero.wav"
    sf.write(str(p), np.zeros((0, 1), np.float32), SR)
    assert p.stat().st_size > 0 and sf.info(str(p)).frames == 0  # a valid header, no frames
    return p


def _nan(tmp):
    x = _sine()
    x[1234] = np.nan
    p = tmp / "nan.wav"
    sf.write(str(p), x, SR, subtype="FLOAT")
    return p


def _inf(tmp):
    x = _sine()
    x[99] = np.inf
    x[100] = -np.inf
    p = tmp / "inf.wav"
    sf.write(str(p), x, SR, subtype="FLOAT")
    return p


def _corrupt_riff(tmp):
    p = tmp / "corrupt.wav"
    p.write_bytes(b"RIFF" + np.random.default_rng(0).bytes(4000))
    return p


def _corrupt_wave(tmp):
    p = tmp / "corrupt2.wav"
    p.write_bytes(b"RIFF\x00\x10\x00\x00WAVEfmt " + np.random.default_rng(1).bytes(4000))
    return p


def _text(tmp):
    p = tmp / "notes.wav"
    p.write_text("This is a text file with a .wav name, not audio.\n" * 20)
    return p


BAD = {
    "missing": _missing,
    "directory": _directory,
    "empty": _empty,
    "zero_length": _zero_length,
    "nan": _nan,
    "inf": _inf,
    "corrupt_riff": _corrupt_riff,
    "corrupt_wave": _corrupt_wave,
    "text": _text,
}


# --- valid but unusual inputs: name -> (data (time, channels), sample_rate, subtype) ----------------


def _valid_cases():
    x = _sine()
    return {
        "pcm_u8": (x[:, None], SR, "PCM_U8"),
        "pcm_16": (x[:, None], SR, "PCM_16"),
        "pcm_24": (x[:, None], SR, "PCM_24"),
        "float32": (x[:, None], SR, "FLOAT"),
        "stereo": (np.stack([x, -0.5 * x], 1), SR, "PCM_16"),
        "six_channels": (np.stack([x * (i + 1) / 7 for i in range(6)], 1), SR, "PCM_16"),
        "rate_96k": (_sine(0.5, 96000)[:, None], 96000, "PCM_24"),
        "rate_44k1": (_sine(0.5, 44100)[:, None], 44100, "PCM_16"),
        "odd_length": (_sine(1.0)[:7919, None], SR, "PCM_16"),
    }


VALID = _valid_cases()


def _assert_stems(folder, n_frames, sample_rate):
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{s}.wav" for s in SOURCES)  # and no leftover temp folder
    for s in SOURCES:
        info = sf.info(str(folder / f"{s}.wav"))
        assert (info.frames, info.samplerate, info.channels) == (n_frames, sample_rate, 1)


# --- CLI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_bad_input_fails_cleanly(case, tmp_path, cli, assert_one_error_line):
    path = BAD[case](tmp_path)
    out = tmp_path / "out"
    code, stdout, err = cli("separate", path, "-o", out, "--model", "tiny-satb")
    assert code == 1
    assert_one_error_line(code, err)
    assert path.name in err  # the line names the file it is about
    assert not out.exists()


@pytest.mark.parametrize("case", sorted(VALID))
def test_cli_valid_input_gives_mono_stems_at_input_rate(case, tmp_path, cli):
    data, rate, subtype = VALID[case]
    path = tmp_path / f"{case}.wav"
    sf.write(str(path), data, rate, subtype=subtype)
    out = tmp_path / "out"
    code, stdout, err = cli("separate", path, "-o", out, "--model", "tiny-satb", "-q")
    assert code == 0, err
    assert "Traceback" not in err
    _assert_stems(out / case, len(data), rate)
    warn_lines = [line for line in err.splitlines() if line.strip()]
    if data.shape[1] > 1:  # downmix is announced once, as a voicetools warning
        assert len(warn_lines) == 1 and warn_lines[0].startswith("voicetools: warning:")
        assert f"{data.shape[1]} channels" in warn_lines[0]
    else:
        assert warn_lines == []


def test_cli_silent_input_gives_silent_stems_and_a_warning(tmp_path, cli):
    path = tmp_path / "silent.wav"
    sf.write(str(path), np.zeros(2 * SR, np.float32), SR)
    out = tmp_path / "out"
    code, stdout, err = cli("separate", path, "-o", out, "--model", "tiny-satb", "-q")
    assert code == 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("voicetools: warning:") and "silent" in lines[0]
    _assert_stems(out / "silent", 2 * SR, SR)
    for s in SOURCES:
        y, _ = sf.read(str(out / "silent" / f"{s}.wav"))
        assert np.abs(y).max() == 0.0


def test_cli_one_bad_file_does_not_stop_the_others(tmp_path, cli, assert_one_error_line):
    good = tmp_path / "good.wav"
    sf.write(str(good), _sine(), SR)
    bad = _text(tmp_path)
    out = tmp_path / "out"
    code, stdout, err = cli("separate", bad, good, "-o", out, "--model", "tiny-satb", "-q")
    assert code == 1
    assert_one_error_line(code, err)
    assert bad.name in err
    _assert_stems(out / "good", len(_sine()), SR)
    assert not (out / bad.stem).exists()


# --- API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD))
def test_api_separate_bad_input_raises_audio_load_error(case, tmp_path):
    path = BAD[case](tmp_path)
    with pytest.raises(AudioLoadError) as info:
        vt.separate(path, model="tiny-satb")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("case", sorted(BAD))
def test_api_separate_file_bad_input_leaves_nothing(case, tmp_path):
    path = BAD[case](tmp_path)
    out = tmp_path / "deep" / "out"
    with pytest.raises(AudioLoadError) as info:
        vt.separate_file(path, out, model="tiny-satb")
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "deep").exists()


@pytest.mark.parametrize("case", sorted(VALID))
def test_api_valid_input(case, tmp_path):
    data, rate, subtype = VALID[case]
    path = tmp_path / f"{case}.wav"
    sf.write(str(path), data, rate, subtype=subtype)
    with pytest.warns(UserWarning, match="downmixed") if data.shape[1] > 1 else _no_warning():
        res = vt.separate(path, model="tiny-satb")
    assert res.sample_rate == rate
    assert sorted(res.stems) == sorted(SOURCES)
    for stem in res.stems.values():
        assert isinstance(stem, torch.Tensor) and stem.dtype == torch.float32
        assert tuple(stem.shape) == (1, len(data))
        assert torch.isfinite(stem).all()
    with pytest.warns(UserWarning, match="downmixed") if data.shape[1] > 1 else _no_warning():
        summary = vt.separate_file(path, tmp_path / "out", model="tiny-satb")
    assert summary["sample_rate"] == rate and summary["channels"] == data.shape[1]
    _assert_stems(tmp_path / "out", len(data), rate)
    # the file path streams; the in-memory path does not: same stems (to 16-bit precision)
    for s in SOURCES:
        y, _ = sf.read(str(tmp_path / "out" / f"{s}.wav"), dtype="float32")
        np.testing.assert_allclose(y, np.clip(res.stems[s][0].numpy(), -1, 1), atol=2e-4)


class _no_warning:
    """Fail on any warning inside the block."""

    def __enter__(self):
        self.ctx = warnings.catch_warnings()
        self.ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self.ctx.__exit__(*exc)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_api_silent_input_gives_four_silent_stems_and_a_warning(channels, tmp_path):
    x = np.zeros((channels, 2 * SR), np.float32)
    with pytest.warns(UserWarning, match="silent"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*downmixed")
        res = vt.separate(x, sample_rate=SR, model="tiny-satb")
    assert sorted(res.stems) == sorted(SOURCES)
    assert any("silent" in w for w in res.warnings)
    for stem in res.stems.values():
        assert isinstance(stem, np.ndarray) and stem.shape == (1, 2 * SR)
        assert np.abs(stem).max() == 0.0
    path = tmp_path / "silent.wav"
    sf.write(str(path), x.T, SR)
    with pytest.warns(UserWarning, match="silent"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*downmixed")
        summary = vt.separate_file(path, tmp_path / "out", model="tiny-satb")
    assert any("silent" in w for w in summary["warnings"])
    _assert_stems(tmp_path / "out", 2 * SR, SR)


def test_api_nan_array_raises(tone):
    x = tone()
    x[10] = np.nan
    with pytest.raises(AudioLoadError, match="NaN"):
        vt.separate(x, sample_rate=SR, model="tiny-satb")
    with pytest.raises(AudioLoadError, match="NaN"):
        vt.separate(torch.from_numpy(x).clone().fill_(np.inf), sample_rate=SR, model="tiny-satb")


def test_api_empty_array_raises():
    with pytest.raises(AudioLoadError, match="zero length"):
        vt.separate(np.zeros(0, np.float32), sample_rate=SR, model="tiny-satb")


# --- a failure after the first blocks were already separated and written ---------------------------


def _nan_late(tmp_path, seconds=24.0, nan_at_s=21.0):
    x = np.random.default_rng(0).uniform(-0.3, 0.3, int(seconds * SR)).astype(np.float32)
    x[int(nan_at_s * SR)] = np.nan
    path = tmp_path / "late_nan.wav"
    sf.write(str(path), x, SR, subtype="FLOAT")
    return path


def test_api_failure_mid_stream_leaves_no_partial_folder(tmp_path):
    path = _nan_late(tmp_path)
    out = tmp_path / "new" / "stems"
    calls = []
    with pytest.raises(AudioLoadError, match="NaN") as info:
        vt.separate_file(
            path,
            out,
            model="tiny-satb",
            block_s=1.0,
            callback=lambda stage, done, total: calls.append((stage, done, total)),
        )
    assert str(path) in str(info.value)
    # the failure really came mid-stream: chunks before the NaN were separated (8 s chunks, 7 s hop)
    assert len(calls) >= 2 and calls[-1][1] < calls[-1][2]
    assert not (tmp_path / "new").exists()


def test_api_failure_mid_stream_keeps_existing_folder_untouched(tmp_path):
    path = _nan_late(tmp_path)
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(AudioLoadError):
        vt.separate_file(path, out, model="tiny-satb", block_s=1.0)
    assert sorted(os.listdir(out)) == ["keep.txt"]  # no stems, no temp folder
    assert (out / "keep.txt").read_text() == "mine"


def test_cli_failure_mid_stream_leaves_no_partial_folder(tmp_path, cli, monkeypatch, assert_one_error_line):
    from voicetools import separation

    # the CLI reads 30 s blocks; 1 s blocks let a short file fail after several blocks were written
    monkeypatch.setitem(separation.separate_file.__kwdefaults__, "block_s", 1.0)
    path = _nan_late(tmp_path, seconds=12.0, nan_at_s=10.0)
    out = tmp_path / "out"
    code, stdout, err = cli("separate", path, "-o", out, "--model", "tiny-satb", "-q")
    assert_one_error_line(code, err)
    assert "NaN" in err and path.name in err
    assert not out.exists()


def test_truncated_wav_is_refused_with_one_line(tmp_path, cli, assert_one_error_line):
    path = tmp_path / "full.wav"
    sf.write(str(path), _sine(2.0), SR, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) // 2 + 1])  # header still says 2 s; half the data (and half a sample)
    with pytest.raises(AudioLoadError, match="promises 2.00 s but the file holds 1.00 s"):
        vt.separate(cut, model="tiny-satb")
    code, stdout, err = cli("separate", cut, "-o", tmp_path / "out", "--model", "tiny-satb", "-q")
    assert_one_error_line(code, err)
    assert "cut short" in err and not (tmp_path / "out" / "cut").exists()
