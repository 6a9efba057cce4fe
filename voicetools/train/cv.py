"""Cross-validation that cannot leak: splits, leakage checks, fresh-model checks, summaries.

The research notes' 10-fold numbers came from one model trained on fold after fold, so later folds
were tested on clips it had already seen. Here:

* ``make_splits`` builds train / valid / test index sets from predefined folds, from groups
  (speakers, artists: a group is never on both sides) or stratified by label;
* ``check_splits`` raises ``LeakageError`` when a test clip, a test group or a test clip's audio
  content (hash) appears in training or validation;
* ``FreshModelGuard`` raises ``LeakageError`` when fold k starts from weights that fold k-1 ended
  with (or from any earlier fold's weights), instead of from a new initialisation.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import ParameterError, VoicetoolsError


class LeakageError(VoicetoolsError):
    """A cross-validation split or run would test on what it trained on."""


@dataclass
class Split:
    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def to_dict(self, clip_ids: list[str] | None = None) -> dict:
        d = {"name": self.name, "n_train": len(self.train), "n_valid": len(self.valid), "n_test": len(self.test)}
        if clip_ids is not None:
            d.update({k: [clip_ids[i] for i in getattr(self, k)] for k in ("train", "valid", "test")})
        return d


def _natural_key(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(s))]


def assign_folds(
    *,
    labels: list[int],
    groups: list | None = None,
    folds: list | None = None,
    n_folds: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """One fold number (0-based) per clip.

    ``folds`` given: they are used as they are (renumbered 0..k-1 in sorted order). ``groups``:
    the sorted groups are cut into ``n_folds`` contiguous blocks, so every group lies in exactly one
    fold (RAVDESS actors 1-12 in 6 folds → pairs 1+2, 3+4, ...: one male and one female voice each).
    Neither: stratified by label, shuffled with ``seed``.
    """
    n = len(labels)
    if folds is not None and all(f is not None for f in folds):
        order = sorted(set(folds))
        index = {f: i for i, f in enumerate(order)}
        return np.array([index[f] for f in folds])
    if groups is not None and all(g is not None for g in groups):
        uniq = sorted(set(groups), key=_natural_key)
        k = n_folds or min(len(uniq), 5)
        if k > len(uniq):
            raise ParameterError(f"{k} folds asked for but only {len(uniq)} groups (speakers/artists) exist")
        block = {
            g: i for i, chunk in enumerate(np.array_split(np.arange(len(uniq)), k)) for g in (uniq[j] for j in chunk)
        }
        return np.array([block[g] for g in groups])
    k = n_folds or 5
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=int)
    start = 0
    for c in sorted(set(labels)):
        idx = np.flatnonzero(np.asarray(labels) == c)
        rng.shuffle(idx)
        out[idx] = (np.arange(len(idx)) + start) % k
        start += len(idx)  # spread each label's remainder over different folds
    return out


def make_splits(fold_of: np.ndarray, *, valid_fold: bool = True, only: list[int] | None = None) -> list[Split]:
    """Leave-one-fold-out splits; with ``valid_fold`` the next fold (cyclically) validates.

    The validation fold picks the best epoch and stops early, so the test fold is touched once, at
    the end, by the best checkpoint.
    """
    ks = sorted(set(fold_of.tolist()))
    if len(ks) < 2 + bool(valid_fold):
        raise LeakageError(f"cross-validation needs at least {2 + bool(valid_fold)} folds, got {len(ks)}")
    splits = []
    for j, k in enumerate(ks):
        if only is not None and k not in only:
            continue
        v = ks[(j + 1) % len(ks)] if valid_fold else None
        test = np.flatnonzero(fold_of == k)
        valid = np.flatnonzero(fold_of == v) if valid_fold else np.array([], dtype=int)
        train = np.flatnonzero((fold_of != k) & (fold_of != v))
        splits.append(Split(f"fold-{k + 1:02d}", train, valid, test))
    return splits


def check_splits(
    splits: list[Split],
    clip_ids: list[str],
    *,
    groups: list | None = None,
    content: list[str] | None = None,
    cover_all: bool = True,
) -> None:
    """Raise ``LeakageError`` if any test (or validation) clip, group or audio content is trained on."""
    seen_test: set[int] = set()
    for s in splits:
        parts = {"train": set(s.train.tolist()), "valid": set(s.valid.tolist()), "test": set(s.test.tolist())}
        for a, b in (("train", "test"), ("train", "valid"), ("valid", "test")):
            both = parts[a] & parts[b]
            if both:
                raise LeakageError(f"{s.name}: clip {clip_ids[min(both)]} is in both {a} and {b}")
            for name, key in (("speaker/group", groups), ("audio content", content)):
                if key is None:
                    continue
                ka = {key[i] for i in parts[a] if key[i] is not None}
                shared = sorted(str(g) for g in {key[i] for i in parts[b] if key[i] is not None} & ka)
                if shared:
                    clip = next(clip_ids[i] for i in sorted(parts[b]) if str(key[i]) == shared[0])
                    raise LeakageError(f"{s.name}: {name} {shared[0]!r} of {b} clip {clip} is also in {a}")
        seen_test |= parts["test"]
    if cover_all and len(splits) > 1 and len(seen_test) != len(clip_ids):
        missing = sorted(set(range(len(clip_ids))) - seen_test)
        raise LeakageError(f"clip {clip_ids[missing[0]]} is in no test fold ({len(missing)} clips untested)")


def drop_duplicates_of_test(
    splits: list[Split], content: list[str], clip_ids: list[str]
) -> tuple[list[Split], list[str]]:
    """Remove from training and validation every clip whose audio is identical to a test clip's
    (and from training every clip identical to a validation clip).

    Datasets do ship the same recording under two names; refusing to run would leave the user
    stuck, training on it would leak. Returns the cleaned splits and one note per affected fold.
    """
    out, notes = [], []
    for s in splits:
        test_content = {content[i] for i in s.test}
        valid = np.array([i for i in s.valid if content[i] not in test_content], dtype=int)
        held_out = test_content | {content[i] for i in valid}
        train = np.array([i for i in s.train if content[i] not in held_out], dtype=int)
        dropped = sorted(set(s.train.tolist()) - set(train.tolist()) | set(s.valid.tolist()) - set(valid.tolist()))
        if dropped:
            notes.append(
                f"{s.name}: {len(dropped)} training/validation clip(s) are identical to test or "
                f"validation clips and were left out (first: {clip_ids[dropped[0]]})"
            )
        out.append(Split(s.name, train, valid, s.test))
    return out, notes


def fingerprint(model: torch.nn.Module) -> str:
    """sha256 of the learnable parameters (names and values); buffers such as the per-fold
    normalisation statistics are left out, so carried-over weights are found whatever the buffers."""
    h = hashlib.sha256()
    for k, v in sorted(model.named_parameters()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class FreshModelGuard:
    """Remembers every fold's final weights; ``check_start`` refuses a model that starts from them."""

    def __init__(self):
        self.finals: dict[str, str] = {}
        self.starts: dict[str, str] = {}
        self.objects: list[int] = []

    def check_start(self, fold: str, model: torch.nn.Module, optimizer=None) -> str:
        fp = fingerprint(model)
        reused = [f for f, q in self.finals.items() if q == fp]
        if reused:
            raise LeakageError(
                f"{fold} starts from the weights {reused[-1]} ended with; every fold needs a freshly initialised model"
            )
        if id(model) in self.objects:
            raise LeakageError(f"{fold} reuses the model object of an earlier fold; build a new one per fold")
        if optimizer is not None and any(optimizer.state.values()):
            raise LeakageError(f"{fold} starts with an optimizer that already holds state; build a new one")
        self.objects.append(id(model))
        self.starts[fold] = fp
        return fp

    def record_end(self, fold: str, model: torch.nn.Module) -> str:
        fp = fingerprint(model)
        self.finals[fold] = fp
        return fp


def mean_std(values: list[float]) -> dict:
    v = np.asarray(values, dtype=float)
    return {
        "mean": float(v.mean()) if len(v) else math.nan,
        "std": float(v.std(ddof=0)) if len(v) else math.nan,
        "n": len(v),
    }


@dataclass
class CVSummary:
    folds: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        keys = ("accuracy", "macro_f1")
        return {
            "n_folds": len(self.folds),
            **{k: mean_std([f["test"][k] for f in self.folds]) for k in keys},
            "folds": [{"fold": f["fold"], **{k: f["test"][k] for k in keys}} for f in self.folds],
        }
