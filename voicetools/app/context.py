"""What every tab shares: settings, loaded models, upload checks, and a cleaned-up results folder.

Nothing here imports gradio, so the checks are plain functions that raise ``VoicetoolsError``;
the tabs turn those into ``gr.Error`` messages.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import soundfile as sf

from ..checkpoints import load_model
from ..errors import AudioLoadError, ParameterError, VoicetoolsError

AUDIO_FORMATS = "WAV, FLAC, OGG, MP3 or AIFF"
EXAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "examples"
EXAMPLE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
# the tabs each bundled example fits, by file name; an example file of another name is offered on every tab
EXAMPLE_TABS = {
    "choir.wav": ("separate", "transcribe", "revoice"),
    "song.wav": ("vocals",),
    "meeting.wav": ("diarize", "classify"),
    "reading.wav": ("pronounce",),
}
# the session of cached example results: not a string, so no browser's session hash can release them
EXAMPLES_SESSION = object()


@dataclass
class AppSettings:
    """Limits and choices of one app instance (all configurable from ``build_app`` and the CLI)."""

    models: dict = field(default_factory=dict)  # task -> model name, e.g. {"separation": "satb-convtasnet"}
    max_upload_mb: float = 50.0
    max_duration_s: float = 600.0
    concurrency: int = 1  # jobs running at once; more wait in the queue
    max_queue: int = 16  # jobs waiting at once; more are turned away with "queue full"
    result_ttl_s: float = 3600.0  # results older than this are deleted
    examples: list = field(default_factory=list)  # example files, shown one click away

    def __post_init__(self):
        for name in ("max_upload_mb", "max_duration_s", "result_ttl_s"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("concurrency", "max_queue"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass
class Upload:
    """An upload that passed the checks: its server path, the name the user knows it by, its header."""

    path: Path
    name: str
    sample_rate: int
    channels: int
    duration_s: float


def default_examples() -> list[Path]:
    """The repository's ``examples/`` audio files (``examples/choir.wav`` once it exists)."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in EXAMPLE_SUFFIXES and p.is_file())


def safe_stem(name: str) -> str:
    """A file-name-safe version of a user's file name, for download names."""
    stem = re.sub(r"[^\w.-]+", "_", Path(name).stem, flags=re.ASCII).strip("._")
    return stem[:60] or "audio"


def file_url(path) -> str:
    """The URL (relative to the page) of a file the Gradio server serves (a static path)."""
    return "gradio_api/file=" + quote(str(Path(path).resolve()), safe="/")


def format_duration(seconds: float) -> str:
    """``42 s``, ``2:05 min``: how limits and lengths are shown to users."""
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d} min" if seconds >= 60 else f"{seconds} s"


class ResultStore:
    """Per-request folders under one temp root that the server may serve; deleted when old, when
    the user's page closes (``release``), and at the latest when the process exits."""

    def __init__(self, ttl_s: float):
        self.ttl_s = ttl_s
        self.root = Path(tempfile.mkdtemp(prefix="voicetools-app-")).resolve()
        self._dirs: dict[Path, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.root), True)

    def new_dir(self, session: str | None = None) -> Path:
        self.sweep()
        d = self.root / uuid.uuid4().hex
        d.mkdir()
        with self._lock:
            self._dirs[d] = (time.monotonic(), session)
        return d

    def _remove(self, dirs) -> None:
        with self._lock:
            for d in dirs:
                self._dirs.pop(d, None)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)

    def sweep(self) -> None:
        """Delete results older than ``ttl_s`` (cached example results stay while the app runs)."""
        now = time.monotonic()
        with self._lock:
            old = [d for d, (t, s) in self._dirs.items() if now - t > self.ttl_s and s is not EXAMPLES_SESSION]
        self._remove(old)

    def release(self, session: str | None) -> None:
        """Delete the results of one browser session (its page was closed)."""
        if session is None:
            return
        with self._lock:
            mine = [d for d, (_, s) in self._dirs.items() if s == session]
        self._remove(mine)

    def close(self) -> None:
        self._finalizer()

    def url(self, path: Path) -> str:
        """The URL (relative to the page) under which the Gradio server serves a result file."""
        p = Path(path).resolve()
        if not p.is_relative_to(self.root):
            raise ValueError(f"{p} is not a result file")
        return file_url(p)


