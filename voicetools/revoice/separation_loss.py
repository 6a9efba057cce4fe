"""The separator's spectral loss per voice type, measured on validation choirs, and undone before re-voicing.

A separated part is not the part as sung: where a voice's harmonics are weak against the others —
a soprano's or an alto's 1.5-4 kHz — the separation mask takes 5-20 dB more off than at 200-1000 Hz.
That band holds the formant pattern that says "tenor" or "bass" (the singer's formant cluster), so
a separated soprano re-voiced as a tenor kept too little of it and was heard as an alto or a bass
(the re-voicing benchmark's judge named none of 4 such tenors a tenor).

``measure`` separates the VALID chorales sung by the singing synthesizer (``valid_choirs``: by
sections in rooms, and by one dry singer per part; never a test chorale) and takes, per voice
type, the mean over chorales of the true part's long-term spectrum over the separated part's (dB,
frames where the part sings; both combed on their own F0 track, as the voice route combs a
separated part: the loss of the part's own harmonics, not of its bleed), smoothed over a third of
an octave, 0 dB at its median over 200-1000 Hz, limited to ``LIMIT_DB``. The curves are stored per
separation model, and applied only to parts that model separated.

    python -m voicetools.revoice.separation_loss          # rewrites separation_loss.json (~2 min)
"""

from __future__ import annotations

import argparse
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..data.chorales import VOICES, split_names
from ..data.satb import SAMPLE_RATE, one_singer_each, test_mixtures
from ..separation import DEFAULT_MODEL as DEFAULT_SEPARATION_MODEL
from ..separation import separate
from .analysis import f0_track
from .vocoder import apply_frame_gains, keep_harmonics

TABLE = Path(__file__).with_name("separation_loss.json")
N_FFT = 512  # at the measuring rate (8 kHz): 15.6 Hz bins
LIMIT_DB = (-6.0, 18.0)
REFERENCE_HZ = (200.0, 1000.0)


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(TABLE.read_text()) if TABLE.exists() else {}


def loss_db(model: str | None, voice: str | None, freqs_hz: np.ndarray) -> np.ndarray | None:
    """Gain (dB) that undoes ``model``'s measured loss on ``voice`` parts at ``freqs_hz``; None when not measured.
    Above the measured band (the separator's own Nyquist) the gain is 0: there is nothing to restore."""
    entry = _table().get(str(model), {})
    if voice not in entry.get("gain_db", {}):
        return None
    f, g = np.asarray(entry["freqs_hz"]), np.asarray(entry["gain_db"][voice])
    return np.where(np.asarray(freqs_hz) <= f[-1], np.interp(freqs_hz, f, g), 0.0)


def restore(x: np.ndarray, sample_rate: int, model: str | None, voice: str | None) -> np.ndarray:
    """``x`` with ``model``'s measured loss on ``voice`` parts undone (a fixed equaliser); ``x`` when unmeasured."""
    probe = loss_db(model, voice, np.array([0.0]))
    if probe is None or not np.any(x):
        return x
    return apply_frame_gains(
        x,
        sample_rate,
        lambda mag, freqs, _hop: np.broadcast_to(10 ** (loss_db(model, voice, freqs) / 20)[:, None], mag.shape),
    )


def long_term_db(x: np.ndarray, active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(power spectrum in dB averaged over the frames where ``active`` — by default where ``x`` is
    within 13 dB of its loudest frame —, that frame mask)."""
    import scipy.signal as ss  # slow to import: only when needed

    _, _, z = ss.stft(np.asarray(x, np.float64), nperseg=N_FFT, noverlap=3 * N_FFT // 4)
    p = np.abs(z) ** 2
    if active is None:
        e = p.sum(0)
        active = e > 0.05 * e.max()
    return 10 * np.log10(p[:, active[: p.shape[1]]].mean(1) + 1e-12), active


def harmonics_of(x: np.ndarray, sample_rate: int, voice: str) -> np.ndarray:
    """``x`` with only the harmonics of its own F0 track (the pipeline's) kept: the part's voice without bleed."""
    return keep_harmonics(x, sample_rate, f0_track(x, sample_rate, voice=voice))


def smooth_octave_fraction(g: np.ndarray, freqs: np.ndarray, fraction: float = 1 / 3) -> np.ndarray:
    half = 2 ** (fraction / 2)
    return np.array([g[(freqs >= f / half) & (freqs <= f * half)].mean() if f > 0 else g[0] for f in freqs])


def valid_choirs(max_s: float):
    """(name, mixture, parts) of the VALID chorales sung by the singing synthesizer, twice each: by
    sections of singers with the separation data's seeded gains and rooms (``test_mixtures``), and
    by one dry singer per part (as the re-voicing benchmark sings its test chorales); first ``max_s``."""
    n = int(max_s * SAMPLE_RATE)
    for name, _, mixture, targets in test_mixtures("valid", renderers=("singing",)):
        yield name + " (sections)", mixture[:n], targets[:, :n]
    for name in split_names("valid"):
        yield (name + " (one singer each)", *one_singer_each(name, seconds=max_s, sample_rate=SAMPLE_RATE))


def measure(model: str, *, max_s: float = 40.0) -> dict:
    """The loss curves of separation ``model`` on the VALID chorales (``valid_choirs``)."""
    diffs: dict[str, list[np.ndarray]] = {v: [] for v in VOICES}
    for name, mixture, targets in valid_choirs(max_s):
        stems = separate(mixture, sample_rate=SAMPLE_RATE, model=model).stems
        for i, v in enumerate(VOICES):  # each combed on its own track, as the voice route combs a separated part
            true_db, active = long_term_db(harmonics_of(targets[i], SAMPLE_RATE, v))
            sep_db, _ = long_term_db(harmonics_of(np.asarray(stems[v], np.float32)[0], SAMPLE_RATE, v), active)
            diffs[v].append(true_db - sep_db)
        print(f"measured {name}", flush=True)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    ref = (freqs >= REFERENCE_HZ[0]) & (freqs <= REFERENCE_HZ[1])
    keep = freqs <= 0.49 * SAMPLE_RATE
    gains = {}
    for v, d in diffs.items():
        g = smooth_octave_fraction(np.mean(d, axis=0), freqs)
        gains[v] = np.round(np.clip(g - np.median(g[ref]), *LIMIT_DB)[keep], 2).tolist()
    return {
        "freqs_hz": np.round(freqs[keep], 2).tolist(),
        "gain_db": gains,
        "chorales": len(diffs[VOICES[0]]),
        "data": f"separation_loss.valid_choirs({max_s:g})",
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description="Measure a separation model's spectral loss per voice type.")
    ap.add_argument("--model", default=DEFAULT_SEPARATION_MODEL)
    args = ap.parse_args(argv)
    table = dict(_table())
    table[args.model] = measure(args.model)
    text = json.dumps(table, indent=1)
    TABLE.write_text(re.sub(r"\[[-\d.,\s]+\]", lambda m: " ".join(m.group(0).split()), text) + "\n")  # a curve per line
    for v, g in table[args.model]["gain_db"].items():
        f = np.asarray(table[args.model]["freqs_hz"])
        edges = ((0, 500), (500, 1500), (1500, 2500), (2500, 4000))
        bands = [np.mean(np.asarray(g)[(f >= a) & (f < b)]) for a, b in edges]
        print(v, " ".join(f"{b:+.1f}" for b in bands), "dB (0-0.5, 0.5-1.5, 1.5-2.5, 2.5-4 kHz)")
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
