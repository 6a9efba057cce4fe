"""Official Demucs weights: the loader reads Demucs' own file format safely and runs it like Demucs does.

Official weights cannot be downloaded here, so the test builds a small ``HTDemucs`` and saves it
exactly as Demucs saves its releases (``{"klass", "args", "kwargs", "state"}`` via ``torch.save``,
named ``<signature>-<sha256 prefix>.th``), then checks our output against demucs' own loader and
``apply_model`` on the same file.
"""

import hashlib
import pickle

import numpy as np
import pytest
import soundfile as sf
import torch
from tiny_models import small_demucs_package

import voicetools as vt
from voicetools.errors import ModelLoadError
from voicetools.vocals.model import load_vocal_model

SR = 8000
SOURCES = ["drums", "bass", "other", "vocals"]


def _save_demucs_file(folder, sig="955717e8", seed=0):
    """A small HTDemucs saved in Demucs' release format; returns its path."""
    package = {**small_demucs_package(seed=seed, sample_rate=SR), "training_args": {"dummy": 1}}
    tmp = folder / "tmp.th"
    torch.save(package, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    path = folder / f"{sig}-{digest}.th"
    tmp.rename(path)
    return path


def test_official_file_gives_what_demucs_apply_model_gives(tmp_path):
    from demucs.apply import apply_model
    from demucs.states import load_model

    path = _save_demucs_file(tmp_path)
    x = (0.1 * np.random.default_rng(0).standard_normal((2, int(1.5 * SR)))).astype(np.float32)
    ours = vt.extract_vocals(x, sample_rate=SR, weights=path, stems="all")
    assert list(ours.stems) == SOURCES and ours.model == "955717e8"
    reference = load_model(str(path)).eval()  # demucs' own (unrestricted) loader, trusted here
    # one segment of input is one model call for us; demucs' split=True would add a second, padded
    # chunk at 75 % of the segment, so the like-for-like reference is apply_model without splitting
    with torch.no_grad():
        theirs = apply_model(reference, torch.from_numpy(x)[None], shifts=0, split=False)[0]
    for i, name in enumerate(SOURCES):
        np.testing.assert_allclose(ours.stems[name], theirs[i].numpy(), atol=1e-5)
    # the default two stems: Demucs' vocals and the rest of the mixture
    two = vt.extract_vocals(x, sample_rate=SR, weights=path)
    np.testing.assert_allclose(two.stems["vocals"], theirs[3].numpy(), atol=1e-5)
    np.testing.assert_allclose(two.stems["accompaniment"], x - theirs[3].numpy(), atol=1e-5)


def test_official_name_is_found_in_the_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    _save_demucs_file(folder)
    loaded = load_vocal_model("htdemucs")
    assert loaded.sources == SOURCES and loaded.sample_rate == SR and loaded.config["segment_s"] == 1.5
    res = vt.extract_vocals(np.zeros((1, 4000), np.float32) + 0.01, sample_rate=16000, model=loaded)
    assert res.stems["vocals"].shape == (1, 4000)  # mono in → mono out through a stereo model


def test_a_corrupt_hub_file_fails_its_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    path = _save_demucs_file(folder)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelLoadError, match="checksum"):
        load_vocal_model("htdemucs")


def test_bag_of_models_yaml(tmp_path):
    _, b = _save_demucs_file(tmp_path, "aaaa0001", 0), _save_demucs_file(tmp_path, "bbbb0002", 1)
    (tmp_path / "bag.yaml").write_text("models: ['aaaa0001', 'bbbb0002']\nweights: [[1,1,1,0],[0,0,0,1]]\n")
    x = (0.1 * np.random.default_rng(1).standard_normal((2, int(1.5 * SR)))).astype(np.float32)
    bag = vt.extract_vocals(x, sample_rate=SR, weights=tmp_path / "bag.yaml", stems="all").stems
    only_b = vt.extract_vocals(x, sample_rate=SR, weights=b, stems="all").stems
    np.testing.assert_allclose(bag["vocals"], only_b["vocals"], atol=1e-5)  # vocals come from model b only


class Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


@pytest.mark.parametrize(
    "payload,match",
    [
        ({"klass": Evil(), "args": [], "kwargs": {}, "state": {}}, "refused.*not a Demucs model class"),
        ({"klass": pickle.Pickler, "args": [], "kwargs": {}, "state": {}}, "refused.*not a Demucs model class"),
        ({"weight": torch.zeros(3)}, "not a Demucs checkpoint"),
        ({"klass": dict, "args": [], "kwargs": {}, "state": {}}, "not a Demucs"),
    ],
)
def test_foreign_pickles_are_refused_in_one_line_and_never_run(
    payload, match, tmp_path, monkeypatch, cli, assert_one_error_line
):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "weights.th"
    torch.save(payload, path)
    with pytest.raises(ModelLoadError, match=match):
        load_vocal_model(weights=path)
    song = tmp_path / "song.wav"
    sf.write(str(song), np.zeros(800), SR)
    code, _, err = cli("vocals", song, "--weights", path, "-o", tmp_path / "out")
    assert_one_error_line(code, err)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()


def test_weights_of_the_wrong_shape_are_a_load_error(tmp_path):
    path = _save_demucs_file(tmp_path)
    package = torch.load(path, weights_only=False)
    package["state"] = {k: v[..., :1] for k, v in package["state"].items()}
    bad = tmp_path / "bad.th"
    torch.save(package, bad)
    with pytest.raises(ModelLoadError, match="do not fit"):
        load_vocal_model(weights=bad)
