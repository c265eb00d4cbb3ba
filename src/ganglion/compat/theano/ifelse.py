"""Theano's ``theano.ifelse.ifelse``: choose between two branches by a scalar condition, lazily.

Reference: Theano 1.0's ``theano/ifelse.py``. As Theano's IfElse, only the branch taken is
computed. Each branch is compiled on its own (as ``scan`` compiles its step: the same rewrites,
fusion and flat schedule) into a program over the branch's leaves (its placeholders, shared
variables and other tensors holding values), and the ``IfElse`` op, one node of the outer graph
whose inputs are the condition and those leaves, runs the chosen program when the function runs.
The branches may differ in shape (``switch`` picks elementwise and needs both computed).

Gradients: the gradient with respect to each leaf is again an ``ifelse`` on the same condition,
of the taken branch's gradient (built with ``ganglion.grad`` on the branch's graph) and zero, so
the backward pass is lazy too. A branch's work is never shared with the rest of the graph, so a
value computed both inside and outside a branch is computed twice when that branch is taken.
"""
from ganglion.core.op import Op, apply
from ganglion.core.rebinds import correct_graph
from ganglion.core.tensor import Constant, Tensor, TensorType

__all__ = ["ifelse", "IfElse"]


class IfElse(Op):
    """The ``then`` program's result if the scalar condition is nonzero, else the ``else``
    program's; inputs: the condition, then the leaves both programs read."""

    __slots__ = ("then_expr", "else_expr", "leaves", "programs", "out_type")
    saves_inputs = False

    def __init__(self, then_expr, else_expr, leaves, out_type):
        self.then_expr = then_expr
        self.else_expr = else_expr
        self.leaves = leaves
        self.programs = None  # compiled on first use: (then program, else program)
        self.out_type = out_type

    @property
    def name(self):
        return "ifelse"

    def __eq__(self, other):
        return self is other  # two conditionals are never merged: each holds its own branches

    def __hash__(self):
        return id(self)

    def __getstate__(self):
        # The compiled programs are rebuilt on first use after unpickling.
        return None, {slot: None if slot == "programs" else getattr(self, slot)
                      for slot in self.__slots__}

    def forward(self, backend, condition, *leaves):
        if self.programs is None:
            from ganglion.symbolic.scan import StepProgram
            self.programs = (StepProgram(list(self.leaves), [self.then_expr]),
                             StepProgram(list(self.leaves), [self.else_expr]))
        program = self.programs[0] if condition.item() else self.programs[1]
        return program(list(leaves))[0]

    def vjp(self, out, grad, needs):
        import ganglion as gn
        condition, *leaves = out._inputs
        wanted = [k for k, leaf in enumerate(leaves) if needs[k + 1]]
        if not wanted:
            return (None,) * len(out._inputs)
        branch_grads = []
        for expr in (self.then_expr, self.else_expr):
            found = gn.grad([expr], [self.leaves[k] for k in wanted], grad_outputs=[grad],
                            create_graph=True, allow_unused=True)
            branch_grads.append(found)
        result = [None] * len(out._inputs)
        for position, k in enumerate(wanted):
            then_grad, else_grad = branch_grads[0][position], branch_grads[1][position]
            if then_grad is None and else_grad is None:
                continue
            leaf = leaves[k]
            then_grad = then_grad if then_grad is not None else gn.zeros_like(leaf)
            else_grad = else_grad if else_grad is not None else gn.zeros_like(leaf)
            result[k + 1] = _conditional(condition, then_grad, else_grad)
        return tuple(result)

    def infer(self, condition, *leaves):
        return self.out_type


def _leaves(expressions):
    """The tensors without an op that ``expressions`` read (Constants are kept inside)."""
    correct_graph(expressions)  # nodes made before an in-place change read the old value
    found, seen, stack = [], set(), list(expressions)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._op is None:
            if not isinstance(t, Constant):
                found.append(t)
        else:
            stack.extend(t._inputs)
    return found


def _conditional(condition, then, otherwise):
    if len(condition.tensor_type.shape) != 0:
        raise ValueError(f"ifelse: the condition must be a scalar, got one of shape "
                         f"{tuple('?' if d is None else d for d in condition.tensor_type.shape)}")
    then_type, else_type = then.tensor_type, otherwise.tensor_type
    if then.dtype != otherwise.dtype or len(then_type.shape) != len(else_type.shape):
        raise TypeError(f"ifelse: both branches must have one type (dtype and number of dims), "
                        f"got {then.dtype.name} {len(then_type.shape)}-d and "
                        f"{otherwise.dtype.name} {len(else_type.shape)}-d")
    if condition._data is not None and then._data is not None and otherwise._data is not None:
        return then if condition.item() else otherwise  # eager: choose now
    shape = tuple(a if a == b else None for a, b in zip(then_type.shape, else_type.shape))
    leaves = _leaves([then, otherwise])
    return apply(IfElse(then, otherwise, tuple(leaves), TensorType(then.dtype, shape)),
                 condition, *leaves)


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` when the scalar ``condition`` is nonzero, else ``else_branch``, computing
    only that one; both may be lists of tensors (paired up, a list comes back)."""
    from ganglion.compat.theano.tensor.basic import as_tensor_variable
    from ganglion.compat.theano.tensor.var import as_variable
    from ganglion.core.ops.elementwise import cast
    single = not isinstance(then_branch, (list, tuple))
    thens = [then_branch] if single else list(then_branch)
    elses = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: the branches have {len(thens)} and {len(elses)} outputs; they "
                         "must have as many")
    condition = as_tensor_variable(condition)
    results = []
    for then, otherwise in zip(thens, elses):
        then, otherwise = as_tensor_variable(then), as_tensor_variable(otherwise)
        # A constant branch (a Python number) takes the other branch's dtype, as in Theano.
        if then.dtype != otherwise.dtype:
            if isinstance(otherwise, Constant):
                otherwise = cast(otherwise, then.dtype)
            elif isinstance(then, Constant):
                then = cast(then, otherwise.dtype)
        result = _conditional(condition, then, otherwise)
        if isinstance(result, Tensor) and result._op is not None and name is not None:
            result.name = name
        results.append(as_variable(result) if result._data is None else result)
    return results[0] if single else results
