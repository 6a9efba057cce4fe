"""Frame-level pitch and energy tracks for the tone model (``nn.tones.ToneNet``), normalised per speaker.

A learner's recording is one speaker, so the utterance is the speaker's sample: F0 is in semitones
re. the utterance's median voiced F0 (a man's and a child's tone 4 look alike), once more divided by
the utterance's spread (a lively and a flat reader's tones alike), energy in dB re. the utterance's
loud frames. Unvoiced stretches are bridged by straight lines and marked, so a contour runs through
a voiceless consonant. The model pools each syllable's frames itself (attention), given the spans.

A model with more than ``N_FEATURES`` inputs also reads a coarse log-mel spectrum (``N_SPECTRAL``
bands up to 4 kHz, so a phone line keeps them all) with each band's mean over the utterance taken
away: voice quality — the creak of a low tone 3, the breath of a neutral tone — is in the spectrum,
not in F0, and the per-utterance mean removes most of the speaker and the microphone.
"""

from __future__ import annotations

import numpy as np
import torch

from .pitch import f0_track, to_semitones

HOP_S = 0.01
N_FEATURES = 6
N_SPECTRAL = 24
LABELS = ["1", "2", "3", "4", "5"]  # tone 5 = neutral


def energy_db(x: np.ndarray, sample_rate: int, *, hop_s: float = HOP_S) -> np.ndarray:
    """RMS in dB per ``hop_s`` frame (frame k centred at k·hop_s), re. the 95th percentile frame."""
    hop = int(round(hop_s * sample_rate))
    n = int(np.ceil(len(x) / hop))
    pad = np.pad(np.asarray(x, np.float64), (hop // 2, n * hop + hop))
    frames = pad[: (n + 1) * hop].reshape(n + 1, hop)
    e = 10 * np.log10((frames[:-1] ** 2).mean(1) / 2 + (frames[1:] ** 2).mean(1) / 2 + 1e-12)
    return e - np.percentile(e, 95)


def utterance_tracks(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(semitones re. the median F0, NaN unvoiced), energy in dB, and the median F0 in Hz."""
    st, median_hz = to_semitones(f0_track(x, sample_rate))
    e = energy_db(x, sample_rate)
    n = min(len(st), len(e))
    return st[:n], e[:n], median_hz


def spectral_track(x: np.ndarray, sample_rate: int, n_frames: int, *, hop_s: float = HOP_S) -> np.ndarray:
    """(N_SPECTRAL, n_frames) log-mel (dB ÷ 10) with each band's utterance mean removed (frame k at k·hop_s)."""
    from ..audio.frontend import log_mel_spectrogram

    hop = int(round(hop_s * sample_rate))
    spec = log_mel_spectrogram(
        torch.as_tensor(np.asarray(x, np.float32)),
        sample_rate=sample_rate,
        n_fft=4 * hop,
        hop_length=hop,
        n_mels=N_SPECTRAL,
        f_min=60.0,
        f_max=4000.0,
        floor_db=-100.0,
    ).numpy()
    spec = np.maximum(spec, spec.max() - 60.0)  # silence at one floor, whatever the noise
    spec = spec[:, :n_frames]
    if spec.shape[1] < n_frames:
        spec = np.pad(spec, ((0, 0), (0, n_frames - spec.shape[1])), mode="edge")
    return ((spec - spec.mean(1, keepdims=True)) / 10.0).astype(np.float32)


def frame_features(semitones: np.ndarray, energy: np.ndarray, spectrum: np.ndarray | None = None) -> np.ndarray:
    """(N_FEATURES [+ N_SPECTRAL], frames) float32: pitch (÷6), pitch ÷ the utterance's spread, its
    slope, voicing, energy (÷20 dB), its slope [, the ``spectral_track``]."""
    voiced = np.isfinite(semitones)
    t = np.arange(len(semitones))
    st = np.interp(t, t[voiced], semitones[voiced]) if voiced.sum() >= 2 else np.zeros(len(semitones))
    spread = float(np.std(semitones[voiced])) if voiced.sum() >= 2 else 1.0
    e = np.maximum(energy, -60.0) / 20.0
    out = np.stack(
        [st / 6.0, st / (spread + 0.5) / 2.0, np.gradient(st), voiced.astype(float), e, np.gradient(e) * 5]
    ).astype(np.float32)
    return out if spectrum is None else np.concatenate([out, spectrum[:, : out.shape[1]]])


def frame_spans(spans_s: list[tuple[float, float]], n_frames: int, *, hop_s: float = HOP_S) -> np.ndarray:
    """(n_syllables, 2) int64 first and past-the-end frames, at least one frame each."""
    out = np.array([(int(round(a / hop_s)), int(round(b / hop_s))) for a, b in spans_s], np.int64).reshape(-1, 2)
    out[:, 0] = out[:, 0].clip(0, max(0, n_frames - 1))
    out[:, 1] = np.maximum(out[:, 1].clip(0, n_frames), out[:, 0] + 1)
    return out


def predict(
    model: torch.nn.Module,
    semitones: np.ndarray,
    energy: np.ndarray,
    spans_s: list[tuple[float, float]],
    audio: np.ndarray | None = None,
    sample_rate: int | None = None,
) -> np.ndarray:
    """Tone probabilities (n_syllables, 5) of one utterance; columns are tones 1-4 and neutral.
    A model that reads the spectrum needs the ``audio`` too."""
    if len(spans_s) == 0:
        return np.zeros((0, len(LABELS)), np.float32)
    spectrum = None
    if model.model_args["n_features"] > N_FEATURES:
        spectrum = spectral_track(audio, sample_rate, len(semitones))
    x = torch.as_tensor(frame_features(semitones, energy, spectrum))[None]
    spans = torch.as_tensor(frame_spans(spans_s, x.shape[-1]))[None]
    with torch.inference_mode():
        return torch.softmax(model.eval()(x, spans), -1)[0].numpy()
