"""Every module imports on its own, and the public API is what the package says it is."""

import importlib
import pkgutil
from pathlib import Path

import pytest

import voicetools


def _modules():
    names = [voicetools.__name__]
    for info in pkgutil.walk_packages(voicetools.__path__, prefix=voicetools.__name__ + "."):
        names.append(info.name)
    return sorted(names)


def test_walk_finds_the_known_modules():
    names = _modules()
    for expected in (
        "voicetools.cli",
        "voicetools.checkpoints",
        "voicetools.chunking",
        "voicetools.audio.io",
        "voicetools.nn.convtasnet",
        "voicetools.separation.metrics",
        "voicetools.train.trainer",
        "voicetools.data.singing",
    ):
        assert expected in names


@pytest.mark.parametrize("name", _modules())
def test_module_imports(name):
    module = importlib.import_module(name)
    assert module.__name__ == name
    empty_package = hasattr(module, "__path__") and Path(module.__file__).stat().st_size == 0
    assert module.__doc__ or empty_package, f"{name} has no module docstring"


def test_public_api():
    for name in voicetools.__all__:
        assert hasattr(voicetools, name), name
    assert issubclass(voicetools.AudioLoadError, voicetools.VoicetoolsError)
    assert issubclass(voicetools.ModelLoadError, voicetools.VoicetoolsError)
    assert issubclass(voicetools.ParameterError, ValueError)
    assert voicetools.__version__.count(".") == 2
