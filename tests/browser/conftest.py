"""Browser-test fixtures: the app served on a free loopback port, and Debian's Chromium driven by
the Python Playwright client (its own browser download is never used).

Skipped cleanly when playwright, gradio or a chromium binary is missing; CI installs all three
(``.ci/run``: apt-get install chromium; the ``test`` extra: gradio, playwright).
Screenshots go to ``test-artifacts/`` at the repository root (ignored by git).
"""

import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import write_choir

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    # a synthetic microphone (a beep), granted without a prompt, for the recording test
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


# deprecation notices from gradio's and pandas' own code, raised in the app's server thread
THIRD_PARTY_WARNINGS = ("ignore:'future.no_silent_downcasting' is deprecated", "ignore:The copy keyword is deprecated")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            for w in THIRD_PARTY_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(w))


def chromium_path():
    for p in (
        os.environ.get("VOICETOOLS_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if p and os.path.exists(p):
            return p
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser-inputs")
    (d / "notes.txt").write_text("these are notes, not audio\n")
    (d / "broken.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    return {"choir": write_choir(d / "choir.wav"), "text": d / "notes.txt", "broken": d / "broken.wav"}


def serve(**build_kwargs):
    """Build the app (tiny random-weight model: fast) and serve it from a thread on 127.0.0.1."""
    pytest.importorskip("gradio")
    from voicetools.app import build_app, launch_app

    demo = build_app(model="tiny-satb", **build_kwargs)
    launch_app(demo, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    return demo


@pytest.fixture(scope="session")
def server(files):
    from voicetools.app.context import default_examples

    # the repository's examples (each tab shows the one that fits it), or a stand-in choir
    demo = serve(examples=default_examples() or [files["choir"]])
    yield demo.local_url
    demo.close()
    demo.voicetools.store.close()


@pytest.fixture(scope="session")
def strict_server():
    """The same app with tight limits: 64 kB per upload, 2 s of audio."""
    demo = serve(examples=[], max_upload_mb=0.0625, max_duration_s=2.0)
    yield demo.local_url
    demo.close()
    demo.voicetools.store.close()


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python playwright package is not installed")
    exe = chromium_path()
    if exe is None:
        pytest.skip("no chromium binary (apt-get install chromium, or set VOICETOOLS_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def open_page(browser, url):
    context = browser.new_context(
        viewport={"width": 1280, "height": 1000}, accept_downloads=True, permissions=["microphone"]
    )
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(url)
    pg.wait_for_selector("#vt-separate-run")
    return pg


@pytest.fixture
def page(browser, server):
    pg = open_page(browser, server)
    yield pg
    pg.context.close()


@pytest.fixture
def strict_page(browser, strict_server):
    pg = open_page(browser, strict_server)
    yield pg
    pg.context.close()


@pytest.fixture
def screenshot(page, request):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def other_page(browser, server):
    """A second visitor on the same server (its own browser context, so its own session)."""
    pg = open_page(browser, server)
    yield pg
    pg.context.close()
