"""checkpoints: save/load round trip, the shipped registry's sha256 check, the user cache, names."""

import json

import pytest
import torch
from tiny_models import TINY_MODELS

import voicetools as vt
from voicetools import checkpoints
from voicetools.checkpoints import available_models, load_model, save_checkpoint, sha256_of
from voicetools.errors import ModelLoadError, ParameterError
from voicetools.nn.convtasnet import ConvTasNet

SOURCES = ["soprano", "alto", "tenor", "bass"]


@pytest.fixture
def trained():
    torch.manual_seed(7)
    return ConvTasNet(**TINY_MODELS["tiny-satb"]["model_args"]).eval()


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_save_then_load_folder_round_trips(trained, tmp_path):
    out = tmp_path / "ckpt"
    digest = save_checkpoint(
        trained, out, task="separation", architecture="ConvTasNet", sources=SOURCES, training={"epochs": 3}
    )
    assert digest == sha256_of(out / "model.safetensors") and len(digest) == 64
    config = json.loads((out / "config.json").read_text())
    assert config["model_name"] == "ConvTasNet" and config["task"] == "separation"
    assert config["sources"] == SOURCES and config["training"] == {"epochs": 3}
    assert config["voicetools_version"] == vt.__version__
    loaded = load_model(out)
    assert loaded.sources == SOURCES and loaded.sample_rate == 8000
    assert not loaded.model.training
    _same_weights(loaded.model, trained)
    x = torch.randn(1, 3000, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(loaded.model(x), trained(x))


def test_tiny_test_models_are_not_installed(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICETOOLS_CACHE", str(tmp_path / "empty"))
    assert not [n for n in available_models() if n.startswith("tiny-")]
    assert not [n for n in checkpoints.registry() if n.startswith("tiny-")]
    with pytest.raises(ParameterError, match="unknown model 'tiny-satb'"):
        load_model("tiny-satb")


def test_tiny_model_is_deterministic():
    a, b = load_model("tiny-satb"), load_model("tiny-satb")
    _same_weights(a.model, b.model)
    assert a.sources == SOURCES and a.sample_rate == 8000 and a.config["task"] == "separation"


@pytest.fixture
def shipped(tmp_path, monkeypatch, trained):
    """A registry in a temp folder with one model; returns (registry path, weights sha256)."""
    root = tmp_path / "checkpoints"
    digest = save_checkpoint(trained, root / "satb-test", task="separation", architecture="ConvTasNet", sources=SOURCES)
    registry = root / "registry.json"
    monkeypatch.setattr(checkpoints, "CHECKPOINT_DIR", root)
    monkeypatch.setattr(checkpoints, "REGISTRY_FILE", registry)

    def write(sha):
        registry.write_text(
            json.dumps(
                {
                    "satb-test": {
                        "path": "satb-test",
                        "sha256": sha,
                        "task": "separation",
                        "sample_rate": 8000,
                        "sources": SOURCES,
                    }
                }
            )
        )

    return write, digest


def test_registry_entry_with_right_sha_loads(shipped, trained):
    write, digest = shipped
    write(digest)
    assert "satb-test" in available_models("separation")
    assert "satb-test" not in available_models("transcription")
    loaded = load_model("satb-test")
    assert loaded.name == "satb-test"
    _same_weights(loaded.model, trained)


def test_registry_entry_with_wrong_sha_is_refused(shipped):
    write, digest = shipped
    write("0" * 64)
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model("satb-test")


def test_registry_weights_changed_on_disk_are_refused(shipped, tmp_path):
    write, digest = shipped
    write(digest)
    weights = tmp_path / "checkpoints" / "satb-test" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last weight
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model("satb-test")


def test_registry_entry_with_missing_files(shipped, tmp_path):
    write, digest = shipped
    write(digest)
    (tmp_path / "checkpoints" / "satb-test" / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="incomplete"):
        load_model("satb-test")


def test_user_cache_models_are_listed_and_load_by_name(trained, isolated_cache, tone):
    save_checkpoint(trained, isolated_cache / "my-choir", task="separation", architecture="ConvTasNet", sources=SOURCES)
    save_checkpoint(trained, isolated_cache / "my-tagger", task="tagging", architecture="ConvTasNet")
    (isolated_cache / "notes.txt").write_text("not a model")
    (isolated_cache / "empty-folder").mkdir()
    tiny_sep = [n for n, e in TINY_MODELS.items() if e["task"] == "separation"]
    shipped = [n for n, e in checkpoints.registry().items() if e["task"] == "separation"]
    assert available_models("separation") == sorted(["my-choir", *tiny_sep, *shipped])
    assert available_models("tagging") == sorted(
        ["my-tagger", *(n for n, e in TINY_MODELS.items() if e["task"] == "tagging")]
    )
    assert available_models() == sorted(["my-choir", "my-tagger", *TINY_MODELS, *checkpoints.registry()])
    loaded = load_model("my-choir")
    assert loaded.name == "my-choir" and loaded.sources == SOURCES
    _same_weights(loaded.model, trained)
    # and it separates, by name, through the public API
    res = vt.separate(tone(seconds=0.1), sample_rate=8000, model="my-choir")
    assert list(res.stems) == SOURCES and res.model == "my-choir"


def test_wrong_task_model_is_refused_by_separate(trained, isolated_cache):
    save_checkpoint(trained, isolated_cache / "my-tagger", task="tagging", architecture="ConvTasNet")
    with pytest.raises(ParameterError, match="not a separation model"):
        vt.separate(torch.zeros(1, 800), sample_rate=8000, model="my-tagger")


def test_corrupt_user_cache_weights(trained, isolated_cache):
    folder = isolated_cache / "broken"
    save_checkpoint(trained, folder, task="separation", architecture="ConvTasNet", sources=SOURCES)
    (folder / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelLoadError, match="broken"):
        load_model("broken")
    (folder / "config.json").write_text("{oops")
    assert "broken" not in available_models()  # listed only when readable
    with pytest.raises(ModelLoadError, match="broken"):
        load_model("broken")


def test_unknown_name_lists_choices(trained, isolated_cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_checkpoint(trained, isolated_cache / "my-choir", task="separation", architecture="ConvTasNet", sources=SOURCES)
    with pytest.raises(ParameterError) as info:
        load_model("satb-nope", task="separation")
    message = str(info.value)
    assert "satb-nope" in message and "tiny-satb" in message and "my-choir" in message
    assert isinstance(info.value, ValueError)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICETOOLS_CACHE", str(tmp_path / "elsewhere"))
    assert checkpoints.cache_dir() == tmp_path / "elsewhere"
    # a missing cache folder is simply empty: only shipped models remain
    assert available_models() == sorted(checkpoints.registry())
    monkeypatch.delenv("VOICETOOLS_CACHE")
    assert checkpoints.cache_dir().parts[-2:] == (".cache", "voicetools")
