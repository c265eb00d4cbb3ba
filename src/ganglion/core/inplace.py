"""In-place operations (``x += y``, ``x.add_(y)``, ``x[i] = v``, ``zero_()``, ...).

Outside a recorded graph they write into the existing array, so views of it see the change, and
bump the tensor's version counter, which backward checks to refuse gradients computed from
overwritten values. On a tensor inside a recorded graph the result is computed out of place and
the tensor is *rebound* to it: its previous value and node move to a hidden tensor that the new
node takes as input, so the graph stays correct (views made earlier do not see that change).
A leaf that requires grad cannot be changed in place while grad mode is on, as in PyTorch.
A symbolic tensor (no value yet) is always rebound the same way, so ``y.add_(v)`` changes what y
stands for in a compiled graph; an input placeholder cannot be changed in place.

An operand computed from the tensor before the change (``y.add_(y * 3)``, ``y[0] = y[1]``) names
the Python object that now holds the result; ``read_before_change`` re-points such graphs to the
hidden old value, so eager backward and compiled graphs read the value from before the change,
as PyTorch does (there a node keeps the autograd node it was made from, here the tensor object).
Other nodes made before the change (``before = y * 5; y.add_(1)``) are not found then: each
rebind is recorded in core/rebinds.py, and the graph walks that give a graph its meaning
(backward, ``ganglion.grad``, ``ganglion.function``) point them to the value they read.
"""
import weakref
from collections import deque

from ganglion.core import tracing
from ganglion.core.blocked_tensor import take_value, value_holder
from ganglion.core.grad_mode import grad_enabled, no_grad
from ganglion.core.op import format_shape
from ganglion.core.rebinds import note_rebind, value_read
from ganglion.core.tensor import Tensor
from ganglion.core.versions import bump_storage, version_of

__all__ = ["inplace", "rebind"]


def inplace(x, fn, *args, name="in-place op"):
    """``x = fn(x, *args)`` performed in place on x (see the module docstring)."""
    if tracing.active:  # jit is tracing: the change becomes an update of the compiled function
        return tracing.active[-1].inplace(x, fn, args, name)
    symbolic = x.is_symbolic     # (read without converting a blocked value: core/blocked_tensor.py)
    if symbolic or grad_enabled[0] and (x.requires_grad or any(
            isinstance(a, Tensor) and a.requires_grad for a in args)):
        if symbolic and x._op is None:
            raise RuntimeError(
                f"{name}: the symbolic input {x.name or 'placeholder'!r} cannot be changed in "
                "place (the compiled function is given its value); use an out-of-place op "
                "(y = x + v).")
        if x._op is None and x.requires_grad and grad_enabled[0]:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be changed in place (its "
                "gradient would be wrong). Do it inside `with ganglion.no_grad():`, or use an "
                "out-of-place op (x = x + y).")
        new = fn(x, *args)
        _check_result(name, x, new)
        if new.dtype is not x.dtype:
            new = new.to(x.dtype)
        old = _move_node(x, new)
        # The operands and fn's inner nodes were computed from x before the change
        # (y.add_(y * 3), clamp_ built from several ops): make them read the old value.
        read_before_change(x, old, x._inputs)
        return x
    with no_grad():
        new = fn(x, *args)
    if new._data is None:
        raise TypeError(f"{name}: a tensor holding a value cannot be changed in place by a symbolic "
                        "expression outside ganglion.jit; compile the change as an update "
                        "instead: ganglion.function(..., updates=[(tensor, new_value)])")
    _check_result(name, x, new)
    try:
        x._data[...] = new._data
    except ValueError:
        if x._data.flags.writeable:
            raise
        from ganglion.core.dlpack import read_only_error
        raise read_only_error(name) from None
    bump_storage(x._data)
    return x


def _check_result(name, x, new):
    if new.shape != x.shape:
        raise RuntimeError(f"{name}: the result has shape {format_shape(new.shape)} but the tensor "
                           f"changed in place has shape {format_shape(x.shape)}; in-place ops cannot "
                           "broadcast the tensor they change")
    if new.dtype.category > x.dtype.category:
        raise RuntimeError(f"{name}: result type {new.dtype} cannot be stored in place in a tensor "
                           f"of type {x.dtype}")


def rebind(x, new):
    """Make ``x`` hold ``new``'s value and node; x's old value and node move to a hidden tensor."""
    _move_node(x, new)
    return x


