"""Four-part Bach chorales from music21's offline corpus, as note lists, with fixed splits.

Only pure SATB scores are used: exactly four parts named Soprano, Alto, Tenor and Bass.
The train / validation / test split is by chorale and stored in ``chorale_splits.json`` next to
this module, so the test list never moves when the corpus or the code changes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import VoicetoolsError

VOICES = ("soprano", "alto", "tenor", "bass")
# Comfortable MIDI ranges used to decide which transpositions keep every part singable.
VOICE_RANGES = {"soprano": (59, 81), "alto": (52, 74), "tenor": (47, 69), "bass": (38, 62)}
SPLITS_FILE = Path(__file__).with_name("chorale_splits.json")


@dataclass(frozen=True)
class Note:
    start_q: float  # onset in quarter notes
    dur_q: float
    pitch: int  # MIDI number
    lyric: str


@dataclass
class Chorale:
    name: str
    parts: dict[str, list[Note]]  # voice -> notes
    length_q: float

    def transpositions(self, max_semitones: int = 4) -> list[int]:
        """Semitone shifts within ±max_semitones that keep every voice inside its range."""
        ok = []
        for k in range(-max_semitones, max_semitones + 1):
            if all(
                VOICE_RANGES[v][0] <= min(n.pitch for n in notes) + k
                and max(n.pitch for n in notes) + k <= VOICE_RANGES[v][1]
                for v, notes in self.parts.items()
            ):
                ok.append(k)
        return ok or [0]


def _require_music21():
    try:
        from music21 import corpus
    except ImportError as exc:  # pragma: no cover - music21 is a core dependency
        raise VoicetoolsError("music21 is needed for the chorale corpus: pip install music21") from exc
    return corpus


def chorale_names() -> list[str]:
    """All Bach works in music21's corpus, as corpus names like ``bach/bwv10.7``."""
    corpus = _require_music21()
    return sorted(_corpus_paths())


def _corpus_paths() -> dict[str, Path]:
    corpus = _require_music21()
    return {f"bach/{Path(p).stem}": Path(p) for p in corpus.getComposer("bach")}


def load_chorale(name: str) -> Chorale | None:
    """Parse one corpus work; ``None`` when it is not a plain SATB chorale."""
    from music21 import converter

    score = converter.parse(_corpus_paths()[name])
    names = [(p.partName or "").strip().lower() for p in score.parts]
    if names != list(VOICES):
        return None
    parts = {}
    for voice, part in zip(VOICES, score.parts):
        notes = []
        for n in part.flatten().stripTies().notes:
            if n.isChord or n.quarterLength <= 0:
                return None
            notes.append(Note(float(n.offset), float(n.quarterLength), int(n.pitch.midi), n.lyric or ""))
        if not notes:
            return None
        parts[voice] = notes
    return Chorale(name=name, parts=parts, length_q=float(score.highestTime))


def make_splits(seed: int = 0, n_valid: int = 8, n_test: int = 16) -> dict[str, list[str]]:
    """Scan the corpus and split the SATB chorales by name (used once to write SPLITS_FILE)."""
    from concurrent.futures import ProcessPoolExecutor

    names = chorale_names()
    with ProcessPoolExecutor(2) as pool:
        good = [n for n, c in zip(names, pool.map(load_chorale, names, chunksize=8)) if c is not None]
    rng = random.Random(seed)
    rng.shuffle(good)
    return {
        "test": sorted(good[:n_test]),
        "valid": sorted(good[n_test : n_test + n_valid]),
        "train": sorted(good[n_test + n_valid :]),
    }


def split_names(split: str) -> list[str]:
    """Chorale names of a fixed split: ``train``, ``valid`` or ``test``."""
    splits = json.loads(SPLITS_FILE.read_text())
    if split not in splits:
        raise VoicetoolsError(f"unknown split {split!r}; choose one of {sorted(splits)}")
    return splits[split]


if __name__ == "__main__":  # regenerate the split file: python -m voicetools.data.chorales
    SPLITS_FILE.write_text(json.dumps(make_splits(), indent=1) + "\n")
    print({k: len(v) for k, v in json.loads(SPLITS_FILE.read_text()).items()})
