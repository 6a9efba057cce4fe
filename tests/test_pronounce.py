"""The Mandarin pronunciation trainer on synthesized speech with known answers: tone sandhi, syllable
boundaries, a deliberately wrong tone flagged (and only it), timing, bad input, the CLI and writers.

"Learners" are espeak-ng voices the reference does not use (another variant, pitch, speed and Praat
formant shift), said syllable by syllable with pauses, so every boundary and tone is known exactly.
"""

import json

import numpy as np
import pytest
import soundfile as sf

import voicetools as vt
from voicetools.errors import AudioLoadError, MissingDependencyError, ParameterError, VoicetoolsError
from voicetools.pronounce import text_to_syllables
from voicetools.pronounce.align import align
from voicetools.pronounce.data import VoiceSettings, replace_contour, synthesize
from voicetools.pronounce.pinyin import Syllable
from voicetools.pronounce.tts import synthesize_reference

SR = 16000
SENTENCE = "我今天很高兴。"  # wo3 jin1 tian1 hen3 gao1 xing4
LEARNER = VoiceSettings("m3", pitch=40, speed=150, formant_shift=1.05, pitch_range=1.1)


def learner_reading(text, *, tones=None, voice=LEARNER, seed=0):
    """A synthetic learner reading ``text``; ``tones`` {index: tone} says some syllables wrong."""
    syl = text_to_syllables(text)
    for i, t in (tones or {}).items():
        p = syl[i].pinyin[:-1] + str(t)
        syl[i] = Syllable(syl[i].hanzi, p, p, syl[i].phrase)
    return synthesize(syl, voice, np.random.default_rng(seed))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("你好", ["ni2", "hao3"]),  # 3-3
        ("我很好", ["wo2", "hen2", "hao3"]),  # a run of three: all but the last
        ("你好，我叫小明。", ["ni2", "hao3", "wo3", "jiao4", "xiao3", "ming2"]),  # the comma ends the run
        ("一个", ["yi2", "ge4"]),
        ("一天", ["yi4", "tian1"]),
        ("一起", ["yi4", "qi3"]),  # 一 before 4 / 1-3
        ("第一", ["di4", "yi1"]),
        ("一二三", ["yi1", "er4", "san1"]),  # ordinal and counting keep yi1
        ("不是", ["bu2", "shi4"]),
        ("不好", ["bu4", "hao3"]),  # 不 before 4 / otherwise
        ("你好吗", ["ni2", "hao3", "ma5"]),  # neutral tone
    ],
)
def test_tone_sandhi(text, expected):
    assert [s.pinyin for s in text_to_syllables(text)] == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the text is empty"),
        ("   ", "the text is empty"),
        ("hello world", "has no Chinese characters"),
        ("我有3个", "has digits"),
        ("你好，Tom！", "Latin letters \\('Tom'\\).*汤姆 for Tom"),
        ("你好😀", "not Chinese"),
        ("你" * 51, "51 syllables; practise at most 50"),
    ],
)
def test_bad_text_is_one_clear_error(text, message):
    with pytest.raises(ParameterError, match=message):
        vt.pronounce(text)


def test_alignment_boundaries_on_synthesized_sentences():
    errors = []
    for k, text in enumerate(["你好，我叫小明。", "请问去火车站怎么走？"]):
        syl = text_to_syllables(text)
        ref = synthesize_reference(syl)
        voice = VoiceSettings(["m3", "m7"][k], pitch=35 + 20 * k, speed=[140, 210][k], formant_shift=0.95)
        learner = synthesize(syl, voice, np.random.default_rng(k))
        res = align(ref.samples, learner.samples, SR, ref.spans_s)
        errors += [abs(a - b) for got, true in zip(res.spans_s, learner.spans_s) for a, b in zip(got, true)]
    assert np.median(errors) <= 0.02
    assert np.percentile(errors, 90) <= 0.08


