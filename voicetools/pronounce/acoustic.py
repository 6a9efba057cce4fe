"""Syllable boundaries and "did you read this sentence?" from an acoustic model trained on real speech.

``PhoneNet`` (``nn.phones``) gives, every 10 ms, log-probabilities of silence and of each initial and
final (``units``). Forced alignment is a Viterbi search through the sentence's units in order:

    sil? │ initial final │ sil? │ initial final │ sil? …     (each unit at least MIN_FRAMES frames)

A syllable's span runs from the first frame of its first unit to the last frame of its last unit;
optional silences between syllables are pauses. The same search with the blank/skip rules of CTC
(``ctc=True``) aligns a CTC-trained model, which is how the frame labels of the first training
round are made (align, train, re-align: ``pronounce.train_aligner``).

"Did you read this sentence?": ``free_logp`` is the best the model can say about the recording with
no text (the most likely unit in every frame), ``forced_logp`` the best it can say while following
the sentence. Their difference per frame (``mismatch``) stays small for a reading of the sentence
and grows for another sentence, music, singing or noise — a goodness-of-pronunciation score over
the whole utterance; ``unexplained_s`` is the speech the model hears where the text leaves silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..audio.frontend import log_mel_spectrogram
from .units import text_units

HOP_S = 0.01
N_MELS = 64
FLOOR_DB = 60.0  # log-mel more than this below the utterance's loudest bin is floored: noise and silence alike
MIN_FRAMES = 3  # a unit lasts at least 30 ms in the HMM alignment


def features(x: np.ndarray, sample_rate: int, *, n_mels: int = N_MELS) -> torch.Tensor:
    """(time,) mono → (n_mels, frames) log-mel from the shared front-end, floored and normalised per
    utterance (mean and variance per band: the microphone and the voice matter less)."""
    hop = int(round(HOP_S * sample_rate))
    mel = log_mel_spectrogram(
        torch.as_tensor(x, dtype=torch.float32),
        sample_rate=sample_rate,
        n_fft=int(0.025 * sample_rate),
        hop_length=hop,
        n_mels=n_mels,
        f_min=50.0,
        f_max=min(7600.0, sample_rate / 2),
    )
    mel = torch.maximum(mel, mel.max() - FLOOR_DB)
    return ((mel - mel.mean(1, keepdim=True)) / (mel.std(1, keepdim=True) + 1e-5)).float()


def viterbi(logp: np.ndarray, labels: np.ndarray, optional: np.ndarray, skip: np.ndarray) -> tuple[np.ndarray, float]:
    """Best left-to-right path through ``labels`` (one state each, self-loops) over (T, units)
    log-probabilities. ``optional`` states may be passed over (from state s-2 to s when ``skip[s]``);
    the path starts in state 0 or, if state 0 is optional, state 1, and ends in the last state or,
    if that is optional, the one before. Returns the state of every frame and the path's log-prob."""
    T, S = len(logp), len(labels)
    emit = logp[:, labels]
    D = np.full(S, -np.inf)
    D[0] = emit[0, 0]
    if optional[0] and S > 1:
        D[1] = emit[0, 1]
    back = np.zeros((T, S), np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, T):
        stay = D
        step = np.concatenate([[-np.inf], D[:-1]])
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], D[:-2]]), -np.inf)
        cand = np.stack([stay, step, jump])
        k = cand.argmax(0)
        back[t] = k
        D = cand[k, np.arange(S)] + emit[t]
    ends = [S - 1] + ([S - 2] if optional[-1] and S > 1 else [])
    s = max(ends, key=lambda e: D[e])
    score = float(D[s])
    states = np.empty(T, int)
    for t in range(T - 1, -1, -1):
        states[t] = s
        s -= int(back[t, s])
    return states, score


