"""Words per speaker: Whisper (a tiny model built here, with a known transcript) aligned to turns."""

import base64
import gzip
import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from voicetools.diarize import Turn
from voicetools.diarize.transcript import (
    Utterance,
    Word,
    assign_speakers,
    load_whisper,
    to_srt,
    transcribe_turns,
    utterances,
)
from voicetools.errors import ModelLoadError

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("one", "two", "three", "four", "five", "six")


def test_words_go_to_the_speaker_they_overlap_most_or_the_nearest():
    turns = [Turn(0.0, 2.0, "A"), Turn(2.0, 4.0, "B"), Turn(3.5, 5.0, "A"), Turn(8.0, 9.0, "B")]
    words = [
        Word(0.1, 0.5, "hi"),
        Word(1.8, 2.6, "there"),
        Word(3.6, 3.9, "both"),
        Word(5.5, 5.8, "late"),
        Word(7.5, 7.7, "early"),
    ]
    got = [w.speaker for w in assign_speakers(words, turns)]
    # "there": 0.2 s with A, 0.6 s with B; "both": 0.3 s each, ties to the first; gaps: nearest turn edge
    assert got == ["A", "B", "B", "A", "B"]
    assert [w.speaker for w in assign_speakers(words, [])] == [None] * 5


def test_utterances_split_on_speaker_change_and_long_pauses():
    words = [
        Word(0.0, 0.4, "good", "A"),
        Word(0.5, 0.9, "morning", "A"),
        Word(1.0, 1.3, "hi", "B"),
        Word(1.4, 1.6, "yes", "B"),
        Word(5.0, 5.5, "later", "B"),
    ]
    utts = utterances(words, max_gap_s=1.5)
    assert [(u.speaker, u.text) for u in utts] == [("A", "good morning"), ("B", "hi yes"), ("B", "later")]
    assert (utts[0].start_s, utts[0].end_s) == (0.0, 0.9)


def test_srt_has_numbered_cues_speakers_and_emotion_tokens():
    utts = [
        Utterance("SPEAKER_00", 1.5, 3.25, "hello there", "happy"),
        Utterance("SPEAKER_01", 3661.0, 3662.004, "bye"),
    ]
    assert to_srt(utts) == (
        "1\n00:00:01,500 --> 00:00:03,250\n[SPEAKER_00] <|emotion-happy|> hello there\n\n"
        "2\n01:01:01,000 --> 01:01:02,004\n[SPEAKER_01] bye\n"
    )


whisper = pytest.importorskip("whisper", reason="openai-whisper is an optional extra")


def tiny_whisper(path: Path, words=WORDS) -> Path:
    """A 1-layer Whisper in Whisper's own checkpoint format whose decoder, by position alone, says
    ``words`` and ends — so the transcript of any clip up to 30 s is known."""
    from whisper.model import ModelDimensions, Whisper
    from whisper.tokenizer import get_tokenizer

    tok = get_tokenizer(multilingual=True)
    # a closing timestamp at 30 s before the end: Whisper then moves on by a whole window
    ids = [tok.encode(" " + w)[0] for w in words] + [tok.timestamp_begin + 1500, tok.eot]
    g = torch.Generator().manual_seed(0)
    width = 32
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=width,
        n_audio_head=2,
        n_audio_layer=1,
        n_vocab=tok.encoding.n_vocab,
        n_text_ctx=64,
        n_text_state=width,
        n_text_head=2,
        n_text_layer=1,
    )
    torch.manual_seed(0)
    m = Whisper(dims)
    with torch.no_grad():
        for blk in m.decoder.blocks:  # no attention or MLP output: the residual stream is token + position
            for lin in (blk.attn.out, blk.cross_attn.out, blk.mlp[2]):
                lin.weight.zero_()
                lin.bias.zero_()
        half = width // 2
        emb = 0.02 * torch.randn(dims.n_vocab, width, generator=g)
        emb[:, half:] = 0
        pos = torch.zeros(dims.n_text_ctx, width)
        pos[:, half:] = torch.randn(dims.n_text_ctx, half, generator=g)
        pos[:, half:] *= 10 / pos[:, half:].norm(dim=1, keepdim=True)
        first = 4  # after <|startoftranscript|>, the language, the task and one (forced) timestamp
        for k, i in enumerate(ids):  # token k is the best match of the position it is predicted from
            emb[i, half:] = 0.3 * pos[first + k - 1, half:]
        m.decoder.token_embedding.weight.copy_(emb)
        m.decoder.positional_embedding.copy_(pos)
        m.decoder.ln.weight.zero_()  # the logits read only the positional half
        m.decoder.ln.weight[half:] = 1
        m.decoder.ln.bias.zero_()
    torch.save({"dims": asdict(dims), "model_state_dict": m.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def whisper_file(tmp_path_factory):
    return tiny_whisper(tmp_path_factory.mktemp("whisper") / "tiny.pt")


@pytest.fixture(scope="module")
def meeting_clip(tmp_path_factory):
    """The bundled meeting's first 25 s (one Whisper window) with its reference turns."""
    x, sr = sf.read(ROOT / "examples" / "meeting.wav", dtype="float32")
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    sf.write(path, x[: 25 * sr], sr)
    return path


def test_a_whisper_checkpoint_file_loads_with_its_weights(whisper_file):
    net = load_whisper(whisper_file)
    saved = torch.load(whisper_file, weights_only=True)["model_state_dict"]
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, saved[k])


def test_official_names_come_from_the_local_cache_only(whisper_file, tmp_path, monkeypatch):
    import hashlib
    import shutil

    monkeypatch.setattr(whisper, "_download", lambda *a, **k: pytest.fail("voicetools must never download"))
    with pytest.raises(ModelLoadError, match="voicetools models fetch whisper-small"):
        load_whisper("small", cache_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="neither a checkpoint file nor an official name"):
        load_whisper("no-such-model", cache_dir=tmp_path)
    # an official name whose file is in the cache: checked against the sha256 in Whisper's list
    sha = hashlib.sha256(whisper_file.read_bytes()).hexdigest()
    monkeypatch.setitem(whisper._MODELS, "tiny-test", f"https://example.invalid/{sha}/tiny-test.pt")
    heads = np.array([[False, True]])  # layer 0, head 1: in Whisper's base85(gzip(bool mask)) spelling
    monkeypatch.setitem(whisper._ALIGNMENT_HEADS, "tiny-test", base64.b85encode(gzip.compress(heads.tobytes())))
    shutil.copy(whisper_file, tmp_path / "tiny-test.pt")
    assert load_whisper("tiny-test", cache_dir=tmp_path).alignment_heads.to_dense().tolist() == [[0, 1]]
    (tmp_path / "tiny-test.pt").write_bytes(whisper_file.read_bytes()[:-1] + b"x")
    with pytest.raises(ModelLoadError, match="checksum"):
        load_whisper("tiny-test", cache_dir=tmp_path)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="cannot load Whisper checkpoint"):
        load_whisper(broken)


