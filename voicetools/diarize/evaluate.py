"""Scoring diarization against reference RTTMs: DER (no collar and a 0.25 s collar) and JER,
per file and over a whole folder, with pyannote.metrics.

A folder is read in VoxConverse's layout (``audio/<uri>.wav`` + ``rttm/<uri>.rttm``, optionally under
``dev/``/``test/``) or any layout where each audio file has an ``.rttm`` of the same name somewhere
below the root.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import ParameterError
from .diarize import diarize, read_rttm

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
COLLARS = (0.0, 0.25)
PARTS = ("missed detection", "false alarm", "confusion")  # DER = their sum over the reference speech


def find_pairs(root) -> list[tuple[str, Path, Path]]:
    """(uri, audio, rttm) for every audio file under ``root`` that has a same-named RTTM."""
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"{root} is not a folder of audio files and RTTMs")
    rttms = {p.stem: p for p in sorted(root.rglob("*.rttm"))}
    pairs = [
        (p.stem, p, rttms[p.stem])
        for p in sorted(root.rglob("*"))
        if p.suffix.lower() in AUDIO_SUFFIXES and p.stem in rttms
    ]
    if not pairs:
        raise ParameterError(f"{root}: no audio file with a same-named .rttm (expected e.g. audio/x.wav + rttm/x.rttm)")
    return pairs


def annotation(turns, uri: str = "audio"):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=uri)
    for i, t in enumerate(turns):
        ann[Segment(t.start_s, t.end_s), i] = t.speaker
    return ann


class Scorer:
    """Accumulates DER at each collar and JER over files; ``report()`` gives per-file and overall."""

    def __init__(self):
        from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

        self.der = {c: DiarizationErrorRate(collar=c, skip_overlap=False) for c in COLLARS}
        self.jer = JaccardErrorRate(collar=0.0)
        self.files = []

    def add(self, uri: str, reference_turns, result, seconds: float) -> dict:
        ref, hyp = annotation(reference_turns, uri), result.to_annotation(uri)
        uem = whole_file(result.duration_s)
        row = {
            "uri": uri,
            "duration_s": result.duration_s,
            "speakers_ref": len(ref.labels()),
            "speakers_hyp": len(hyp.labels()),
            "seconds": seconds,
            "rtf": seconds / max(result.duration_s, 1e-9),
        }
        for c, m in self.der.items():
            d = m(ref, hyp, uem=uem, detailed=True)
            row[f"der_collar_{c:g}"] = float(d["diarization error rate"])
            for part in PARTS:  # which kind of error: speech missed, noise taken for speech, wrong talker
                row[f"{part.split()[0]}_collar_{c:g}"] = float(d[part] / max(d["total"], 1e-9))
        row["jer"] = float(self.jer(ref, hyp, uem=uem))
        self.files.append(row)
        return row

    def overall(self) -> dict:
        out = {f"der_collar_{c:g}": float(abs(m)) for c, m in self.der.items()}
        for c, m in self.der.items():
            total = max(m.accumulated_.get("total", 0.0), 1e-9)
            out.update({f"{p.split()[0]}_collar_{c:g}": float(m.accumulated_.get(p, 0.0) / total) for p in PARTS})
        out["jer"] = float(abs(self.jer))
        out["files"] = len(self.files)
        out["speaker_count_exact"] = sum(r["speakers_ref"] == r["speakers_hyp"] for r in self.files)
        out["speaker_count_abs_error"] = sum(abs(r["speakers_ref"] - r["speakers_hyp"]) for r in self.files) / max(
            1, len(self.files)
        )
        audio = sum(r["duration_s"] for r in self.files)
        out["rtf"] = sum(r["seconds"] for r in self.files) / max(audio, 1e-9)
        return out


def whole_file(duration_s: float):
    """Score the whole file (what the reference does not cover counts as non-speech)."""
    from pyannote.core import Segment, Timeline

    return Timeline([Segment(0.0, duration_s)])


def evaluate_folder(root, *, oracle_speakers: bool = False, callback=None, **diarize_kwargs) -> dict:
    """Diarize every (audio, rttm) pair under ``root`` and score it."""
    scorer = Scorer()
    pairs = find_pairs(root)
    for i, (uri, audio, rttm) in enumerate(pairs):
        turns = [t for turns in read_rttm(rttm).values() for t in turns]
        t0 = time.perf_counter()
        speakers = len({t.speaker for t in turns}) if oracle_speakers else None
        res = diarize(audio, speakers=speakers, **diarize_kwargs)
        scorer.add(uri, turns, res, time.perf_counter() - t0)
        if callback:
            callback("evaluate", i + 1, len(pairs))
    return {"data": str(root), "oracle_speakers": oracle_speakers, "overall": scorer.overall(), "files": scorer.files}


def format_report(report: dict) -> str:
    rows = ["| file | min | speakers (ref/found) | DER | DER (0.25 s collar) | JER |", "|---|---|---|---|---|---|"]
    for r in report["files"]:
        rows.append(
            f"| {r['uri']} | {r['duration_s'] / 60:.1f} | {r['speakers_ref']}/{r['speakers_hyp']} | "
            f"{r['der_collar_0']:.3f} | {r['der_collar_0.25']:.3f} | {r['jer']:.3f} |"
        )
    o = report["overall"]
    rows.append(
        f"| **all ({o['files']})** | | exact {o['speaker_count_exact']}/{o['files']} | "
        f"**{o['der_collar_0']:.3f}** | **{o['der_collar_0.25']:.3f}** | **{o['jer']:.3f}** |"
    )
    return "\n".join(rows)
