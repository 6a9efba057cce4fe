"""The browser app without a browser: the factory, the Separate handler, limits, cleanup, the CLI."""

import base64
import html
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
# gr.Warning outside a page warns instead; the notes are checked through the HTML
pytestmark = pytest.mark.filterwarnings("ignore:Tiny-satb is a random-weight:UserWarning")

from voicetools.app import AppSettings, build_app, require_gradio  # noqa: E402
from voicetools.app.context import AppContext, ResultStore, default_examples, safe_stem  # noqa: E402
from voicetools.app.player import spectrogram_db, spectrogram_rgb  # noqa: E402
from voicetools.app.registry import TAB_MODULES, load_tabs  # noqa: E402
from voicetools.errors import MissingDependencyError, ParameterError, VoicetoolsError  # noqa: E402

SR = 16000


def write_choir(path, seconds=2.0, sample_rate=SR):
    """Four sine 'voices' (C5, G4, E4, C3) with a little vibrato: a stand-in choir."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = sum(0.15 * np.sin(2 * np.pi * f * t + 0.3 * np.sin(2 * np.pi * 5 * t)) for f in (523.25, 392.0, 329.63, 130.81))
    sf.write(str(path), x.astype(np.float32), sample_rate)
    return Path(path)


@pytest.fixture(scope="module")
def app(upload_dir, tmp_path_factory):
    example = write_choir(tmp_path_factory.mktemp("examples") / "example.wav", seconds=1.0)
    demo = build_app(model="tiny-satb", examples=[example])
    yield demo
    demo.voicetools.store.close()


def test_factory_builds_tabs_from_the_registry(app):
    specs = load_tabs()
    assert [s.key for s in specs][0] == "separate" and len(specs) == len(TAB_MODULES)
    assert app.voicetools.settings.models["separation"] == "tiny-satb"
    assert "separate" in app.voicetools.handlers
    api_names = {fn.api_name for fn in app.fns.values()}
    assert "separate" in api_names
    # the button and the example click share one bounded concurrency group
    runs = [fn for fn in app.fns.values() if fn.name == "separate_handler"]
    assert len(runs) == 2 and {(fn.concurrency_id, fn.concurrency_limit) for fn in runs} == {("separate", 1)}
    with pytest.raises(ParameterError, match="unknown app tab 'nope'"):
        load_tabs(["nope"])


def plain(err) -> str:
    """A ``gr.Error``'s message as the toast shows it: the title, then the line (tags and escapes removed)."""
    return html.unescape(re.sub(r"<br>", "\n", re.sub(r"<(?!br>)[^>]+>", "", str(err.message))))


