"""Read Mandarin read-speech corpora as they are distributed: AISHELL-1 (and its sample set).

Two layouts are recognised in ``root``:

* ``transcripts.tsv`` (``file<TAB>text`` with a header) beside the audio files — the sample set;
* AISHELL-1's own: ``transcript/aishell_transcript_v0.8.txt`` (``BAC009S0002W0122 而对楼市 …``,
  words separated by spaces) and ``wav/<split>/<speaker>/<utterance>.wav``.

The speaker is the ``S0150`` part of AISHELL's utterance names (``BAC009S0150W0001``), so splits are
by speaker.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import VoicetoolsError

AUDIO_SUFFIXES = (".flac", ".wav", ".ogg")


@dataclass(frozen=True)
class Reading:
    path: Path
    text: str
    speaker: str

    @property
    def name(self) -> str:
        return self.path.stem


def speaker_of(name: str) -> str:
    m = re.search(r"S\d{4}", name)
    return m.group(0) if m else name


def read_corpus(root: str | Path) -> list[Reading]:
    """Every utterance with its text and speaker, sorted by name; only files that exist."""
    root = Path(root)
    tsv = root / "transcripts.tsv"
    official = root / "transcript" / "aishell_transcript_v0.8.txt"
    if tsv.exists():
        with open(tsv, encoding="utf-8") as f:
            rows = [(r["file"], r["text"]) for r in csv.DictReader(f, delimiter="\t")]
        items = [(root / name, text) for name, text in rows]
    elif official.exists():
        audio = {p.stem: p for p in (root / "wav").rglob("*") if p.suffix in AUDIO_SUFFIXES}
        items = []
        for line in official.read_text(encoding="utf-8").splitlines():
            name, _, text = line.partition(" ")
            if name in audio:
                items.append((audio[name], text.replace(" ", "")))
    else:
        raise VoicetoolsError(
            f"{root}: neither transcripts.tsv nor transcript/aishell_transcript_v0.8.txt found; "
            "point at an AISHELL-1 folder as distributed"
        )
    out = [Reading(p, t.strip(), speaker_of(p.stem)) for p, t in items if p.exists() and t.strip()]
    return sorted(out, key=lambda r: r.name)
