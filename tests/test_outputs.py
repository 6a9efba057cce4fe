"""Where verbs write (voicetools.outputs) and how (voicetools.files): checked before any work, one error
line for every mistake, all or nothing, one winner when two runs write the same output, usual
permissions, --device, progress bars only on a terminal, messages naming CLI options."""

import errno
import fcntl
import io
import os
import stat
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import voicetools as vt
from voicetools.errors import ParameterError, VoicetoolsError

SR = 8000
VERBS = {  # verb -> options for a quick run (tiny random-weight models)
    "separate": ["--model", "tiny-satb"],
    "vocals": ["--model", "tiny-vocals"],
    "transcribe": ["--model", "tiny-voice2midi"],
    "revoice": ["--voice", "alto"],
}
# options naming models that do not exist: an output error, not "unknown model", proves the output was
# checked before any model was loaded (or any audio read)
BEFORE_ANY_WORK = {
    "separate": ["--model", "no-such-model"],
    "vocals": ["--model", "no-such-model"],
    "transcribe": ["--model", "no-such-model"],
    "revoice": ["--separation-model", "no-such-model"],
    "diarize": ["--encoder", "no-such-model"],
}


@pytest.fixture
def song(tmp_path, tone):
    path = tmp_path / "song.wav"
    sf.write(str(path), tone(330.0, seconds=1.5), SR)
    return path


