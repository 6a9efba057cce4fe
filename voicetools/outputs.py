"""Where a verb may write: one set of rules, checked before any work, the same in every verb.

- ``-o`` names a folder, or (for verbs writing one file per input, ``transcribe`` and ``revoice``)
  a file whose extension is one the verb writes (``.mid``; ``.wav``/``.flac``/``.ogg``). Any other
  extension is refused: ``-o out.txt`` is a mistake, not a folder named ``out.txt``. An existing
  folder is used whatever its name, and a trailing ``/`` always means a folder.
- A folder that does not exist yet, and its missing parents, are created when the outputs are
  written (as ``separate -o new/dir`` always did), so ``-o new/x.mid`` works like ``-o new/``.
- Something meant as a folder must not be an existing file, and an output file not a folder.
- The nearest existing folder on the way must be writable (permissions, read-only filesystem):
  otherwise one clear error before the computation, not a traceback after it.
- The OS refusing a write anyway (permissions changed meanwhile, disk full) is one ``VoicetoolsError``
  too: ``writing_errors``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from .errors import VoicetoolsError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")  # what audio.io.save_audio writes, by suffix

# the OS saying "not here": permissions, read-only filesystem, no space, quota
_REFUSED = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only filesystem",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
}


def check_folder(path: str | os.PathLike) -> Path:
    """A folder outputs go into: an existing folder or one that can be created; raises if not."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise VoicetoolsError(f"{p} is a file, not a folder; give a folder to write into")
    _check_writable(p)
    return p


def check_file(path: str | os.PathLike, suffixes: tuple[str, ...] | None = None) -> Path:
    """An output file: one of ``suffixes`` (if given), not a folder, in a folder that is or can be made."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise VoicetoolsError(f"{p}: this writes {'/'.join(suffixes)} files; name a file ending in one of those")
    if p.is_dir():
        raise VoicetoolsError(f"{p} is a folder; name a file to write")
    _check_writable(p.parent)
    return p


def is_file_output(output: str, suffixes: tuple[str, ...]) -> bool:
    """Whether ``-o output`` names one output file (True) or a folder (False), for verbs that take either."""
    p = Path(output)
    if output.endswith(("/", os.sep)) or p.is_dir() or not p.suffix:
        return False
    if p.suffix.lower() in suffixes:
        return True
    raise VoicetoolsError(
        f"-o {output}: not a {'/'.join(suffixes)} file; name one of those, or a folder "
        "(without an extension, or ending in /)"
    )


def _check_writable(folder: Path) -> None:
    """The nearest existing folder on the way to ``folder`` must let us create files in it."""
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise VoicetoolsError(
            f"{existing} is a file, not a folder, so {folder} cannot be created; choose another output location"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        reason = "read-only filesystem" if _read_only(existing) else "permission denied"
        raise VoicetoolsError(f"cannot write in {existing} ({reason}); choose another output location")


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


@contextlib.contextmanager
def writing_errors(path: str | os.PathLike):
    """The OS refusing a write below ``path`` becomes one ``VoicetoolsError`` naming the file and why."""
    try:
        yield
    except OSError as exc:
        reason = refusal(exc)
        if reason is None:
            raise
        raise VoicetoolsError(
            f"cannot write {exc.filename or path} ({reason}); choose another output location"
        ) from None


def refusal(exc: BaseException) -> str | None:
    """Why the OS refused (permissions, read-only filesystem, full disk), or None for other errors."""
    return _REFUSED.get(getattr(exc, "errno", None)) if isinstance(exc, OSError) else None
