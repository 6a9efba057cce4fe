"""chunking.OverlapAdd: exact reconstruction with an identity model, streaming, call counts."""

import pytest
import torch

from voicetools.chunking import OverlapAdd


class Counting:
    """A model mapping (1, segment) to (n_out, segment): source i is the input times (i + 1)."""

    def __init__(self, segment, n_out=1):
        self.segment, self.n_out, self.calls = segment, n_out, 0

    def __call__(self, chunk):
        assert tuple(chunk.shape) == (1, self.segment)  # every chunk has exactly the model's length
        self.calls += 1
        return chunk * torch.arange(1, self.n_out + 1, dtype=chunk.dtype)[:, None]


def _run(x, segment, overlap, block, n_out=1):
    model = Counting(segment, n_out)
    ola = OverlapAdd(model, segment=segment, overlap=overlap, n_out=n_out)
    outs = [ola.push(x[:, i : i + block]) for i in range(0, x.shape[-1], block)]
    outs.append(ola.finish())
    for o in outs:
        assert o.shape[0] == n_out
    return torch.cat(outs, 1), model.calls


SEGMENTS = [(16, 0), (16, 4), (16, 8), (100, 30), (64, 63)]
LENGTHS = [1, 2, 15, 16, 17, 28, 31, 32, 33, 99, 100, 101, 257, 1000, 4097]


@pytest.mark.parametrize("segment, overlap", SEGMENTS)
@pytest.mark.parametrize("length", LENGTHS)
def test_identity_reproduces_input_for_any_length(segment, overlap, length):
    x = torch.randn(1, length, generator=torch.Generator().manual_seed(length))
    for block in sorted({1 if length <= 300 else 37, 7, segment, length}):
        y, calls = _run(x, segment, overlap, block)
        assert y.shape == x.shape
        torch.testing.assert_close(y, x, atol=1e-6, rtol=1e-5)  # float rounding only
        assert calls == OverlapAdd.n_chunks(length, segment, overlap)


def test_several_outputs_keep_their_scale():
    x = torch.randn(1, 1234, generator=torch.Generator().manual_seed(1))
    y, _ = _run(x, 100, 25, 333, n_out=3)
    torch.testing.assert_close(y, torch.cat([x, 2 * x, 3 * x]), atol=1e-5, rtol=0)


def test_output_streams_with_bounded_delay():
    segment, overlap = 50, 10
    ola = OverlapAdd(Counting(segment), segment=segment, overlap=overlap, n_out=1)
    emitted = 0
    for i in range(40):
        emitted += ola.push(torch.ones(1, 25)).shape[-1]
        pushed = 25 * (i + 1)
        assert pushed - emitted < segment  # held back: at most one chunk's worth
        assert ola.acc.shape[-1] == segment  # memory does not grow with the input
    assert emitted + ola.finish().shape[-1] == 1000


def test_cross_fade_blends_chunk_outputs():
    """A model that outputs each chunk's index: in an overlap the output moves linearly between them."""
    segment, overlap = 20, 10
    calls = []

    def model(chunk):
        calls.append(None)
        return torch.full((1, segment), float(len(calls)))

    ola = OverlapAdd(model, segment=segment, overlap=overlap, n_out=1)
    y = torch.cat([ola.push(torch.zeros(1, 40)), ola.finish()], 1)[0]
    assert y.shape[0] == 40
    torch.testing.assert_close(y[:10], torch.ones(10))
    fade = y[10:20]
    assert fade[0] > 1.0 and fade[-1] < 2.0 and (fade.diff() > 0).all()  # 1 -> 2, monotonic
    torch.testing.assert_close(fade + fade.flip(0), torch.full((10,), 3.0))  # symmetric ramp


@pytest.mark.parametrize("segment, overlap", [(10, 10), (10, 11), (10, -1)])
def test_bad_overlap_is_rejected(segment, overlap):
    with pytest.raises(ValueError, match="overlap"):
        OverlapAdd(lambda c: c, segment=segment, overlap=overlap, n_out=1)


def test_n_chunks_known_values():
    assert OverlapAdd.n_chunks(1, 16, 4) == 1
    assert OverlapAdd.n_chunks(16, 16, 4) == 1  # one exact chunk covers it all
    assert OverlapAdd.n_chunks(17, 16, 4) == 2
    assert OverlapAdd.n_chunks(28, 16, 4) == 2  # chunks at 0 and 12 cover 0..28
    assert OverlapAdd.n_chunks(29, 16, 4) == 3
    assert OverlapAdd.n_chunks(64000, 64000, 8000) == 1
