"""Features + logistic regression: the baseline every classifier recipe must beat on voices it never heard.

Per clip: MFCC (the project's log-mel front-end + a DCT) and their deltas, F0 (Praat's
autocorrelation pitch, via parselmouth) and frame energy, each summarised by mean, std and
percentiles over the clip's active frames; then scikit-learn ``StandardScaler`` +
``LogisticRegression``. Deterministic: no random state anywhere (lbfgs on a fixed problem).

Two normalisations aim at speaker independence:

* ``utterance_norm``: each clip is measured relative to itself before the statistics — MFCC minus
  the clip's mean (cepstral mean normalisation: the channel and the speaker's average timbre go),
  energy in dB relative to the clip's loud frames, F0 in semitones relative to the clip's median.
  Works on a single clip; it also drops the clip's absolute pitch and level.
* ``speaker_norm``: each speaker's feature vectors are standardised over that speaker's clips (z-score
  per speaker, per feature) before the global scaler — training speakers over their training
  clips, test speakers over their test clips. It needs several clips of a speaker at test time,
  ideally in several emotions: a speaker heard in one emotion only is standardised onto "average".

    from voicetools.classify import baseline
    tracks = [baseline.clip_tracks(p) for p in paths]
    X = baseline.summarise(tracks)
    model = baseline.Baseline(speaker_norm=True).fit(X[train], y[train], groups[train])
    pred = model.predict(X[test], groups[test])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import dct

from ..audio.io import load_audio
from ..errors import ParameterError, VoicetoolsError
from .features import FeatureConfig, logmel, prepare

SAMPLE_RATE = 16000
# 25 ms windows every 10 ms, 40 mel bands, 20 cepstra: the usual speech MFCC front-end
FRONTEND = FeatureConfig(sample_rate=SAMPLE_RATE, clip_s=0.0, n_fft=512, hop_length=160, n_mels=40)
N_MFCC = 20
F0_FLOOR_HZ, F0_CEILING_HZ = 60.0, 600.0  # speech of men, women and raised voices
ACTIVE_DB = 35.0  # frames within this of the clip's loud frames are speech; the rest is the room
PERCENTILES = (10, 50, 90)


class BaselineError(VoicetoolsError):
    """The baseline was given too little to learn or score (no clips, one class, unknown speakers)."""


@dataclass
class ClipTracks:
    """Frame tracks of one clip on a 10 ms grid: ``mfcc`` (frames, N_MFCC), ``energy_db`` (frames,),
    ``f0_hz`` (0 where unvoiced) and ``active`` (frames within ``ACTIVE_DB`` of the loud ones)."""

    mfcc: np.ndarray
    energy_db: np.ndarray
    f0_hz: np.ndarray
    active: np.ndarray


def mfcc(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MFCC (frames, N_MFCC), frame energy in dB (frames,)) of a 16 kHz waveform."""
    mel_db = logmel(x[None], FRONTEND)[0].numpy().T.astype(np.float64)  # (frames, n_mels), 10·log10
    c = dct(mel_db, type=2, norm="ortho", axis=1)[:, :N_MFCC]
    power = np.power(10.0, mel_db / 10.0).sum(axis=1)
    return c, 10.0 * np.log10(power + 1e-10)


def f0(x: np.ndarray, n_frames: int) -> np.ndarray:
    """F0 in Hz per 10 ms frame (0 = unvoiced), Praat's autocorrelation method on the MFCC grid."""
    import parselmouth  # a compiled extension, loaded only where pitch is measured

    if not np.any(x):
        return np.zeros(n_frames)
    hop_s = FRONTEND.hop_length / SAMPLE_RATE
    pitch = parselmouth.Sound(x.astype(np.float64), float(SAMPLE_RATE)).to_pitch_ac(
        time_step=hop_s, pitch_floor=F0_FLOOR_HZ, pitch_ceiling=F0_CEILING_HZ
    )
    values, times = np.nan_to_num(pitch.selected_array["frequency"]), pitch.xs()
    out = np.zeros(n_frames)
    idx = np.round(times / hop_s).astype(int)  # frame i of the front-end is centred at i * hop
    keep = (idx >= 0) & (idx < n_frames)
    out[idx[keep]] = values[keep]
    return out


def tracks_of(x: np.ndarray) -> ClipTracks:
    """Frame tracks of a mono 16 kHz waveform."""
    if len(x) < FRONTEND.n_fft:
        x = np.pad(x, (0, FRONTEND.n_fft - len(x)))
    c, e = mfcc(x)
    loud = np.percentile(e, 95)
    return ClipTracks(c, e, f0(x, len(e)), e > loud - ACTIVE_DB)


def clip_tracks(path) -> ClipTracks:
    """Frame tracks of an audio file, whole (no window cut: statistics need no fixed length)."""
    return tracks_of(prepare(load_audio(path, min_duration_s=0), SAMPLE_RATE))


