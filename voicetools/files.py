"""Writing output files all-or-nothing: a crash or an error never leaves a half-written file.

Where outputs may go is ``outputs.py``'s business; this module writes them: into a temp file beside the
target, then renamed in. Without ``overwrite`` the rename happens under an exclusive lock on the
target's folder after checking again that the target is still absent, so of two runs writing the same
output at once only one succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

from .errors import VoicetoolsError
from .outputs import check_file, writing_errors

try:
    import fcntl
except ImportError:  # Windows: no flock; the checks still run, without the lock
    fcntl = None


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
            raise VoicetoolsError(f"{taken[0]} was written by another run meanwhile; use --overwrite "
                                  "(overwrite=True in Python) to replace it")
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
