"""Four-part Bach chorales from music21's offline corpus, as note lists, with fixed splits.

Only pure SATB scores are used: exactly four parts named Soprano, Alto, Tenor and Bass.
The train / validation / test split is by TUNE (chorales sharing a melody stay together, see
``make_splits``) and stored in ``chorale_splits.json`` next to this module, so the lists never move
when the corpus or the code changes. A fourth list, ``bach10``, holds the chorales recorded in
Bach10 and their tunes: real recordings we validate on, so never trained on.
"""

from __future__ import annotations

import json
import random
from concurrent.futures import ProcessPoolExecutor
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
    _require_music21()
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


# Chorales that share a tune (the same melody harmonised again, or the same setting under another
# BWV number, often transposed) must stay in one split. Tunes are compared by the soprano's interval
# sequence (transposition-free, repeated notes merged): the share of one melody's 8-interval n-grams
# found in the other. Different tunes share almost none (< 0.2); settings of one tune with passing
# notes changed share 0.3 and more.
TUNE_GRAM = 8
SAME_TUNE = 0.3
# The pieces of Bach10 (real recordings used to validate on): pieces 01-05 matched to the corpus by
# their score's soprano, 06-10 by title. Their tunes are never trained on.
BACH10 = (
    "bach/bwv255",
    "bach/bwv256",
    "bach/bwv274",
    "bach/bwv275",
    "bach/bwv296",
    "bach/bwv297",
    "bach/bwv326",
    "bach/bwv145-a",
    "bach/bwv385",
    "bach/bwv244.25",
)


def melody_grams(pitches: list[int], k: int = TUNE_GRAM) -> set[tuple[int, ...]]:
    """The melody's interval n-grams (transposition-free; repeated notes merged)."""
    merged = [p for i, p in enumerate(pitches) if i == 0 or p != pitches[i - 1]]
    steps = tuple(b - a for a, b in zip(merged, merged[1:]))
    return {steps[i : i + k] for i in range(len(steps) - k + 1)}


def tune_similarity(a: set, b: set) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


def tune_groups(melodies: dict[str, list[int]]) -> list[list[str]]:
    """Chorales joined (transitively) when their sopranos are the same tune."""
    grams = {n: melody_grams(p) for n, p in melodies.items()}
    parent = {n: n for n in grams}

    def root(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    names = sorted(grams)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if tune_similarity(grams[a], grams[b]) >= SAME_TUNE:
                parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    return sorted(groups.values())


def _soprano(name: str):
    chorale = load_chorale(name)
    return name, None if chorale is None else [n.pitch for n in chorale.parts["soprano"]]


def make_splits(
    seeds: dict[str, list[str]] | None = None, seed: int = 0, n_valid: int = 8, n_test: int = 16
) -> dict[str, list[str]]:
    """Split the corpus's SATB chorales by tune (used to write SPLITS_FILE).

    ``seeds`` (default: the current file's test and valid lists, else a seeded random draw) pick
    the test and validation chorales; every chorale sharing a tune with one of them joins its
    split (test first), the Bach10 tunes go to ``bach10``, and the rest is ``train``.
    """
    with ProcessPoolExecutor(2) as pool:
        melodies = {n: p for n, p in pool.map(_soprano, chorale_names(), chunksize=8) if p is not None}
    if seeds is None and SPLITS_FILE.exists():
        seeds = {k: v for k, v in json.loads(SPLITS_FILE.read_text()).items() if k in ("test", "valid")}
    if seeds is None:
        order = sorted(melodies)
        random.Random(seed).shuffle(order)
        seeds = {"test": order[:n_test], "valid": order[n_test : n_test + n_valid]}
    seeds = {**seeds, "bach10": [n for n in BACH10 if n in melodies]}
    splits: dict[str, list[str]] = {"test": [], "valid": [], "bach10": [], "train": []}
    for group in tune_groups(melodies):
        split = next((s for s in ("test", "valid", "bach10") if set(group) & set(seeds[s])), "train")
        splits[split] += group
    return {k: sorted(v) for k, v in splits.items()}


def split_names(split: str) -> list[str]:
    """Chorale names of a fixed split: ``train``, ``valid``, ``test`` or ``bach10``."""
    splits = json.loads(SPLITS_FILE.read_text())
    if split not in splits:
        raise VoicetoolsError(f"unknown split {split!r}; choose one of {sorted(splits)}")
    return splits[split]


if __name__ == "__main__":  # regenerate the split file: python -m voicetools.data.chorales
    SPLITS_FILE.write_text(json.dumps(make_splits(), indent=1) + "\n")
    print({k: len(v) for k, v in json.loads(SPLITS_FILE.read_text()).items()})
