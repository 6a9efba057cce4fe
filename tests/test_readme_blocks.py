"""Every ```sh / ```bash / ```python block of README.md runs as written, on the bundled examples.

Each Python block, and each line of a shell block (the lines are alternatives, as a reader copies
one), runs in a fresh folder holding the files the README names (``choir.wav``, ``song.mp3``,
``examples/choir.wav``, ...), made from short cuts of ``examples/`` so the whole file takes under a
minute. ``voicetools`` commands run in-process (``voicetools.cli.main``) and must exit 0; Python
blocks are executed and must not raise. Commands that download, install, train for minutes or need
data that is not here are skipped, each with its reason in ``SKIP`` — and an entry that no longer
matches any command fails, so the list cannot go stale.
"""

from __future__ import annotations

import glob
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
EXAMPLE_S = 4.0  # seconds of each example the blocks run on

# a command containing this -> why it is not run here
SKIP = {
    "python3 -m venv": "creates and installs a virtualenv (this test runs inside one)",
    "pip install": "installs packages from the network",
    "sudo apt-get": "installs system packages",
    "python -m pytest": "the test suite itself",
    "voicetools models fetch": "downloads official weights from the network",
    "--model htdemucs": "needs the official Demucs weights (voicetools models fetch htdemucs)",
    "--transcribe": "needs Whisper weights (voicetools models fetch whisper-small)",
    "--data /path/VoxConverse": "needs the VoxConverse dataset",
    "voicetools train timbre": "trains a timbre model for minutes",
    "--timbre my-singer": "needs the model the skipped `voicetools train timbre` makes",
}
# what the README says these need, skipped without it as the other tests are: text -> program
NEEDS = {"gm:": "fluidsynth", "pronounce": "espeak-ng"}


def readme_blocks() -> list[tuple[str, str, int]]:
    """(language, code, line number) of every sh/bash/python block."""
    text = README.read_text()
    return [
        (m.group(1), m.group(2), text[: m.start()].count("\n") + 1)
        for m in re.finditer(r"^```(sh|bash|python)\n(.*?)^```", text, re.S | re.M)
    ]


def lines(code: str) -> list[list[str]]:
    """The commands of each line of a shell block (``a && b`` split), comments and empty lines dropped."""
    out = [
        [part.strip() for part in line.split("&&") if shlex.split(part, comments=True)] for line in code.splitlines()
    ]
    return [line for line in out if line]


def commands(code: str) -> list[str]:
    return [c for line in lines(code) for c in line]


def skip_reason(command: str) -> str | None:
    return next((why for key, why in SKIP.items() if key in command), None)


BLOCKS = readme_blocks()


def _melody(seconds: float, sample_rate: int = 16000) -> np.ndarray:
    """A sung-like line: four notes of a harmonic tone with vibrato and a soft attack."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    midi = np.array([60, 62, 64, 67])[np.minimum((t / seconds * 4).astype(int), 3)]
    f0 = 440 * 2 ** ((midi - 69) / 12) * (1 + 0.005 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    env = np.minimum(1.0, (t % (seconds / 4)) / 0.05)
    return (0.2 * env * x).astype(np.float32)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """The files the README's blocks name, short cuts of the bundled examples."""
    d = tmp_path_factory.mktemp("readme-inputs")
    (d / "examples").mkdir()
    (d / "tests" / "data").mkdir(parents=True)

    def cut(name):
        x, rate = sf.read(str(REPO / "examples" / name), dtype="float32")
        return x[: int(EXAMPLE_S * rate)], rate

    choir, song = cut("choir.wav"), cut("song.wav")
    for path, (x, rate) in {
        "examples/choir.wav": choir,
        "choir.wav": choir,
        "rehearsal.flac": choir,
        "examples/song.wav": song,
        "song.wav": song,
        "song.mp3": song,
    }.items():
        sf.write(str(d / path), x, rate)
    for name in ("melody.wav", "take.wav", "solo.wav"):
        sf.write(str(d / name), _melody(EXAMPLE_S), 16000)
    shutil.copy(REPO / "examples" / "meeting.wav", d / "meeting.wav")  # 35 s: three speakers need it all
    reading = "tests/data/BAC009S0252W0347.flac"
    shutil.copy(REPO / reading, d / reading)
    return d


@pytest.fixture
def fresh_folder(inputs, tmp_path, monkeypatch):
    """``fresh_folder()``: change into a new folder with links to the inputs (no earlier output in it)."""
    made = []

    def make() -> Path:
        d = tmp_path / f"run{len(made)}"
        for p in inputs.rglob("*"):
            if p.is_file():
                link = d / p.relative_to(inputs)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(p)
        monkeypatch.chdir(d)
        made.append(d)
        return d

    return make


def run_command(command: str, cli) -> None:
    argv = shlex.split(command, comments=True)
    assert Path(argv[0]).name == "voicetools", f"only voicetools commands run here (or add to SKIP): {command}"
    args = []
    for a in argv[1:]:  # the shell's glob: `*.wav`
        args += (sorted(glob.glob(a)) or [a]) if any(c in a for c in "*?[") else [a]
    code, out, err = cli(*args)
    assert code == 0, f"{command}\nexit {code}\n{err}"


def _skip_without_tools(text: str) -> None:
    for key, program in NEEDS.items():
        if key in text and not shutil.which(program):
            pytest.skip(f"{program} is not installed")


@pytest.mark.parametrize("lang, code, line", BLOCKS, ids=[f"line{line}-{lang}" for lang, _, line in BLOCKS])
def test_readme_block_runs(lang, code, line, fresh_folder, cli):
    if lang == "python":
        _skip_without_tools(code)
        fresh_folder()
        exec(compile(code, f"README.md line {line}", "exec"), {"__name__": "__readme__"})
        return
    ran = 0
    for shell_line in lines(code):
        fresh_folder()
        for command in shell_line:
            if skip_reason(command):
                continue
            _skip_without_tools(command)
            run_command(command, cli)
            ran += 1
    if not ran:
        pytest.skip("every command here: " + "; ".join(sorted({skip_reason(c) for c in commands(code)})))


def test_every_skip_entry_still_matches_a_readme_command():
    every = [c for lang, code, _ in BLOCKS if lang != "python" for c in commands(code)]
    stale = [key for key in SKIP if not any(key in c for c in every)]
    assert not stale, f"SKIP entries matching no README command: {stale}"


def test_commands_run_in_process_are_voicetools_ones():
    for lang, code, line in BLOCKS:
        for c in commands(code) if lang != "python" else []:
            if not skip_reason(c):
                assert Path(shlex.split(c, comments=True)[0]).name == "voicetools", (line, c)


def test_the_blocks_are_found():
    langs = [lang for lang, _, _ in BLOCKS]
    assert langs.count("python") >= 6 and langs.count("sh") >= 10