def _move_node(x, new):
    """``rebind``; returns the hidden tensor that now holds x's old value and node."""
    old = value_holder(x)
    old.requires_grad = x.requires_grad
    old._op = x._op
    old._inputs = x._inputs
    old._saved_versions = x._saved_versions
    old._own_version = x._own_version
    old._hooks = x._hooks
    old._type = x._type  # a symbolic value's dtype and shape (it has no array to read them from)
    old._born = getattr(x, "_born", None)  # a leaf has no stamp
    if new._inputs:
        new._inputs = tuple(old if i is x else i for i in new._inputs)
    take_value(x, new)
    x._type = new._type
    x.requires_grad = new.requires_grad
    x._op = new._op
    x._inputs = new._inputs
    x._hooks = None
    x._born = getattr(new, "_born", None)
    x._own_version += 1
    saved = new._saved_versions
    x._saved_versions = None if saved is None else (version_of(x),) + saved[1:]
    # Nodes made before now that name x read old's value (found by core/rebinds.py).
    note_rebind(x, old)
    return old


def read_before_change(x, old, read):
    """After ``x`` was rebound to a changed copy whose old value and node moved to ``old``,
    re-point the graphs of ``read`` (the new node's inputs: operands, index arrays, inner
    nodes) from x to old. They were computed from x before the change (``y[y < 0] = 0``,
    ``y.add_(y * 3)``), but they name the Python object x, which now holds the result: left as
    they are, x would depend on itself (a cycle that compiled graph extraction refuses and that
    eager backward gets wrong or refuses).

    The walk covers what ``read`` was computed from and stops at x, old, and the operands of
    earlier changes of the same x: those were walked then, and nothing computed before a change
    can name x's later value. So a loop filling a buffer (``out[:, t] = h`` with h from the
    previous step) walks one step each time, not all of them (which made 1600 steps take
    seconds). A walk that goes on past a few tensors also stops at the nearest ancestors of old
    (they predate x's node, so cannot read x): a residual ``out += h`` walks from h, which is
    an ancestor of out, rather than through the whole network before it each block (60 blocks
    took 6 ms instead of 1 ms)."""
    read = [t for t in read if t._inputs and t is not old]
    if not read:  # relu_(), add_(scalar): the node reads only the old value
        return
    seen = {id(x), id(old)}  # x's old value and what it came from predate the new node
    stack = list(read)
    visited = 0
    walked_deeper = False
    while stack:
        t = stack.pop()
        key = id(t)
        if key in seen:
            continue
        seen.add(key)
        walked = _walked_for.get(key)
        if walked is not None and walked[0]() is t and walked[1]() is x:
            continue
        inputs = t._inputs
        if any(i is x for i in inputs):
            # old, or an older value of x for a node made before an earlier change of x.
            read_value = value_read(x, getattr(t, "_born", None), old)
            t._inputs = tuple(read_value if i is x else i for i in inputs)
        deeper = [i for i in inputs if i._inputs]
        if deeper:
            stack.extend(deeper)
            walked_deeper = True
        visited += 1
        if stack:
            limit = _ANCESTORS_AFTER.get(visited)
            if limit is not None:
                seen.update(_ancestor_ids(old, limit))
    if not walked_deeper:  # the operands' inputs are leaves: no walk worth remembering
        return
    for t in read:
        key = id(t)
        _walked_for[key] = (weakref.ref(t, lambda _, key=key: _walked_for.pop(key, None)),
                            weakref.ref(x))


# tensors walked -> how many of old's nearest ancestors to collect then, to stop at. Short walks
# (y.add_(y * 3)) look up none; a residual out += h finds h among the first 16; a longer walk
# looks further back. Collecting ancestors for every walk would cost more than it saves.
_ANCESTORS_AFTER = {1: 8, 16: 256}


def _ancestor_ids(old, limit):
    """ids of ``old`` and of up to ``limit`` of the tensors it was computed from, nearest first."""
    found = {id(old)}
    queue = deque([old])
    while queue and len(found) < limit:
        for i in queue.popleft()._inputs or ():
            if id(i) not in found:
                found.add(id(i))
                queue.append(i)
    return found


# id(tensor) -> (weak reference to it, weak reference to the tensor x it was changed into):
# the operands whose graphs read_before_change has walked for that x.
_walked_for = {}
