"""SIGTERM and SIGHUP stop the CLI like Ctrl-C: partial outputs removed, exit code 128 + the signal."""

import hashlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

SR = 8000


@pytest.fixture(scope="module")
def long_noise(tmp_path_factory):
    """An hour of noise: on an idle machine the tiny model still takes over ten seconds for it, so the
    run is surely stopped mid-write (ten minutes were done in 3 s)."""
    path = tmp_path_factory.mktemp("long") / "noise.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", SR, 1, "PCM_16") as f:
        for _ in range(60):
            f.write(rng.uniform(-0.3, 0.3, 60 * SR).astype(np.float32))
    return path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_mid_write_leaves_no_stems_and_no_temp_folder(signum, long_noise, tmp_path):
    before = _sha(long_noise)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voicetools.cli",
            "separate",
            str(long_noise),
            "-o",
            str(out),
            "--model",
            "tiny-satb",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # $VOICETOOLS_CACHE: the test's own, with the tiny models
    try:
        # wait until stems are being written into the hidden temp folder, then a little more
        deadline = time.monotonic() + 120
        while not list(out.glob("noise/.voicetools-*/*.wav")):
            assert proc.poll() is None, f"the run ended early: {proc.communicate()}"
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.1)
        time.sleep(0.5)
        assert proc.poll() is None, "the run finished before the signal: make the input longer"
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum
    assert stdout == "" and stderr.strip() == f"voicetools: stopped by {signal.Signals(signum).name}"
    assert not out.exists()  # no stems, no hidden temp folder, not even the folder this run created
    assert _sha(long_noise) == before
