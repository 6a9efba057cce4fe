"""audio.frontend: STFT round trip, shapes, and a mel filterbank that puts energy where it belongs."""

import numpy as np
import pytest
import torch

from voicetools.audio.frontend import istft, log_mel_spectrogram, mel_filterbank, mel_spectrogram, stft


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=float) / 700.0)


def _mel_centres_hz(sample_rate, n_mels, f_min=0.0, f_max=None):
    f_max = f_max or sample_rate / 2
    mels = np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2)
    return 700.0 * (10 ** (mels / 2595.0) - 1.0)[1:-1]


@pytest.mark.parametrize("length", [8000, 8001, 12345, 1023])
@pytest.mark.parametrize("n_fft, hop", [(1024, None), (512, 128), (256, 64)])
def test_stft_istft_round_trip(length, n_fft, hop):
    x = torch.randn(length, generator=torch.Generator().manual_seed(length)) * 0.5
    spec = stft(x, n_fft=n_fft, hop_length=hop)
    assert spec.is_complex() and spec.shape[0] == n_fft // 2 + 1
    assert spec.shape[1] == length // (hop or n_fft // 4) + 1  # centred frames
    y = istft(spec, n_fft=n_fft, hop_length=hop, length=length)
    assert y.shape == x.shape
    assert (y - x).abs().max() < 1e-4


def test_batched_shapes_round_trip():
    x = torch.randn(2, 3, 4000, generator=torch.Generator().manual_seed(0))
    spec = stft(x, n_fft=256)
    assert tuple(spec.shape[:3]) == (2, 3, 129)
    assert (istft(spec, n_fft=256, length=4000) - x).abs().max() < 1e-4
    # batching is only a reshape: each row is transformed on its own
    torch.testing.assert_close(spec[1, 2], stft(x[1, 2], n_fft=256))


def test_stft_peak_bin_of_a_sine(tone):
    x = torch.from_numpy(tone(1000.0, seconds=1.0, sample_rate=8000))
    mag = stft(x, n_fft=512).abs().mean(-1)
    assert int(mag.argmax()) == round(1000 * 512 / 8000)  # bin 64


def test_mel_filterbank_shape_and_triangles():
    fb = mel_filterbank(16000, 1024, 40)
    assert tuple(fb.shape) == (40, 513)
    assert (fb >= 0).all()
    freqs = np.linspace(0, 8000, 513)
    centres = _mel_centres_hz(16000, 40)
    peaks = freqs[fb.argmax(1).numpy()]
    bin_hz = freqs[1]
    assert np.all(np.abs(peaks - centres) <= bin_hz)  # each triangle peaks at its centre
    assert np.all(np.diff(peaks) >= 0)


@pytest.mark.parametrize("freq_hz", [300.0, 1000.0, 2500.0])
@pytest.mark.parametrize("sample_rate, n_fft, n_mels", [(16000, 1024, 64), (8000, 512, 40)])
def test_log_mel_peak_is_at_the_nearest_mel_bin(freq_hz, sample_rate, n_fft, n_mels, tone):
    x = torch.from_numpy(tone(freq_hz, seconds=1.0, sample_rate=sample_rate))
    logmel = log_mel_spectrogram(x, sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels)
    assert logmel.shape[0] == n_mels
    peak = int(logmel[:, 5:-5].mean(-1).argmax())
    expected = int(np.argmin(np.abs(_mel_centres_hz(sample_rate, n_mels) - freq_hz)))
    assert peak == expected


def test_log_mel_is_ten_log10_of_power_with_floor(tone):
    x = torch.from_numpy(tone(1000.0, seconds=0.5, sample_rate=16000))
    mel = mel_spectrogram(x, sample_rate=16000, n_mels=32)
    logmel = log_mel_spectrogram(x, sample_rate=16000, n_mels=32, floor_db=-80.0)
    expected = torch.clamp(10 * torch.log10(mel + 1e-10), min=-80.0)
    torch.testing.assert_close(logmel, expected)
    silent = log_mel_spectrogram(torch.zeros(16000), sample_rate=16000, n_mels=32, floor_db=-80.0)
    assert (silent == -80.0).all()
    # 6 dB louder signal -> 20*log10(2) dB more in every bin with energy
    louder = log_mel_spectrogram(2 * x, sample_rate=16000, n_mels=32, floor_db=-300.0)
    quiet = log_mel_spectrogram(x, sample_rate=16000, n_mels=32, floor_db=-300.0)
    strong = quiet > quiet.max() - 40
    torch.testing.assert_close(
        louder[strong] - quiet[strong], torch.full_like(quiet[strong], 20 * np.log10(2)), atol=1e-3, rtol=0
    )
