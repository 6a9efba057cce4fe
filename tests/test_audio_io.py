"""audio.io: one normalised input type, resampling that keeps pitch and length, downmixing, saving."""

import numpy as np
import pytest
import soundfile as sf
import torch

from voicetools.audio.io import Audio, as_audio, audio_info, load_audio, resample, save_audio, to_mono
from voicetools.errors import AudioLoadError, ParameterError

SR = 8000


def _stereo(tone):
    return np.stack([tone(440.0), tone(660.0, amplitude=0.1)])  # (2, time)


def test_path_is_loaded_as_channels_first_float32(write_wav, tone):
    x = _stereo(tone)
    path = write_wav("s.wav", x.T, subtype="FLOAT")
    for given in (path, str(path)):
        a = as_audio(given)
        assert isinstance(a, Audio) and a.sample_rate == SR and a.path == path
        assert a.samples.dtype == torch.float32 and tuple(a.samples.shape) == (2, SR)
        assert a.channels == 2 and a.duration_s == pytest.approx(1.0)
        np.testing.assert_array_equal(a.samples.numpy(), x)


def test_16_bit_file_is_scaled_to_unit_range(write_wav, tone):
    x = tone(amplitude=0.5)
    a = load_audio(write_wav("p.wav", x, subtype="PCM_16"))
    np.testing.assert_allclose(a.samples[0].numpy(), x, atol=1 / 32768)


def test_numpy_1d_becomes_one_channel(tone):
    x = tone()
    a = as_audio(x, SR)
    assert tuple(a.samples.shape) == (1, SR) and a.sample_rate == SR
    np.testing.assert_array_equal(a.samples[0].numpy(), x)


def test_numpy_2d_and_float64_and_torch(tone):
    x = _stereo(tone)
    a = as_audio(x.astype(np.float64), SR)
    assert a.samples.dtype == torch.float32 and tuple(a.samples.shape) == (2, SR)
    np.testing.assert_allclose(a.samples.numpy(), x, atol=1e-7)
    t = torch.from_numpy(x).requires_grad_(False)
    b = as_audio(t, 16000)
    assert b.sample_rate == 16000 and torch.equal(b.samples, t)
    c = as_audio(torch.from_numpy(x[0]), SR)
    assert tuple(c.samples.shape) == (1, SR)


def test_dict_input(tone):
    x = tone()
    a = as_audio({"waveform": torch.from_numpy(x)[None], "sample_rate": 22050})
    assert a.sample_rate == 22050 and tuple(a.samples.shape) == (1, SR)
    with pytest.raises(ParameterError, match="waveform"):
        as_audio({"audio": x, "sample_rate": SR})


def test_audio_passes_through(tone):
    a = as_audio(tone(), SR)
    assert as_audio(a) is a


def test_time_channels_layout_as_soundfile_reads_it_is_accepted(tone, write_wav):
    x = _stereo(tone)  # (2, time)
    data, rate = sf.read(str(write_wav("s.wav", x.T, subtype="FLOAT")))  # (time, 2)
    for given in (data, torch.from_numpy(data), {"waveform": data, "sample_rate": rate}):
        a = as_audio(given, rate)
        assert tuple(a.samples.shape) == (2, SR)
        np.testing.assert_allclose(a.samples.numpy(), x, atol=1e-7)
    assert tuple(as_audio(x, SR).samples.shape) == (2, SR)  # (channels, time) stays as it is


@pytest.mark.parametrize(
    "bad, rate, match",
    [
        (np.zeros((2, 3, 1000), np.float32), SR, "shaped"),
        (np.zeros(1000, np.float32), None, "sample_rate is required"),
        (np.zeros(1000, np.float32), 0, "positive"),
        (np.zeros(1000, np.float32), -8000, "positive"),
        ([0.0, 0.1, 0.2], SR, "unsupported audio input"),
        (42, SR, "unsupported audio input"),
    ],
)
def test_bad_arguments_are_parameter_errors(bad, rate, match):
    with pytest.raises(ParameterError, match=match):
        as_audio(bad, rate)
    assert issubclass(ParameterError, ValueError)


def test_nonfinite_and_empty_arrays_are_audio_errors():
    with pytest.raises(AudioLoadError, match="NaN"):
        as_audio(np.array([0.0, np.nan, 0.0] * 10, np.float32), SR)
    with pytest.raises(AudioLoadError, match="zero length"):
        as_audio(np.zeros(0, np.float32), SR)
    with pytest.raises(AudioLoadError, match="zero length"):
        as_audio(torch.zeros(2, 0), SR)


# --- the input policy every verb shares (README "Input audio") ---------------------------------------


def _with_data_size(path, size):
    """``path`` with its WAV data chunk's size field set to ``size`` bytes (the data itself unchanged)."""
    import struct

    b = bytearray(path.read_bytes())
    i = b.index(b"data")
    b[i + 4 : i + 8] = struct.pack("<I", size)
    path.write_bytes(bytes(b))
    return path


@pytest.mark.parametrize(
    "seconds, rate, message",
    [
        (1 / SR, SR, "0.125 ms of audio is too short; voicetools needs at least 0.1 s"),
        (0.01, SR, "10 ms of audio is too short"),
        (0.099, 16000, "99 ms of audio is too short"),
        (1.0, 1000, "the sample rate is 1000 Hz; voicetools needs at least 8000 Hz"),
        (1.0, 4000, "the sample rate is 4000 Hz"),
    ],
)
def test_too_short_or_too_low_a_rate_is_refused_from_files_and_arrays(seconds, rate, message, write_wav, tone):
    x = tone(200.0, seconds=seconds, sample_rate=rate)
    path = write_wav("x.wav", x, sample_rate=rate)
    for read in (load_audio, audio_info, lambda p: as_audio(x, rate)):
        with pytest.raises(AudioLoadError, match=message):
            read(path)


