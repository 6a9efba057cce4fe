"""Every verb × every kind of bad input or output, as one table: the CLI must fail with exactly one
``voicetools: error:`` line (no traceback, no internal error), write nothing, and leave the input's
bytes as they were — or, for the unusual but valid inputs, succeed without a traceback.

The verbs run in-process (``voicetools.cli.main``) on tiny random-weight models where a verb lets
one be picked, so the table runs in about a minute. What each input case must give is the policy of
``voicetools.audio.io`` (README: "Input audio").
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 8000


def _tone(seconds=1.0, sample_rate=SR):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _wav(tmp, name, data, sample_rate=SR, subtype="PCM_16"):
    path = tmp / name
    sf.write(str(path), data, sample_rate, subtype=subtype)
    return path


def _with_data_size(path: Path, size: int) -> Path:
    """The WAV's data chunk claims ``size`` bytes; the samples stay as they are."""
    b = bytearray(path.read_bytes())
    i = b.index(b"data")
    b[i + 4 : i + 8] = struct.pack("<I", size)
    path.write_bytes(bytes(b))
    return path


def _missing(tmp):
    return tmp / "missing.wav"


def _empty(tmp):
    (tmp / "empty.wav").write_bytes(b"")
    return tmp / "empty.wav"


def _not_audio(tmp):
    (tmp / "noise.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    return tmp / "noise.wav"


def _text(tmp):
    (tmp / "notes.wav").write_text("These are notes, not audio.\n" * 40)
    return tmp / "notes.wav"


def _nan(tmp):
    x = _tone()
    x[500] = np.nan
    return _wav(tmp, "nan.wav", x, subtype="FLOAT")


def _truncated(tmp):
    path = _wav(tmp, "cut.wav", _tone(2.0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 1])  # the header still promises 2 s
    return path


INPUTS = {  # case -> (make the input file in a folder, what every verb must do with it)
    "missing": (_missing, "error"),
    "folder": (lambda tmp: (tmp / "folder.wav").mkdir() or tmp / "folder.wav", "error"),
    "empty": (_empty, "error"),
    "random_bytes": (_not_audio, "error"),
    "text": (_text, "error"),
    "zero_frames": (lambda tmp: _wav(tmp, "zero.wav", np.zeros(0, np.float32)), "error"),
    "nan": (_nan, "error"),
    "one_sample": (lambda tmp: _wav(tmp, "one.wav", _tone()[:1]), "error"),
    "10_ms": (lambda tmp: _wav(tmp, "ten.wav", _tone(0.01)), "error"),
    "truncated": (_truncated, "error"),
    "lying_header": (lambda tmp: _with_data_size(_wav(tmp, "lie.wav", _tone()), 10 * 2 * SR), "error"),
    "huge_header": (lambda tmp: _with_data_size(_wav(tmp, "huge.wav", _tone()), 0x7FFFFF00), "error"),
    "rate_1000": (lambda tmp: _wav(tmp, "low.wav", _tone(1.0, 1000), 1000), "error"),
    "silent": (lambda tmp: _wav(tmp, "silent.wav", np.zeros(SR, np.float32)), "ok"),
    "six_channels": (lambda tmp: _wav(tmp, "six.wav", np.stack([_tone() * (i + 1) / 7 for i in range(6)], 1)), "ok"),
    # the "length unknown" placeholder of encoders streaming to a pipe: read to the end
    "streamed_wav": (lambda tmp: _with_data_size(_wav(tmp, "streamed.wav", _tone()), 0xFFFFFFFF), "ok"),
    # a name the plots' font has no glyphs for: no matplotlib warning per character
    "cjk_name": (lambda tmp: _wav(tmp, "合唱练习.wav", _tone()), "ok"),
}
# pronounce wants a reading of the sentence: a tone or silence is refused like any other bad input
EXCEPTIONS = {("pronounce", case): "error" for case in ("silent", "six_channels", "streamed_wav", "cjk_name")}


def _argv(verb: str, inp: Path, out: Path) -> list:
    """A quick run of ``verb`` on ``inp`` writing below ``out`` (a folder, or pronounce's TextGrid)."""
    return {
        "separate": ["separate", inp, "-o", out, "--model", "tiny-satb", "-q"],
        "vocals": ["vocals", inp, "-o", out, "--model", "tiny-vocals", "-q"],
        "transcribe": ["transcribe", inp, "-o", out, "--model", "tiny-voice2midi", "--plot", "-q"],
        "revoice": ["revoice", inp, "--voice", "alto", "-o", out, "-q"],
        "classify": ["classify", inp, "--model", "tiny-emotion"],
        "diarize": ["diarize", inp, "-o", out, "-q"],
        "pronounce": ["pronounce", "--text", "你好", "--audio", inp, "--textgrid", out / "me.TextGrid", "-q"],
    }[verb]


VERBS = ["separate", "vocals", "transcribe", "revoice", "classify", "diarize", "pronounce"]
WRITERS = [v for v in VERBS if v != "classify"]  # classify only prints


def _listing(root: Path) -> dict:
    """Every file and folder below ``root`` (hidden ones too) with its size and content hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def _assert_one_error_line(code, err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code not in (0, None), f"expected a failure, got exit {code}: {err!r}"
    assert len(lines) == 1 and lines[0].startswith("voicetools: error: "), err
    assert "Traceback" not in err and "internal error" not in err


@pytest.fixture
def work(tmp_path):
    """A folder for the input, beside the one the outputs would go to."""
    (tmp_path / "in").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", list(INPUTS))
@pytest.mark.parametrize("verb", VERBS)
def test_verb_on_bad_or_unusual_input(verb, case, work, cli):
    make, expected = INPUTS[case]
    inp = make(work / "in")
    before = _listing(work)
    code, out, err = cli(*_argv(verb, inp, work / "out"))
    assert "Traceback" not in err and "internal error" not in err, err
    if EXCEPTIONS.get((verb, case), expected) == "error":
        _assert_one_error_line(code, err)
        assert _listing(work) == before  # no partial output anywhere, the input as it was
    else:
        assert code == 0, err
        assert all(line.startswith("voicetools: warning: ") for line in err.splitlines() if line.strip()), err
        after = _listing(work)
        assert {k: v for k, v in after.items() if k in before} == before  # the input as it was
        assert verb == "classify" or any(k.startswith("out/") for k in after)  # and something written


# --- bad outputs ---------------------------------------------------------------------------------------


def _deny_writes_under(monkeypatch, root: Path):
    """``os.access`` says no write permission below ``root`` (as a read-only folder would, even for root)."""
    real = os.access

    def access(path, mode, **kwargs):
        if mode & os.W_OK and Path(path).absolute().is_relative_to(root):
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


def _existing_file(work, monkeypatch):
    taken = work / "taken"
    taken.write_text("mine")
    return taken


def _unwritable_folder(work, monkeypatch):
    locked = work / "locked"
    locked.mkdir()
    _deny_writes_under(monkeypatch, locked)
    return locked / "sub"


OUTPUTS = {"existing_file": _existing_file, "unwritable_folder": _unwritable_folder}


@pytest.mark.parametrize("case", list(OUTPUTS))
@pytest.mark.parametrize("verb", WRITERS)
def test_verb_with_a_bad_output(verb, case, work, cli, monkeypatch):
    inp = _wav(work / "in", "song.wav", _tone())
    out = OUTPUTS[case](work, monkeypatch)
    argv = _argv(verb, inp, out)
    if verb == "pronounce":  # its output is a file: the taken file itself, or one in the locked folder
        argv[argv.index("--textgrid") + 1] = out if case == "existing_file" else out / "me.TextGrid"
    before = _listing(work)
    code, _, err = cli(*argv)
    _assert_one_error_line(code, err)
    assert _listing(work) == before
