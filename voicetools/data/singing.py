"""A small singing-voice synthesizer: glottal harmonics shaped by vowel formants.

It exists to give the separation (and later transcription / re-voicing) models a second, very
different "renderer" beside FluidSynth, with exact per-part targets. Per note it sings a vowel
(taken from the lyric where there is one), with vibrato, jitter and shimmer, portamento into
legato notes, a consonant-like noise burst at some onsets and breath noise. Each call draws a
random singer (vocal-tract length, formant bandwidths, spectral tilt, vibrato habits), and a part
may be sung by a small section of such singers, slightly detuned and out of time.

Formant tables: the classic Csound FOF tables (soprano, alto, tenor, bass × a e i o u),
frequencies in Hz, relative amplitudes in dB, bandwidths in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# voice -> vowel -> (freqs, amps_db, bandwidths)
FORMANTS = {
    "soprano": {
        "a": ([800, 1150, 2900, 3900, 4950], [0, -6, -32, -20, -50], [80, 90, 120, 130, 140]),
        "e": ([350, 2000, 2800, 3600, 4950], [0, -20, -15, -40, -56], [60, 100, 120, 150, 200]),
        "i": ([270, 2140, 2950, 3900, 4950], [0, -12, -26, -26, -44], [60, 90, 100, 120, 120]),
        "o": ([450, 800, 2830, 3800, 4950], [0, -11, -22, -22, -50], [70, 80, 100, 130, 135]),
        "u": ([325, 700, 2700, 3800, 4950], [0, -16, -35, -40, -60], [50, 60, 170, 180, 200]),
    },
    "alto": {
        "a": ([800, 1150, 2800, 3500, 4950], [0, -4, -20, -36, -60], [80, 90, 120, 130, 140]),
        "e": ([400, 1600, 2700, 3300, 4950], [0, -24, -30, -35, -60], [60, 80, 120, 150, 200]),
        "i": ([350, 1700, 2700, 3700, 4950], [0, -20, -30, -36, -60], [50, 100, 120, 150, 200]),
        "o": ([450, 800, 2830, 3500, 4950], [0, -9, -16, -28, -55], [70, 80, 100, 130, 135]),
        "u": ([325, 700, 2530, 3500, 4950], [0, -12, -30, -40, -64], [50, 60, 170, 180, 200]),
    },
    "tenor": {
        "a": ([650, 1080, 2650, 2900, 3250], [0, -6, -7, -8, -22], [80, 90, 120, 130, 140]),
        "e": ([400, 1700, 2600, 3200, 3580], [0, -14, -12, -14, -20], [70, 80, 100, 120, 120]),
        "i": ([290, 1870, 2800, 3250, 3540], [0, -15, -18, -20, -30], [40, 90, 100, 120, 120]),
        "o": ([400, 800, 2600, 2800, 3000], [0, -10, -12, -12, -26], [40, 80, 100, 120, 120]),
        "u": ([350, 600, 2700, 2900, 3300], [0, -20, -17, -14, -26], [40, 60, 100, 120, 120]),
    },
    "bass": {
        "a": ([600, 1040, 2250, 2450, 2750], [0, -7, -9, -9, -20], [60, 70, 110, 120, 130]),
        "e": ([400, 1620, 2400, 2800, 3100], [0, -12, -9, -12, -18], [40, 80, 100, 120, 120]),
        "i": ([250, 1750, 2600, 3050, 3340], [0, -30, -16, -22, -28], [60, 90, 100, 120, 120]),
        "o": ([400, 750, 2400, 2600, 2900], [0, -11, -21, -20, -40], [40, 80, 100, 120, 120]),
        "u": ([350, 600, 2400, 2675, 2950], [0, -20, -32, -28, -36], [40, 80, 100, 120, 120]),
    },
}
VOWELS = "aeiou"
_LYRIC_VOWELS = {"a": "a", "ä": "e", "e": "e", "i": "i", "y": "i", "o": "o", "ö": "e", "u": "u", "ü": "i"}


def vowel_of(lyric: str, rng: np.random.Generator) -> str:
    """The first vowel of a (German) lyric syllable, or a random vowel when there is none."""
    for ch in lyric.lower():
        if ch in _LYRIC_VOWELS:
            return _LYRIC_VOWELS[ch]
    return VOWELS[rng.integers(len(VOWELS))]


@dataclass
class Singer:
    """One random singer's habits; ``Singer.random(voice, rng)`` draws one."""

    voice: str
    formant_scale: float  # vocal-tract length: >1 brighter
    bandwidth_scale: float
    tilt_db_per_oct: float  # extra source roll-off
    vibrato_hz: float
    vibrato_cents: float
    vibrato_delay_s: float
    jitter: float  # relative f0 wobble
    shimmer_db: float
    breath_db: float  # breath noise relative to voice
    attack_s: float
    glide_s: float
    detune_cents: float = 0.0
    delay_s: float = 0.0

    @classmethod
    def random(cls, voice: str, rng: np.random.Generator) -> Singer:
        u = rng.uniform
        return cls(
            voice=voice,
            formant_scale=u(0.88, 1.12),
            bandwidth_scale=u(0.7, 1.5),
            tilt_db_per_oct=u(-3.0, 3.0),
            vibrato_hz=u(4.5, 6.8),
            vibrato_cents=u(0.0, 70.0) if u() < 0.85 else 0.0,
            vibrato_delay_s=u(0.1, 0.5),
            jitter=u(0.001, 0.008),
            shimmer_db=u(0.2, 2.0),
            breath_db=u(-40.0, -18.0),
            attack_s=u(0.02, 0.12),
            glide_s=u(0.0, 0.09),
        )


