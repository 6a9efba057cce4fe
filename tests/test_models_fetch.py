"""``voicetools models fetch``: the one opt-in download, end to end against a server on 127.0.0.1.

The server serves a small HTDemucs saved in Demucs' release format under the path the official
``htdemucs`` file has on Demucs' server; the catalog entry is pointed at that file's checksum, so
the command, the resume, the checksum and the install into torch hub's cache all run for real,
and the installed weights then separate through ``voicetools vocals --model htdemucs``.
"""

import hashlib
import http.server
import threading

import numpy as np
import pytest
import soundfile as sf
import torch
from tiny_models import small_demucs_package

from voicetools import official_weights as ow

SR = 8000


def _demucs_bytes(tmp_path) -> bytes:
    package = small_demucs_package(sample_rate=SR)
    path = tmp_path / "small.th"
    torch.save(package, path)
    return path.read_bytes()


class _Server:
    """Serves ``files`` {path: bytes}; ``drop_once`` cuts the first full response half-way; it
    records every request line and Range header, and accepts proxy-style absolute URLs."""

    def __init__(self, files, *, drop_once=False):
        self.files, self.drop_once, self.requests = files, drop_once, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                path = self.path.split("://", 1)[-1].split("/", 1)[-1] if "://" in self.path else self.path[1:]
                outer.requests.append((self.path, self.headers.get("Range")))
                body = outer.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if outer.drop_once and not start:
                    outer.drop_once = False
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the connection drops half-way
                    return
                self.wfile.write(body[start:])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "VOICETOOLS_MIRROR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture
def small_htdemucs(tmp_path, hub, monkeypatch):
    """(server files, catalog entry name): the official htdemucs entry, pointed at a small model."""
    body = _demucs_bytes(tmp_path)
    prefix = hashlib.sha256(body).hexdigest()[:8]
    name = f"955717e8-{prefix}.th"
    real = ow.catalog()
    entry = ow.OfficialModel(
        "htdemucs",
        "demucs",
        (ow.RemoteFile(ow.DEMUCS_ROOT_URL + "hybrid_transformer/" + name, ow.hub_dir() / name, prefix),),
    )
    monkeypatch.setattr(ow, "catalog", lambda: {**real, "htdemucs": entry})
    return {f"hybrid_transformer/{name}": body}, name


def test_the_catalog_holds_the_official_urls_and_checksums():
    cat = ow.catalog()
    (f,) = cat["htdemucs"].files
    assert f.url == "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/955717e8-8726e21a.th"
    assert f.sha256 == "8726e21a" and f.dest.parent == ow.hub_dir()
    assert len(cat["htdemucs_ft"].files) == 4 and len(cat["mdx_extra"].files) == 4
    assert "mdx_extra_q" not in cat  # quantized weights are not loadable here, so not offered
    whisper = pytest.importorskip("whisper")
    (w,) = cat["whisper-large-v3"].files
    assert w.url == whisper._MODELS["large-v3"] and len(w.sha256) == 64 and w.dest.name == "large-v3.pt"


def test_fetch_installs_resumes_after_a_drop_and_the_model_then_separates(
    small_htdemucs, hub, tmp_path, cli, write_wav
):
    files, name = small_htdemucs
    server = _Server(files, drop_once=True)
    try:
        code, out, err = cli("models", "fetch", "htdemucs", "--mirror", server.url)
    finally:
        server.close()
    assert code == 0, err
    assert (hub / name).read_bytes() == files[f"hybrid_transformer/{name}"]
    assert not list(hub.glob("*.part"))
    ranges = [r for _, r in server.requests]
    assert ranges[0] is None and ranges[1] == f"bytes={len(files[f'hybrid_transformer/{name}']) // 2}-"
    code, out, err = cli("models", "--task", "vocals", "--json")
    import json

    listing = json.loads(out)
    assert {"name": "htdemucs", "task": "vocals", "source": "official demucs"} in listing["installed"]
    # the fetched weights are what `voicetools vocals --model htdemucs` now uses
    t = np.arange(SR) / SR
    song = write_wav("song.wav", (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate=SR)
    code, out, err = cli("vocals", song, "-o", tmp_path / "out", "--model", "htdemucs", "-q")
    assert code == 0, err
    vocals, rate = sf.read(tmp_path / "out" / "song" / "vocals.wav")
    assert rate == SR and len(vocals) == SR


def test_a_partial_file_from_an_earlier_run_is_resumed(small_htdemucs, hub):
    files, name = small_htdemucs
    body = files[f"hybrid_transformer/{name}"]
    hub.mkdir(parents=True)
    (hub / (name + ".part")).write_bytes(body[:1000])
    server = _Server(files)
    try:
        ow.fetch("htdemucs", mirror=server.url, quiet=True)
    finally:
        server.close()
    assert server.requests == [(f"/hybrid_transformer/{name}", "bytes=1000-")]
    assert (hub / name).read_bytes() == body


def test_a_wrong_checksum_installs_nothing(hub, tmp_path, cli, assert_one_error_line):
    # the real htdemucs entry, but the server has other bytes under its official path
    server = _Server({"hybrid_transformer/955717e8-8726e21a.th": b"not the real weights" * 100})
    try:
        code, out, err = cli("models", "fetch", "htdemucs", "--mirror", server.url)
    finally:
        server.close()
    assert_one_error_line(code, err)
    assert "checksum" in err
    assert not hub.exists() or not list(hub.iterdir())


def test_offline_is_one_clear_line(hub, cli, assert_one_error_line):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = cli("models", "fetch", "htdemucs", "--mirror", f"http://127.0.0.1:{port}")
    assert_one_error_line(code, err)
    assert "cannot download" in err and "proxy" in err


def test_the_proxy_from_the_environment_is_used(small_htdemucs, hub, monkeypatch):
    files, name = small_htdemucs
    proxy = _Server(files)  # answers proxy-style requests for any host
    monkeypatch.setenv("http_proxy", proxy.url)
    try:
        ow.fetch("htdemucs", mirror="http://weights.example.invalid", quiet=True)
    finally:
        proxy.close()
    assert proxy.requests[0][0] == f"http://weights.example.invalid/hybrid_transformer/{name}"
    assert (hub / name).is_file()


def test_a_missing_official_model_names_the_fetch_command(hub):
    from voicetools.errors import ModelLoadError
    from voicetools.vocals.model import load_vocal_model

    with pytest.raises(ModelLoadError, match="voicetools models fetch htdemucs"):
        load_vocal_model("htdemucs")
