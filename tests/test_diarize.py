"""Diarization on synthetic conversations with known turns (espeak-ng voices), and its edges."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import voicetools as vt
from voicetools.data.conversations import build, espeak_pools
from voicetools.diarize import Settings, Turn, read_rttm
from voicetools.diarize.pipeline import cluster, smooth_labels
from voicetools.errors import ParameterError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
SR = 16000


def der(reference, hypothesis, collar=0.25):
    from pyannote.metrics.diarization import DiarizationErrorRate

    return DiarizationErrorRate(collar=collar)(reference, hypothesis, uem=None)


def annotation(turns):
    from pyannote.core import Annotation, Segment

    ann = Annotation()
    for i, (s, e, spk) in enumerate(turns):
        ann[Segment(s, e), i] = spk
    return ann


@pytest.fixture(scope="module")
def three_talkers():
    rng = np.random.default_rng(7)
    return build(espeak_pools(3, 6, rng), 12, rng, overlap_p=0.0)


@needs_espeak
def test_three_talkers_are_found_and_timed(three_talkers):
    res = vt.diarize(three_talkers.audio, sample_rate=SR)
    assert len(res.speakers) == 3
    assert der(annotation(three_talkers.turns), res.to_annotation()) < 0.1
    assert res.speakers == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    assert res.turns[0].speaker == "SPEAKER_00"  # named in order of first speech
    assert abs(res.turns[0].start_s - three_talkers.turns[0][0]) < 0.3


@needs_espeak
def test_a_given_count_is_kept_and_overlap_gets_two_speakers():
    rng = np.random.default_rng(3)
    conv = build(espeak_pools(2, 6, rng), 10, rng, overlap_p=0.5)
    res = vt.diarize(conv.audio, sample_rate=SR, speakers=2)
    assert len(res.speakers) == 2
    assert der(annotation(conv.turns), res.to_annotation()) < 0.2
    single = vt.diarize(conv.audio, sample_rate=SR, speakers=2, overlap=False)
    covered = np.zeros(int(conv.duration_s * 100))
    for t in single.turns:
        covered[int(t.start_s * 100) : int(t.end_s * 100)] += 1
    assert covered.max() == 1  # without overlap handling, never two at once


@needs_espeak
def test_one_talker_is_not_split():
    rng = np.random.default_rng(11)
    conv = build(espeak_pools(1, 8, rng), 8, rng)
    res = vt.diarize(conv.audio, sample_rate=SR)
    assert res.speakers == ["SPEAKER_00"]
    speech = sum(e - s for s, e, _ in conv.turns)
    assert abs(sum(res.speaking_time().values()) - speech) / speech < 0.15


def test_silence_gives_no_turns_and_says_so():
    res = vt.diarize(np.zeros(5 * SR, np.float32), sample_rate=SR)
    assert res.turns == [] and res.to_rttm() == "" and any("silent" in w for w in res.warnings)
    noise = (1e-4 * np.random.default_rng(0).standard_normal(5 * SR)).astype(np.float32)
    res = vt.diarize(noise, sample_rate=SR)
    assert res.turns == [] and any("no speech" in w for w in res.warnings)


def test_clustering_finds_planted_groups():
    rng = np.random.default_rng(0)
    centres = np.linalg.qr(rng.standard_normal((64, 3)))[0].T  # three orthogonal "voices"
    emb = np.concatenate([c + 0.05 * rng.standard_normal((40, 64)) for c in centres])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = cluster(emb, Settings())
    assert len(set(labels)) == 3 and all(len(set(labels[i * 40 : (i + 1) * 40])) == 1 for i in range(3))
    assert len(set(cluster(emb, Settings(), num_speakers=2))) == 2
    one = centres[0] + 0.05 * rng.standard_normal((80, 64))
    assert set(cluster(one / np.linalg.norm(one, axis=1, keepdims=True), Settings())) == {0}


def test_short_runs_are_absorbed():
    labels = np.array([0] * 50 + [1] * 5 + [0] * 50 + [-1] * 30 + [1] * 40)
    out = smooth_labels(labels, 20)
    assert (out[:105] == 0).all() and (out[105:135] == -1).all() and (out[135:] == 1).all()


def test_packed_embeddings_equal_one_at_a_time():
    enc = vt.load_model("speaker-resemblyzer").model
    rng = np.random.default_rng(1)
    clips = [
        torch.from_numpy(0.1 * rng.standard_normal(n).astype(np.float32)) for n in (25440, 9000, 16000)
    ]  # 25440 samples: 160 frames
    together = enc.embed_variable(clips)
    alone = torch.cat([enc.embed_variable([c]) for c in clips])
    assert torch.allclose(together, alone, atol=1e-5)
    assert torch.allclose(enc.embed(clips[0][None]), together[:1], atol=1e-5)
    assert torch.allclose(together.norm(dim=1), torch.ones(3), atol=1e-5)


def test_rttm_round_trip(tmp_path):
    res = vt.DiarizationResult([Turn(0.5, 2.0, "SPEAKER_00"), Turn(1.8, 3.25, "SPEAKER_01")], 4.0, 2.75, "x")
    path = res.save_rttm(tmp_path / "talk.rttm")
    back = read_rttm(path)["talk"]
    assert [(t.start_s, t.end_s, t.speaker) for t in back] == [(0.5, 2.0, "SPEAKER_00"), (1.8, 3.25, "SPEAKER_01")]
    assert der(res.to_annotation(), annotation([(0.5, 2.0, "a"), (1.8, 3.25, "b")]), collar=0.0) == 0.0
    (tmp_path / "bad.rttm").write_text("SPEAKER talk 1 zero 1.0 <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(ParameterError, match="bad.rttm:1"):
        read_rttm(tmp_path / "bad.rttm")


def test_bad_counts_are_refused():
    with pytest.raises(ParameterError, match=r"--speakers \(speakers in Python\) must be at least 1"):
        vt.diarize(np.zeros(SR, np.float32), sample_rate=SR, speakers=0)
    with pytest.raises(ParameterError, match="min_speakers"):
        vt.diarize(np.zeros(SR, np.float32), sample_rate=SR, min_speakers=3, max_speakers=2)


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "voicetools.cli", "diarize", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_espeak
def test_cli_writes_rttm_plot_and_json(three_talkers, tmp_path):
    wav = tmp_path / "meeting.wav"
    stereo = np.stack([three_talkers.audio, three_talkers.audio], 1)
    sf.write(wav, stereo, SR)
    r = run_cli(wav, "-o", tmp_path / "out", "--json", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert len(summary["speakers"]) == 3 and summary["turns"]
    rttm = read_rttm(tmp_path / "out" / "meeting.rttm")["meeting"]
    assert len({t.speaker for t in rttm}) == 3
    assert (tmp_path / "out" / "meeting.png").read_bytes()[:4] == b"\x89PNG"
    assert "2 channels were averaged" in r.stderr
    again = run_cli(wav, "-o", tmp_path / "out", "-q", cwd=tmp_path)
    assert again.returncode == 1 and "exists; pass --overwrite" in again.stderr


def test_cli_bad_input_is_one_line_and_leaves_nothing(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    r = run_cli(bad, "-o", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not any((tmp_path / "out").glob("*"))
    silent = tmp_path / "quiet.wav"
    sf.write(silent, np.zeros(2 * SR, np.float32), SR)
    r = run_cli(silent, "-o", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 0 and "silent" in r.stderr
    assert (tmp_path / "out" / "quiet.rttm").read_text() == ""


def test_the_bundled_meeting_matches_its_reference():
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"
    res = vt.diarize(examples / "meeting.wav")
    ref = read_rttm(examples / "meeting.rttm")["meeting"]
    assert len(res.speakers) == 3
    assert der(annotation([(t.start_s, t.end_s, t.speaker) for t in ref]), res.to_annotation()) < 0.12


def test_streamed_embeddings_equal_whole_file_embeddings(three_talkers):
    from voicetools.diarize.pipeline import embed_stream, embed_windows, window_spans

    enc = vt.load_model("speaker-resemblyzer").model
    x = three_talkers.audio[: 20 * SR].astype(np.float32)
    s = Settings()
    spans = window_spans([(0.2, 4.0), (4.5, 4.9), (5.0, 12.3), (13.0, 19.9)], s)
    whole = embed_windows(enc, x, spans, SR, s)
    step = int(2.5 * SR)  # blocks shorter than some gaps and cutting through windows
    streamed = embed_stream(enc, (x[i : i + step] for i in range(0, len(x), step)), spans, SR, s)
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


def test_speech_cut_by_block_edges_is_joined_again():
    from voicetools.diarize.vad import detect_speech, energy_vad

    t = np.arange(12 * SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * ((t > 1) & (t < 5) | (t > 7) & (t < 11))).astype(np.float32)
    step = 3 * SR  # edges at 3, 6 and 9 s: two of them inside speech
    regions = detect_speech(energy_vad, (x[i : i + step] for i in range(0, len(x), step)))
    assert len(regions) == 2
    for (a, b), (ea, eb) in zip(regions, [(1, 5), (7, 11)]):
        assert abs(a - ea) < 0.05 and abs(b - eb) < 0.05
    # a block of silence is not speech (the relative threshold alone would call its noise speech)
    assert energy_vad(np.full(SR, 1e-5, np.float32)) == []


def test_overlaps_are_where_two_or_more_talk():
    turns = [Turn(0.0, 4.0, "A"), Turn(3.0, 6.0, "B"), Turn(5.0, 7.0, "C"), Turn(7.0, 9.0, "A"), Turn(8.5, 8.8, "B")]
    res = vt.DiarizationResult(turns, 10.0, 9.0, "test")
    assert res.overlaps() == [(3.0, 4.0), (5.0, 6.0), (8.5, 8.8)]  # C starting as A ends at 7 s is no overlap
    assert vt.DiarizationResult([Turn(0.0, 1.0, "A")], 1.0, 1.0, "test").overlaps() == []
