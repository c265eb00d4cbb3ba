"""Readable views of graphs: ``pp`` prints an expression in infix form, ``debugprint`` prints a
compiled function's schedule (or an expression's nodes) one node a line."""
from ganglion.core.rebinds import correct_graph
from ganglion.core.tensor import Constant

__all__ = ["pp", "debugprint"]


def pp(expr):
    """``expr`` as an infix string: ``pp(x + y) == '(x + y)'``, ``exp(x)``, ``dot(x, W)``.
    The ops say how they print: an ``infix`` operator, or a ``pp(args)`` method of their own
    (``-x``, ``dot(x, W)``, ``cast(x, float32)``), else ``name(args)``."""
    # A node made before an in-place change of its input prints the value it read.
    correct_graph([expr])
    return _infix(expr)


def _infix(expr):
    op = expr._op
    if op is None:
        return _leaf(expr)
    args = [_infix(i) for i in expr._inputs]
    symbol = op.infix
    if symbol is not None:
        return f"({args[0]} {symbol} {args[1]})"
    if hasattr(op, "pp"):
        return op.pp(args)
    return f"{op.name}({', '.join(args)})"


def _leaf(t):
    if isinstance(t, Constant) or (t._data is not None and t.name is None and t._data.size == 1):
        value = t._data.item() if t._data.size == 1 else "array"
        return repr(value)
    if t.name:
        return t.name
    return f"<{t.dtype.name} {t.ndim}-d>"


def debugprint(obj, file=None):
    """Print a compiled function's schedule, or an expression's nodes, one node a line."""
    from ganglion.symbolic.function import Function
    lines = _schedule_lines(obj.schedule) if isinstance(obj, Function) else _expression_lines(obj)
    text = "\n".join(lines)
    print(text, file=file)
    return text


def _schedule_lines(schedule):
    lines = []
    for slot, tensor, _, _ in schedule.shared:
        lines.append(f"v{slot} = shared {tensor.name or ''} {_type(tensor.tensor_type)}")
    for index, instruction in enumerate(schedule.instructions):
        node = instruction.node
        args = ", ".join(f"v{a}" for a in instruction.args)
        reuse = ""
        if isinstance(instruction.in_place, tuple):  # a loop with several outputs
            reuse = "  [writes into " + ", ".join(f"v{s}" for s in instruction.in_place) + "]"
        elif instruction.in_place is not None:
            reuse = f"  [writes into v{instruction.in_place}]"
        lines.append(f"v{instruction.out} = {node.op!r}({args})  {_type(node.type)}{reuse}")
    return lines


def _expression_lines(expr, depth=0, seen=None):
    seen = set() if seen is None else seen
    label = pp(expr) if expr._op is None else repr(expr._op)
    lines = [f"{'|' * bool(depth)}{' ' * depth}{label}  {_type(expr.tensor_type)}"]
    if expr._op is not None and id(expr) not in seen:
        seen.add(id(expr))
        for i in expr._inputs:
            lines += _expression_lines(i, depth + 1, seen)
    return lines


def _type(t):
    dims = ", ".join("?" if d is None else str(d) for d in t.shape)
    return f"{t.dtype.name} ({dims}{',' if len(t.shape) == 1 else ''})"
