"""Official weights of other projects (Demucs, Whisper): where they live, and the one opt-in fetch.

voicetools never downloads on its own. ``voicetools models fetch NAME`` (``fetch(NAME)``) is the
explicit exception: it downloads the files of an official model into the cache its loader already
reads — torch hub's ``checkpoints/`` for Demucs (as ``demucs`` itself does), Whisper's cache folder
for Whisper — from the URLs and checksums the projects publish: demucs' ``remote/files.txt`` and
bag ``.yaml`` files (each file named ``<signature>-<first 8 hex digits of its sha256>.th``) and
whisper's ``_MODELS`` (the full sha256 is part of each URL).

A download goes to ``<file>.part``, resumes from there (HTTP Range) when the connection drops or
on the next run, and is moved into place only after its checksum matches. Proxies come from the
usual ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` variables; ``mirror`` (``$VOICETOOLS_MIRROR``)
fetches the same relative paths from another server.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .errors import MissingDependencyError, ParameterError, VoicetoolsError
from .files import sha256_of

DEMUCS_ROOT_URL = "https://dl.fbaipublicfiles.com/demucs/"
ATTEMPTS = 4  # connection drops survived per file within one run (each resumes where it stopped)
BLOCK = 1 << 16


class FetchError(VoicetoolsError):
    """A download failed: offline, refused, cut off too often, or the file fails its checksum."""


def hub_dir() -> Path:
    """Where torch hub (and so ``demucs``) keeps downloaded weights: ``<torch hub>/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def whisper_cache() -> Path:
    """Where ``whisper.load_model`` keeps official weights (``$XDG_CACHE_HOME/whisper``)."""
    return Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"


def demucs_remote() -> Path:
    """demucs' ``remote/`` folder, found without importing demucs (keeps ``voicetools --help`` fast)."""
    spec = importlib.util.find_spec("demucs")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("the demucs package is missing: pip install demucs")
    return Path(list(spec.submodule_search_locations)[0]) / "remote"


@dataclass(frozen=True)
class RemoteFile:
    url: str
    dest: Path
    sha256: str  # the full digest, or (Demucs) the prefix the file name carries

    @property
    def relative(self) -> str:
        """The path under the project's root URL (what a mirror serves)."""
        root = DEMUCS_ROOT_URL if self.url.startswith(DEMUCS_ROOT_URL) else self.url.rsplit("/", 2)[0] + "/"
        return self.url[len(root) :]

    def present(self) -> bool:
        return self.dest.is_file()


@dataclass(frozen=True)
class OfficialModel:
    name: str
    project: str  # "demucs" or "whisper"
    files: tuple[RemoteFile, ...]

    def installed(self) -> bool:
        return all(f.present() for f in self.files)


def _demucs_models() -> dict[str, OfficialModel]:
    import yaml

    remote = demucs_remote()
    urls, root = {}, ""
    for line in (remote / "files.txt").read_text().splitlines():
        line = line.strip()
        if line.startswith("root:"):
            root = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#"):
            urls[line.split("-")[0]] = (DEMUCS_ROOT_URL + root + line, line)
    out = {}
    for spec in sorted(remote.glob("*.yaml")):
        if spec.stem.endswith("_q"):  # diffq-quantized weights: load_demucs_file refuses them
            continue
        sigs = [str(s) for s in (yaml.safe_load(spec.read_text()) or {}).get("models", [])]
        if not sigs or any(s not in urls for s in sigs):
            continue
        files = tuple(
            RemoteFile(urls[s][0], hub_dir() / urls[s][1], urls[s][1].rsplit("-", 1)[1].split(".")[0]) for s in sigs
        )
        out[spec.stem] = OfficialModel(spec.stem, "demucs", files)
    return out


def _whisper_models() -> dict[str, OfficialModel]:
    try:
        import whisper
    except ImportError:
        return {}
    return {
        name: OfficialModel(
            name, "whisper", (RemoteFile(url, whisper_cache() / os.path.basename(url), url.split("/")[-2]),)
        )
        for name, url in whisper._MODELS.items()
    }


def catalog() -> dict[str, OfficialModel]:
    """Every official model ``fetch`` knows: Demucs names, then ``whisper-<name>``."""
    out = dict(_demucs_models())
    out.update({f"whisper-{n}": m for n, m in _whisper_models().items()})
    return out


def _bar(total: int | None, initial: int, desc: str, quiet: bool):
    # disable=None: no bar (and no carriage returns) when stderr is not a terminal
    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=True if quiet else None,
        file=sys.stderr,
    )


def _get(url: str, part: Path, quiet: bool) -> None:
    """Append ``url`` to ``part`` from its current size on (the server may restart from zero)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    opener = urllib.request.build_opener()  # a fresh ProxyHandler reads the proxy variables now
    with opener.open(request, timeout=60) as resp:
        if have and resp.status != 206:  # the server ignored Range: start again
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(part, "ab" if have else "wb") as f, _bar(total, have, part.name[: -len(".part")], quiet) as bar:
            got = 0
            while block := resp.read(BLOCK):
                f.write(block)
                got += len(block)
                bar.update(len(block))
        if length is not None and got < int(length):
            raise ConnectionError(f"connection closed after {have + got} of {total} bytes")


def download(url: str, dest: Path, sha256: str, *, quiet: bool = False) -> Path:
    """Download ``url`` to ``dest`` via ``dest.part`` (resumed), checking ``sha256`` (full or prefix)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    host = urllib.parse.urlsplit(url).netloc or url
    for attempt in range(1, ATTEMPTS + 1):
        before = part.stat().st_size if part.exists() else 0
        try:
            _get(url, part, quiet)
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists():  # asked past the end: the .part is complete or stale
                break
            raise FetchError(f"{url}: the server answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            progressed = part.exists() and part.stat().st_size > before
            if attempt == ATTEMPTS or not progressed:
                raise FetchError(
                    f"cannot download from {host} ({reason}); check the network connection "
                    "or proxy (HTTPS_PROXY); run the same command again to resume"
                ) from None
    digest = sha256_of(part)
    if not digest.startswith(sha256.lower()):
        part.unlink()
        raise FetchError(
            f"{dest.name}: checksum mismatch (expected {sha256}, got {digest[: len(sha256)]}); "
            "the download was removed, nothing was installed"
        )
    os.replace(part, dest)
    return dest


def fetch(name: str, *, mirror: str | None = None, quiet: bool = False, models=None) -> list[Path]:
    """Install the official model ``name`` (``catalog()`` lists them); returns its local files.

    Files already in place are kept; ``mirror`` replaces the project's root URL.
    """
    models = catalog() if models is None else models
    if name not in models:
        raise ParameterError(f"unknown official model {name!r}; fetchable: {', '.join(sorted(models))}")
    mirror = mirror or os.environ.get("VOICETOOLS_MIRROR") or None
    paths = []
    for f in models[name].files:
        if not f.present():
            url = mirror.rstrip("/") + "/" + f.relative if mirror else f.url
            download(url, f.dest, f.sha256, quiet=quiet)
        paths.append(f.dest)
    return paths
