"""Who spoke when: speech detection → speaker embeddings on sliding windows → clustering → frame
labels smoothed into turns.

Every window of ``window_s`` (1.6 s, what the encoder hears) inside speech, ``hop_s`` apart, gets an
embedding. Agglomerative clustering of stretches of speech finds the speakers (``cluster``).
Each 10 ms speech frame then takes the speaker whose centroid the windows covering it resemble most
(weighted towards each window's centre); a second speaker is added where the two best are both
close (overlapped speech). Turns shorter than ``min_turn_s`` are merged into their neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ParameterError

FRAME_S = 0.01


@dataclass
class Settings:
    window_s: float = 1.6
    hop_s: float = 0.4
    max_speakers: int = 10  # upper bound of the estimated count when none is given
    threshold: float = 0.75  # stretches of speech less alike than this (cosine) are different voices
    segment_s: float = 3.0  # windows are pooled over stretches of speech up to this long
    min_group_windows: int = 3  # stretches with fewer windows join a speaker but do not shape the tree
    min_region_s: float = 0.3  # speech shorter than this is labelled from its neighbours only
    min_turn_s: float = 0.3
    overlap_margin: float = 0.03  # second speaker when within this of the best score ...
    overlap_min_score: float = 0.75  # ... and at least this similar
    batch: int = 64
    max_windows: int = 2000  # the affinity matrix is windows²: beyond this the hop grows instead


def window_spans(regions, s: Settings) -> list[tuple[float, float]]:
    """Embedding windows inside speech regions: ``window_s`` long, ``hop_s`` apart; a region
    shorter than a window is one window of its own length. Windows never reach across a pause,
    where the next talker is most likely to start."""
    spans = []
    for a, b in regions:
        if b - a < s.min_region_s:
            continue
        if b - a <= s.window_s:
            spans.append((a, b))
            continue
        n = int(np.ceil((b - a - s.window_s) / s.hop_s)) + 1
        spans += [
            (min(a + k * s.hop_s, b - s.window_s), min(a + k * s.hop_s, b - s.window_s) + s.window_s) for k in range(n)
        ]
    return spans


def embed_windows(encoder, audio: np.ndarray, spans, sample_rate: int, s: Settings, callback=None) -> np.ndarray:
    """One unit embedding per span; spans of different lengths are packed, never zero-padded
    (padding would change what the recurrent encoder ends on)."""
    order = np.argsort([b - a for a, b in spans])[::-1]
    out = np.zeros((len(spans), 0), np.float32)
    for i0 in range(0, len(order), s.batch):
        idx = order[i0 : i0 + s.batch]
        clips = [
            torch.from_numpy(audio[int(round(spans[i][0] * sample_rate)) : int(round(spans[i][1] * sample_rate))])
            for i in idx
        ]
        with torch.inference_mode():
            emb = encoder.embed_variable(clips).numpy()
        if out.shape[1] == 0:
            out = np.zeros((len(spans), emb.shape[1]), np.float32)
        out[idx] = emb
        if callback:
            callback("embed", min(i0 + s.batch, len(spans)), len(spans))
    return out


def embed_stream(encoder, blocks, spans, sample_rate: int, s: Settings, callback=None) -> np.ndarray:
    """``embed_windows`` over audio that arrives as consecutive blocks: each span is embedded as soon
    as the audio up to its end has arrived, and audio no waiting span needs is dropped, so memory is
    a block and a window however long the recording."""
    bounds = np.round(np.asarray(spans, float) * sample_rate).astype(int)
    order = np.argsort(bounds[:, 1], kind="stable")
    # the earliest start of any span not yet embedded, once the first k spans (by end) are done
    keep_from = np.minimum.accumulate(bounds[order[::-1], 0])[::-1]
    out: np.ndarray | None = None
    buf, buf_start, k = np.zeros(0, np.float32), 0, 0
    blocks = iter(blocks)
    while k < len(order):
        block = next(blocks, None)
        buf = np.concatenate([buf, block]) if block is not None else buf
        buf_end = buf_start + len(buf)
        k_end = k
        while k_end < len(order) and (bounds[order[k_end], 1] <= buf_end or block is None):
            k_end += 1
        if k_end > k:
            idx = order[k:k_end]
            local = [((bounds[i, 0] - buf_start) / sample_rate, (bounds[i, 1] - buf_start) / sample_rate) for i in idx]
            emb = embed_windows(encoder, buf, local, sample_rate, s)
            if out is None:
                out = np.zeros((len(spans), emb.shape[1]), np.float32)
            out[idx] = emb
            k = k_end
            if callback:
                callback("embed", k, len(spans))
        if k < len(order) and keep_from[k] > buf_start:  # also through long silences
            cut = min(keep_from[k], buf_end) - buf_start
            buf, buf_start = buf[cut:], buf_start + cut
    return out if out is not None else np.zeros((0, 0), np.float32)


def cluster(
    emb: np.ndarray,
    s: Settings,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Speaker labels 0..k-1 (in order of first appearance) for unit-length window embeddings.

    Windows are first pooled into ``groups`` (stretches of speech of up to ``segment_s`` between
    pauses): a mean over several windows is a much steadier picture of a voice than one window.
    The groups are clustered agglomeratively (average linkage, cosine); the tree is cut where
    joining would merge voices less alike than ``threshold``, or at the requested count. Every
    window then goes to its nearest speaker centroid.
    """
    from scipy.cluster.hierarchy import fcluster, linkage  # slow to import: only when needed

    n = len(emb)
    if n < 2:
        return np.zeros(n, int)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    ids, sizes = np.unique(groups, return_counts=True)
    if (sizes >= s.min_group_windows).sum() >= 2:  # a lone window is too noisy to shape the tree
        ids = ids[sizes >= s.min_group_windows]
    seg = normalise(np.stack([emb[groups == g].mean(0) for g in ids]))
    if len(seg) < 2:
        return np.zeros(n, int)
    tree = linkage(seg, method="average", metric="cosine")
    if num_speakers is not None:
        k = min(num_speakers, len(seg))
    else:
        k = int(fcluster(tree, t=1 - s.threshold, criterion="distance").max())
        k = max(min(min_speakers, len(seg)), min(k, max_speakers or s.max_speakers))
    if k == 1:
        return np.zeros(n, int)
    return relabel_by_first_use(spectral(emb, k))


