"""One helper per op family: compare a ganglion function with PyTorch and with central differences.

``check_op(gn_fn, torch_fn, arrays)`` runs both functions on the same inputs and checks
- the forward values (float64 and float32),
- the gradients of every float input against PyTorch's (through a random projection of the
  outputs, which exercises the whole vector-Jacobian product),
- the float64 gradient against central differences (``ganglion.autograd.gradcheck``),
- optionally the second derivative against PyTorch's (``second_order=True``).
Adding an op test then costs a few lines.
"""
import numpy as np
import torch

import ganglion as gn

torch.set_num_threads(1)


def _to_gn(array, requires_grad):
    t = gn.from_numpy(np.array(array, copy=True))
    if requires_grad and t.dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def _to_torch(array, requires_grad):
    t = torch.from_numpy(np.array(array, copy=True))
    if requires_grad and t.is_floating_point():
        t.requires_grad_(True)
    return t


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _numpy(t):
    if isinstance(t, gn.Tensor):
        return np.asarray(t.detach())
    return t.detach().numpy()


def check_forward(gn_fn, torch_fn, arrays, atol=1e-6, rtol=1e-5):
    gn_out = _as_list(gn_fn(*[_to_gn(a, False) for a in arrays]))
    torch_out = _as_list(torch_fn(*[_to_torch(a, False) for a in arrays]))
    assert len(gn_out) == len(torch_out)
    for g, t in zip(gn_out, torch_out):
        g_np, t_np = _numpy(g), _numpy(t)
        assert g_np.shape == t_np.shape, f"shape {g_np.shape} != torch {t_np.shape}"
        assert str(g.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], \
            f"dtype {g.dtype} != torch {t.dtype}"
        np.testing.assert_allclose(g_np, t_np, atol=atol, rtol=rtol)
    return gn_out


def check_op(gn_fn, torch_fn, arrays, atol=1e-6, rtol=1e-5, grad=True, gradcheck=True,
             second_order=False, float32=True, grad_inputs=None):
    """Forward and backward against PyTorch in float64 (and forward in float32), plus a
    numerical gradient check. ``arrays`` are NumPy arrays; float arrays should be float64.
    ``grad_inputs`` lists the positions of inputs to differentiate (default: all float ones)."""
    positions = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    if grad_inputs is not None:
        positions = list(grad_inputs)
    gn_in = [_to_gn(a, grad and i in positions) for i, a in enumerate(arrays)]
    torch_in = [_to_torch(a, grad and i in positions) for i, a in enumerate(arrays)]
    gn_out = _as_list(gn_fn(*gn_in))
    torch_out = _as_list(torch_fn(*torch_in))
    assert len(gn_out) == len(torch_out), f"{len(gn_out)} outputs vs torch {len(torch_out)}"
    for g, t in zip(gn_out, torch_out):
        g_np, t_np = _numpy(g), _numpy(t)
        assert g_np.shape == t_np.shape, f"shape {g_np.shape} != torch {t_np.shape}"
        np.testing.assert_allclose(g_np, t_np, atol=atol, rtol=rtol, err_msg="forward")
    if float32:
        as32 = [a.astype(np.float32) if np.asarray(a).dtype == np.float64 else a for a in arrays]
        check_forward(gn_fn, torch_fn, as32, atol=max(atol, 1e-5) * 10, rtol=max(rtol, 1e-4) * 10)
    if not grad or not positions:
        return
    rng = np.random.default_rng(1)
    diff_out = [(g, t) for g, t in zip(gn_out, torch_out) if g.requires_grad]
    assert diff_out, "no differentiable output"
    weights = [rng.standard_normal(g.shape) for g, _ in diff_out]
    gn_grads = gn.grad([g for g, _ in diff_out], [gn_in[i] for i in positions],
                       [gn.from_numpy(w) for w in weights], allow_unused=True,
                       create_graph=second_order)
    torch_grads = torch.autograd.grad([t for _, t in diff_out], [torch_in[i] for i in positions],
                                      [torch.from_numpy(w) for w in weights], allow_unused=True,
                                      create_graph=second_order)
    for i, g, t in zip(positions, gn_grads, torch_grads):
        if t is None:
            assert g is None or np.allclose(_numpy(g), 0), f"input {i}: torch has no gradient"
            continue
        assert g is not None, f"input {i}: ganglion gave no gradient"
        np.testing.assert_allclose(_numpy(g), _numpy(t), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i}")
    if second_order:
        # A first derivative that does not depend on the inputs (a bias's, leaky_relu's) has no
        # graph in ganglion, while PyTorch may still mark it as requiring grad: skip those.
        pairs = [(g, t) for g, t in zip(gn_grads, torch_grads)
                 if g is not None and t is not None and t.requires_grad and g.requires_grad]
        second_w = [rng.standard_normal(g.shape) for g, _ in pairs]
        gn2 = gn.grad([g for g, _ in pairs], [gn_in[i] for i in positions],
                      [gn.from_numpy(w) for w in second_w], allow_unused=True)
        torch2 = torch.autograd.grad([t for _, t in pairs], [torch_in[i] for i in positions],
                                     [torch.from_numpy(w) for w in second_w], allow_unused=True)
        for i, g, t in zip(positions, gn2, torch2):
            if t is None:
                continue
            np.testing.assert_allclose(_numpy(g), _numpy(t), atol=atol, rtol=rtol,
                                       err_msg=f"second derivative of input {i}")
    if gradcheck:
        fresh = [_to_gn(a, i in positions) for i, a in enumerate(arrays)]
        assert gn.autograd.gradcheck(gn_fn, fresh, eps=1e-6, atol=1e-5, rtol=1e-4)