class AppContext:
    """Handed to every tab's ``build(ctx)``: settings, models (loaded once), checks, results folder.

    Tabs put their event handlers in ``handlers[<name>]`` so tests and benchmarks can call them
    without a browser.
    """

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.store = ResultStore(settings.result_ttl_s)
        self.handlers: dict = {}
        self._models: dict = {}
        self._model_lock = threading.Lock()
        self._cache: dict = {}
        self._cache_lock = threading.Lock()

    # ---- models ---------------------------------------------------------------------------
    def model(self, task: str):
        """The loaded model for ``task`` (loaded on first use, then shared by every request)."""
        name = self.settings.models.get(task)
        if name is None:
            raise ParameterError(f"no model configured for the {task!r} tab")
        with self._model_lock:
            if task not in self._models:
                self._models[task] = load_model(name, task=task)
            return self._models[task]

    # ---- examples --------------------------------------------------------------------------
    def examples_for(self, tab: str) -> list[Path]:
        """The example files that fit ``tab`` (``EXAMPLE_TABS``; files of other names fit every tab)."""
        return [p for p in self.settings.examples if tab in EXAMPLE_TABS.get(Path(p).name, (tab,))]

    def example_of(self, path) -> Path | None:
        """The example file ``path`` is (gradio may hand over a copy of it), or None for an upload."""
        if not path:
            return None
        p = Path(path)
        for ex in map(Path, self.settings.examples):
            try:
                if ex.name == p.name and (p.resolve() == ex.resolve() or filecmp.cmp(p, ex, shallow=False)):
                    return ex
            except OSError:
                continue
        return None

    def cached(self, key, compute):
        """``compute()``, once per ``key`` while the app runs: an example's result is shown at once
        to everyone after the first visitor ran it. Errors are not cached."""
        with self._cache_lock:
            if key in self._cache:
                return self._cache[key]
        value = compute()
        with self._cache_lock:
            return self._cache.setdefault(key, value)

    # ---- uploads ---------------------------------------------------------------------------
    def input_roots(self) -> list[Path]:
        """Where an input file may live: Gradio's own upload folder, and the example files."""
        from gradio.utils import get_upload_folder

        return [Path(get_upload_folder()).resolve()] + [Path(p).resolve() for p in self.settings.examples]

    def check_upload(self, path) -> Upload:
        """Validate one uploaded/recorded file before any compute; raises a one-line VoicetoolsError.

        Only paths inside Gradio's upload folder (or the example files) are accepted, so a path
        from a request is never used to read anything else on the server.
        """
        if not path:
            raise ParameterError("No audio yet: upload a file or record with the microphone, then press the button.")
        p = Path(path).resolve()
        name = Path(path).name
        if not any(p == r or p.is_relative_to(r) for r in self.input_roots()):
            raise VoicetoolsError(f"“{name}” did not come through the upload box; upload it again.")
        if not p.is_file():
            raise AudioLoadError(f"“{name}” is no longer on the server; upload it again.")
        size_mb = p.stat().st_size / 2**20
        if size_mb > self.settings.max_upload_mb:
            raise AudioLoadError(
                f"“{name}” is {size_mb:.1f} MB; this app takes files up to "
                f"{self.settings.max_upload_mb:g} MB. Trim it or save it as FLAC/OGG first."
            )
        unreadable = AudioLoadError(f"“{name}” could not be read as audio. Upload a {AUDIO_FORMATS} file.")
        try:
            info = sf.info(str(p))
        except Exception:  # noqa: BLE001 -- libsndfile raises several types for non-audio input
            raise unreadable from None
        if not info.frames or not info.samplerate:
            raise unreadable
        duration = info.frames / info.samplerate
        if duration > self.settings.max_duration_s:
            raise AudioLoadError(
                f"“{name}” is {format_duration(duration)} long; this app takes up to "
                f"{format_duration(self.settings.max_duration_s)}. Trim it first, or use the "
                "command line (voicetools separate), which has no limit."
            )
        return Upload(p, name, int(info.samplerate), int(info.channels), duration)

    def user_message(self, exc: VoicetoolsError, upload_path=None) -> str:
        """The error's one line, with any server path replaced by the file's own name."""
        msg = str(exc)
        if upload_path:
            msg = msg.replace(str(Path(upload_path).resolve()), Path(upload_path).name)
            msg = msg.replace(str(upload_path), Path(upload_path).name)
        return msg
