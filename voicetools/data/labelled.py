"""Labelled audio datasets read in the layouts they are distributed in.

Each reader returns a ``LabelledDataset``: a list of ``Clip`` (path, label, and the fold or group
that cross-validation must respect) plus how folds are to be made:

==================  =====================================================  ======================
reader              layout                                                 folds
==================  =====================================================  ======================
``urbansound8k``    ``metadata/UrbanSound8K.csv`` + ``audio/fold1..10/``    predefined 10 folds
``esc50``           ``meta/esc50.csv`` + ``audio/``                        predefined 5 folds
``ravdess``         ``Actor_XX/03-01-EE-II-SS-RR-AA.wav`` (or .flac)       by actor (speaker)
``cremad``          ``[AudioWAV/]1001_DFA_ANG_XX.wav``                     by speaker
``emodb``           ``labels.csv`` (file, emotion) + ``audio/03a01Fa.flac``  by speaker (first two
                                                                           digits of the name)
``gtzan``           ``[genres_original/]<genre>/<genre>.000NN.wav``        artist-filtered split
                                                                           files, else stratified
``folder``          ``<label>/<file>`` + optional ``folds.csv``            CSV folds or groups,
                    (columns ``path`` and ``fold`` or ``group``)           else stratified
==================  =====================================================  ======================

Emotion corpora can be read with one shared label set and joined (``read_emotion_union``): the
labels RAVDESS and EmoDB share, with each clip's group ``<corpus>-<speaker>`` so that no speaker of
either corpus is ever split between training and test.

A missing file, a wrong layout or an unknown label raises ``DatasetError`` naming the file.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VoicetoolsError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")

RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
CREMAD_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
URBANSOUND8K_CLASSES = (
    "air_conditioner",
    "car_horn",
    "children_playing",
    "dog_bark",
    "drilling",
    "engine_idling",
    "gun_shot",
    "jackhammer",
    "siren",
    "street_music",
)
EMODB_EMOTIONS = ("anger", "anxiety", "boredom", "disgust", "happiness", "neutral", "sadness")
READERS = ("urbansound8k", "esc50", "ravdess", "cremad", "emodb", "gtzan", "folder")

# The emotions RAVDESS and EmoDB share, named as RAVDESS names them. RAVDESS "calm" and EmoDB
# "boredom" are both merged into neutral: both are low-arousal, neutral-like readings of the text,
# and neither has a counterpart in the other corpus, so kept apart they could only be learned from
# one corpus's voices. RAVDESS "surprised" has no EmoDB counterpart and is left out of the shared set.
SHARED_EMOTIONS = ("angry", "disgust", "fearful", "happy", "neutral", "sad")
TO_SHARED = {
    "ravdess": {
        "neutral": "neutral",
        "calm": "neutral",
        "happy": "happy",
        "sad": "sad",
        "angry": "angry",
        "fearful": "fearful",
        "disgust": "disgust",
        "surprised": None,
    },
    "emodb": {
        "anger": "angry",
        "anxiety": "fearful",
        "boredom": "neutral",
        "disgust": "disgust",
        "happiness": "happy",
        "neutral": "neutral",
        "sadness": "sad",
    },
}


class DatasetError(VoicetoolsError):
    """A dataset folder is missing files, has the wrong layout, or names an unknown label."""


@dataclass(frozen=True)
class Clip:
    """One labelled clip. ``fold`` is a predefined fold; ``group`` a speaker/artist/source that must
    never be split between training and test."""

    path: Path
    label: str
    fold: int | None = None
    group: str | None = None
    corpus: str | None = None  # set when corpora are joined (``read_emotion_union``)

    @property
    def clip_id(self) -> str:
        return str(self.path)


@dataclass
class LabelledDataset:
    name: str
    root: Path
    clips: list[Clip]
    labels: list[str]
    fold_kind: str  # "predefined", "group" or "stratified"
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.clips)

    def label_index(self) -> list[int]:
        idx = {label: i for i, label in enumerate(self.labels)}
        return [idx[c.label] for c in self.clips]

    def summary(self) -> dict:
        counts = {label: 0 for label in self.labels}
        for c in self.clips:
            counts[c.label] += 1
        return {
            "name": self.name,
            "root": str(self.root),
            "clips": len(self.clips),
            "labels": self.labels,
            "counts": counts,
            "fold_kind": self.fold_kind,
            "groups": len({c.group for c in self.clips if c.group is not None}),
            "notes": self.notes,
        }


def _need_dir(p: Path, what: str) -> Path:
    if not p.is_dir():
        raise DatasetError(f"{p}: missing folder ({what})")
    return p


def _need_file(p: Path, what: str) -> Path:
    if not p.is_file():
        raise DatasetError(f"{p}: missing file ({what})")
    return p


def _read_csv(path: Path, required: list[str]) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
            columns = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: unreadable CSV ({exc})") from None
    missing = [c for c in required if c not in columns]
    if not rows:
        raise DatasetError(f"{path}: the CSV has no rows")
    if missing:
        raise DatasetError(f"{path}: missing column(s) {missing}; found {list(columns)}")
    return rows


def _int(value: str, path: Path, line: int, column: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DatasetError(f"{path}: line {line}: {column} must be an integer, got {value!r}") from None


def audio_files(folder: Path) -> list[Path]:
    """The audio files below ``folder``, sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def read_urbansound8k(root: str | Path) -> LabelledDataset:
    """UrbanSound8K as distributed: ``metadata/UrbanSound8K.csv`` and ``audio/fold<k>/<slice>``."""
    root = Path(root)
    meta = _need_file(root / "metadata" / "UrbanSound8K.csv", "UrbanSound8K metadata")
    rows = _read_csv(meta, ["slice_file_name", "fsID", "fold", "class"])
    clips = []
    for line, r in enumerate(rows, start=2):
        fold = _int(r["fold"], meta, line, "fold")
        if not 1 <= fold <= 10:
            raise DatasetError(f"{meta}: line {line}: fold {fold} is outside 1..10")
        if r["class"] not in URBANSOUND8K_CLASSES:
            raise DatasetError(
                f"{meta}: line {line}: unknown class {r['class']!r}; UrbanSound8K has {list(URBANSOUND8K_CLASSES)}"
            )
        path = root / "audio" / f"fold{fold}" / r["slice_file_name"]
        _need_file(path, f"listed in {meta.name} line {line}")
        # slices of one freesound recording (fsID) share a fold by design; keep them grouped anyway
        clips.append(Clip(path, r["class"], fold, f"fs{r['fsID']}"))
    labels = sorted({c.label for c in clips})
    return LabelledDataset("urbansound8k", root, clips, labels, "predefined")


