"""separation.metrics: SI-SDR on signals with a known answer, and the ideal-ratio-mask oracle."""

import pytest
import torch

from voicetools.separation.metrics import ideal_ratio_mask, si_sdr, si_sdr_loss

SR = 8000


def _signal(seed=0, n=2 * SR):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / SR
    return (0.3 * torch.sin(2 * torch.pi * 220 * t) + 0.1 * torch.randn(n, generator=g)).double()


def _noise_at_snr(s, snr_db, seed=1, orthogonal=False):
    n = torch.randn(s.shape[-1], generator=torch.Generator().manual_seed(seed)).double()
    n = n - n.mean()
    sc = s - s.mean()
    if orthogonal:
        n = n - (n @ sc) / (sc @ sc) * sc
    return n * torch.sqrt((sc @ sc) / (n @ n) / 10 ** (snr_db / 10))


def test_identical_signal_is_very_high():
    s = _signal()
    assert si_sdr(s, s) > 60
    assert si_sdr(s.float(), s.float()) > 60


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_noise_at_known_snr(snr_db, si_sdr_db):
    s = _signal()
    exact = si_sdr(s + _noise_at_snr(s, snr_db, orthogonal=True), s)
    assert float(exact) == pytest.approx(snr_db, abs=1e-3)
    rough = si_sdr(s + _noise_at_snr(s, snr_db), s)  # random noise: only nearly orthogonal
    assert float(rough) == pytest.approx(snr_db, abs=0.5)
    assert float(rough) == pytest.approx(si_sdr_db(s + _noise_at_snr(s, snr_db), s), abs=1e-3)


def test_scale_and_offset_invariance():
    s = _signal()
    est = s + _noise_at_snr(s, 10.0)
    base = float(si_sdr(est, s))
    for scale in (0.01, 0.5, 3.0, 1000.0):  # (only the tiny eps keeps this from being exact)
        assert float(si_sdr(scale * est, s)) == pytest.approx(base, abs=1e-3)
        assert float(si_sdr(est, scale * s)) == pytest.approx(base, abs=1e-3)
    assert float(si_sdr(est + 0.25, s)) == pytest.approx(base, abs=1e-6)  # zero-mean first
    assert float(si_sdr(-est, s)) == pytest.approx(base, abs=1e-6)  # the optimal scale may be negative
    # not invariant to anything else: a delayed estimate is a different signal
    assert float(si_sdr(torch.roll(est, 40), s)) < base - 10


def test_broadcasting_and_loss():
    s = torch.stack([_signal(0), _signal(1)])[None]  # (1, 2, time)
    est = torch.stack(
        [
            s[0, 0] + _noise_at_snr(s[0, 0], 5.0, orthogonal=True),
            s[0, 1] + _noise_at_snr(s[0, 1], 15.0, orthogonal=True),
        ]
    )[None]
    scores = si_sdr(est, s)
    assert tuple(scores.shape) == (1, 2)
    torch.testing.assert_close(scores, torch.tensor([[5.0, 15.0]], dtype=scores.dtype), atol=1e-3, rtol=0)
    assert float(si_sdr_loss(est, s)) == pytest.approx(-10.0, abs=1e-3)
    # the loss is differentiable and its gradient points towards the reference
    e = est.clone().requires_grad_(True)
    si_sdr_loss(e, s).backward()
    stepped = e.detach() - 1e-3 * e.grad / e.grad.abs().max()
    assert float(si_sdr_loss(stepped, s)) < float(si_sdr_loss(est, s))


def test_ideal_ratio_mask_separates_two_sines(tone, si_sdr_db):
    a = torch.from_numpy(tone(440.0, seconds=2.0, amplitude=0.3))
    b = torch.from_numpy(tone(1500.0, seconds=2.0, amplitude=0.2))
    sources = torch.stack([a, b])
    est = ideal_ratio_mask(a + b, sources)
    assert est.shape == sources.shape
    for i in range(2):
        assert float(si_sdr(est[i], sources[i])) > 20
        assert si_sdr_db(est[i].numpy(), sources[i].numpy()) > 20
    # and the mixture itself scores far lower than the oracle
    assert float(si_sdr(a + b, a)) < 5


def test_ideal_ratio_mask_of_a_single_source_is_identity(tone):
    a = torch.from_numpy(tone(300.0, seconds=1.0))
    est = ideal_ratio_mask(a, a[None])
    assert (est[0] - a).abs().max() < 1e-4
