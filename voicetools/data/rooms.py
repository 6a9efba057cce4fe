"""Rooms and microphones for training mixtures: each part at its own place in a shoebox room, heard
by one microphone, plus the noise floor of a recording.

The image-source rooms come from pyroomacoustics (the ``train`` extra); without it, each part gets
its own synthetic response (``voicetools.audio.augment.room_impulse_response``) in a shared RT60.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.augment import room_impulse_response

RT60_S = (0.2, 1.5)
# Image sources up to this order: ~15 ms for four parts at 8 kHz, and enough for the first ~0.5-1.5 s
# of the decay in halls; the full order for a 1.5 s church would be ~100 and take seconds.
MAX_ORDER = 20
MIC_DISTANCE_M = (0.7, 8.0)
MIN_SOURCE_MIC_M = 0.5  # no part right on the microphone: a few centimetres would swamp the rest
SPEED_OF_SOUND = 343.0


@dataclass(frozen=True)
class Room:
    """Impulse responses (parts, taps) from each part's place to the microphone, and the geometry."""

    rirs: np.ndarray
    sources: np.ndarray  # (parts, 3) metres
    mic: np.ndarray  # (3,) metres
    size: np.ndarray  # (3,) metres
    rt60_s: float


def _place(
    size: np.ndarray, n: int, rng: np.random.Generator, mic_distance_m=MIC_DISTANCE_M
) -> tuple[np.ndarray, np.ndarray]:
    """Parts standing in a group of 0.5-3 m radius somewhere in the room, and a microphone
    ``mic_distance_m`` (0.7-8 m) from the group's centre, every one at least 0.5 m from a wall."""
    lo, hi = np.full(3, 0.5), size - 0.5
    centre = rng.uniform(1.0, size[:2] - 1.0)
    radius = rng.uniform(0.5, min(3.0, size[1] / 2 - 0.5))
    angles = rng.uniform(0, 2 * np.pi, n)
    r = radius * np.sqrt(rng.uniform(0.1, 1.0, n))
    sources = np.stack(
        [centre[0] + r * np.cos(angles), centre[1] + r * np.sin(angles), rng.uniform(1.0, 1.9, n)], axis=1
    )
    sources = np.clip(sources, lo, hi)
    for _ in range(50):
        a = rng.uniform(0, 2 * np.pi)
        d = rng.uniform(*mic_distance_m)
        mic = np.clip([centre[0] + d * np.cos(a), centre[1] + d * np.sin(a), rng.uniform(1.0, 3.0)], lo, hi)
        if np.linalg.norm(sources - mic, axis=1).min() >= MIN_SOURCE_MIC_M:
            break
    return sources, mic


def _size(rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """A room 5-25 m long that can have this RT60: by Sabine's formula a large hall cannot be as dry as
    a small studio (its walls would have to absorb more than all the sound)."""
    for _ in range(50):
        length = rng.uniform(5.0, 25.0)
        size = np.array([length, length * rng.uniform(0.5, 0.9), min(3.0 + 0.4 * length * rng.uniform(), 15.0)])
        surface = 2 * (size[0] * size[1] + size[0] * size[2] + size[1] * size[2])
        if 24 * np.log(10) * np.prod(size) / (SPEED_OF_SOUND * surface * rt60_s) < 0.9:
            return size
    return np.array([5.0, 3.0, 3.0])


def image_source_room(
    n: int, sample_rate: int, rng: np.random.Generator, *, rt60_s=RT60_S, mic_distance_m=MIC_DISTANCE_M
) -> Room:
    """A random shoebox room (5-25 m long, RT60 in ``rt60_s``, 0.2-1.5 s) with ``n`` parts at their own
    places and one omnidirectional microphone: image sources up to ``MAX_ORDER``, no ray tracing."""
    import pyroomacoustics as pra

    rt60 = rng.uniform(*rt60_s)
    size = _size(rt60, rng)
    absorption, order = pra.inverse_sabine(rt60, size)
    room = pra.ShoeBox(
        size,
        fs=sample_rate,
        materials=pra.Material(absorption),
        max_order=min(order, MAX_ORDER),
        air_absorption=False,
        ray_tracing=False,
        use_rand_ism=False,
    )
    sources, mic = _place(size, n, rng, mic_distance_m)
    for s in sources:
        room.add_source(s)
    room.add_microphone(mic)
    room.compute_rir()
    taps = max(len(h) for h in room.rir[0])
    rirs = np.stack([np.pad(h, (0, taps - len(h))) for h in room.rir[0]])
    # drop the delay all parts share (pyroomacoustics adds 40 samples for its fractional-delay
    # filters), keeping each part's own: the parts still arrive at their distances' times
    cut = max(0, int(np.abs(rirs).argmax(axis=1).min()) - 40)
    # unit energy per part: distance shows in the delay and the direct-to-reverberant ratio, while
    # the balance between parts is drawn in one place, by the mixer
    rirs = rirs[:, cut:] / np.sqrt(np.sum(rirs[:, cut:] ** 2, axis=1, keepdims=True))
    return Room(rirs.astype(np.float32), sources, np.asarray(mic), size, float(rt60))


def synthetic_room(n: int, sample_rate: int, rng: np.random.Generator, *, rt60_s=RT60_S, **_) -> Room:
    """The fallback without pyroomacoustics: one synthetic response per part in a shared RT60."""
    rt60 = rng.uniform(*rt60_s)
    irs = [room_impulse_response(sample_rate, rng, rt60_s=rt60) for _ in range(n)]
    return Room(np.stack(irs), np.full((n, 3), np.nan), np.full(3, np.nan), np.full(3, np.nan), float(rt60))


def random_room(n: int, sample_rate: int, rng: np.random.Generator, **where) -> Room:
    """An image-source room if pyroomacoustics is installed, else the synthetic one; ``where``:
    ``rt60_s`` and ``mic_distance_m`` ranges."""
    try:
        import pyroomacoustics  # noqa: F401
    except ImportError:
        return synthetic_room(n, sample_rate, rng, **where)
    return image_source_room(n, sample_rate, rng, **where)


class RoomPool:
    """Recent rooms, reused a few times each: a room costs ~15 ms and a training step needs eight
    mixtures. Each data-loader worker holds its own copy; parts swap places on reuse."""

    def __init__(self, size: int = 32, new_p: float = 0.25):
        self.size, self.new_p, self.rooms = size, new_p, {}

    def draw(self, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        """Impulse responses (n, taps) of a room, new or reused."""
        rooms = self.rooms.setdefault((n, sample_rate), [])
        if len(rooms) < self.size or rng.uniform() < self.new_p:
            room = random_room(n, sample_rate, rng)
            if len(rooms) < self.size:
                rooms.append(room)
            else:
                rooms[rng.integers(self.size)] = room
            return room.rirs
        return rooms[rng.integers(len(rooms))].rirs[rng.permutation(n)]


def coloured_noise(n: int, rng: np.random.Generator, *, exponent: float) -> np.ndarray:
    """Noise of ``n`` samples, unit RMS, with power falling as 1/f^exponent (1: pink, 2: brown); below
    1/200 of the band it stays flat, so the noise does not drift like a random walk."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.arange(len(spectrum)), len(spectrum) / 200)
    x = np.fft.irfft(spectrum / f ** (exponent / 2), n=n)
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)
