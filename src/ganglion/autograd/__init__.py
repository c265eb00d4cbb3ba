"""``ganglion.autograd``: PyTorch's ``torch.autograd`` namespace.

- ``Function`` (custom differentiable ops, ``autograd/function.py``), ``once_differentiable``;
- ``grad`` and ``backward`` over several tensors, ``gradcheck`` and ``gradgradcheck``;
- the grad modes (``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``is_grad_enabled``);
- ``functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``vhp``, ``hvp``;
- ``Variable`` (old PyTorch code: ``Variable(t)`` is a tensor, ``isinstance(x, Variable)``
  checks for one) and ``set_detect_anomaly``/``detect_anomaly`` (accepted; see below).

The engine itself is ``ganglion.core.autograd``.
"""
from ganglion.autograd import functional
from ganglion.autograd.function import Function, FunctionCtx, once_differentiable
from ganglion.core import autograd as _engine
from ganglion.core.autograd import GradcheckError, gradcheck
from ganglion.core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ganglion.core.tensor import Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable", "grad", "backward", "gradcheck",
           "gradgradcheck", "GradcheckError",
           "functional", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "Variable", "set_detect_anomaly", "detect_anomaly", "is_anomaly_enabled"]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs`` as a tuple, without touching
    ``.grad`` (PyTorch's signature; see ``ganglion.core.autograd.grad``).

    ``allow_unused=True`` gives None for an input the outputs do not depend on (an error
    otherwise); ``materialize_grads=True`` gives zeros instead (and implies allow_unused).
    ``is_grads_batched=True``: the first dimension of each grad_output is a batch of seeds,
    and each result has that batch dimension first (one backward pass per seed).
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    allow = bool(allow_unused) or materialize_grads
    inputs = _engine._as_list(inputs)  # once: a generator (model.parameters()) is read once
    if is_grads_batched:
        result = _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow)
    else:
        result = _engine.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow)
    if materialize_grads:
        from ganglion.core.creation import zeros_like
        result = tuple(zeros_like(t) if g is None else g for g, t in zip(result, inputs))
    return result


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused):
    from ganglion.core.ops import stack
    outputs_list = _engine._as_list(outputs)
    seeds = _engine._as_list(grad_outputs)
    if grad_outputs is None or any(s is None for s in seeds):
        raise RuntimeError("grad(): is_grads_batched=True needs a batch of grad_outputs for every "
                           "output (the first dimension of each is the batch)")
    batch = seeds[0].shape[0]
    for k, s in enumerate(seeds):
        if s.shape[0] != batch:
            raise RuntimeError(f"grad(): with is_grads_batched=True every grad_output must have the "
                               f"same batch size (first dimension): grad_output 0 has {batch}, "
                               f"grad_output {k} has {s.shape[0]}")
    per_seed = []
    for b in range(batch):
        keep = True if b < batch - 1 else retain_graph
        per_seed.append(_engine.grad(outputs_list, inputs, [s[b] for s in seeds], keep,
                                     create_graph, allow_unused))
    return tuple(None if results[0] is None else stack(list(results))
                 for results in zip(*per_seed))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of several ``tensors`` (seeded by ``grad_tensors``) into the
    ``.grad`` of the leaves, in one walk: ``backward([a, b], [ga, gb])`` is
    ``(a * ga).sum() + (b * gb).sum()`` differentiated, as in PyTorch."""
    if grad_variables is not None:
        if grad_tensors is not None:
            raise RuntimeError("backward(): pass grad_tensors or its old name grad_variables, "
                               "not both")
        grad_tensors = grad_variables
    roots = _engine._as_list(tensors)
    seeds = [None] * len(roots) if grad_tensors is None else _engine._as_list(grad_tensors)
    if len(seeds) != len(roots):
        raise RuntimeError(f"backward(): got {len(roots)} tensors and {len(seeds)} gradients: give "
                           "one gradient (or None) per tensor")
    for i, t in enumerate(roots):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward(): tensors must be Tensors, got a {type(t).__name__} at "
                            f"index {i}")
        if not t.requires_grad:
            raise RuntimeError(f"backward(): element {i} of tensors does not require grad and "
                               "does not have a grad_fn")
    if not roots:
        raise RuntimeError("backward(): no tensors given to differentiate")
    if len(roots) == 1:
        return _engine.backward(roots[0], seeds[0], retain_graph, create_graph, inputs)
    if retain_graph is None:
        retain_graph = create_graph or any(t._data is None for t in roots)
    seeds = [_engine._seed_gradient(t, g, "backward()") for t, g in zip(roots, seeds)]
    only = None if inputs is None else {id(t) for t in _engine._checked_inputs(inputs, "backward")}
    _engine._run(roots, seeds, retain_graph, create_graph, accumulate=True, capture=only)


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True):
    """Check second derivatives: ``gradcheck`` of the first-order gradients of ``func`` (taken
    with ``create_graph=True`` and seeded by ``grad_outputs``, random when not given) with
    respect to both the inputs and the seeds, as PyTorch's gradgradcheck does."""
    import numpy as np
    from ganglion.core.tensor import make_tensor
    inputs = _engine._as_list(inputs)
    if grad_outputs is None:
        with enable_grad():
            outputs = [o for o in _engine._as_list(func(*inputs)) if o.requires_grad]
        rng = np.random.default_rng(1)
        grad_outputs = [make_tensor(rng.standard_normal(o.shape).astype(o._data.dtype),
                                    requires_grad=True) for o in outputs]
    else:
        grad_outputs = _engine._as_list(grad_outputs)
    n_inputs = len(inputs)

    def first_order(*args):
        values, seeds = args[:n_inputs], args[n_inputs:]
        with enable_grad():  # gradcheck evaluates under no_grad; this needs a graph
            outputs = [o for o in _engine._as_list(func(*values)) if o.requires_grad]
            wrt = [t for t in values if isinstance(t, Tensor) and t.requires_grad]
            grads = _engine.grad(outputs, wrt, list(seeds), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_order, inputs + grad_outputs, eps, atol, rtol, raise_exception)


class _VariableMeta(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """Old PyTorch code's wrapper, now a Tensor: ``Variable(t, requires_grad=True)`` is a tensor
    sharing ``t``'s memory (``t`` itself when nothing changes), and every Tensor is an instance."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad == data.requires_grad and data._op is None:
            return data
        t = data.detach()
        if requires_grad:
            t.requires_grad_(True)
        return t


_anomaly = [False]


def is_anomaly_enabled():
    """Whether ``set_detect_anomaly(True)`` is in effect (it changes nothing else here)."""
    return _anomaly[0]


class set_detect_anomaly:
    """Accepted for PyTorch code: sets the flag that ``is_anomaly_enabled`` reads, and nothing
    else. ganglion's errors in backward already name the op and shapes that failed, which is
    what PyTorch's anomaly mode adds; it does not check for NaN gradients."""

    def __init__(self, mode, check_nan=True):
        self._previous = _anomaly[0]
        _anomaly[0] = bool(mode)
        self.check_nan = check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _anomaly[0] = self._previous
        return False


class detect_anomaly(set_detect_anomaly):
    """``with detect_anomaly():`` (or as a decorator): see ``set_detect_anomaly``."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self._previous = None

    def __enter__(self):
        self._previous = _anomaly[0]
        _anomaly[0] = True
        return self

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper
