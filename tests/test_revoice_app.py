"""The Re-voice tab without a browser: its handler gives before/after players and the re-voiced WAV."""

import re

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
# gr.Warning outside a page warns instead; the notes are checked through the HTML
pytestmark = pytest.mark.filterwarnings("ignore:Tiny-satb is a random-weight:UserWarning")

from voicetools.app import build_app  # noqa: E402
from voicetools.app.tabs.revoice import target_choices  # noqa: E402


@pytest.fixture(scope="module")
def app(upload_dir):
    demo = build_app(model="tiny-satb", tabs=["revoice"], examples=[])
    yield demo
    demo.voicetools.store.close()


def test_handler_gives_before_after_players_and_a_wav(app, upload_dir):
    t = np.arange(24000) / 16000
    x = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.1 * np.sin(2 * np.pi * 131 * t)
    path = upload_dir / "my choir.wav"
    sf.write(str(path), x, 16000)
    html, wav = app.voicetools.handlers["revoice"](
        str(path), "choir (separate S/A/T/B)", "tenor", "keep", "keep", "tiny-timbre", 0, 1.0, 0.0
    )
    assert re.findall(r'<div class="vt-player" data-stem="(\w+)"', html) == ["before", "after"]
    assert "soprano → tenor:" in html and "bass → tiny-timbre:+0" in html and "Tiny-satb is a random-weight" in html
    y, sr = sf.read(wav)
    assert wav.endswith("my_choir-revoiced.wav") and sr == 16000 and len(y) == len(x)


def test_solo_mode_uses_that_parts_target(app, upload_dir):
    path = upload_dir / "solo.wav"
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000), 16000)
    html, wav = app.voicetools.handlers["revoice"](str(path), "alto", "keep", "tenor:+0", "keep", "keep", -2, 1.0, 0.0)
    assert "alto → tenor:-2" in html


def test_bad_target_and_bad_upload_give_one_clear_message(app, upload_dir):
    path = upload_dir / "solo.wav"
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000), 16000)
    with pytest.raises(gr.Error) as info:
        app.voicetools.handlers["revoice"](str(path), "alto", "keep", "baritone", "keep", "keep", 0, 1.0, 0.0)
    assert info.value.title == "Cannot re-voice this audio" and "unknown target 'baritone'" in info.value.message
    fake = upload_dir / "broken.wav"
    fake.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(gr.Error) as info:
        app.voicetools.handlers["revoice"](str(fake), "alto", "keep", "keep", "keep", "keep", 0, 1.0, 0.0)
    assert "broken.wav" in str(info.value) and str(upload_dir) not in str(info.value)


def test_dropdowns_offer_voice_types_shipped_timbres_and_gm():
    c = target_choices()
    assert c[:5] == ["keep", "soprano", "alto", "tenor", "bass"] and "gm:clarinet" in c and "singing" in c
    assert not any(n.startswith("tiny-") for n in c)


def test_every_part_kept_gives_the_input_back_with_a_notice(app, upload_dir):
    sr = 22050
    t = np.arange(sr) / sr
    x = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.05 * np.sin(2 * np.pi * 6000 * t)  # a partial above 4 kHz
    path = upload_dir / "kept.wav"
    sf.write(str(path), x, sr)
    with pytest.warns(UserWarning, match="Every part is set to “keep” and nothing is transposed"):
        html, wav = app.voicetools.handlers["revoice"](
            str(path), "choir (separate S/A/T/B)", "keep", "keep", "keep", "keep", 0, 1.0, 0.0
        )
    y, got_sr = sf.read(wav)
    # not run through the 8 kHz separation, so nothing above 4 kHz is lost
    assert got_sr == sr and np.abs(y - x).max() < 1e-3
    assert "kept.wav: 1.0 s at 22050 Hz, unchanged." in html and ">Every part kept<" in html


def test_the_after_heading_is_short_and_the_targets_a_one_line_caption(app, upload_dir):
    path = upload_dir / "solo.wav"
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000), 16000)
    html, _ = app.voicetools.handlers["revoice"](str(path), "alto", "keep", "tenor", "keep", "keep", 0, 1.0, 0.0)
    assert re.findall(r'<span class="vt-name">([^<]+)</span>', html) == ["Before", "After"]
    assert re.findall(r'<div class="vt-caption" title="[^"]*">([^<]+)</div>', html) == [
        "The input, in mono",
        "alto → tenor:+0",
    ]
    assert re.findall(r'download="[^"]+">(Download [^<]+)</a>', html)[1].startswith("Download re-voiced (WAV, ")