def read_esc50(root: str | Path) -> LabelledDataset:
    """ESC-50 as distributed: ``meta/esc50.csv`` (filename, fold, target, category, src_file) + ``audio/``."""
    root = Path(root)
    meta = _need_file(root / "meta" / "esc50.csv", "ESC-50 metadata")
    rows = _read_csv(meta, ["filename", "fold", "target", "category"])
    clips, by_target = [], {}
    for line, r in enumerate(rows, start=2):
        fold = _int(r["fold"], meta, line, "fold")
        target = _int(r["target"], meta, line, "target")
        if by_target.setdefault(target, r["category"]) != r["category"]:
            raise DatasetError(
                f"{meta}: line {line}: target {target} is {r['category']!r} here but {by_target[target]!r} earlier"
            )
        path = _need_file(root / "audio" / r["filename"], f"listed in {meta.name} line {line}")
        clips.append(Clip(path, r["category"], fold, r.get("src_file") or None))
    labels = [by_target[t] for t in sorted(by_target)]
    return LabelledDataset("esc50", root, clips, labels, "predefined")


_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def read_ravdess(root: str | Path, *, vocal_channel: str = "speech") -> LabelledDataset:
    """RAVDESS audio: ``Actor_XX/MM-VV-EE-II-SS-RR-AA.<wav|flac>``; label from EE, group = actor.

    ``vocal_channel``: "speech" (VV=01), "song" (VV=02) or "both".
    """
    root = Path(root)
    actors = sorted(d for d in root.iterdir() if d.is_dir() and d.name.startswith("Actor_")) if root.is_dir() else []
    if not actors:
        raise DatasetError(f"{root}: no Actor_XX folders; RAVDESS is laid out as Actor_01/ ... Actor_24/")
    wanted = {"speech": {"01"}, "song": {"02"}, "both": {"01", "02"}}[vocal_channel]
    clips = []
    for d in actors:
        for p in audio_files(d):
            m = _RAVDESS_NAME.match(p.stem)
            if not m:
                raise DatasetError(f"{p}: not a RAVDESS file name (MM-VV-EE-II-SS-RR-AA)")
            modality, channel, emotion, _, _, _, actor = m.groups()
            if emotion not in RAVDESS_EMOTIONS:
                raise DatasetError(f"{p}: unknown emotion code {emotion!r}; RAVDESS uses 01..08")
            if f"Actor_{actor}" != d.name:
                raise DatasetError(f"{p}: actor code {actor} does not match its folder {d.name}")
            if modality == "02" or channel not in wanted:  # video-only files carry no audio
                continue
            clips.append(Clip(p, RAVDESS_EMOTIONS[emotion], None, f"actor{actor}"))
    if not clips:
        raise DatasetError(f"{root}: no RAVDESS {vocal_channel} audio files found in the Actor_XX folders")
    labels = [v for v in RAVDESS_EMOTIONS.values() if any(c.label == v for c in clips)]
    return LabelledDataset("ravdess", root, clips, labels, "group")