def test_separate_handler_gives_four_players_and_a_zip(app, upload_dir):
    path = write_choir(upload_dir / "my choir.wav")
    page, zip_path = app.voicetools.handlers["separate"](str(path))

    players = re.findall(r'<div class="vt-player" data-stem="(\w+)"', page)
    assert players == ["soprano", "alto", "tenor", "bass"]
    audio = re.findall(r'<audio class="vt-audio" controls preload="metadata" src="([^"]+)" aria-label="([^"]+)"', page)
    assert len(audio) == 4 and all(src.startswith("gradio_api/file=") for src, _ in audio)
    assert [label for _, label in audio] == ["Soprano stem", "Alto stem", "Tenor stem", "Bass stem"]  # named players
    images = re.findall(r'<img class="vt-spec" src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page)
    assert len(images) == 4 and base64.b64decode(images[0][0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert images[0][1].startswith("Spectrogram of the soprano stem: time from 0 to 2.0 s")
    assert page.count('class="vt-playhead"') == 4
    # a download per stem, named by what it is, its format and size, and the zip of all four
    links = re.findall(r'<a class="([^"]+)" href="[^"]+" download="([^"]+)">([^<]+)</a>', page)
    assert [name for _, name, _ in links] == ["my_choir-stems.zip"] + [f"my_choir-{v}.wav" for v in players]
    assert re.fullmatch(r"Download all stems \(zip, \d+ KB\)", links[0][2]), links[0][2]
    assert re.fullmatch(r"Download soprano \(WAV, \d+ KB\)", links[1][2]), links[1][2]
    # seeking by keyboard: the plot is a focusable slider over the clip's length
    assert page.count('role="slider" aria-label="Playback position: ') == 4 and 'aria-valuemax="2.0"' in page

    with zipfile.ZipFile(zip_path) as z:
        names = sorted(z.namelist())
        assert names == sorted(f"my_choir-{v}.wav" for v in ("soprano", "alto", "tenor", "bass"))
        x, sr = sf.read(io.BytesIO(z.read(names[0])))
    assert sr == SR and len(x) == 2 * SR
    # served files live in the app's own results folder, nowhere else
    root = app.voicetools.store.root
    assert Path(zip_path).resolve().is_relative_to(root)


def test_non_audio_upload_gives_one_clear_titled_message(app, upload_dir):
    handler = app.voicetools.handlers["separate"]
    text = upload_dir / "notes.txt"
    text.write_text("not audio\n")
    fake = upload_dir / "broken <b>.wav"
    fake.write_bytes(os.urandom(2000))
    for bad in (text, fake):
        with pytest.raises(gr.Error) as info:
            handler(str(bad))
        assert info.value.title == "Cannot separate this audio"
        # the toast's own heading is always "Error": the title leads the message, the file name escaped
        assert plain(info.value) == (
            f"Cannot separate this audio\n“{bad.name}” could not be read as audio. "
            "Upload a WAV, FLAC, OGG, MP3 or AIFF file."
        )
        assert "<b>.wav" not in str(info.value.message) and str(upload_dir) not in str(info.value.message)
    with pytest.raises(gr.Error, match="No audio yet"):
        handler(None)


def test_paths_outside_the_upload_folder_are_refused(app, tmp_path):
    outside = write_choir(tmp_path / "elsewhere.wav")
    with pytest.raises(gr.Error, match="did not come through the upload box"):
        app.voicetools.handlers["separate"](str(outside))
    with pytest.raises(gr.Error, match="did not come through the upload box"):
        app.voicetools.handlers["separate"]("/etc/passwd")


def test_example_files_are_accepted(app):
    (example,) = app.voicetools.settings.examples
    html, _ = app.voicetools.handlers["separate"](str(example))
    assert html.count("<audio") == 4


def test_size_and_duration_limits(upload_dir):
    ctx = AppContext(AppSettings(models={"separation": "tiny-satb"}, max_duration_s=1.0, max_upload_mb=0.05))
    try:
        long = write_choir(upload_dir / "long.wav", seconds=1.5, sample_rate=8000)  # 24 kB, 1.5 s
        with pytest.raises(VoicetoolsError, match=r"“long.wav” is 2 s long; this app takes up to 1 s"):
            ctx.check_upload(long)
        big = write_choir(upload_dir / "big.wav", seconds=0.5, sample_rate=48000)  # 48 kB... and 0.5 s
        sf.write(str(big), np.zeros(40000, np.float32), 48000, subtype="FLOAT")  # 160 kB
        with pytest.raises(VoicetoolsError, match=r"“big.wav” is 0.2 MB; this app takes files up to 0.05 MB"):
            ctx.check_upload(big)
    finally:
        ctx.store.close()
    with pytest.raises(ParameterError, match="max_duration_s must be positive"):
        AppSettings(max_duration_s=0)


def test_result_store_cleans_up(tmp_path):
    store = ResultStore(ttl_s=3600)
    a, b = store.new_dir("session-a"), store.new_dir("session-b")
    (a / "x.wav").write_bytes(b"1")
    store.release("session-a")
    assert not a.exists() and b.exists()
    assert store.url(b / "y.wav").startswith("gradio_api/file=")
    with pytest.raises(ValueError):
        store.url(tmp_path / "not-a-result.wav")
    store.ttl_s = 0.0
    time.sleep(0.01)
    store.sweep()
    assert not b.exists()
    root = store.root
    store.close()
    assert not root.exists()


def test_missing_gradio_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)
    with pytest.raises(MissingDependencyError, match=r"voicetools\[app\]"):
        require_gradio()


def test_examples_folder_is_picked_up():
    repo_example = Path(__file__).resolve().parents[1] / "examples" / "choir.wav"
    if repo_example.exists():
        assert repo_example in default_examples()
    assert safe_stem("../../etc/pass wd.wav") == "pass_wd" and safe_stem("....wav") == "audio"


def test_spectrogram_is_bounded_and_coloured():
    x = np.random.default_rng(0).standard_normal(SR * 60).astype(np.float32) * 0.1
    db = spectrogram_db(x, SR, max_columns=300, n_mels=64)
    assert db.shape == (64, 300)
    rgb = spectrogram_rgb(db)
    assert rgb.shape == (64, 300, 3) and rgb.dtype == np.uint8
    assert spectrogram_db(np.zeros(10, np.float32), SR).shape[0] == 96  # shorter than one FFT: padded


def test_plots_have_axes_and_the_piano_roll_is_readable():
    from types import SimpleNamespace as Note

    from voicetools.app.player import piano_roll_plot, spectrogram_plot

    x = np.random.default_rng(0).standard_normal(SR * 3).astype(np.float32) * 0.1
    plot = spectrogram_plot(spectrogram_db(x, SR), duration_s=3.0, f_max_hz=8000, what="the alto stem")
    left, top, width, height = plot.box  # the time axis inside the image, for the playhead
    assert 0.05 < left < 0.15 and 0.8 < width < 0.95 and 0 < top and top + height < 1
    png = base64.b64decode(plot.uri.split(",")[1])
    assert int.from_bytes(png[16:20], "big") == plot.width and int.from_bytes(png[20:24], "big") == plot.height
    assert plot.alt == (
        "Spectrogram of the alto stem: time from 0 to 3.0 s across, frequency from 0 to 8 kHz up; brighter is louder."
    )

    tracks = {
        "soprano": [Note(pitch=72 + i, start_s=i * 0.5, end_s=i * 0.5 + 0.4) for i in range(5)],
        "bass": [Note(pitch=43, start_s=0.0, end_s=2.5)],
    }
    roll = piano_roll_plot(tracks, audio=x, sample_rate=SR, duration_s=3.0)
    rows = (76 + 2) - (43 - 2) + 1  # every note with two semitones to spare
    assert roll.box[3] * roll.height / rows >= 9  # px per semitone: note bars stay readable
    assert roll.alt.startswith("Piano roll of 6 transcribed notes (soprano 5, bass 1), pitch F2 to F♯5 on a keyboard")
    assert piano_roll_plot({"melody": []}, duration_s=1.0).height >= 280  # nothing heard: still a usable frame


def test_each_tab_offers_the_example_that_fits(tmp_path):
    names = ["choir.wav", "song.wav", "meeting.wav", "reading.wav", "mine.wav"]
    ctx = AppContext(AppSettings(examples=[tmp_path / n for n in names]))
    try:
        fits = {
            tab: [p.name for p in ctx.examples_for(tab)]
            for tab in ("separate", "transcribe", "vocals", "revoice", "classify", "diarize", "pronounce")
        }
    finally:
        ctx.store.close()
    assert fits == {
        "separate": ["choir.wav", "mine.wav"],
        "transcribe": ["choir.wav", "mine.wav"],
        "vocals": ["song.wav", "mine.wav"],
        "revoice": ["choir.wav", "mine.wav"],
        "classify": ["meeting.wav", "mine.wav"],
        "diarize": ["meeting.wav", "mine.wav"],
        "pronounce": ["reading.wav", "mine.wav"],
    }  # a file of another name fits every tab
    repo = Path(__file__).resolve().parents[1] / "examples"
    assert (repo / "reading.txt").read_text(encoding="utf-8").strip() == "我今天很高兴。"  # Pronounce's sentence


def test_an_examples_result_is_computed_once_and_kept(app, upload_dir):
    handler, store = app.voicetools.handlers["separate"], app.voicetools.store
    (example,) = app.voicetools.settings.examples
    first = handler(str(example))
    copy = upload_dir / example.name  # gradio may hand over a copy of the example
    copy.write_bytes(example.read_bytes())
    assert handler(str(copy)) == first
    ttl, store.ttl_s = store.ttl_s, 0.0
    try:
        store.sweep()  # other results expire; the example's stays while the app runs
        assert Path(first[1]).exists()
    finally:
        store.ttl_s = ttl
    other = write_choir(upload_dir / example.name, seconds=0.5)  # same name, other audio: not the example
    assert handler(str(other)) != first


def test_progress_reports_every_chunk(app, upload_dir):
    from voicetools.app.tabs.separate import run_separation

    class Progress:  # like gr.Progress: callable, and falsy until it tracks an iterable
        def __init__(self):
            self.said = []

        def __len__(self):
            return 0

        def __call__(self, progress, desc=None, **kwargs):
            self.said.append(desc)

    progress = Progress()
    run_separation(app.voicetools, str(write_choir(upload_dir / "long.wav", seconds=20.0)), progress=progress)
    chunks = [d for d in progress.said if d.startswith("Separating voices: chunk")]
    assert len(chunks) >= 2 and chunks[-1].endswith(f"of {len(chunks)}"), progress.said
    assert progress.said[0] == "Reading audio" and progress.said[-1] == "Drawing spectrograms"


def test_the_page_frame_header_and_model_cards(app):
    from voicetools.app import footer_html, model_cards

    blocks = {getattr(b, "elem_id", None): b for b in app.blocks.values()}
    assert blocks["vt-header"].value.startswith('<h1 style="margin:0 0 .25rem;font-size:1.9rem">voicetools</h1>')
    assert "runs on this server" in blocks["vt-header"].value
    footer = blocks["vt-footer"].value
    assert "voice2midi/MODEL_CARD.md" in footer and "tiny-satb" not in footer  # test models have no cards
    ctx = AppContext(AppSettings(models={"separation": "satb-convtasnet", "transcription": "voice2midi"}))
    try:
        cards = model_cards(ctx, load_tabs(["separate", "transcribe", "revoice"]))
        page = footer_html(ctx, cards)
    finally:
        ctx.store.close()
    assert [(name, tabs) for name, tabs, _ in cards][:2] == [
        ("satb-convtasnet", ["Separate", "Re-voice"]),
        ("voice2midi", ["Transcribe"]),
    ]
    assert all(card.name == "MODEL_CARD.md" and card.is_file() for _, _, card in cards)
    assert page.count('href="gradio_api/file=') == len(cards) and "nothing above 4 kHz" in page


def test_cli_app_options():
    from voicetools.cli import build_parser

    args = build_parser().parse_args(["app"])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)
    args = build_parser().parse_args(
        ["app", "--share", "--port", "8000", "--model", "tiny-satb", "--max-upload-mb", "5", "--max-duration-s", "30"]
    )
    assert args.share and args.port == 8000 and args.max_duration_s == 30.0


def test_cli_app_serves_the_page(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicetools.cli", "app", "--model", "tiny-satb", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    page = r.read().decode()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"voicetools app did not serve: {proc.stdout.read().decode()[-2000:]}")
                time.sleep(0.5)
        assert "voicetools" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cli_app_unknown_model_fails_before_serving():
    r = subprocess.run(
        [sys.executable, "-m", "voicetools.cli", "app", "--model", "no-such-model"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "unknown model 'no-such-model'" in r.stderr