def test_a_deliberately_wrong_tone_is_flagged_and_only_it():
    """Done-when of issue 10: the sentence said with syllable 6 (兴 xing4) in tone 1 instead of 4."""
    right = learner_reading(SENTENCE)
    res = vt.pronounce(SENTENCE, right.samples, sample_rate=SR)
    assert [s.tone_ok for s in res.syllables] == [True] * 6, res.format_table()

    wrong = learner_reading(SENTENCE, tones={5: 1})
    res = vt.pronounce(SENTENCE, wrong.samples, sample_rate=SR)
    assert [s.index for s in res.wrong] == [5], res.format_table()
    row = res.syllables[5]
    assert row.expected_tone == 4 and row.heard_tone == 1 and "tone 4 should fall" in row.hint
    assert "WRONG" in res.format_table().splitlines()[2 + 5]
    assert res.score < vt.pronounce(SENTENCE, right.samples, sample_rate=SR).score


def test_a_contour_replaced_by_psola_is_flagged():
    """The same sentence with 高 (gao1, level) given a falling contour by Praat PSOLA: only it is wrong."""
    u = learner_reading(SENTENCE, seed=3)
    s, e = u.spans_s[4]
    x = replace_contour(u.samples, SR, s, e, lambda t, f0: f0 * 2 ** ((2 - 8 * t) / 12))  # +2 → -6 semitones
    res = vt.pronounce(SENTENCE, x, sample_rate=SR)
    assert [r.index for r in res.wrong] == [4], res.format_table()
    assert res.syllables[4].heard_tone == 4, res.format_table()


def test_timing_feedback_finds_a_long_pause():
    syl = text_to_syllables(SENTENCE)
    gaps = [0.02, 0.02, 0.6, 0.02, 0.02]  # a 0.6 s pause before 很
    from voicetools.pronounce.tts import EspeakNG

    u = synthesize_reference(syl, EspeakNG(variant="m3", pitch=40), gaps_s=gaps, edge_s=0.2)
    res = vt.pronounce(SENTENCE, u.samples, sample_rate=SR)
    assert "pause" in res.syllables[3].timing_note and res.syllables[3].pause_before_s > 0.4
    assert all("pause" not in r.timing_note for i, r in enumerate(res.syllables) if i != 3)
    assert res.syllables[3].timing_score < 100


def test_timing_notes_name_the_syllables_far_off_the_reference_rhythm():
    from voicetools.pronounce.feedback import timing_notes, timing_score

    notes = timing_notes([1.0, 2.5, 0.2, 1.3], [0.0, 0.0, 0.0, 0.6], [False, True, True, True])
    assert notes == ["", "too long", "too short", "pause of 0.60 s before it"]
    assert timing_score(1.0, 0.0, True) == 100 and timing_score(2.5, 0.0, True) < 50


def test_bad_audio_is_one_clear_error(tmp_path):
    with pytest.raises(AudioLoadError, match="is silent"):
        vt.pronounce("你好", np.zeros(SR, np.float32), sample_rate=SR)
    noise = np.random.default_rng(0).normal(0, 0.1, 61 * 8000).astype(np.float32)
    with pytest.raises(AudioLoadError, match="too long; record one or two sentences"):
        vt.pronounce("你好", noise, sample_rate=8000)
    path = tmp_path / "long.wav"
    sf.write(path, noise, 8000)
    with pytest.raises(AudioLoadError, match="long.wav: 61 s is too long"):
        vt.pronounce("你好", path)
    with pytest.raises(AudioLoadError, match="no such file"):
        vt.pronounce("你好", tmp_path / "missing.wav")


def test_reading_another_sentence_is_refused():
    other = learner_reading("请问去火车站怎么走？")
    with pytest.raises(VoicetoolsError, match="does not sound like a reading of “我今天很高兴。”"):
        vt.pronounce(SENTENCE, other.samples, sample_rate=SR)


def test_coqui_backend_without_coqui_is_a_clear_error(cli, assert_one_error_line, tmp_path):
    with pytest.raises(MissingDependencyError, match="pip install coqui-tts"):
        vt.pronounce("你好", tts="coqui", tts_model=str(tmp_path))
    code, _, err = cli("pronounce", "--text", "你好", "--tts", "coqui", "--tts-model", tmp_path)
    assert_one_error_line(code, err)
    assert "coqui-tts" in err