_CREMAD_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2}|X)$")


def read_cremad(root: str | Path) -> LabelledDataset:
    """CREMA-D: ``AudioWAV/1001_DFA_ANG_XX.wav`` (speaker_sentence_emotion_level); group = speaker."""
    root = Path(root)
    folder = root / "AudioWAV" if (root / "AudioWAV").is_dir() else _need_dir(root, "CREMA-D audio")
    files = [p for p in audio_files(folder)]
    if not files:
        raise DatasetError(f"{folder}: no audio files; CREMA-D is laid out as AudioWAV/1001_DFA_ANG_XX.wav")
    clips = []
    for p in files:
        m = _CREMAD_NAME.match(p.stem)
        if not m:
            raise DatasetError(f"{p}: not a CREMA-D file name (SPEAKER_SENTENCE_EMOTION_LEVEL, e.g. 1001_DFA_ANG_XX)")
        speaker, _, emotion, _ = m.groups()
        if emotion not in CREMAD_EMOTIONS:
            raise DatasetError(f"{p}: unknown emotion {emotion!r}; CREMA-D uses {sorted(CREMAD_EMOTIONS)}")
        clips.append(Clip(p, CREMAD_EMOTIONS[emotion], None, f"speaker{speaker}"))
    labels = sorted({c.label for c in clips})
    return LabelledDataset("cremad", root, clips, labels, "group")


_EMODB_NAME = re.compile(r"^(\d\d)[a-z]\d\d[A-Z][a-z]$")


def read_emodb(root: str | Path) -> LabelledDataset:
    """Berlin EmoDB: ``labels.csv`` (columns ``file`` and ``emotion``) + ``audio/<file>``; group = the
    speaker, the first two digits of the file name (``03a01Fa.flac`` is speaker 03)."""
    root = Path(root)
    _need_dir(root, "EmoDB root")
    meta = _need_file(root / "labels.csv", "EmoDB labels: file,speaker,speaker_info,emotion")
    audio = _need_dir(root / "audio", "EmoDB audio")
    rows = _read_csv(meta, ["file", "emotion"])
    clips = []
    for line, r in enumerate(rows, start=2):
        m = _EMODB_NAME.match(Path(r["file"]).stem)
        if not m:
            raise DatasetError(f"{meta}: line {line}: {r['file']!r} is not an EmoDB file name (e.g. 03a01Fa.wav)")
        if r["emotion"] not in EMODB_EMOTIONS:
            raise DatasetError(
                f"{meta}: line {line}: unknown emotion {r['emotion']!r}; EmoDB has {list(EMODB_EMOTIONS)}"
            )
        speaker = m.group(1)
        if r.get("speaker") and r["speaker"].zfill(2) != speaker:
            raise DatasetError(
                f"{meta}: line {line}: speaker {r['speaker']!r} does not match the file name {r['file']}"
            )
        path = _need_file(audio / r["file"], f"listed in {meta.name} line {line}")
        clips.append(Clip(path, r["emotion"], None, f"emodb-{speaker}"))
    labels = [e for e in EMODB_EMOTIONS if any(c.label == e for c in clips)]
    return LabelledDataset("emodb", root, clips, labels, "group")


def shared_emotions(dataset: LabelledDataset) -> LabelledDataset:
    """A RAVDESS or EmoDB dataset relabelled to ``SHARED_EMOTIONS``; clips without a shared label are
    left out (and counted in a note), groups become ``<corpus>-<speaker>``."""
    mapping = TO_SHARED.get(dataset.name)
    if mapping is None:
        raise DatasetError(
            f"{dataset.root}: no shared emotion labels for a {dataset.name!r} dataset; use ravdess or emodb"
        )
    clips = []
    for c in dataset.clips:
        label = mapping[c.label]
        if label is not None:
            speaker = c.group.removeprefix("actor").removeprefix(f"{dataset.name}-")
            clips.append(Clip(c.path, label, None, f"{dataset.name}-{speaker}", dataset.name))
    dropped = sorted({c.label for c in dataset.clips if mapping[c.label] is None})
    notes = list(dataset.notes)
    if dropped:
        notes.append(f"{dataset.name}: {len(dataset) - len(clips)} clips labelled {dropped} left out (not shared)")
    labels = [e for e in SHARED_EMOTIONS if any(c.label == e for c in clips)]
    return LabelledDataset(dataset.name, dataset.root, clips, labels, "group", notes)


