"""Writing output files all-or-nothing: a crash or an error never leaves a half-written file.

The one output writer of every verb. Where outputs may go is ``outputs.py``'s business; this module
writes them: one file (``atomic_output``, ``atomic_write_text``) into a temp file beside the target, a
folder of stems (``write_all_or_nothing``, ``stream_file_to_stems``) into a temp folder beside them,
then renamed in. Without ``overwrite`` the rename happens under an exclusive lock on the target's
folder after checking again that the target is still absent, so of two runs writing the same output
at once only one succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio.io import read_blocks
from .errors import AudioLoadError, ParameterError, VoicetoolsError
from .outputs import check_file, check_folder, writing_errors

try:
    import fcntl
except ImportError:  # Windows: no flock; the checks still run, without the lock
    fcntl = None

# stem file formats by extension, and the soundfile subtype each is written with
STEM_FORMATS = {"wav": "PCM_16", "flac": "PCM_16", "ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Raise for the first of ``paths`` that exists, unless ``overwrite``."""
    existing = [p for p in paths if Path(p).exists()]
    if existing and not overwrite:
        raise VoicetoolsError(f"{existing[0]} exists; use --overwrite (overwrite=True in Python) to replace it")


def move_into_place(moves: dict[Path, Path], *, overwrite: bool) -> None:
    """Rename each finished temp file onto its target (all targets in one folder).

    The folder is locked while the targets are checked and renamed: another run that wrote them since
    our first check (it finished first) makes this one fail instead of silently replacing its files.
    """
    folder = next(iter(moves.values())).parent
    fd = os.open(folder, os.O_RDONLY)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        taken = [t for t in moves.values() if t.exists()]
        if taken and not overwrite:
            raise VoicetoolsError(
                f"{taken[0]} was written by another run meanwhile; use --overwrite "
                "(overwrite=True in Python) to replace it"
            )
        for tmp, target in moves.items():
            os.replace(tmp, target)
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = True):
    """Yield a temporary path next to ``path``; it becomes ``path`` only if the block succeeds.

    ``overwrite=False`` refuses an existing ``path``, before the block and again when moving it in.
    """
    p = check_file(path)
    refuse_existing([p], overwrite)
    tmp = None
    with writing_errors(p):
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}-", suffix=p.suffix, dir=p.parent)
            os.close(fd)
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; an output gets the usual permissions
            move_into_place({Path(tmp): p}, overwrite=overwrite)
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask is process-wide)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> Path:
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_format(format: str) -> None:
    """``format`` must be one of ``STEM_FORMATS``."""
    if format not in STEM_FORMATS:
        raise ParameterError(f"unknown output format {format!r}; choose one of {sorted(STEM_FORMATS)}")


def write_all_or_nothing(
    targets: dict[str, Path], write: Callable[[Path], None], *, format: str, overwrite: bool
) -> None:
    """Write every target into a temp folder beside them, then move them in; on error, leave nothing.

    ``write(tmp)`` writes each target's file under its own name into ``tmp``. The output folder is
    checked (``outputs.check_folder``) and existing targets refused before ``write`` runs; the move
    re-checks under a lock (``move_into_place``), so of two runs writing the same folder at once only
    one succeeds without ``overwrite``.
    """
    check_format(format)
    out = check_folder(next(iter(targets.values())).parent)
    refuse_existing(targets.values(), overwrite)
    with writing_errors(out):
        created = _make_folders(out)
        tmp = Path(tempfile.mkdtemp(prefix=".voicetools-", dir=out))
        try:
            write(tmp)
            move_into_place({tmp / t.name: t for t in targets.values()}, overwrite=overwrite)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            _remove_empty(created)
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _make_folders(out: Path) -> list[Path]:
    """Create ``out`` and its missing parents; returns those this call created, deepest first."""
    missing = []
    for folder in (out, *out.parents):
        if folder.exists():
            break
        missing.append(folder)
    created = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
            created.insert(0, folder)
        except FileExistsError:  # another run made it meanwhile: it is not ours to remove
            pass
    return created


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders this call created, where still empty: a run writing there too keeps its files."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            return


def stream_file_to_stems(
    path: Path,
    info,
    targets: dict[str, Path],
    stream: Callable[[Iterator[np.ndarray]], Iterator[np.ndarray]],
    *,
    format: str,
    channels: int,
    overwrite: bool,
    block_s: float,
) -> float:
    """Read ``path`` block by block, pass the blocks through ``stream`` (which yields (time, stems, ...)
    arrays at the file's rate) and write stem ``i`` to ``targets``' i-th file, all or nothing.

    Decoding errors found mid-file become one ``AudioLoadError`` naming the file. Returns the input's
    peak level (for the silent-input warning). Shared by ``separate_file`` and ``extract_vocals_file``.
    """
    peak = 0.0

    def blocks():
        nonlocal peak
        for b in read_blocks(path, info.samplerate, block_s):
            peak = max(peak, float(np.nanmax(np.abs(b))) if b.size else 0.0)
            yield b

    def write(tmp: Path) -> None:
        files = [
            sf.SoundFile(str(tmp / t.name), "w", info.samplerate, channels, STEM_FORMATS[format])
            for t in targets.values()
        ]
        try:
            for out in stream(blocks()):
                for i, f in enumerate(files):
                    f.write(np.clip(out[:, i], -1.0, 1.0))
        finally:
            for f in files:
                f.close()

    try:
        write_all_or_nothing(targets, write, format=format, overwrite=overwrite)
    except sf.LibsndfileError as exc:
        raise AudioLoadError(f"{path}: could not be decoded to the end ({exc}); the file may be truncated") from None
    except AudioLoadError as exc:  # found while streaming (e.g. NaN samples): say which file
        if str(exc).startswith(f"{path}:"):
            raise
        raise AudioLoadError(f"{path}: {exc}") from None
    return peak