def _smooth_noise(rng, n, sr, rate_hz):
    """Band-limited random wobble around 0 with unit std (knots at rate_hz, linearly joined)."""
    knots = max(2, int(n / sr * rate_hz) + 2)
    return np.interp(np.arange(n), np.linspace(0, n, knots), rng.standard_normal(knots))


def envelope_db(freqs_hz, formants, tilt_db_per_oct):
    """Vowel spectral envelope in dB at the given frequencies (shape (frames, harmonics))."""
    f = freqs_hz[..., None]
    centers, amps_db, bws = (np.asarray(x, dtype=float)[None, None, :] for x in formants)
    # one resonance per formant, summed in linear amplitude
    lin = (10 ** (amps_db / 20) / np.sqrt(1 + ((f - centers) / (bws / 2)) ** 2)).sum(axis=-1)
    tilt = tilt_db_per_oct * np.log2(np.maximum(freqs_hz, 50.0) / 200.0)
    return 20 * np.log10(lin + 1e-6) + tilt


def sing(
    notes,
    *,
    voice: str,
    sample_rate: int,
    length_s: float,
    seconds_per_quarter: float,
    rng: np.random.Generator,
    singer: Singer | None = None,
    vowels=None,
    bends=None,
) -> np.ndarray:
    """Sing ``notes`` (objects with start_q, dur_q, pitch, lyric) as one singer; mono float32.

    ``vowels`` fixes the vowel per note (shared by a section); otherwise it comes from the lyrics.
    ``bends`` — (time_s, semitones) steps added to the notes' pitch, as MIDI pitch bends are — give
    the line its intonation, vibrato and glides: the singer's own vibrato and portamento are then off.
    """
    sr = sample_rate
    n = int(round(length_s * sr))
    singer = singer or Singer.random(voice, rng)
    if bends is not None:  # a copy: the caller's singer keeps its habits
        singer = replace(singer, vibrato_cents=0.0, glide_s=0.0)
    if vowels is None:
        vowels = [vowel_of(nt.lyric, rng) for nt in notes]
    midi = np.full(n, np.nan)
    amp = np.zeros(n)
    formant_idx = np.zeros(n, dtype=int)
    onset_bursts = []
    prev_end, prev_pitch = -1.0, None
    for i, nt in enumerate(notes):
        t0 = nt.start_q * seconds_per_quarter + singer.delay_s
        t1 = (nt.start_q + nt.dur_q) * seconds_per_quarter + singer.delay_s
        a, b = max(0, int(t0 * sr)), min(n, int(t1 * sr))
        if b <= a:
            continue
        seg = np.arange(b - a) / sr
        p = np.full(b - a, float(nt.pitch))
        legato = prev_pitch is not None and abs(t0 - prev_end) < 0.02
        if legato and singer.glide_s > 0:  # portamento from the previous note
            g = seg < singer.glide_s
            p[g] = prev_pitch + (nt.pitch - prev_pitch) * (seg[g] / singer.glide_s)
        # vibrato grows in after a delay
        ramp = np.clip((seg - singer.vibrato_delay_s) / 0.3, 0, 1)
        p += ramp * singer.vibrato_cents / 100 * np.sin(2 * np.pi * singer.vibrato_hz * seg + rng.uniform(0, 6.28))
        midi[a:b] = p
        att = np.clip(seg / singer.attack_s, 0, 1)
        rel = np.clip((seg[-1] - seg) / 0.06, 0, 1)
        dyn = 10 ** (rng.uniform(-6, 0) / 20)
        shape = att * rel * dyn
        if legato:  # a short dip between syllables, as a consonant would make
            shape *= 1 - 0.5 * np.exp(-seg / 0.03)
        amp[a:b] = shape
        formant_idx[a:b] = VOWELS.index(vowels[i])
        if rng.uniform() < 0.35:
            onset_bursts.append(a)
        prev_end, prev_pitch = t1, nt.pitch
    voiced = ~np.isnan(midi)
    if bends:
        times, values = np.array(sorted(bends), float).T
        at = np.searchsorted(times, np.arange(n) / sr, side="right") - 1
        midi = midi + np.where(at >= 0, values[np.maximum(at, 0)], 0.0)
    midi = np.where(voiced, midi, 60.0)
    midi = midi + singer.detune_cents / 100
    f0 = 440.0 * 2 ** ((midi - 69) / 12) * (1 + singer.jitter * _smooth_noise(rng, n, sr, 30))
    amp = amp * 10 ** (singer.shimmer_db * _smooth_noise(rng, n, sr, 20) / 20)
    phase = 2 * np.pi * np.cumsum(f0) / sr

    # harmonic amplitudes on a 10 ms frame grid, interpolated to samples
    hop = max(1, sr // 100)
    frames = np.arange(0, n, hop)
    n_harm = int(sr / 2 / f0.min())
    table = FORMANTS[voice]
    out = np.zeros(n)
    env_frames = np.zeros((len(frames), n_harm))
    k = np.arange(1, n_harm + 1)
    for v_i, v in enumerate(VOWELS):
        sel = formant_idx[frames] == v_i
        if not sel.any():
            continue
        fr, am, bw = table[v]
        formants = (np.asarray(fr) * singer.formant_scale, am, np.asarray(bw) * singer.bandwidth_scale)
        hf = f0[frames[sel], None] * k[None, :]
        env_frames[sel] = envelope_db(hf, formants, singer.tilt_db_per_oct)
    # smooth vowel changes over ~40 ms so formants glide instead of jumping
    win = np.hanning(9)
    win /= win.sum()
    env_frames = np.apply_along_axis(lambda c: np.convolve(c, win, mode="same"), 0, env_frames)
    gains = 10 ** (env_frames / 20)
    block = sr * 2
    for s in range(0, n, block):
        e = min(n, s + block)
        idx = np.arange(s, e)
        g = np.empty((e - s, n_harm))
        pos = idx / hop
        for h in range(n_harm):
            g[:, h] = np.interp(pos, np.arange(len(frames)), gains[:, h])
        hf = f0[s:e, None] * k[None, :]
        g[hf >= 0.95 * sr / 2] = 0.0  # no aliasing
        out[s:e] = (g * np.sin(phase[s:e, None] * k[None, :])).sum(axis=1)
    out *= amp

    # breath: noise shaped like the voice (a crude spectral copy through a smoothed envelope),
    # amplitude-modulated by the glottal cycle
    noise = rng.standard_normal(n)
    noise = np.convolve(noise, [0.5, 0.0, -0.5], mode="same")  # lose DC and the top end a little
    breath = noise * amp * (0.6 + 0.4 * np.cos(phase)) * 10 ** (singer.breath_db / 20)
    for a in onset_bursts:  # consonant-like noise bursts
        L = int(rng.uniform(0.02, 0.06) * sr)
        seg = noise[a : a + L] * np.hanning(2 * L)[L : L + len(noise[a : a + L])] * 0.3
        breath[a : a + len(seg)] += seg
    out = out / (np.sqrt(np.mean(out[voiced] ** 2)) + 1e-9) if voiced.any() else out
    out = out + breath
    return out.astype(np.float32)


def sing_section(
    notes,
    *,
    voice: str,
    sample_rate: int,
    length_s: float,
    seconds_per_quarter: float,
    rng: np.random.Generator,
    n_singers: int | None = None,
) -> np.ndarray:
    """A choir section: 1–3 singers on the same notes and vowels, slightly detuned and out of time."""
    n_singers = n_singers or int(rng.integers(1, 4))
    vowels = [vowel_of(nt.lyric, rng) for nt in notes]
    out = np.zeros(int(round(length_s * sample_rate)), dtype=np.float32)
    for i in range(n_singers):
        singer = Singer.random(voice, rng)
        if i:
            singer.detune_cents = rng.uniform(-12, 12)
            singer.delay_s = rng.uniform(0, 0.03)
        out += sing(
            notes,
            voice=voice,
            sample_rate=sample_rate,
            length_s=length_s,
            seconds_per_quarter=seconds_per_quarter,
            rng=rng,
            singer=singer,
            vowels=vowels,
        )
    return out / np.sqrt(n_singers)