def deltas(c: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over ±``width`` frames (the HTK formula), edges repeated."""
    pad = np.pad(c, ((width, width), (0, 0)), mode="edge")
    n = len(c)
    num = sum(k * (pad[width + k : width + k + n] - pad[width - k : width - k + n]) for k in range(1, width + 1))
    return num / (2 * sum(k * k for k in range(1, width + 1)))


def _stats(v: np.ndarray) -> list[float]:
    """mean, std, 10/50/90th percentiles and the 10-90 range of a 1-D track (zeros when empty)."""
    if len(v) == 0:
        return [0.0] * (3 + len(PERCENTILES))
    p = np.percentile(v, PERCENTILES)
    return [float(v.mean()), float(v.std()), *map(float, p), float(p[-1] - p[0])]


def clip_vector(t: ClipTracks, *, utterance_norm: bool = False) -> np.ndarray:
    """One fixed-length feature vector per clip (see ``feature_names``)."""
    act = t.active if t.active.sum() >= 3 else np.ones_like(t.active)
    c = t.mfcc[act]
    if utterance_norm:
        c = c - c.mean(axis=0)
    d = deltas(t.mfcc)[act]
    e = t.energy_db[act]
    e = e - np.percentile(e, 95) if utterance_norm else e
    voiced = t.f0_hz > 0
    semis = 12.0 * np.log2(t.f0_hz[voiced] / 100.0)  # semitones re 100 Hz: pitch is heard on a log scale
    if utterance_norm and len(semis):
        semis = semis - np.median(semis)
    slope = np.diff(semis) if len(semis) > 1 else np.zeros(0)
    return np.concatenate(
        [
            c.mean(axis=0),
            c.std(axis=0),
            np.abs(d).mean(axis=0),
            d.std(axis=0),
            _stats(e),
            _stats(semis),
            [float(voiced.mean()), float(act.mean()), float(np.abs(slope).mean()) if len(slope) else 0.0],
        ]
    )


def feature_names() -> list[str]:
    stat = ["mean", "std", *(f"p{q}" for q in PERCENTILES), "range"]
    return (
        [f"mfcc{i}_mean" for i in range(N_MFCC)]
        + [f"mfcc{i}_std" for i in range(N_MFCC)]
        + [f"dmfcc{i}_absmean" for i in range(N_MFCC)]
        + [f"dmfcc{i}_std" for i in range(N_MFCC)]
        + [f"energy_{s}" for s in stat]
        + [f"f0_{s}" for s in stat]
        + ["voiced_fraction", "active_fraction", "f0_abs_slope"]
    )


def summarise(tracks: list[ClipTracks], *, utterance_norm: bool = False) -> np.ndarray:
    """(clips, features) matrix of ``clip_vector`` rows."""
    return np.stack([clip_vector(t, utterance_norm=utterance_norm) for t in tracks])


def speaker_standardise(X: np.ndarray, groups) -> np.ndarray:
    """Each speaker's rows z-scored over that speaker's rows (a feature constant for a speaker → 0)."""
    X = np.asarray(X, np.float64)
    groups = np.asarray(groups)
    out = np.empty_like(X)
    for g in np.unique(groups):
        rows = groups == g
        mu, sd = X[rows].mean(axis=0), X[rows].std(axis=0)
        out[rows] = (X[rows] - mu) / np.where(sd > 1e-9, sd, 1.0)
    return out


class Baseline:
    """``StandardScaler`` + ``LogisticRegression`` (class-balanced, L2 with ``C``), optionally on
    per-speaker standardised features."""

    def __init__(self, *, speaker_norm: bool = False, C: float = 1.0, max_iter: int = 5000):
        if C <= 0:
            raise ParameterError(f"C must be positive, got {C}")
        self.speaker_norm, self.C, self.max_iter = speaker_norm, C, max_iter

    def _prepare(self, X, groups) -> np.ndarray:
        if not self.speaker_norm:
            return np.asarray(X, np.float64)
        if groups is None:
            raise BaselineError("per-speaker standardisation needs the speaker of every clip (groups)")
        return speaker_standardise(X, groups)

    def fit(self, X, y, groups=None) -> Baseline:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(y)
        if len(y) == 0 or len(np.unique(y)) < 2:
            raise BaselineError(f"the baseline needs clips of at least two classes, got {len(np.unique(y))}")
        # balanced: the shared "neutral" holds two source emotions, and LOCO's class mix differs by corpus
        self.pipeline = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight="balanced")
        )
        self.pipeline.fit(self._prepare(X, groups), y)
        return self

    def predict(self, X, groups=None) -> np.ndarray:
        return self.pipeline.predict(self._prepare(X, groups))

    def predict_proba(self, X, groups=None) -> np.ndarray:
        return self.pipeline.predict_proba(self._prepare(X, groups))
