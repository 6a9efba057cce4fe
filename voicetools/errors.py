"""What a user may see when something they gave us is wrong.

Every error a user can cause is a ``VoicetoolsError`` with a one-line message that names the cause
and what to do; the CLI prints that line and exits non-zero without a traceback.
"""


class VoicetoolsError(Exception):
    """Root of all errors a user can cause."""


class AudioLoadError(VoicetoolsError):
    """An input file is missing, unreadable, empty, silent where sound is needed, or not audio."""


class ModelLoadError(VoicetoolsError):
    """A checkpoint is missing, corrupt, of the wrong kind, or fails its checksum."""


class ParameterError(VoicetoolsError, ValueError):
    """An argument has a value outside its valid choices or range."""


class MissingDependencyError(VoicetoolsError, ImportError):
    """An optional integration was asked for but its package is not installed."""


class NotThisSentenceError(VoicetoolsError):
    """A recording given as a reading of a sentence is something else (another sentence, music, noise)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when empty), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
