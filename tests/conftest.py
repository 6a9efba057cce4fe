"""Shared fixtures: synthetic signals with known answers, and a scratch folder per test."""

import sys
import warnings

import numpy as np
import pytest
import torch

# Tests use tiny signals and tiny models: one thread is as fast and leaves the other core free.
torch.set_num_threads(1)


@pytest.fixture
def tone():
    """A function making a sine of ``freq_hz`` for ``seconds`` at ``sample_rate``, float32."""

    def make(freq_hz=440.0, seconds=1.0, sample_rate=8000, amplitude=0.3):
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)

    return make


@pytest.fixture(scope="session", autouse=True)
def tiny_models(tmp_path_factory):
    """The random-weight ``tiny-*`` models (``tiny_models.py``), written once as user-cache folders.

    Until a test's own cache is set (module- and session-scoped fixtures run first), this folder is
    ``$VOICETOOLS_CACHE``, so those fixtures find the tiny models too and never read ``~/.cache``.
    """
    from tiny_models import install

    folder = install(tmp_path_factory.mktemp("tiny-models"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICETOOLS_CACHE", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch, tiny_models):
    """Every test sees a user model cache of its own, never ``~/.cache/voicetools``: empty but for
    links to the tiny test models."""
    cache = tmp_path_factory.mktemp("cache")
    for model in tiny_models.iterdir():
        (cache / model.name).symlink_to(model, target_is_directory=True)
    monkeypatch.setenv("VOICETOOLS_CACHE", str(cache))
    return cache


@pytest.fixture
def write_wav(tmp_path):
    """``write_wav(name, data, sample_rate=8000, subtype=None)``: data (time,) or (time, channels)."""
    import soundfile as sf

    def write(name, data, sample_rate=8000, subtype=None):
        path = tmp_path / name
        sf.write(str(path), np.asarray(data), sample_rate, subtype=subtype)
        return path

    return write


def _peak_hz(x: np.ndarray, sample_rate: int) -> float:
    """Frequency of the strongest spectral peak (Hann window, zero-padded, parabolic interpolation)."""
    x = np.asarray(x, dtype=np.float64)
    n = 8 * len(x)
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    k = int(np.argmax(mag[1:-1])) + 1
    a, b, c = np.log(mag[k - 1 : k + 2] + 1e-20)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) else 0.0
    return (k + shift) * sample_rate / n


def _si_sdr_db(estimate, reference) -> float:
    """Reference SI-SDR in numpy (independent of voicetools' own metric)."""
    e = np.asarray(estimate, np.float64).ravel()
    r = np.asarray(reference, np.float64).ravel()
    e, r = e - e.mean(), r - r.mean()
    target = (e @ r) / (r @ r) * r
    return 10 * np.log10((target @ target) / ((e - target) @ (e - target) + 1e-20))


class IdentitySeparator(torch.nn.Module):
    """A 'separator' whose every source is the mixture: separation must then give the input back."""

    def __init__(self, n_src=4):
        super().__init__()
        self.n_src = n_src
        self.calls = 0

    def forward(self, wav):
        self.calls += 1
        if wav.dim() == 2:
            wav = wav[:, None]
        return wav.expand(-1, self.n_src, -1).clone()


@pytest.fixture
def identity_model():
    """A ``LoadedModel`` at 8 kHz with four sources that each equal the input."""
    from voicetools.checkpoints import LoadedModel

    config = {
        "task": "separation",
        "model_name": "Identity",
        "model_args": {"sample_rate": 8000},
        "sources": ["soprano", "alto", "tenor", "bass"],
    }
    return LoadedModel("identity", IdentitySeparator(4), config)


@pytest.fixture
def cli(capsys):
    """Run ``voicetools.cli.main(argv)``; returns (exit code, stdout, stderr).

    Warnings are printed to stderr as they would be outside pytest, so a stray warning shows up in
    the stderr the test checks. argparse's own exits (``--version``, usage errors) become codes.
    """
    from voicetools.cli import main

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    def run(*argv):
        capsys.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show
            try:
                code = main([str(a) for a in argv])
            except SystemExit as exc:
                code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _assert_one_error_line(code, err):
    """A failed command: non-zero exit, exactly one stderr line ``voicetools: error: ...``, no traceback."""
    assert code not in (0, None), f"expected a failure, got exit code {code}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert lines[0].startswith("voicetools: error: "), lines[0]
    assert "Traceback" not in err
    assert len(lines[0]) > len("voicetools: error: ") + 10  # says something


# Helpers are handed out as fixtures: ``from conftest import ...`` breaks as soon as another
# conftest.py (tests/browser/) is imported first under the same module name.


@pytest.fixture
def peak_hz():
    """``peak_hz(x, sample_rate)``: frequency of the strongest spectral peak."""
    return _peak_hz


@pytest.fixture
def si_sdr_db():
    """``si_sdr_db(estimate, reference)``: SI-SDR in dB computed independently in numpy."""
    return _si_sdr_db


@pytest.fixture
def assert_one_error_line():
    """``assert_one_error_line(code, stderr)``: the CLI failed with exactly one clean error line."""
    return _assert_one_error_line


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory):
    """Gradio's upload folder for a module's app tests (the app only accepts inputs from there)."""
    d = tmp_path_factory.mktemp("gradio-uploads")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(d))
        yield d


@pytest.fixture(scope="session")
def choir_example():
    """(sample_rate, mixture, true stems (4, samples)) of examples/choir.wav, regenerated by its own script."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "make_choir_example.py"
    spec = importlib.util.spec_from_file_location("make_choir_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, mixture, stems = module.example_stems()
    return module.SAMPLE_RATE, mixture, stems


# Shipped-weight quality checks and whole-pipeline runs take minutes; the browser tests need chromium.
# Both run by default (CI runs everything); `pytest -m "not slow and not browser"` is the quick loop.
SLOW_MODULES = {
    "test_separation_quality",
    "test_vocals_quality",
    "test_pronounce_real",
    "test_readme_blocks",
    "test_transcription_benchmark",
    "test_classify_ddp",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
