"""Reverse-mode automatic differentiation over recorded nodes.

The engine sorts the recorded nodes reachable from the outputs topologically, then walks them
from the outputs back: each node's gradient is complete (the sum over all its uses) before its
op's ``vjp`` runs. First-order backward runs with recording off, so it builds no graph; with
``create_graph=True`` the vjps record, and the gradients can be differentiated again.
The same walk over symbolic values builds the symbolic gradient graph of ``ganglion.grad``,
from the graph's numerically stable form (``symbolic/rewrites/stable_grad.py``).
"""
from ganglion.backend import current as backend
from ganglion.core import tracing
from ganglion.core.grad_mode import set_grad_enabled
from ganglion.core.rebinds import rebound as rebound_tensors, correct_graph, inputs_as_read
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.core.versions import bump_storage, owner, version_of

__all__ = ["backward", "grad", "gradcheck", "GradcheckError", "register_post_accumulate_grad_hook",
           "queue_backward_end_callback"]


class GradcheckError(RuntimeError, AssertionError):
    """gradcheck's failure: a RuntimeError, as PyTorch's GradcheckError is, and an
    AssertionError, as ganglion raised before."""

#: Leaves' post-accumulate-grad hooks, {id(leaf): (weakref to the leaf, [hooks])}: empty unless
#: someone registered one (DistributedDataParallel), so the walk checks one dict and moves on.
_post_accumulate_hooks = {}
#: Callables run once when the backward() now running has accumulated every gradient.
_backward_end_callbacks = []

