"""``ganglion.backend.onednn.conv.frozen_weights``: inside the block the forward convolution
converts each weight array to oneDNN's blocked layout once and reuses it (the per-call weight
reorder was most of the time of a convolution over few pixels). Results equal the unfrozen
kernel's and PyTorch's; the copies are keyed on the array object, and all are freed when the
outermost block exits."""
import gc

import numpy as np
import pytest
import torch

from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

if library.available():
    from ganglion.backend.onednn import conv

# x shape, w shape, stride, padding, dilation, groups
CASES = [((1, 64, 1, 1), (64, 64, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
         ((2, 16, 9, 7), (32, 16, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1),
         ((2, 16, 8, 8), (32, 8, 5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), 2),
         ((1, 16, 8, 8), (16, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (2, 2), 16)]


def arrays(case, seed):
    rng = np.random.default_rng(seed)
    x_shape, w_shape = case[:2]
    return (rng.standard_normal(x_shape).astype(np.float32),
            rng.standard_normal(w_shape).astype(np.float32),
            rng.standard_normal(w_shape[0]).astype(np.float32))


def torch_forward(x, w, b, stride, padding, dilation, groups):
    xt = torch.nn.functional.pad(torch.tensor(x), (padding[1][0], padding[1][1],
                                                   padding[0][0], padding[0][1]))
    return torch.nn.functional.conv2d(xt, torch.tensor(w), None if b is None else torch.tensor(b),
                                      stride, 0, dilation, groups).numpy()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_frozen_results_equal_the_unfrozen_kernel_and_pytorch(case, with_bias):
    x, w, b = arrays(case, 0)
    b = b if with_bias else None
    geometry = case[2:]
    expected = conv.conv2d_forward(x, w, b, *geometry)
    np.testing.assert_allclose(expected, torch_forward(x, w, b, *geometry), rtol=1e-4, atol=1e-4)
    with conv.frozen_weights():
        first = conv.conv2d_forward(x, w, b, *geometry)
        again = conv.conv2d_forward(x * 2, w, b, *geometry)
        assert conv.frozen_weight_count() >= 1
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(again, conv.conv2d_forward(x * 2, w, b, *geometry))
    assert conv.frozen_weight_count() == 0


def test_the_blocked_copy_is_reused_and_dropped_on_exit():
    """Reuse is observable by breaking the promise: a weight written in place inside the block
    still convolves as it was (no reorder ran), and the new values count after the block."""
    case = CASES[1]
    x, w, b = arrays(case, 1)
    geometry = case[2:]
    before = conv.conv2d_forward(x, w, b, *geometry)
    with conv.frozen_weights():
        with conv.frozen_weights():  # nested blocks keep the copies until the outermost exits
            np.testing.assert_array_equal(conv.conv2d_forward(x, w, b, *geometry), before)
        w *= 3
        np.testing.assert_array_equal(conv.conv2d_forward(x, w, b, *geometry), before)
    assert conv.frozen_weight_count() == 0
    after = conv.conv2d_forward(x, w, b, *geometry)
    np.testing.assert_allclose(after, torch_forward(x, w, b, *geometry), rtol=1e-4, atol=1e-4)
    assert not np.allclose(after, before)


def test_copies_are_per_array_object():
    """Two weights of one shape, and a new array at a freed one's address, each get their own
    conversion; a converted (float64 or strided) weight is never cached."""
    case = CASES[0]
    x, w1, b = arrays(case, 2)
    _, w2, _ = arrays(case, 3)
    geometry = case[2:]
    with conv.frozen_weights():
        for w in (w1, w2, w1):
            np.testing.assert_allclose(conv.conv2d_forward(x, w, b, *geometry),
                                       torch_forward(x, w, b, *geometry), rtol=1e-4, atol=1e-4)
        assert conv.frozen_weight_count() == 2
        for seed in (4, 5):  # a fresh array each time, possibly at the same address and id
            _, w, _ = arrays(case, seed)
            np.testing.assert_allclose(conv.conv2d_forward(x, w, b, *geometry),
                                       torch_forward(x, w, b, *geometry), rtol=1e-4, atol=1e-4)
            del w
            gc.collect()
        strided = np.asfortranarray(w1)
        conv.conv2d_forward(x, strided, b, *geometry)
        assert conv.frozen_weight_count() == 4


def test_bias_does_not_change_the_implementation():
    """A 512->512 3x3 convolution over a 1x1 input was reported 1.7x slower with bias: oneDNN
    chooses the same implementation with and without it (both plans' impl info strings), so
    the bias costs only its addition."""
    from ganglion.backend.onednn import _runtime
    x_shape, w_shape = (1, 512, 1, 1), (512, 512, 3, 3)
    geometry = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    names = [_runtime.cached_plan(conv._key("forward", x_shape, w_shape, *geometry, bias),
                                  lambda bias=bias: conv._forward_plan(x_shape, w_shape, *geometry,
                                                                       bias)).implementation
             for bias in (False, True)]
    assert names[0] == names[1]