def read_emotion_union(roots: list[str | Path]) -> LabelledDataset:
    """RAVDESS and/or EmoDB folders (layout detected per folder) as ONE dataset with the shared
    labels. Its name joins the corpora's (``"ravdess+emodb"``); folds are by speaker."""
    if not roots:
        raise DatasetError("no dataset folders given to join")
    parts = []
    for root in roots:
        layout = detect_layout(root)
        if layout not in TO_SHARED:
            raise DatasetError(f"{root}: looks like a {layout!r} dataset; only ravdess and emodb folders can be joined")
        parts.append(shared_emotions(read_dataset(root, layout=layout)))
    names = [p.name for p in parts]
    if len(set(names)) < len(names):
        raise DatasetError(f"{', '.join(map(str, roots))}: the same corpus twice; give each corpus once")
    clips = [c for p in parts for c in p.clips]
    labels = [e for e in SHARED_EMOTIONS if any(c.label == e for c in clips)]
    notes = [f"{p.name}: {p.root}" for p in parts] + [n for p in parts for n in p.notes]
    # the root is the first corpus's (the others are in the notes): a dataset has one root
    return LabelledDataset("+".join(p.name for p in parts), parts[0].root, clips, labels, "group", notes)


GTZAN_SPLIT_FILES = ("train_filtered.txt", "valid_filtered.txt", "test_filtered.txt")


def read_gtzan(root: str | Path, *, artists_csv: str | Path | None = None) -> LabelledDataset:
    """GTZAN: ``genres_original/<genre>/<genre>.000NN.wav`` (or ``genres/`` or the root itself).

    GTZAN repeats artists across its clips, so a random split overstates accuracy. If the root holds
    the artist-filtered split lists ``train_filtered.txt``/``valid_filtered.txt``/``test_filtered.txt``
    (Kereliuk et al. 2015, lines like ``blues/blues.00012.wav``), they define folds 1/2/3 (train,
    valid, test); else ``artists_csv`` (columns ``path``, ``artist``; default ``<root>/artists.csv``
    when present) makes artist groups; else folds are stratified at random and a note says the
    numbers are optimistic.
    """
    root = Path(root)
    if artists_csv is None and (root / "artists.csv").is_file():
        artists_csv = root / "artists.csv"
    base = next((root / d for d in ("genres_original", "genres", "Data/genres_original") if (root / d).is_dir()), root)
    genre_dirs = sorted(d for d in base.iterdir() if d.is_dir()) if base.is_dir() else []
    if not genre_dirs:
        raise DatasetError(f"{base}: no genre folders; GTZAN is laid out as genres_original/<genre>/<file>.wav")
    clips = []
    for d in genre_dirs:
        if d.name not in GTZAN_GENRES:
            raise DatasetError(f"{d}: unknown GTZAN genre folder {d.name!r}; expected {list(GTZAN_GENRES)}")
        clips += [Clip(p, d.name) for p in audio_files(d)]
    if not clips:
        raise DatasetError(f"{base}: the genre folders hold no audio files")
    notes, kind = [], "stratified"
    if all((root / f).is_file() for f in GTZAN_SPLIT_FILES):
        fold_of = {}
        for k, name in enumerate(GTZAN_SPLIT_FILES, start=1):
            for line in (root / name).read_text().split():
                fold_of[Path(line).name] = k
        unknown = [c.path for c in clips if c.path.name not in fold_of]
        kept = [Clip(c.path, c.label, fold_of[c.path.name]) for c in clips if c.path.name in fold_of]
        notes.append(
            f"artist-filtered split from {', '.join(GTZAN_SPLIT_FILES)}; {len(unknown)} clips outside it are left out"
        )
        clips, kind = kept, "predefined"
    elif artists_csv is not None:
        clips = _apply_groups_csv(clips, Path(artists_csv), base, column="artist")
        kind = "group"
    else:
        notes.append(
            "no artist-filtered split given: random stratified folds share artists between "
            "training and test, so accuracy is optimistic"
        )
    labels = sorted({c.label for c in clips})
    return LabelledDataset("gtzan", root, clips, labels, kind, notes)