def test_words_of_the_known_transcript_land_on_diarized_speakers(whisper_file, meeting_clip):
    import voicetools as vt
    from voicetools.audio.io import load_mono

    res = vt.diarize(meeting_clip)
    x, _ = load_mono(meeting_clip, 16000)
    utts = transcribe_turns(
        x,
        res.turns,
        whisper_model=load_whisper(whisper_file),
        language="en",
        emotion_model="emotion-ravdess-cnn",
        temperature=0.0,
    )
    words = [w for u in utts for w in u.words]
    assert tuple(w.text for w in words) == WORDS
    for w in words:
        assert 0 <= w.start_s <= w.end_s <= 25.0
        assert w.speaker == assign_speakers([Word(w.start_s, w.end_s, w.text)], res.turns)[0].speaker
    assert {u.speaker for u in utts} <= set(res.speakers)
    labels = set(vt.load_model("emotion-ravdess-cnn").config["labels"])
    assert all(u.emotion in labels for u in utts)


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "voicetools.cli", "diarize", *map(str, args)], cwd=cwd, capture_output=True, text=True
    )


def test_cli_writes_srt_and_json_with_speakers(whisper_file, meeting_clip, tmp_path):
    out = tmp_path / "out"
    p = _cli(
        meeting_clip, "-o", out, "--transcribe", "--whisper", whisper_file, "--language", "en", "--json", cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    data = json.loads((out / "clip.transcript.json").read_text())
    assert " ".join(u["text"] for u in data["utterances"]) == " ".join(WORDS)
    assert {u["speaker"] for u in data["utterances"]} <= set(summary["speakers"])
    cues = re.findall(
        r"^(\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n\[(SPEAKER_\d\d)\] "
        r"<\|emotion-[a-z]+\|> (.+)$",
        (out / "clip.srt").read_text(),
        flags=re.M,
    )
    assert [int(c[0]) for c in cues] == list(range(1, len(data["utterances"]) + 1))
    assert [c[4] for c in cues] == [u["text"] for u in data["utterances"]]
    assert summary["utterances"] == len(cues) and (out / "clip.rttm").exists()


def test_cli_without_weights_fails_before_writing_anything(meeting_clip, tmp_path, monkeypatch):
    env_home = tmp_path / "home"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicetools.cli",
            "diarize",
            str(meeting_clip),
            "-o",
            str(tmp_path / "o"),
            "--transcribe",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "XDG_CACHE_HOME": str(env_home)},
    )
    assert p.returncode == 1
    assert p.stderr.strip().count("\n") == 0 and "voicetools models fetch" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
