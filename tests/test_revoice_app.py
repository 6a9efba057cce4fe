"""The Re-voice tab without a browser: its handler gives before/after players and the re-voiced WAV."""

import re

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")

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
    html, wav = app.voicetools.handlers["revoice"](str(path), "choir (separate S/A/T/B)", "tenor", "keep",
                                                    "keep", "tiny-timbre", 0, 1.0, 0.0)
    assert re.findall(r'<div class="vt-player" data-stem="(\w+)"', html) == ["before", "after"]
    assert "soprano → tenor:" in html and "bass → tiny-timbre:+0" in html and "Tiny-satb is a random-weight" in html
    y, sr = sf.read(wav)
    assert wav.endswith("my_choir-revoiced.wav") and sr == 16000 and len(y) == len(x)


def test_solo_mode_uses_that_parts_target(app, upload_dir):
    path = upload_dir / "solo.wav"
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000), 16000)
    html, wav = app.voicetools.handlers["revoice"](str(path), "alto", "keep", "tenor:+0", "keep", "keep", -2, 1.0,
                                                    0.0)
    assert "alto → tenor:-2" in html


def test_bad_target_and_bad_upload_give_one_clear_message(app, upload_dir):
    path = upload_dir / "solo.wav"
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000), 16000)
    with pytest.raises(gr.Error) as info:
        app.voicetools.handlers["revoice"](str(path), "alto", "keep", "baritone", "keep", "keep", 0, 1.0, 0.0)
    assert "unknown target 'baritone'" in str(info.value)
    fake = upload_dir / "broken.wav"
    fake.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(gr.Error) as info:
        app.voicetools.handlers["revoice"](str(fake), "alto", "keep", "keep", "keep", "keep", 0, 1.0, 0.0)
    assert "broken.wav" in str(info.value) and str(upload_dir) not in str(info.value)


def test_dropdowns_offer_voice_types_shipped_timbres_and_gm():
    c = target_choices()
    assert c[:5] == ["keep", "soprano", "alto", "tenor", "bass"] and "gm:clarinet" in c and "singing" in c
    assert not any(n.startswith("tiny-") for n in c)