def _listing(root: Path) -> dict:
    """Every file and folder under ``root`` (hidden ones too) with its size: to prove nothing changed."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else None) for p in root.rglob("*")}


# --- 1. output paths: checked before any work, the same rules in every verb ---------------------------


@pytest.mark.parametrize("verb", sorted(BEFORE_ANY_WORK))
def test_output_folder_that_is_a_file_is_one_error_before_any_work(verb, song, tmp_path, cli, assert_one_error_line):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    before = _listing(tmp_path)
    code, _, err = cli(verb, song, *BEFORE_ANY_WORK[verb], "-o", taken, "-q")
    assert_one_error_line(code, err)
    assert f"{taken} is a file, not a folder" in err and "internal error" not in err
    assert _listing(tmp_path) == before and taken.read_text() == "mine"


@pytest.mark.parametrize("verb", ["separate", "vocals"])
def test_stems_folder_that_is_a_file_is_one_error(verb, song, tmp_path, cli, assert_one_error_line):
    out = tmp_path / "out"
    out.mkdir()
    (out / "song").write_text("mine")  # where OUTPUT/<input name>/ would go
    before = _listing(tmp_path)
    code, _, err = cli(verb, song, *VERBS[verb], "-o", out, "-q")
    assert_one_error_line(code, err)
    assert "is a file, not a folder" in err and "NotADirectoryError" not in err
    assert _listing(tmp_path) == before


@pytest.mark.parametrize(
    "verb, name, message",
    [
        ("transcribe", "out.txt", "not a .mid/.midi file"),
        ("revoice", "out.mp3", "not a .wav/.flac/.ogg file"),
    ],
)
def test_output_file_with_the_wrong_extension_is_refused_not_made_a_folder(
    verb, name, message, song, tmp_path, cli, assert_one_error_line
):
    before = _listing(tmp_path)
    code, _, err = cli(verb, song, *BEFORE_ANY_WORK[verb], "-o", tmp_path / name, "-q")
    assert_one_error_line(code, err)
    assert message in err
    assert _listing(tmp_path) == before  # no folder named out.txt / out.mp3


@pytest.mark.parametrize(
    "option, name, message",
    [
        ("--reference-out", "ref.mp3", "this writes .wav/.flac/.ogg files"),
        ("--json-out", "taken", "is a folder; name a file to write"),
        ("--json-out", "afile/x.json", "afile is a file, not a folder"),
    ],
)
def test_pronounce_outputs_follow_the_same_rules(option, name, message, tmp_path, cli, assert_one_error_line):
    (tmp_path / "taken").mkdir()
    (tmp_path / "afile").write_text("mine")
    before = _listing(tmp_path)
    code, _, err = cli("pronounce", "--text", "你好", "--model", "no-such-model", option, tmp_path / name)
    assert_one_error_line(code, err)
    assert message in err and _listing(tmp_path) == before


def test_an_existing_folder_with_a_dot_in_its_name_is_still_a_folder(song, tmp_path, cli):
    folder = tmp_path / "takes.v2"
    folder.mkdir()
    code, _, err = cli("transcribe", song, "--model", "tiny-voice2midi", "-o", folder, "-q")
    assert code == 0, err
    assert (folder / "song.mid").is_file()


@pytest.mark.parametrize(
    "verb, output, written",
    [
        ("separate", "new/deeper", "new/deeper/song/soprano.wav"),
        ("transcribe", "new/deeper/x.mid", "new/deeper/x.mid"),
        ("transcribe", "new/deeper", "new/deeper/song.mid"),
        ("revoice", "new/deeper/x.wav", "new/deeper/x.wav"),
        ("revoice", "new/deeper", "new/deeper/song-revoiced.wav"),
    ],
)
def test_missing_parent_folders_are_created_by_every_verb(verb, output, written, song, tmp_path, cli):
    code, _, err = cli(verb, song, *VERBS[verb], "-o", tmp_path / output, "-q")
    assert code == 0, err
    assert (tmp_path / written).is_file()


def _deny_writes_under(monkeypatch, root: Path):
    """``os.access`` says no write permission below ``root`` (a read-only folder, even for root)."""
    real = os.access

    def access(path, mode, **kwargs):
        if mode & os.W_OK and Path(path).absolute().is_relative_to(root):
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


@pytest.mark.parametrize("verb", sorted(BEFORE_ANY_WORK))
@pytest.mark.parametrize("read_only_fs", [False, True])
def test_not_writable_destination_is_one_error_before_any_work(
    verb, read_only_fs, song, tmp_path, cli, assert_one_error_line, monkeypatch
):
    locked = tmp_path / "locked"
    locked.mkdir()
    before = _listing(tmp_path)
    _deny_writes_under(monkeypatch, locked)
    if read_only_fs:
        real_statvfs = os.statvfs

        class ReadOnly:
            f_flag = os.ST_RDONLY

        monkeypatch.setattr(os, "statvfs", lambda p: ReadOnly() if Path(p) == locked else real_statvfs(p))
    code, _, err = cli(verb, song, *BEFORE_ANY_WORK[verb], "-o", locked / "sub", "-q")
    assert_one_error_line(code, err)
    assert f"cannot write in {locked}" in err
    assert ("read-only filesystem" if read_only_fs else "permission denied") in err
    assert _listing(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_really_read_only_folder_is_refused(song, tmp_path, cli, assert_one_error_line):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = cli("separate", song, "--model", "tiny-satb", "-o", locked, "-q")
    finally:
        locked.chmod(0o700)
    assert_one_error_line(code, err)
    assert "permission denied" in err and not any(locked.iterdir())


@pytest.mark.parametrize("error", [errno.EACCES, errno.EROFS])
def test_the_os_refusing_the_final_move_is_one_error_and_leaves_nothing(
    error, song, tmp_path, cli, assert_one_error_line, monkeypatch
):
    from voicetools import files

    def refuse(moves, *, overwrite):
        target = next(iter(moves.values()))
        raise OSError(error, os.strerror(error), str(target))

    monkeypatch.setattr(files, "move_into_place", refuse)  # after every stem was computed and written
    before = _listing(tmp_path)
    code, _, err = cli("separate", song, "--model", "tiny-satb", "-o", tmp_path / "out", "-q")
    assert_one_error_line(code, err)
    assert "internal error" not in err and "cannot write" in err
    assert ("read-only filesystem" if error == errno.EROFS else "permission denied") in err
    assert _listing(tmp_path) == before  # no stems, no temp folder, no output folder

    code, _, err = cli("transcribe", song, "--model", "tiny-voice2midi", "-o", tmp_path / "x.mid", "-q")
    assert_one_error_line(code, err)
    assert "cannot write" in err and _listing(tmp_path) == before


def test_the_os_refusing_any_other_write_is_one_error_not_an_internal_one(
    song, tmp_path, cli, assert_one_error_line, monkeypatch
):
    from voicetools.separation import cli as separate_cli

    def plot_into_a_locked_folder(args):  # e.g. a picture written by a library, not through voicetools.files
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x.png"))

    monkeypatch.setattr(separate_cli, "cmd_separate", plot_into_a_locked_folder)
    code, _, err = cli("separate", song, "-o", tmp_path / "out")
    assert_one_error_line(code, err)
    assert f"{tmp_path / 'x.png'}: permission denied" in err and "internal error" not in err


# --- 2. is tests/test_stop_signals.py ---------------------------------------------------------------------

# --- 3. two runs writing the same output at once: one wins ------------------------------------------------


def _stems(tmp_path):
    from voicetools.files import write_all_or_nothing

    out = tmp_path / "out"
    targets = {name: out / f"{name}.wav" for name in ("soprano", "alto")}

    def write(tmp: Path, *, content=b"ours"):
        for t in targets.values():
            (tmp / t.name).write_bytes(content)

    return write_all_or_nothing, targets, write


def test_a_run_finishing_first_meanwhile_makes_the_other_fail_and_leave_nothing(tmp_path):
    write_all, targets, write = _stems(tmp_path)

    def other_run_finishes_while_we_compute(tmp):
        write(tmp)
        for t in targets.values():  # the other run got there first
            t.write_bytes(b"theirs")

    with pytest.raises(VoicetoolsError, match="was written by another run meanwhile; use --overwrite"):
        write_all(targets, other_run_finishes_while_we_compute, format="wav", overwrite=False)
    assert sorted(os.listdir(tmp_path / "out")) == ["alto.wav", "soprano.wav"]  # no temp folder left
    assert all(t.read_bytes() == b"theirs" for t in targets.values())

    write_all(targets, write, format="wav", overwrite=True)  # with --overwrite the later run replaces them
    assert all(t.read_bytes() == b"ours" for t in targets.values())


def test_the_move_waits_for_the_folder_lock_and_rechecks_under_it(tmp_path):
    write_all, targets, write = _stems(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run is moving its stems in
    errors = []

    def run():
        try:
            write_all(targets, write, format="wav", overwrite=False)
        except VoicetoolsError as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(1.0)
    try:
        assert worker.is_alive(), "the move did not wait for the lock"
        for t in targets.values():
            t.write_bytes(b"theirs")
    finally:
        os.close(fd)
    worker.join(30)
    assert len(errors) == 1 and "another run meanwhile" in str(errors[0])
    assert all(t.read_bytes() == b"theirs" for t in targets.values())
    assert sorted(os.listdir(out)) == ["alto.wav", "soprano.wav"]


def test_a_failed_run_does_not_remove_a_folder_another_run_filled(tmp_path):
    write_all, targets, write = _stems(tmp_path)

    def fail_after_another_run_wrote(tmp):
        (tmp_path / "out" / "theirs.wav").write_bytes(b"theirs")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_all(targets, fail_after_another_run_wrote, format="wav", overwrite=False)
    assert os.listdir(tmp_path / "out") == ["theirs.wav"]


def test_single_file_writers_also_refuse_a_file_written_meanwhile(tmp_path):
    from voicetools.files import atomic_output

    path = tmp_path / "a.txt"
    with pytest.raises(VoicetoolsError, match="a.txt was written by another run meanwhile"):
        with atomic_output(path, overwrite=False) as tmp:
            tmp.write_text("ours")
            path.write_text("theirs")
    assert path.read_text() == "theirs" and os.listdir(tmp_path) == ["a.txt"]


# --- 4. revoice --overwrite leaves no stale stems folder ----------------------------------------------------


def test_revoice_overwrite_removes_the_stale_stems_folder(song, tmp_path, cli):
    out = tmp_path / "mix.wav"
    code, _, err = cli("revoice", song, "--voice", "alto", "-o", out, "--stems", "-q")
    assert code == 0, err
    assert os.listdir(tmp_path / "mix") == ["alto.wav"]
    code, _, err = cli("revoice", song, "--voice", "alto", "--pitch", "-12", "-o", out, "--overwrite", "-q")
    assert code == 0, err
    assert out.is_file() and not (tmp_path / "mix").exists()  # parts of the old mix are gone

    code, _, err = cli("revoice", song, "--voice", "alto", "-o", out, "--stems", "--overwrite", "-q")
    assert code == 0, err
    (tmp_path / "mix" / "notes.txt").write_text("mine")
    code, _, err = cli("revoice", song, "--voice", "alto", "-o", out, "--overwrite", "-q")
    assert code == 0, err
    assert os.listdir(tmp_path / "mix") == ["notes.txt"]  # the user's own file stays


# --- 5. MIDI files get the usual permissions ------------------------------------------------------------------


def test_midi_files_get_the_umask_permissions(song, tmp_path, cli):
    old = os.umask(0o022)
    try:
        code, _, err = cli("transcribe", song, "--model", "tiny-voice2midi", "-o", tmp_path / "x.mid", "-q")
        res = vt.transcribe(song, model="tiny-voice2midi")
        api = res.save(tmp_path / "api.mid")
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "x.mid").stat().st_mode) == 0o644
    assert stat.S_IMODE(api.stat().st_mode) == 0o644


# --- 6. --device: only devices this torch has -----------------------------------------------------------------


@pytest.mark.parametrize("verb", [*sorted(VERBS), "classify"])
@pytest.mark.parametrize("device", ["cuda", "mps", "gpu", "cuda:99"])
def test_unavailable_device_is_a_usage_error_naming_the_option(verb, device, song, tmp_path, cli):
    import torch

    if device == "cuda" and torch.cuda.is_available() or device == "mps" and torch.backends.mps.is_available():
        pytest.skip(f"this torch has {device}")
    before = _listing(tmp_path)
    argv = ["--model", "tiny-emotion"] if verb == "classify" else [*VERBS[verb], "-o", tmp_path / "out"]
    code, stdout, err = cli(verb, song, *argv, "--device", device)
    assert code == 2 and stdout == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith(
        f"voicetools {verb}: error: argument --device: {device!r} is not a device this torch can use; available: cpu"
    )
    assert "Traceback" not in err and _listing(tmp_path) == before


def test_cpu_device_is_accepted(song, tmp_path, cli):
    code, _, err = cli("separate", song, "--model", "tiny-satb", "-o", tmp_path / "out", "--device", "cpu", "-q")
    assert code == 0, err


# --- 7. progress bars only on a terminal --------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream, drawn", [(io.StringIO, False), (_Terminal, True)])
def test_progress_bars_only_on_a_terminal(stream, drawn, monkeypatch):
    from voicetools.cli_common import progress_bar

    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    progress = progress_bar(True)
    for done in range(1, 4):
        progress("separate", done, 3)
    progress.close()
    assert bool(err.getvalue()) == drawn


def test_cli_writes_no_cursor_codes_when_stderr_is_not_a_terminal(song, tmp_path, cli):
    code, _, err = cli("separate", song, "--model", "tiny-satb", "-o", tmp_path / "out")  # no -q
    assert code == 0 and err == ""


# --- 8. messages name CLI options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["separate", "--model", "tiny-satb", "--overlap-s", "9"],
            "--overlap-s must be >= 0 and less than --segment-s",
        ),
        (
            ["separate", "--model", "tiny-satb", "--segment-s", "0"],
            "--segment-s (segment_s in Python) must be positive",
        ),
        (["separate", "--model", "tiny-satb", "--shifts", "0"], "--shifts (shifts in Python) must be at least 1"),
        (["transcribe", "--model", "tiny-voice2midi", "--tempo", "5"], "--tempo (tempo_bpm in Python) must be between"),
        (["transcribe", "--model", "tiny-voice2midi", "--onset-threshold", "2"], "--onset-threshold (onset_threshold"),
        (["transcribe", "--model", "tiny-voice2midi", "--quantize", "x"], "--quantize (quantize in Python) must look"),
        (["vocals", "--model", "tiny-vocals", "--overlap", "1.5"], "--overlap (overlap in Python) must be >= 0"),
        (["vocals", "--model", "tiny-vocals", "--jobs", "0"], "--jobs (jobs in Python) must be at least 1"),
        (["revoice", "--voice", "alto", "--formant", "5"], "--formant (formant in Python) must be between"),
        (["revoice", "--voice", "alto", "--breathiness", "2"], "--breathiness (breathiness in Python) must be"),
        (["diarize", "--speakers", "0"], "--speakers (speakers in Python) must be at least 1"),
        (
            ["diarize", "--min-speakers", "3", "--max-speakers", "2"],
            "--min-speakers (3) is more than --max-speakers (2)",
        ),
    ],
)
def test_messages_name_cli_options(argv, message, song, tmp_path, cli, assert_one_error_line):
    code, _, err = cli(argv[0], song, *argv[1:], "-o", tmp_path / "out", "-q")
    assert_one_error_line(code, err)
    assert message in err
    assert not (tmp_path / "out").exists()


def test_existing_output_message_names_the_option_and_the_argument(song, tmp_path, cli):
    res = vt.separate(song, model="tiny-satb")
    res.save(tmp_path / "a")
    with pytest.raises(VoicetoolsError, match=r"exists; use --overwrite \(overwrite=True in Python\)"):
        res.save(tmp_path / "a")
    assert cli("separate", song, "--model", "tiny-satb", "-o", tmp_path, "-q")[0] == 0
    code, _, err = cli("separate", song, "--model", "tiny-satb", "-o", tmp_path, "-q")
    assert code == 1 and "use --overwrite" in err and "pass overwrite=True" not in err


def test_a_bad_wiener_power_in_a_model_config_points_to_no_wiener(identity_model):
    identity_model.config["inference"] = {"wiener_power": -1.0}
    with pytest.raises(ParameterError, match="Wiener power of -1.0, which must be positive; use --no-wiener"):
        vt.separate(np.zeros(800, np.float32), sample_rate=SR, model=identity_model)
