"""separate / separate_file with a model whose answer is known: every 'source' equals the mixture.

Then the whole pipeline (normalise, downmix, resample down, chunk, overlap-add, resample up, trim,
write) must hand the input back, at the input's rate and length, whatever the rate and chunking.
"""

import numpy as np
import pytest
import soundfile as sf
import torch

import voicetools as vt
from voicetools.chunking import OverlapAdd
from voicetools.errors import ParameterError

SR = 8000
SOURCES = ["soprano", "alto", "tenor", "bass"]


def _music(seconds, sample_rate):
    """Two tones well inside the model's 4 kHz band, with a slow swell."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t)
    return (env * (0.25 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1250 * t))).astype(np.float32)


@pytest.mark.parametrize("length", [800, 1000, 8000, 8001, 3 * SR + 17])  # 800: the shortest accepted, 0.1 s
def test_identity_model_gives_the_input_back_at_8k(identity_model, length):
    x = _music(length / SR + 1, SR)[100 : 100 + length]  # never all zeros
    res = vt.separate(x, sample_rate=SR, model=identity_model, segment_s=1.0, overlap_s=0.25)
    assert list(res.stems) == SOURCES and res.sample_rate == SR and res.model == "identity"
    for s in SOURCES:
        assert res.stems[s].shape == (1, length)
        np.testing.assert_allclose(res.stems[s][0], x, atol=1e-5)


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 96000])
def test_identity_model_through_resampling(identity_model, rate, peak_hz, si_sdr_db):
    x = _music(2.0, rate)
    res = vt.separate(x, sample_rate=rate, model=identity_model, segment_s=0.5, overlap_s=0.1)
    for s in SOURCES:
        y = res.stems[s][0]
        assert y.shape == x.shape
        assert peak_hz(y, rate) == pytest.approx(440.0, abs=1.0)
        core = slice(rate // 10, -rate // 10)  # resampler filters need a moment at the very edges
        assert si_sdr_db(y[core], x[core]) > 30


def test_multichannel_is_downmixed_with_a_warning(identity_model):
    x = _music(1.0, SR)
    stereo = np.stack([x, 0.5 * x, np.zeros_like(x)])
    with pytest.warns(UserWarning, match="3 channels were downmixed"):
        res = vt.separate(stereo, sample_rate=SR, model=identity_model)
    assert any("downmixed" in w for w in res.warnings)
    np.testing.assert_allclose(res.stems["bass"][0], x * 0.5, atol=1e-5)  # the mean of the channels


def test_a_soundfile_read_array_time_by_channels_is_taken_as_it_is(identity_model, tmp_path):
    import soundfile as sf

    x = _music(1.0, SR)
    sf.write(str(tmp_path / "s.wav"), np.stack([x, 0.5 * x], 1), SR, subtype="FLOAT")
    samples, rate = sf.read(str(tmp_path / "s.wav"), dtype="float32")  # (time, 2), as the README shows
    with pytest.warns(UserWarning, match="2 channels were downmixed"):
        res = vt.separate(samples, sample_rate=rate, model=identity_model)
    assert res.stems["alto"].shape == (1, SR)
    np.testing.assert_allclose(res.stems["alto"][0], 0.75 * x, atol=1e-5)


def test_numpy_in_numpy_out_and_torch_in_torch_out(identity_model):
    x = _music(0.5, SR)
    a = vt.separate(x, sample_rate=SR, model=identity_model)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in a.stems.values())
    b = vt.separate(torch.from_numpy(x), sample_rate=SR, model=identity_model)
    assert all(isinstance(v, torch.Tensor) for v in b.stems.values())
    c = vt.separate({"waveform": torch.from_numpy(x)[None], "sample_rate": SR}, model=identity_model)
    assert all(isinstance(v, torch.Tensor) for v in c.stems.values())
    for s in SOURCES:
        np.testing.assert_array_equal(a.stems[s], b.stems[s].numpy())
        np.testing.assert_array_equal(a.stems[s], c.stems[s].numpy())


def test_to_dict(identity_model):
    res = vt.separate(_music(1.25, SR), sample_rate=SR, model=identity_model)
    assert res.to_dict() == {
        "model": "identity",
        "sample_rate": SR,
        "duration_s": 1.25,
        "sources": SOURCES,
        "warnings": [],
    }


def test_callback_counts_every_chunk(identity_model):
    x = _music(5.0, SR)
    calls = []
    vt.separate(
        x, sample_rate=SR, model=identity_model, segment_s=1.0, overlap_s=0.5, callback=lambda *a: calls.append(a)
    )
    n = OverlapAdd.n_chunks(len(x), SR, SR // 2)
    assert identity_model.model.calls == n
    assert calls == [("separate", i, n) for i in range(1, n + 1)]


@pytest.mark.parametrize("rate, channels", [(SR, 1), (44100, 2)])
def test_separate_file_streams_to_the_same_answer(identity_model, tmp_path, rate, channels, si_sdr_db):
    x = _music(3.0, rate)
    data = np.stack([x] * channels, 1) if channels > 1 else x
    path = tmp_path / "in.wav"
    sf.write(str(path), data, rate, subtype="FLOAT")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = vt.separate_file(
            path, tmp_path / "out", model=identity_model, block_s=0.37, segment_s=1.0, overlap_s=0.25, format="flac"
        )
        in_memory = vt.separate(path, model=identity_model, segment_s=1.0, overlap_s=0.25)
    assert summary["duration_s"] == pytest.approx(3.0) and summary["channels"] == channels
    for s in SOURCES:
        y, sr = sf.read(summary["stems"][s], dtype="float32")
        assert sr == rate and y.shape == x.shape and summary["stems"][s].endswith(f"{s}.flac")
        # streaming in 0.37 s blocks gives what one pass over the whole signal gives (to 16 bits)
        np.testing.assert_allclose(y, in_memory.stems[s][0].numpy(), atol=1e-4)
        core = slice(rate // 10, -rate // 10)
        assert si_sdr_db(y[core], x[core]) > 30


def test_ogg_output(identity_model, tmp_path):
    path = tmp_path / "in.wav"
    sf.write(str(path), _music(1.0, SR), SR)
    summary = vt.separate_file(path, tmp_path / "out", model=identity_model, format="ogg")
    info = sf.info(summary["stems"]["alto"])
    assert info.format == "OGG" and info.samplerate == SR


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(segment_s=0.0), "segment_s"),
        (dict(segment_s=1.0, overlap_s=1.0), "overlap_s"),
        (dict(segment_s=1.0, overlap_s=-0.1), "overlap_s"),
    ],
)
def test_bad_chunking_arguments(identity_model, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        vt.separate(_music(0.5, SR), sample_rate=SR, model=identity_model, **kwargs)


def test_bad_format_is_refused_before_anything_is_written(identity_model, tmp_path):
    path = tmp_path / "in.wav"
    sf.write(str(path), _music(0.5, SR), SR)
    with pytest.raises(ParameterError, match="'aiff'"):
        vt.separate_file(path, tmp_path / "out", model=identity_model, format="aiff")
    assert not (tmp_path / "out").exists()


def test_loaded_model_is_reused(tmp_path):
    model = vt.load_model("tiny-satb")
    x = _music(1.0, SR)
    a = vt.separate(x, sample_rate=SR, model=model)
    b = vt.separate(x, sample_rate=SR, model="tiny-satb")
    assert a.model == b.model == "tiny-satb"
    for s in SOURCES:
        np.testing.assert_array_equal(a.stems[s], b.stems[s])


def test_stream_block_size_does_not_change_the_result():
    """Real model, overlap-add: changing only the block size of the stream changes nothing."""
    x = _music(3.0, SR)
    model = vt.load_model("tiny-satb")
    from voicetools.separation.separate import _stream

    def run(block):
        blocks = (x[i : i + block, None] for i in range(0, len(x), block))
        return np.concatenate(
            list(
                _stream(blocks, SR, model, n_frames=len(x), segment_s=1.0, overlap_s=0.25, callback=None, device="cpu")
            )
        )

    whole = run(len(x))
    assert whole.shape == (len(x), 4)
    for block in (1000, 4093):
        np.testing.assert_allclose(run(block), whole, atol=1e-5)


def test_refine_bare_shifted_and_wiener():
    from voicetools.separation import refine

    net = vt.load_model("tiny-satb").model.eval()
    x = torch.from_numpy(_music(1.0, SR))[None]
    with torch.inference_mode():
        bare = net(x[None])[0]
        torch.testing.assert_close(refine(net, x), bare)
        # a delay inside one encoder stride changes what the filterbank frames see: the average differs
        shifted = refine(net, x, shifts=4, stride=32)
        assert shifted.shape == bare.shape and not torch.allclose(shifted, bare)
        # the Wiener step re-derives the sources from the mixture: they add up to it again
        w = refine(net, x, shifts=4, stride=32, wiener_power=2.0)
    assert float((w.sum(0) - x[0]).abs().max()) < 1e-4 * float(x.abs().max()) + 1e-6
    assert float((bare.sum(0) - x[0]).abs().max()) > 1e-2  # which the bare random network does not


def test_refinement_comes_from_the_model_config_unless_overridden(identity_model):
    from voicetools.checkpoints import LoadedModel
    from voicetools.separation import refinement

    assert refinement(identity_model) == (1, None)  # nothing named: the bare network
    tuned = LoadedModel(
        "tuned", identity_model.model, {**identity_model.config, "inference": {"shifts": 4, "wiener_power": 1.5}}
    )
    assert refinement(tuned) == (4, 1.5)
    assert refinement(tuned, shifts=1, wiener=False) == (1, None)
    assert refinement(identity_model, wiener=True) == (1, 2.0)
    with pytest.raises(ParameterError, match="shifts"):
        vt.separate(_music(0.5, SR), sample_rate=SR, model=identity_model, shifts=0)
