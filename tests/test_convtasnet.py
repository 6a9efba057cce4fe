"""nn.convtasnet: shapes, and asteroid-format checkpoints through the API, the CLI and asteroid itself."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from tiny_models import TINY_MODELS

import voicetools as vt
from voicetools.errors import ModelLoadError
from voicetools.nn.convtasnet import ConvTasNet

TINY_ARGS = TINY_MODELS["tiny-satb"]["model_args"]


@pytest.fixture
def model():
    torch.manual_seed(123)
    return ConvTasNet(**TINY_ARGS).eval()


@pytest.fixture
def pth(model, tmp_path):
    path = tmp_path / "mine.pth"
    torch.save({"model_name": "ConvTasNet", "model_args": model.model_args, "state_dict": model.state_dict()}, path)
    return path


def _mixture(length, seed=0):
    return torch.randn(1, length, generator=torch.Generator().manual_seed(seed)) * 0.1


@pytest.mark.parametrize("length", [33, 101, 799, 801, 4001, 8001, 12345])
def test_output_length_equals_input_length(model, length):
    with torch.inference_mode():
        out = model(_mixture(length))
        assert tuple(out.shape) == (1, 4, length)
        assert tuple(model(_mixture(length)[:, None]).shape) == (1, 4, length)  # (batch, 1, time) too
        batch = model(torch.cat([_mixture(length, 1), _mixture(length, 2)]))
    assert tuple(batch.shape) == (2, 4, length)
    assert torch.isfinite(out).all()


def test_batch_items_are_independent(model):
    a, b = _mixture(1601, 1), _mixture(1601, 2)
    with torch.inference_mode():
        both = model(torch.cat([a, b]))
        torch.testing.assert_close(both[1:], model(b), atol=1e-5, rtol=1e-4)


def test_from_model_args_round_trip(model):
    again = ConvTasNet.from_model_args(model.model_args)
    assert again.model_args == model.model_args
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    "key, value", [("causal", True), ("norm_type", "cLN"), ("mask_act", "relu"), ("fb_name", "stft"), ("in_chan", 7)]
)
def test_unsupported_variants_are_refused(model, key, value):
    with pytest.raises(ValueError, match=key):
        ConvTasNet.from_model_args({**model.model_args, key: value})


def test_asteroid_checkpoint_loads_through_load_model(model, pth):
    loaded = vt.load_model(pth)
    assert loaded.name == "mine" and loaded.sample_rate == 8000
    assert loaded.sources == ["source1", "source2", "source3", "source4"]
    x = _mixture(8000)
    with torch.inference_mode():
        assert torch.equal(loaded.model(x), model(x))
    assert vt.load_model(str(pth)).model.state_dict().keys() == model.state_dict().keys()


def test_asteroid_checkpoint_through_separate_and_cli(model, pth, tmp_path, cli):
    x = _mixture(12000, 5)[0].numpy()
    res = vt.separate(x, sample_rate=8000, model=pth, segment_s=8.0, overlap_s=1.0)
    assert list(res.stems) == ["source1", "source2", "source3", "source4"]
    assert res.model == "mine"
    # a single chunk (1.5 s < 8 s segment), zero-padded: the model's own output on the padded input
    with torch.inference_mode():
        direct = model(torch.nn.functional.pad(torch.from_numpy(x)[None], [0, 64000 - 12000]))[0, :, :12000]
    for i, name in enumerate(res.stems):
        np.testing.assert_allclose(res.stems[name][0], direct[i].numpy(), atol=1e-5)

    wav = tmp_path / "mix.wav"
    sf.write(str(wav), x, 8000, subtype="FLOAT")
    code, stdout, err = cli("separate", wav, "-o", tmp_path / "out", "--model", pth, "-q")
    assert code == 0, err
    for name in res.stems:
        y, sr = sf.read(str(tmp_path / "out" / "mix" / f"{name}.wav"), dtype="float32")
        assert sr == 8000
        np.testing.assert_allclose(y, np.clip(res.stems[name][0], -1, 1), atol=1e-4)  # 16-bit files


def test_matches_asteroid_numerically(model, pth):
    pytest.importorskip("asteroid")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from asteroid.models import ConvTasNet as AsteroidConvTasNet

        theirs = AsteroidConvTasNet.from_pretrained(str(pth)).eval()
    built = AsteroidConvTasNet(**model.model_args).eval()
    built.load_state_dict(model.state_dict())  # same keys, same shapes
    for length in (8000, 4321):
        x = _mixture(length, length)
        with torch.inference_mode():
            ours = model(x)
            torch.testing.assert_close(theirs(x), ours, atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(built(x), ours, atol=1e-6, rtol=1e-5)


class _Evil:
    """Unpickling this would create a file: a checkpoint loader must never run it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickled_object_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    for i, payload in enumerate(
        [_Evil(marker), {"model_name": "ConvTasNet", "model_args": {}, "state_dict": _Evil(marker)}]
    ):
        path = tmp_path / f"evil{i}.pth"
        torch.save(payload, path)
        with pytest.raises(ModelLoadError, match=f"evil{i}.pth"):
            vt.load_model(path)
    assert not marker.exists()
    # and the same payload as a plain pickle
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(ModelLoadError):
        vt.load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, match",
    [
        ({}, "not an asteroid checkpoint"),
        ({"state_dict": {}}, "not an asteroid checkpoint"),
        ([1, 2, 3], "not an asteroid checkpoint"),
        ({"model_name": "DPRNNTasNet", "model_args": {"n_src": 2}, "state_dict": {}}, "unknown model type"),
    ],
)
def test_wrong_contents_are_model_load_errors(tmp_path, payload, match):
    path = tmp_path / "other.pth"
    torch.save(payload, path)
    with pytest.raises(ModelLoadError, match=match):
        vt.load_model(path)


def test_weights_that_do_not_fit(model, tmp_path):
    state = model.state_dict()
    bigger = dict(model.model_args, n_filters=48, in_chan=48, out_chan=48)
    path = tmp_path / "mismatch.pth"
    torch.save({"model_name": "ConvTasNet", "model_args": bigger, "state_dict": state}, path)
    with pytest.raises(ModelLoadError, match="do not fit"):
        vt.load_model(path)
    path = tmp_path / "causal.pth"
    torch.save(
        {"model_name": "ConvTasNet", "model_args": dict(model.model_args, causal=True), "state_dict": state}, path
    )
    with pytest.raises(ModelLoadError, match="causal"):
        vt.load_model(path)


def test_garbage_and_truncated_files(pth, tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(ModelLoadError, match="junk.pth"):
        vt.load_model(junk)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(pth.read_bytes()[: pth.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="cut.pth"):
        vt.load_model(cut)