def test_shortest_and_lowest_accepted(write_wav, tone):
    x = tone(200.0, seconds=0.1, sample_rate=SR)
    assert load_audio(write_wav("x.wav", x)).samples.shape[-1] == 800
    assert as_audio(x, SR).samples.shape[-1] == 800
    assert load_audio(write_wav("x.wav", x[:10]), min_duration_s=0).samples.shape[-1] == 10  # training clips


def test_a_file_cut_short_is_refused_not_read_in_part(write_wav, tone):
    path = write_wav("cut.wav", tone(seconds=2.0), subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 1])  # the header still promises 2 s
    for read in (load_audio, audio_info):
        with pytest.raises(AudioLoadError, match=r"promises 2.00 s but the file holds 1.00 s"):
            read(path)


@pytest.mark.parametrize(
    "size, refused",
    [(10 * 2 * SR, True), (0xFFFFFFF0, True), (0xFFFFFFFF, False), (0x7FFFF000, False), (2 * SR + 4, False)],
)
def test_a_header_promising_more_is_refused_unless_it_means_read_to_the_end(size, refused, write_wav, tone):
    path = _with_data_size(write_wav("x.wav", tone(seconds=1.0), subtype="PCM_16"), size)
    if refused:  # a lie, e.g. 10 s or 74 h promised for 1 s (two samples more is a sloppy writer, no loss)
        with pytest.raises(AudioLoadError, match="promises"):
            load_audio(path)
    else:  # the placeholder of encoders streaming to a pipe (ffmpeg, sox): read to the end
        assert load_audio(path).samples.shape[-1] == SR and audio_info(path).frames == SR


def test_a_stream_unreadable_midway_is_one_audio_error(tmp_path, tone):
    from voicetools.audio.io import read_blocks

    path = tmp_path / "x.flac"
    sf.write(str(path), tone(seconds=2.0), SR)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # FLAC's header still reads fine
    with pytest.raises(AudioLoadError, match="unreadable after"):
        list(read_blocks(path, SR, 0.2))


def test_max_duration_is_checked_before_decoding(write_wav, tone):
    path = write_wav("long.wav", tone(seconds=2.0))
    with pytest.raises(AudioLoadError, match="limit"):
        load_audio(path, max_duration_s=1.0)
    assert load_audio(path, max_duration_s=3.0).duration_s == pytest.approx(2.0)


@pytest.mark.parametrize("orig, target", [(8000, 16000), (44100, 8000), (96000, 8000), (8000, 22050)])
def test_resample_keeps_pitch_and_length(orig, target, tone, peak_hz):
    x = torch.from_numpy(tone(440.0, seconds=1.0, sample_rate=orig))[None]
    y = resample(x, orig, target)
    assert y.dtype == torch.float32 and y.shape[0] == 1
    assert abs(y.shape[-1] - orig * 1.0 * target / orig) <= 1  # one second stays one second
    assert y.shape[-1] == round(x.shape[-1] * target / orig)
    assert peak_hz(y[0].numpy(), target) == pytest.approx(440.0, abs=1.0)
    mid = y[0, target // 4 : 3 * target // 4].numpy()  # amplitude kept away from the edges
    assert np.abs(mid).max() == pytest.approx(0.3, rel=0.02)


def test_resample_multichannel_and_noop(tone, peak_hz):
    x = torch.from_numpy(np.stack([tone(440.0), tone(1000.0)]))
    y = resample(x, SR, 16000)
    assert tuple(y.shape) == (2, 16000)
    assert peak_hz(y[0].numpy(), 16000) == pytest.approx(440.0, abs=1.0)
    assert peak_hz(y[1].numpy(), 16000) == pytest.approx(1000.0, abs=1.0)
    assert resample(x, SR, SR) is x


def test_to_mono_averages_and_warns(tone):
    x = torch.from_numpy(_stereo(tone))
    with pytest.warns(UserWarning, match="2 channels downmixed"):
        y = to_mono(x, warn_for="song.wav")
    assert tuple(y.shape) == (1, SR)
    torch.testing.assert_close(y[0], (x[0] + x[1]) / 2)
    mono = x[:1]
    assert to_mono(mono, warn_for="song.wav") is mono  # nothing to do, nothing to say


def test_save_audio_round_trip_and_clipping(tmp_path, tone):
    x = torch.from_numpy(np.stack([tone(), 2.0 * np.ones(SR, np.float32)]))
    p = save_audio(tmp_path / "x.wav", x, SR)
    y, sr = sf.read(str(p), dtype="float32", always_2d=True)
    assert sr == SR and y.shape == (SR, 2) and sf.info(str(p)).subtype == "PCM_16"
    np.testing.assert_allclose(y[:, 0], x[0].numpy(), atol=1 / 32768)
    assert y[:, 1].max() == pytest.approx(1.0, abs=1 / 32768)  # clipped, not wrapped
    p = save_audio(tmp_path / "x.flac", x[:1], SR)
    assert sf.info(str(p)).format == "FLAC"
