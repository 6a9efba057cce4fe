"""The Vocals tab without a browser: its handler gives two players and a zip; bad uploads get one line."""

import io
import re
import zipfile

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
pytestmark = pytest.mark.filterwarnings("ignore:Tiny-vocals is a random-weight:UserWarning")

from voicetools.app import build_app  # noqa: E402


@pytest.fixture(scope="module")
def app(upload_dir):
    demo = build_app(models={"vocals": "tiny-vocals"}, tabs=["vocals"], examples=[])
    yield demo
    demo.voicetools.store.close()


def test_vocals_handler_gives_two_stereo_players_and_a_zip(app, upload_dir):
    t = np.arange(22050) / 22050
    x = np.stack([0.2 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 220 * t)], 1)
    path = upload_dir / "my song.wav"
    sf.write(str(path), x, 22050)
    html, zip_path = app.voicetools.handlers["vocals"](str(path))
    assert re.findall(r'<div class="vt-player" data-stem="(\w+)"', html) == ["vocals", "accompaniment"]
    assert "tiny-vocals" in html
    with zipfile.ZipFile(zip_path) as z:
        assert sorted(z.namelist()) == ["my_song-accompaniment.wav", "my_song-vocals.wav"]
        v, sr = sf.read(io.BytesIO(z.read("my_song-vocals.wav")))
        a, _ = sf.read(io.BytesIO(z.read("my_song-accompaniment.wav")))
    assert sr == 22050 and v.shape == x.shape
    np.testing.assert_allclose(v + a, x, atol=2e-4)  # 16-bit files: the stems still sum to the song


def test_non_audio_upload_gives_one_clear_message(app, upload_dir):
    fake = upload_dir / "broken.wav"
    fake.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(gr.Error) as info:
        app.voicetools.handlers["vocals"](str(fake))
    assert "broken.wav" in str(info.value) and str(upload_dir) not in str(info.value)