def spectral(emb: np.ndarray, k: int) -> np.ndarray:
    """``k`` clusters of windows by spectral clustering on a pruned cosine-affinity graph; the
    pruning (``p`` nearest neighbours per window) is chosen where the k-th eigengap of the graph
    Laplacian is widest relative to ``p`` (Park et al. 2019)."""
    affinity = np.clip(emb @ emb.T, 0.0, 1.0)
    best = None
    for p in candidate_neighbours(len(emb)):
        lam, vec = laplacian_eigen(pruned(affinity, p), k + 1)
        gap = (lam[k] - lam[k - 1]) / max(lam[-1], 1e-9)
        ratio = p / (len(emb) * gap + 1e-9)
        if best is None or ratio < best[0]:
            best = (ratio, vec[:, :k])
    return kmeans(normalise(best[1]), k)


def candidate_neighbours(n: int) -> list[int]:
    """Neighbour counts to try: from a few windows to a quarter of all, about 20 values."""
    hi = max(2, n // 4)
    return sorted({int(v) for v in np.unique(np.geomspace(2, hi, 20).round())})


def pruned(affinity: np.ndarray, p: int) -> np.ndarray:
    """Keep each row's ``p`` largest similarities (binarised), then symmetrise."""
    idx = np.argpartition(-affinity, min(p, len(affinity) - 1), axis=1)[:, :p]
    a = np.zeros_like(affinity)
    np.put_along_axis(a, idx, 1.0, axis=1)
    return (a + a.T) / 2


def laplacian_eigen(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest eigenvalues (and vectors) of the graph Laplacian, plus its largest eigenvalue last."""
    from scipy.linalg import eigh  # slow to import: only when needed

    lap = np.diag(a.sum(1)) - a
    lam, vec = eigh(lap, subset_by_index=[0, min(k, len(a)) - 1])
    top = eigh(lap, eigvals_only=True, subset_by_index=[len(a) - 1, len(a) - 1])
    return np.concatenate([lam, top]), vec


def kmeans(x: np.ndarray, k: int, *, restarts: int = 10) -> np.ndarray:
    from scipy.cluster.vq import kmeans2  # slow to import: only when needed

    best, best_inertia = None, np.inf
    for seed in range(restarts):
        centroids, labels = kmeans2(x, k, minit="++", seed=seed)
        inertia = ((x - centroids[labels]) ** 2).sum()
        if inertia < best_inertia and len(np.unique(labels)) == k:
            best, best_inertia = labels, inertia
    return best if best is not None else labels


def segment_groups(spans, regions, segment_s: float) -> np.ndarray:
    """Group id per window: windows of one speech region, cut every ``segment_s`` seconds."""
    out = np.zeros(len(spans), int)
    starts = np.array([a for a, _ in regions])
    for i, (a, _) in enumerate(spans):
        r = int(np.searchsorted(starts, a + 1e-6) - 1)
        out[i] = r * 100000 + int((a - regions[max(r, 0)][0]) // segment_s)
    return out


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def relabel_by_first_use(labels: np.ndarray) -> np.ndarray:
    order = {c: i for i, c in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[c] for c in labels.tolist()], int)


def frame_scores(emb, labels, spans, regions, duration_s: float, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(frames, speakers) similarity of each speech frame to each speaker, and the speech mask."""
    n_frames = int(np.ceil(duration_s / FRAME_S))
    k = int(labels.max()) + 1
    centroids = normalise(np.stack([emb[labels == c].mean(0) for c in range(k)]))
    sims = emb @ centroids.T  # (windows, speakers)
    num = np.zeros((n_frames, k))
    den = np.zeros(n_frames)
    for (a, b), row in zip(spans, sims):
        i, j = int(round(a / FRAME_S)), min(n_frames, int(round(b / FRAME_S)))
        taper = np.hanning(j - i + 2)[1:-1]  # a window's centre speaks for its frames more than its edges
        num[i:j] += taper[:, None] * row[None]
        den[i:j] += taper
    speech = np.zeros(n_frames, bool)
    for a, b in regions:
        speech[int(a / FRAME_S) : int(np.ceil(b / FRAME_S))] = True
    scores = num / np.maximum(den, 1e-9)[:, None]
    # speech no window covered (very short regions) takes the nearest covered frame's scores
    covered = den > 0
    if covered.any() and (speech & ~covered).any():
        idx = np.flatnonzero(covered)
        for f in np.flatnonzero(speech & ~covered):
            scores[f] = scores[idx[np.argmin(np.abs(idx - f))]]
    return scores, speech


def frames_to_turns(scores: np.ndarray, speech: np.ndarray, s: Settings, *, overlap: bool = True):
    """Best speaker per speech frame (plus a second one where overlapped) → merged turns."""
    if scores.shape[1] == 0:
        return []
    best = np.where(speech, np.argmax(scores, 1), -1)
    best = smooth_labels(best, int(round(s.min_turn_s / FRAME_S)))
    turns = runs(best)
    if overlap and scores.shape[1] > 1:
        order = np.argsort(-scores, 1)
        top = np.take_along_axis(scores, order[:, :2], 1)
        second = np.where(
            speech & (top[:, 0] - top[:, 1] < s.overlap_margin) & (top[:, 1] > s.overlap_min_score),
            np.where(order[:, 0] == best, order[:, 1], order[:, 0]),
            -1,
        )
        second = smooth_labels(second, int(round(s.min_turn_s / FRAME_S)))
        turns += runs(second)
    return sorted(turns)


def smooth_labels(labels: np.ndarray, min_len: int) -> np.ndarray:
    """Runs shorter than ``min_len`` frames take the label of the longer neighbouring run."""
    labels = labels.copy()
    for _ in range(3):
        edges = np.flatnonzero(np.diff(labels)) + 1
        bounds = np.concatenate([[0], edges, [len(labels)]])
        changed = False
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b - a >= min_len or labels[a] == -1:
                continue
            left = labels[a - 1] if a > 0 else None
            right = labels[b] if b < len(labels) else None
            if left is None and right is None:
                continue
            fill = right if left is None or (right is not None and right != -1 and left == -1) else left
            labels[a:b] = fill
            changed = True
        if not changed:
            break
    return labels


def runs(labels: np.ndarray) -> list[tuple[float, float, int]]:
    out = []
    edges = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], edges, [len(labels)]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        if labels[a] >= 0:
            out.append((a * FRAME_S, b * FRAME_S, int(labels[a])))
    return out


def check_counts(num_speakers, min_speakers, max_speakers):
    for name, v in (("speakers", num_speakers), ("min_speakers", min_speakers), ("max_speakers", max_speakers)):
        if v is not None and int(v) < 1:
            raise ParameterError(f"--{name.replace('_', '-')} ({name} in Python) must be at least 1, got {v}")
    if min_speakers and max_speakers and min_speakers > max_speakers:
        raise ParameterError(
            f"--min-speakers ({min_speakers}) is more than --max-speakers ({max_speakers}) "
            "(min_speakers and max_speakers in Python)"
        )
