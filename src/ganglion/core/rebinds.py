"""Which tensor held the value a node read, when the tensor it names was changed in place later.

An in-place change of a tensor inside a recorded or symbolic graph *rebinds* it
(core/inplace.py): the Python object x takes the new value and node, and its previous value and
node move to a hidden tensor. A node made before the change names the object x in its
``_inputs``, but read the previous value: ``before = y * 5; y.add_(1)`` must keep meaning
``(old y) * 5``, in eager backward (PyTorch's node keeps the autograd node it was made from) and
in a compiled graph (Theano has no in-place methods; ganglion promises PyTorch's meaning).

So every rebind is numbered (``rebinds[0]`` counts them; core/inplace.py and a custom
Function's ``mark_dirty`` rebind), every node records in ``_born`` how many rebinds had happened
when it was made (core/op.py ``record`` and ``_apply_symbolic``, autograd/function.py: one
attribute store per op), and each rebound tensor keeps the list of its previous values with the
number of the rebind that replaced each. ``inputs_as_read(t)`` then gives t's inputs as t read
them: an input rebound after t was made is replaced by the hidden tensor that held its value
before the first such rebind. The graph walks that give a graph its meaning call it (eager
backward and ``ganglion.grad`` in core/autograd.py, graph extraction for ``ganglion.function``
in symbolic/graph.py) and it writes the answer into ``t._inputs``, so a node is corrected once
and every later reader of ``_inputs`` (the ops' vjps) sees the value the node was computed from.

Nothing is looked up unless some rebound tensor is alive (``rebound`` is empty otherwise), so
graphs without in-place changes pay one dict test per node in those walks. A rebound tensor's
previous values stay alive as long as it does. Until a backward frees the graph they are alive
anyway (every in-place op's node reads the old value, as in PyTorch); after it, the table keeps
them until the tensor dies, which for an activation changed in place (``out += h``) is the end
of the step.
"""
import weakref

__all__ = ["rebinds", "rebound", "note_rebind", "inputs_as_read", "value_read", "correct_graph"]

#: How many rebinds have happened: a node's ``_born`` is this count when it was made.
rebinds = [0]

#: id(x) -> (weak reference to x, [(number of the rebind, the hidden tensor that held x's value
#: before it), ...] in the order of the rebinds): x's previous values, for nodes made before.
rebound = {}


def note_rebind(x, old):
    """Record that x was just rebound, its previous value and node moved to ``old``."""
    rebinds[0] += 1
    key = id(x)
    entry = rebound.get(key)
    if entry is None or entry[0]() is not x:
        # x's death drops the entry (a closure: a third of the time of a weakref.KeyedRef).
        entry = rebound[key] = (weakref.ref(x, lambda ref: _forget(key, ref)), [])
    entry[1].append((rebinds[0], old))


def _forget(key, ref):
    """x died: drop its previous values (unless the id was taken again meanwhile)."""
    entry = rebound.get(key)
    if entry is not None and entry[0] is ref:
        del rebound[key]


def value_read(x, born, default=None):
    """The tensor holding the value a node made when ``born`` rebinds had happened read from
    ``x``: x itself, or the hidden tensor holding x's value from before the first rebind of x
    made after that node. ``born`` None (a node made without a stamp) gives ``default``, or x."""
    entry = rebound.get(id(x))
    if entry is None or entry[0]() is not x:
        return x
    if born is None:
        return x if default is None else default
    for number, old in entry[1]:
        if number > born:
            return old
    return x


def inputs_as_read(t):
    """``t._inputs`` with each input that was rebound after t was made replaced by the tensor
    holding the value t read; corrects ``t._inputs`` to that (see the module docstring)."""
    inputs = t._inputs
    if not rebound or not inputs:
        return inputs
    read = None
    born = -1  # not read yet
    for k, i in enumerate(inputs):
        entry = rebound.get(id(i))
        if entry is None:
            continue
        if born == -1:
            born = getattr(t, "_born", None)  # nodes made outside op.apply may have no stamp
            if born is None:
                return inputs
        changes = entry[1]
        if changes[-1][0] <= born or entry[0]() is not i:
            continue  # i was not changed since t was made
        for number, old in changes:
            if number > born:
                break
        if read is None:
            read = list(inputs)
        read[k] = old
    if read is None:
        return inputs
    t._inputs = read = tuple(read)
    return read


def correct_graph(roots):
    """``inputs_as_read`` on every node the tensors ``roots`` depend on (for walks that read
    ``_inputs`` themselves, such as the stable rewrites done before a symbolic gradient)."""
    if not rebound:
        return
    seen = set()
    stack = list(roots)
    while stack:
        t = stack.pop()
        if id(t) in seen or not t._inputs:
            continue
        seen.add(id(t))
        stack.extend(inputs_as_read(t))