def state_graph(units: list[int], owner: list[int], *, ctc: bool = False, min_frames: int = MIN_FRAMES):
    """States for ``viterbi``: (labels, optional, skip, unit index of each state or -1 for silence)."""
    labels, optional, unit_of = [0], [True], [-1]
    for i, u in enumerate(units):
        reps = 1 if ctc else min_frames
        labels += [u] * reps
        optional += [False] * reps
        unit_of += [i] * reps
        last_of_syllable = i + 1 == len(units) or owner[i + 1] != owner[i]
        if ctc or last_of_syllable:
            labels.append(0)
            optional.append(True)
            unit_of.append(-1)
    labels, optional = np.array(labels), np.array(optional)
    skip = np.zeros(len(labels), bool)
    skip[2:] = optional[1:-1] & (labels[2:] != labels[:-2])
    return labels, optional, skip, np.array(unit_of)


@dataclass
class AcousticAlignment:
    """Spans (seconds) per syllable and per unit, and how well the sentence fits the recording."""

    spans_s: list[tuple[float, float]]
    unit_spans: list[tuple[int, int]]  # frames [start, end) of every unit
    forced_logp: float
    free_logp: float
    n_frames: int
    frame_labels: np.ndarray  # unit inventory index per frame on the forced path (0 = silence)
    free_labels: np.ndarray  # the most likely unit of every frame, with no text

    @property
    def mismatch(self) -> float:
        """(free − forced) log-probability per frame: 0 when the text explains the audio as well as anything."""
        return (self.free_logp - self.forced_logp) / max(1, self.n_frames)

    @property
    def unexplained_s(self) -> float:
        """Seconds the model hears speech where the text leaves silence: the rest of a song, a second
        sentence, a long stretch of noise."""
        return float(((self.free_labels != 0) & (self.frame_labels == 0)).sum()) * HOP_S

    @property
    def longest_syllable_s(self) -> float:
        return max(b - a for a, b in self.spans_s)

    @property
    def median_syllable_s(self) -> float:
        return float(np.median([b - a for a, b in self.spans_s]))


def force_align(logp: np.ndarray, units: list[int], owner: list[int], *, ctc: bool = False) -> AcousticAlignment:
    """Align one utterance's units (``units.text_units``) to (T, n_units) log-probabilities."""
    T = len(logp)
    n_syl = owner[-1] + 1
    labels, optional, skip, unit_of = state_graph(units, owner, ctc=ctc)
    if not ctc and T < (len(labels) - optional.sum()):  # too short for every unit's minimum
        labels, optional, skip, unit_of = state_graph(units, owner, min_frames=1)
    states, forced = viterbi(logp, labels, optional, skip)
    per_frame_unit = unit_of[states]
    unit_spans = []
    for i in range(len(units)):
        on = np.flatnonzero(per_frame_unit == i)
        unit_spans.append((int(on[0]), int(on[-1]) + 1) if len(on) else (0, 0))
    if ctc:  # CTC spikes: a unit owns the frames from its spike up to the next unit's spike
        starts = [a for a, _ in unit_spans] + [T]
        unit_spans = [(starts[i], max(starts[i] + 1, starts[i + 1])) for i in range(len(units))]
    spans = []
    for k in range(n_syl):
        mine = [unit_spans[i] for i in range(len(units)) if owner[i] == k]
        spans.append((mine[0][0] * HOP_S, mine[-1][1] * HOP_S))
    return AcousticAlignment(spans, unit_spans, forced, float(logp.max(1).sum()), T, labels[states], logp.argmax(1))


def log_probs(model: torch.nn.Module, x: np.ndarray, sample_rate: int) -> np.ndarray:
    """(T, n_units) log-probabilities of one mono recording."""
    with torch.inference_mode():
        feats = features(x, sample_rate, n_mels=model.model_args["n_mels"])
        return torch.log_softmax(model.eval()(feats[None]), -1)[0].numpy().astype(np.float64)


def align_text(loaded, x: np.ndarray, sample_rate: int, pinyins: list[str]) -> AcousticAlignment:
    """Align syllables (pinyin with tone numbers) to a mono recording with a loaded aligner
    checkpoint (its ``labels`` are the unit inventory it was trained with)."""
    units, owner = text_units(pinyins, list(loaded.config["labels"]))
    return force_align(log_probs(loaded.model, x, sample_rate), units, owner)