#: Whether the walk now running keeps the graph (retain_graph): custom Functions read it to free
#: their saved tensors after a backward that frees the graph (ganglion.autograd.function).
graph_retained = [True]

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read values that backward "
    "already freed). Pass retain_graph=True to the first backward() or grad() call if you "
    "need to go through the graph again.")


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradient of ``tensor`` into the ``.grad`` of the leaves it depends on.

    ``gradient`` is d(final)/d(tensor); it may be left out only for a one-element tensor.
    ``inputs``, when given, restricts accumulation to those tensors.
    """
    if not tensor.requires_grad:
        raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn: "
                           "mark an input with requires_grad=True before computing it")
    if retain_graph is None:
        # A symbolic graph is a program to compile later: backward must not free it.
        retain_graph = create_graph or tensor._data is None
    seed = _seed_gradient(tensor, gradient, "backward()")
    only = None if inputs is None else {id(t) for t in _checked_inputs(inputs, "backward")}
    try:
        _run([tensor], [seed], retain_graph, create_graph, accumulate=True, capture=only)
    except BaseException:
        _backward_end_callbacks.clear()  # queued by hooks of a backward that did not finish
        raise
    while _backward_end_callbacks:
        _backward_end_callbacks.pop(0)()


def register_post_accumulate_grad_hook(tensor, hook):
    """Call ``hook(tensor)`` during backward() as soon as the leaf ``tensor``'s ``.grad`` holds
    its complete gradient for this pass (PyTorch's ``Tensor.register_post_accumulate_grad_hook``:
    DistributedDataParallel starts all-reducing a bucket of gradients from it while backward goes
    on with earlier layers). Returns a handle with ``remove()``."""
    import weakref
    if tensor._op is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot "
                           "be registered on non-leaf tensors")
    if not tensor.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a "
                           "tensor that doesn't require gradient")
    key = id(tensor)
    entry = _post_accumulate_hooks.get(key)
    if entry is None or entry[0]() is not tensor:
        ref = weakref.ref(tensor, lambda _, key=key: _post_accumulate_hooks.pop(key, None))
        entry = _post_accumulate_hooks[key] = (ref, [])
    hooks = entry[1]
    hooks.append(hook)

    class _Handle:
        def remove(self):
            if hook in hooks:
                hooks.remove(hook)
            if not hooks and _post_accumulate_hooks.get(key) is entry:
                del _post_accumulate_hooks[key]
    return _Handle()


def queue_backward_end_callback(callback):
    """Run ``callback()`` when the backward() now running has accumulated every gradient
    (PyTorch's ``Variable._execution_engine.queue_callback``); call it from a hook."""
    _backward_end_callbacks.append(callback)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Returns a tuple with one gradient per input. An input that no output depends on is an
    error unless ``allow_unused=True`` (its gradient is then None). For symbolic outputs the
    result is a symbolic graph, built from the same vjp rules.
    """
    outputs = _as_list(outputs)
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"grad(): outputs must be Tensors, got a {type(out).__name__} at index "
                            f"{i}")
    input_list = _checked_inputs(inputs, "grad")
    for i, t in enumerate(input_list):
        if t._data is not None and not t.requires_grad:
            raise RuntimeError(f"grad(): input {i}{' ' + repr(t.name) if t.name else ''} (shape "
                               f"{tuple(t.shape)}) does not require grad")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = _as_list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        # ValueError as ganglion raised, RuntimeError as PyTorch raises.
        from ganglion.core.errors import ArgumentError
        raise ArgumentError(f"grad(): {len(outputs)} outputs but {len(grad_outputs)} grad_outputs: "
                            "give one gradient (or None) per output")
    for i, out in enumerate(outputs):
        if not out.requires_grad and out._data is not None:
            raise RuntimeError(f"grad(): output {i} does not require grad and has no grad_fn")
    symbolic = any(out._data is None for out in outputs)
    if retain_graph is None:
        retain_graph = create_graph or symbolic
    seeds = [_seed_gradient(out, g, "grad()") for out, g in zip(outputs, grad_outputs)]
    captured = _run(outputs, seeds, retain_graph or symbolic, create_graph or symbolic,
                    accumulate=False, capture={id(t) for t in input_list})
    result = []
    for i, t in enumerate(input_list):
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {i}{' ' + repr(t.name) if t.name else ''} (shape "
                f"{tuple(t.shape)}) was not used to compute the outputs; pass allow_unused=True "
                "to get None for it")
        result.append(g)
    return tuple(result)


def _as_list(x):
    """A tensor, or any iterable of them (a list, a tuple, ``model.parameters()``), as a list."""
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    try:
        return list(x)
    except TypeError:
        return [x]


def _checked_inputs(inputs, where):
    """``inputs`` of grad() or backward() as a non-empty list of Tensors (PyTorch's errors)."""
    inputs = _as_list(inputs)
    if not inputs:
        raise RuntimeError(f"`inputs` argument to `{where}()` cannot be empty.")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise RuntimeError(f"{where}(): all inputs have to be Tensors, but got "
                               f"{type(t).__name__} at index {i}")
    return inputs


def _seed_gradient(tensor, gradient, where):
    if gradient is None:
        if tensor._data is None:
            from ganglion.core.creation import ones_like
            return ones_like(tensor)
        if tensor._data.size != 1:
            raise RuntimeError(
                f"{where}: grad can be created implicitly only for a one-element output, got "
                f"shape {tuple(tensor.shape)}: pass gradient= (a tensor of that shape), or "
                "reduce the output first (e.g. loss.sum())")
        return make_tensor(backend.xp.ones_like(tensor._data))
    if not isinstance(gradient, Tensor):
        from ganglion.core.creation import tensor as to_tensor
        gradient = to_tensor(gradient, dtype=tensor.dtype)
    if tensor._data is not None and gradient._data is not None and gradient.shape != tensor.shape:
        raise RuntimeError(f"{where}: gradient has shape {tuple(gradient.shape)} but the output "
                           f"has shape {tuple(tensor.shape)}")
    if gradient.dtype is not tensor.dtype:
        # As PyTorch: a seed of another dtype is cast to the output's, so gradients keep the
        # inputs' dtypes (a float64 seed made float32 inputs' gradients float64).
        gradient = gradient.to(tensor.dtype)
    return gradient


def _topological_order(roots):
    """Recorded (non-leaf) tensors reachable from ``roots``, inputs before the tensors using them."""
    order = []
    visited = set()
    stack = [(root, False) for root in roots if root._op is not None]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        inputs = t._inputs
        if inputs is None:
            raise RuntimeError(_FREED_MESSAGE)
        if rebound_tensors:  # an input changed in place after t was made: t read its old value
            inputs = inputs_as_read(t)
        for i in inputs:
            if i._op is not None and i.requires_grad and id(i) not in visited:
                stack.append((i, False))
    return order


def _run(roots, seeds, retain_graph, create_graph, accumulate, capture):
    """The backward walk. Returns the captured gradients {id(tensor): gradient}."""
    if any(root._data is None for root in roots):
        # A symbolic graph is differentiated in its numerically stable form (log(1 - sigmoid(z))
        # as -softplus(z), ...): the gradient of the form as written is NaN where it saturates.
        from ganglion.symbolic.rewrites.stable_grad import stable_roots
        correct_graph(roots)  # nodes made before an in-place change read the old value
        roots = stable_roots(roots, capture)
    previous = graph_retained[0]
    graph_retained[0] = retain_graph
    try:
        return _walk(roots, seeds, retain_graph, create_graph, accumulate, capture)
    finally:
        graph_retained[0] = previous


def _walk(roots, seeds, retain_graph, create_graph, accumulate, capture):
    grads = {}
    for root, seed in zip(roots, seeds):
        key = id(root)
        grads[key] = seed if key not in grads else grads[key] + seed
    order = _topological_order(roots)
    leaf_grads = {}
    captured = {}
    # Arrays that a .grad must not take over without a copy: the caller's seeds, hook results,
    # retained non-leaf grads and every .grad already assigned in this walk.
    foreign = {id(owner(s._data)) for s in seeds if s._data is not None}
    # Leaves with post-accumulate hooks are finished as soon as their last user has run.
    ready = _leaf_ready_steps(order) if accumulate and _post_accumulate_hooks else None
    with set_grad_enabled(create_graph):
        for root in roots:
            if root._op is None:
                _collect_leaf(root, grads.pop(id(root), None), leaf_grads, capture)
        for step, t in enumerate(reversed(order)):
            if ready is not None and step in ready:
                for key in ready[step]:
                    if key in leaf_grads:
                        _finish_leaf(*leaf_grads.pop(key), accumulate, capture, captured,
                                     create_graph, foreign)
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._hooks:
                g = _run_hooks(t, g, foreign)
            if capture is not None and id(t) in capture:
                captured[id(t)] = g
            if accumulate and (t._retains_grad or (capture is not None and id(t) in capture)):
                _accumulate(t, g, create_graph, foreign)
            _check_versions(t)
            inputs = t._inputs
            needs = [i.requires_grad for i in inputs]
            in_grads = t._op.vjp(t, g, needs)
            for i, gi, need in zip(inputs, in_grads, needs):
                if gi is None or not need:
                    continue
                if i._op is None:
                    _collect_leaf(i, gi, leaf_grads, capture)
                else:
                    key = id(i)
                    grads[key] = gi if key not in grads else grads[key] + gi
            if not retain_graph:
                t._inputs = None
                t._saved_versions = None
        for leaf, g in leaf_grads.values():
            _finish_leaf(leaf, g, accumulate, capture, captured, create_graph, foreign)
    return captured


def _finish_leaf(leaf, g, accumulate, capture, captured, create_graph, foreign):
    """Run the leaf's hooks on its complete gradient ``g``, capture and accumulate it."""
    if leaf._hooks:
        g = _run_hooks(leaf, g, foreign)
    if capture is not None and id(leaf) in capture:
        captured[id(leaf)] = g
    if accumulate and (capture is None or id(leaf) in capture):
        _accumulate(leaf, g, create_graph, foreign)
        entry = _post_accumulate_hooks.get(id(leaf)) if _post_accumulate_hooks else None
        if entry is not None and entry[0]() is leaf:
            for hook in list(entry[1]):
                hook(leaf)


def _leaf_ready_steps(order):
    """{step of the reversed walk: [ids of hooked leaves whose gradient is complete before that
    step runs]}: a leaf is complete once the earliest node (in ``order``) that uses it has run."""
    hooked = _post_accumulate_hooks
    first_use = {}
    for k, t in enumerate(order):
        for i in t._inputs:
            key = id(i)
            if i._op is None and key in hooked and key not in first_use:
                first_use[key] = k
    ready = {}
    n = len(order)
    for key, k in first_use.items():
        if n - k < n:  # the last node's leaves are finished by the walk's final loop
            ready.setdefault(n - k, []).append(key)
    return ready


def _collect_leaf(leaf, g, leaf_grads, capture):
    if g is None or not leaf.requires_grad:
        return
    key = id(leaf)
    if key in leaf_grads:
        leaf_grads[key] = (leaf, leaf_grads[key][1] + g)
    else:
        leaf_grads[key] = (leaf, g)


def _accumulate(t, g, create_graph, foreign):
    """Add ``g`` into ``t.grad``, as PyTorch does. A .grad owns its memory: it is never a
    read-only broadcast view, nor shared with another tensor's .grad or with an array the
    caller holds (a seed, a hook's result), so in-place edits (clipping, optimizer steps) are
    safe. A second first-order backward adds into the existing .grad in place, so references
    to it see the sum."""
    if t._data is None:
        return
    if g.dtype is not t.dtype:
        g = g.to(t.dtype)
    old = t._grad
    if g._data is None and tracing.active:  # jit restores this .grad when its trace ends
        tracing.active[-1].saw_grad(t)
    if create_graph or g._data is None:  # a symbolic gradient (backward of a symbolic loss) stays one
        if old is not None:
            t.grad = old + g
        elif g._data is not None and id(owner(g._data)) in foreign:
            t.grad = g.clone()
        else:
            t.grad = g
        if t.grad._data is not None:
            foreign.add(id(owner(t.grad._data)))
        return
    data = g._data
    if data.shape != t._data.shape:
        # A hook returned a gradient of another shape (or a vjp is wrong): refused by the
        # checked assignment, with the shapes named, rather than broadcast into .grad.
        t.grad = make_tensor(data)
    if old is not None:
        old_data = old._data
        if (not old.requires_grad and old_data is not None and old_data.flags.writeable
                and old_data.shape == data.shape and old_data.dtype == data.dtype):
            old_data += data
            bump_storage(old_data)
        else:  # through the checked assignment: old._data may have been replaced by the user
            t.grad = make_tensor(old_data + data)
        return
    base = owner(data)
    if not data.flags.writeable or id(base) in foreign:
        data = data.copy()
        base = data
    foreign.add(id(base))
    t._grad = make_tensor(data)  # shape checked above, dtype converted: no need to check again


def _run_hooks(t, g, foreign):
    for hook in list(t._hooks):
        result = hook(g)
        if result is not None and result is not g:
            if result._data is not None:
                foreign.add(id(owner(result._data)))
            g = result
    return g


def _check_versions(t):
    saved = t._saved_versions
    if saved is None:
        return
    op = t._op
    if op.saves_output and saved[0] != version_of(t):
        raise RuntimeError(
            f"the output of {type(op).__name__} (shape {tuple(t.shape)}) is needed for its "
            "gradient but was modified by an in-place operation: use an out-of-place op instead")
    if op.saves_inputs:
        for i, version in zip(t._inputs, saved[1:]):
            current = version_of(i)
            if current != version:
                raise RuntimeError(
                    f"one of the tensors needed to compute the gradient of {type(op).__name__} "
                    f"(shape {tuple(i.shape)}) was modified by an in-place operation after it was "
                    f"used (version {current}, expected {version}). Use an out-of-place op "
                    "(x = x + y instead of x += y), or .clone() the tensor before changing it.")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare ``fn``'s analytic gradients with central differences, input by input.

    ``inputs`` are tensors (float64 recommended); those with ``requires_grad`` are checked.
    ``fn`` may return one tensor or several; each output element's gradient is checked through
    a random projection of the outputs, which checks the full Jacobian-vector product. Returns
    True, or raises (or returns False) naming the input and the largest mismatch.
    """
    import numpy as np
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    rng = np.random.default_rng(0)

    def outputs():
        out = fn(*inputs)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    if not checked:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    outs = outputs()
    projections = [rng.standard_normal(o.shape) for o in outs]

    def projected_value():
        with set_grad_enabled(False):
            return sum(float((np.asarray(o._data, np.float64) * p).sum()) for o, p in zip(outputs(), projections))

    # Outputs without a graph (constants, integer results) have a zero analytic Jacobian; the
    # numerical one must then be zero too, as in PyTorch.
    differentiable = [(o, make_tensor(p.astype(o._data.dtype)))
                      for o, p in zip(outs, projections) if o.requires_grad]
    if differentiable:
        analytic = grad([o for o, _ in differentiable], checked,
                        [s for _, s in differentiable], allow_unused=True)
    else:
        analytic = [None] * len(checked)
    for index, (t, a) in enumerate(zip(checked, analytic)):
        a = np.zeros(t.shape) if a is None else np.asarray(a._data, np.float64)
        numeric = np.zeros(t.shape)
        data = t._data
        # Index the array itself: reshape(-1) of a non-contiguous array would perturb a copy.
        for k in np.ndindex(*t.shape):
            original = data[k]
            data[k] = original + eps
            plus = projected_value()
            data[k] = original - eps
            minus = projected_value()
            data[k] = original
            numeric[k] = (plus - minus) / (2 * eps)
        if not np.allclose(a, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(a - numeric)), a.shape) if a.ndim else ()
            message = (f"gradcheck: input {index} (shape {tuple(t.shape)}): analytic and numerical "
                       f"gradients differ; at index {tuple(int(i) for i in worst)} analytic "
                       f"{a[worst]:.6g} vs numerical {numeric[worst]:.6g}")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True