def test_cli_table_textgrid_json_and_reference(cli, tmp_path, assert_one_error_line):
    """A real native reading (tests/data) through the CLI: table, TextGrid, JSON and the reference."""
    from pathlib import Path

    from praatio import textgrid

    audio = Path(__file__).parent / "data" / "BAC009S0252W0428.flac"
    text = "引来网友点赞"
    tg, ref = tmp_path / "me.TextGrid", tmp_path / "ref.wav"
    code, out, err = cli("pronounce", "--text", text, "--audio", audio, "--textgrid", tg, "--reference-out", ref, "-q")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("引来网友点赞  →  yǐn lái")
    rows = [line for line in lines if line[:2].strip().isdigit()]
    assert len(rows) == 6 and sum("WRONG" in r for r in rows) <= 2, out
    grid = textgrid.openTextgrid(str(tg), includeEmptyIntervals=False)
    assert list(grid.tierNames) == ["syllable", "pinyin", "heard"]
    assert [e.label for e in grid.getTier("syllable").entries] == list(text)
    starts = [e.start for e in grid.getTier("syllable").entries]
    assert starts == sorted(starts) and 0.1 < starts[0] < 0.8 and starts[-1] < 2.3
    x, sr = sf.read(ref)
    assert sr == SR and len(x) > 0.5 * SR

    code, out, err = cli("pronounce", "--text", text, "--audio", audio, "--json", "-q")
    assert code == 0, err
    d = json.loads(out)
    assert d["pinyin"].startswith("yin3 lai2") and len(d["syllables"]) == 6
    assert 0 <= d["score"] <= 100 and d["input"] == str(audio)

    code, _, err = cli("pronounce", "--text", text, "--audio", audio, "--textgrid", tg)  # exists
    assert_one_error_line(code, err)
    code, _, err = cli("pronounce", "--text", "hello", "--audio", audio)
    assert_one_error_line(code, err)
    assert "no Chinese characters" in err


def test_cli_without_audio_prints_pinyin_and_sandhi(cli):
    code, out, err = cli("pronounce", "--text", "你好")
    assert code == 0, err
    assert out.splitlines()[0] == "你好  →  ní hǎo  (ni2 hao3)"
    assert "你 ni2 (3-3)" in out


def test_pluggable_backends(tmp_path, monkeypatch):
    """A TTSBackend subclass is used as given; the coqui backend only reads a local model (a stand-in
    ``TTS.api`` here: coqui-tts itself is an optional extra that CI does not install)."""
    import sys
    import types

    from voicetools.pronounce.tts import CoquiTTS, EspeakNG, TTSBackend

    class Slow(TTSBackend):
        name = "slow espeak"

        def syllable(self, pinyin):
            return EspeakNG(speed=100).syllable(pinyin)

    fast = vt.pronounce("你好", tts=EspeakNG(speed=300)).reference.duration_s
    assert vt.pronounce("你好", tts=Slow()).reference.duration_s > fast

    made = []

    class FakeTTS:
        def __init__(self, model_path, config_path, progress_bar):
            made.append((model_path, config_path))
            self.synthesizer = types.SimpleNamespace(output_sample_rate=22050)

        def to(self, device):
            return self

        def tts(self, text):
            return EspeakNG().syllable(text)[0]

    monkeypatch.setitem(sys.modules, "TTS", types.ModuleType("TTS"))
    monkeypatch.setitem(sys.modules, "TTS.api", types.SimpleNamespace(TTS=FakeTTS))
    with pytest.raises(ParameterError, match="does not exist; give a local model"):
        vt.pronounce("你好", tts="coqui", tts_model=str(tmp_path / "nope"))
    with pytest.raises(ParameterError, match="has no config.json"):
        vt.pronounce("你好", tts="coqui", tts_model=str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.pth").write_bytes(b"0")
    res = vt.pronounce("你好", tts="coqui", tts_model=str(tmp_path))
    assert made == [(str(tmp_path / "model.pth"), str(tmp_path / "config.json"))]
    assert res.reference.backend == "coqui-tts" and len(res.reference.spans_s) == 2
    assert isinstance(CoquiTTS(tmp_path), TTSBackend)
