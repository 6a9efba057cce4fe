"""The Pronounce tab without a browser: its table and files say what ``vt.pronounce`` says."""

import json
import re

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
pytestmark = pytest.mark.filterwarnings("ignore:Tiny-satb is a random-weight:UserWarning")

from voicetools.app import build_app  # noqa: E402
from voicetools.app.tabs.pronounce import run_pronounce, run_reference  # noqa: E402
from voicetools.errors import VoicetoolsError  # noqa: E402
from voicetools.pronounce import text_to_syllables  # noqa: E402
from voicetools.pronounce.data import VoiceSettings, synthesize  # noqa: E402
from voicetools.pronounce.pinyin import Syllable  # noqa: E402

TEXT = "你好，我叫小明。"


@pytest.fixture(scope="module")
def app(upload_dir):
    demo = build_app(model="tiny-satb", tabs=["pronounce"], examples=[])
    yield demo
    demo.voicetools.store.close()


def test_reference_then_a_reading_with_one_wrong_tone(app, upload_dir):
    wav, pinyin = run_reference(app.voicetools, TEXT)
    assert sf.info(wav).duration > 1.0
    assert re.findall(r'data-pinyin="(\w+)"', pinyin) == ["ni2", "hao3", "wo3", "jiao4", "xiao3", "ming2"]
    assert "3-3 sandhi" in pinyin

    syl = text_to_syllables(TEXT)
    syl[3] = Syllable("叫", "jiao1", "jiao1", syl[3].phrase)  # jiao4 said as jiao1
    u = synthesize(syl, VoiceSettings("m7", pitch=45, speed=160), np.random.default_rng(0))
    path = upload_dir / "my reading.wav"
    sf.write(path, u.samples, u.sample_rate)
    wav, pinyin, table, png, files, notes = run_pronounce(app.voicetools, TEXT, str(path))
    rows = re.findall(
        r'class="vt-syllable" data-index="(\d)" data-expected="(\d)" data-heard="(\d)" data-ok="(\d)"', table
    )
    assert [int(r[3]) for r in rows] == [1, 1, 1, 0, 1, 1], table
    assert rows[3][1:3] == ("4", "1")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(open(files[0], encoding="utf-8").read())
    assert [s["tone_ok"] for s in saved["syllables"]] == [True, True, True, False, True, True]
    assert files[1].endswith("my_reading.TextGrid")


def test_bad_text_and_upload(app, upload_dir, tmp_path):
    with pytest.raises(VoicetoolsError, match="no Chinese characters"):
        run_reference(app.voicetools, "hello")
    with pytest.raises(VoicetoolsError, match="No audio yet"):
        run_pronounce(app.voicetools, TEXT, None)
    silent = upload_dir / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    with pytest.raises(VoicetoolsError, match="silent.wav is silent") as info:
        run_pronounce(app.voicetools, TEXT, str(silent))
    assert str(upload_dir) not in str(info.value)


def test_a_real_native_reading_in_the_app(app, upload_dir):
    """The Pronounce tab on a real native reading (tests/data): accepted, almost nothing flagged;
    the same recording given as another sentence is refused with the same plain message."""
    import shutil
    from pathlib import Path

    src = Path(__file__).parent / "data" / "BAC009S0252W0347.flac"
    path = upload_dir / "native.flac"
    shutil.copy(src, path)
    wav, pinyin, table, png, files, notes = run_pronounce(app.voicetools, "国球还得走进校园", str(path))
    rows = re.findall(
        r'class="vt-syllable" data-index="(\d)" data-expected="(\d)" data-heard="(\d)" data-ok="(\d)"', table
    )
    assert len(rows) == 8 and sum(r[3] == "0" for r in rows) <= 2, table
    with pytest.raises(VoicetoolsError, match="does not sound like a reading of “引来网友点赞”") as info:
        run_pronounce(app.voicetools, "引来网友点赞", str(path))
    assert not re.search(r"\d\.\d", str(info.value))


def test_the_bundled_example_shows_one_wrong_tone():
    """examples/reading.wav reads its sentence (reading.txt) with 兴 in tone 1: one red syllable."""
    from pathlib import Path

    from voicetools.app import AppContext, AppSettings
    from voicetools.app.tabs.pronounce import examples_of

    reading = Path(__file__).resolve().parents[1] / "examples" / "reading.wav"
    ctx = AppContext(AppSettings(examples=[reading]))
    try:
        ((text, path),) = examples_of(ctx)
        assert text == "我今天很高兴。" and path == reading
        wav, pinyin, page, png, files, notes = run_pronounce(ctx, text, str(path))
    finally:
        ctx.store.close()
    rows = re.findall(
        r'class="vt-syllable" data-index="(\d)" data-expected="(\d)" data-heard="(\d)" data-ok="(\d)"', page
    )
    assert [r[3] for r in rows] == ["1"] * 5 + ["0"]
    # the contour figure is in the result, described for screen readers, with the downloads under it
    alt = re.search(r'<div id="vt-pronounce-plot"[^>]*><img src="gradio_api/file=[^"]+" alt="([^"]+)"', page).group(1)
    assert alt.endswith("1 of 6 wrong: 兴 (xìng).")
    assert re.findall(r'download="[^"]+">Download (the result \(JSON|the syllable timings \(TextGrid)', page) == [
        "the result (JSON",
        "the syllable timings (TextGrid",
    ]


def test_a_silent_reading_is_refused_in_plain_words(app, upload_dir):
    silent = upload_dir / "quiet.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    with pytest.raises(VoicetoolsError) as info:
        run_pronounce(app.voicetools, TEXT, str(silent))
    assert str(info.value) == "quiet.wav is silent, or nearly; record again closer to the microphone"