def _apply_groups_csv(clips: list[Clip], csv_path: Path, base: Path, *, column: str) -> list[Clip]:
    rows = _read_csv(_need_file(csv_path, "groups CSV"), ["path", column])
    by_path = {}
    for line, r in enumerate(rows, start=2):
        p = (base / r["path"]).resolve()
        if not p.is_file():
            raise DatasetError(f"{csv_path}: line {line}: {r['path']!r} is not a file under {base}")
        by_path[p] = r[column]
    missing = [c.path for c in clips if c.path.resolve() not in by_path]
    if missing:
        raise DatasetError(f"{csv_path}: no {column} for {missing[0]} (and {len(missing) - 1} more)")
    return [Clip(c.path, c.label, c.fold, by_path[c.path.resolve()]) for c in clips]


def read_folder(root: str | Path, *, folds_csv: str | Path | None = None) -> LabelledDataset:
    """A user's own data: one folder per label; optional CSV with ``path`` and ``fold`` or ``group``.

    The CSV defaults to ``<root>/folds.csv`` when present; paths in it are relative to ``root``.
    """
    root = Path(root)
    _need_dir(root, "dataset root")
    label_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(label_dirs) < 2:
        raise DatasetError(f"{root}: needs one folder per label (at least two), found {len(label_dirs)}")
    clips = []
    for d in label_dirs:
        files = audio_files(d)
        if not files:
            raise DatasetError(f"{d}: label folder holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
        clips += [Clip(p, d.name) for p in files]
    csv_path = Path(folds_csv) if folds_csv is not None else root / "folds.csv"
    kind = "stratified"
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
        if "fold" in header:
            rows = _read_csv(csv_path, ["path", "fold"])
            fold_of = {}
            for line, r in enumerate(rows, start=2):
                p = (root / r["path"]).resolve()
                if not p.is_file():
                    raise DatasetError(f"{csv_path}: line {line}: {r['path']!r} is not a file under {root}")
                fold_of[p] = _int(r["fold"], csv_path, line, "fold")
            missing = [c.path for c in clips if c.path.resolve() not in fold_of]
            if missing:
                raise DatasetError(f"{csv_path}: no fold for {missing[0]} (and {len(missing) - 1} more)")
            clips = [Clip(c.path, c.label, fold_of[c.path.resolve()], c.group) for c in clips]
            kind = "predefined"
        elif "group" in header:
            clips = _apply_groups_csv(clips, csv_path, root, column="group")
            kind = "group"
        else:
            raise DatasetError(f"{csv_path}: needs a 'path' column and a 'fold' or 'group' column; found {header}")
    elif folds_csv is not None:
        raise DatasetError(f"{csv_path}: missing file (folds CSV)")
    return LabelledDataset("folder", root, clips, [d.name for d in label_dirs], kind)


def detect_layout(root: str | Path) -> str:
    """Guess the reader from the files present; raises ``DatasetError`` listing what was looked for."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder")
    if (root / "metadata" / "UrbanSound8K.csv").exists():
        return "urbansound8k"
    if (root / "meta" / "esc50.csv").exists():
        return "esc50"
    if any(d.name.startswith("Actor_") for d in root.iterdir() if d.is_dir()):
        return "ravdess"
    if (root / "AudioWAV").is_dir() or any(_CREMAD_NAME.match(p.stem) for p in root.glob("*.wav")):
        return "cremad"
    if (root / "labels.csv").is_file() and (root / "audio").is_dir():
        return "emodb"
    for base in (root / "genres_original", root / "genres", root):
        if (
            base.is_dir()
            and {d.name for d in base.iterdir() if d.is_dir()} & set(GTZAN_GENRES)
            and {d.name for d in base.iterdir() if d.is_dir()} <= set(GTZAN_GENRES)
        ):
            return "gtzan"
    return "folder"


def read_dataset(root: str | Path, *, layout: str = "auto", folds_csv: str | Path | None = None) -> LabelledDataset:
    """Read a dataset with the named reader, or the one ``detect_layout`` picks for ``"auto"``."""
    if layout == "auto":
        layout = detect_layout(root)
    if layout not in READERS:
        raise DatasetError(f"unknown dataset layout {layout!r}; choose one of {['auto', *READERS]}")
    if layout == "folder":
        return read_folder(root, folds_csv=folds_csv)
    if layout == "gtzan":
        return read_gtzan(root, artists_csv=folds_csv)
    readers = {
        "urbansound8k": read_urbansound8k,
        "esc50": read_esc50,
        "ravdess": read_ravdess,
        "cremad": read_cremad,
        "emodb": read_emodb,
    }
    return readers[layout](root)
