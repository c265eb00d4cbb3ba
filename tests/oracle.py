"""One helper per op family: compare a ganglion function with PyTorch and with central differences.

``check_op(gn_fn, torch_fn, arrays)`` runs both functions on the same inputs and checks
- the forward values (float64 and float32),
- the gradients of every float input against PyTorch's (through a random projection of the
  outputs, which exercises the whole vector-Jacobian product),
- the float64 gradient against central differences (``ganglion.autograd.gradcheck``),
- optionally the second derivative against PyTorch's (``second_order=True``),
- the same forward values and gradients from the op compiled (``gn.function`` of placeholders,
  ``compiled=False`` skips it),
- and, where ``ganglion.config.kernels`` is "auto", the forward values (float64 and float32) and
  gradients again with each available kernel provider forced in turn (``gn.config(kernels=...)``:
  oneDNN, numba, the NumPy reference), so that every provider's kernels meet PyTorch. Under a
  forced setting (``GANGLION_KERNELS=numpy``) only that setting runs.
Adding an op test then costs a few lines.
"""
import numpy as np
import torch

import ganglion as gn
from ganglion.backend import providers

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


def forced_kernel_settings():
    """The kernels settings check_op runs under besides the current one: each available
    provider's name where the current setting is "auto", else none."""
    if gn.config.kernels != "auto":
        return []
    return providers.available_providers()


def check_op(gn_fn, torch_fn, arrays, atol=1e-6, rtol=1e-5, grad=True, gradcheck=True,
             second_order=False, float32=True, grad_inputs=None, compiled=True):
    """Forward and backward against PyTorch in float64 (and forward in float32), plus a
    numerical gradient check, compiled and with every kernel provider (see the module
    docstring). ``arrays`` are NumPy arrays; float arrays should be float64. ``grad_inputs``
    lists the positions of inputs to differentiate (default: all float ones)."""
    positions = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    if grad_inputs is not None:
        positions = list(grad_inputs)
    torch_out, torch_grads, weights, differentiable = _check_eager(
        gn_fn, torch_fn, arrays, atol, rtol, grad, second_order, float32, positions)
    if compiled:
        _check_compiled(gn_fn, arrays, torch_out, torch_grads, weights, differentiable, positions,
                        atol, rtol)
    for kernels in forced_kernel_settings():
        with gn.config(kernels=kernels):
            try:
                _check_eager(gn_fn, torch_fn, arrays, atol, rtol, grad, False, float32, positions)
            except AssertionError as error:
                raise AssertionError(f"with kernels={kernels!r}: {error}") from error
    if gradcheck and grad and positions:
        fresh = [_to_gn(a, i in positions) for i, a in enumerate(arrays)]
        assert gn.autograd.gradcheck(gn_fn, fresh, eps=1e-6, atol=1e-5, rtol=1e-4)


def _check_eager(gn_fn, torch_fn, arrays, atol, rtol, grad, second_order, float32, positions):
    """check_op's eager part; returns PyTorch's outputs, its gradients (None without grad), the
    output weights the gradients were taken with and the positions of the outputs they weigh."""
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
        return torch_out, None, None, []
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
    differentiable = [k for k, g in enumerate(gn_out) if g.requires_grad]
    return torch_out, torch_grads, weights, differentiable


def _check_compiled(gn_fn, arrays, torch_out, torch_grads, weights, differentiable, positions,
                    atol, rtol):
    """The op traced on placeholders and compiled with ``gn.function``: its outputs and the
    gradients of the weighted outputs (the eager check's weights) against PyTorch's."""
    arrays = [np.asarray(a) for a in arrays]
    inputs = [gn.placeholder(a.dtype, a.shape, name=f"input{i}") for i, a in enumerate(arrays)]
    outputs = _as_list(gn_fn(*inputs))
    grads = []
    if torch_grads is not None:
        wrt = [inputs[i] for i in positions]
        grads = gn.grad([outputs[k] for k in differentiable], wrt, [gn.from_numpy(w) for w in weights],
                        allow_unused=True)
    present = [k for k, g in enumerate(grads) if g is not None]
    compiled = gn.function(inputs, outputs + [grads[k] for k in present], on_unused_input="ignore")
    results = compiled(*arrays)
    for k, (got, want) in enumerate(zip(results, torch_out)):
        np.testing.assert_allclose(got, _numpy(want), atol=atol, rtol=rtol,
                                   err_msg=f"compiled forward, output {k}")
    got_grads = dict(zip(present, results[len(outputs):]))
    for k, want in enumerate(torch_grads or []):
        got = got_grads.get(k)
        if want is None or got is None:   # no gradient on one side: zeros (or none) on the other
            assert got is None or np.allclose(got, 0), f"compiled: input {positions[k]} has a gradient"
            assert want is None or np.allclose(_numpy(want), 0), f"compiled: no gradient for input {positions[k]}"
            continue
        np.testing.assert_allclose(got, _numpy(want), atol=atol, rtol=rtol,
                                   err_msg=f"compiled gradient of input {positions[k]}")
