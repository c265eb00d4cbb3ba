"""``scan``: Theano's loop over symbolic graphs, run as one op, with gradients through time.

Follows Theano's ``theano.scan`` (doc/library/scan.txt, doc/tutorial/loop.txt):
``scan(fn, sequences, outputs_info, non_sequences, n_steps, truncate_gradient, go_backwards)``
returns ``(outputs, updates)``. ``fn`` is called once, on placeholders for one step's slices
of the sequences (each tap), the previous values of the recurrent outputs (each tap) and the
non-sequences themselves (as in Theano, the outer variables, so ``T.grad(y[i], x)`` inside
``fn`` sees that ``y`` depends on ``x``). It returns the step's outputs, optionally a dict of
shared-variable updates and ``until(condition)``.

How it runs. The step graph is closed: every part of it that does not depend on the step's
inputs (or on a random draw, which must be drawn again each step, as Theano's shared random
streams are) is hoisted out and becomes an input of the loop, so it is computed once per call,
and shared variables updated inside ``fn`` become recurrent states. The closed graph is compiled
once (the same rewrites, fusion and flat schedule as ``function``) and ``ScanOp`` runs it in a
loop over NumPy arrays, writing each step's results into one preallocated buffer per output:
the loop is one node of the outer graph, whatever the number of steps, which may be symbolic.

Several results: ops here have one output, so ``ScanOp``'s value is the tuple of its buffers
(and the number of steps run) and ``ScanOutput`` nodes pick from it. A recurrent output's
buffer holds its initial window (the -min(taps) values before step 0) followed by the steps.

Gradients (backpropagation through time): ``ScanOutput.vjp`` applies ``ScanGradOp``, a loop
from the last step to the first over the compiled vector-Jacobian product of the step graph
(``ganglion.grad`` of the closed graph, built once): it carries the gradient of each recurrent
output's last -min(taps) values from step to step, adds the gradients of the sequences' slices
into their rows and sums the non-sequences' gradients. Once a gradient is asked for, the
forward loop keeps each step's intermediate values that the step's gradient reads (as eager
autograd keeps them), so the backward loop does not compute the step again.
``truncate_gradient=k`` runs only the last k steps backwards. Nested scans work because a
step graph may hold a ``ScanOp`` and its gradient graph a ``ScanGradOp``. Second derivatives through a scan are not supported (the
backward loop has no gradient of its own, like ganglion's fused recurrent loops): they raise.

Eager tensors given to ``scan`` run the loop at once (the same compiled step), and eager
``backward`` through its results works.
"""
from collections import OrderedDict

from ganglion.backend import array_cache
from ganglion.backend import current as backend
from ganglion.core import dtypes
from ganglion.core.op import Op, apply, format_shape
from ganglion.core.tensor import Constant, Tensor, TensorType, make_tensor
from ganglion.symbolic.fusion import fuse
from ganglion.symbolic.scalar_fusion import fuse_scalars
from ganglion.symbolic.graph import extract
from ganglion.symbolic.placeholders import tensor as placeholder
from ganglion.symbolic.rewrites import optimize
from ganglion.symbolic.schedule import Schedule
from ganglion.symbolic.shared import SharedVariable

__all__ = ["scan", "until", "map", "reduce", "foldl", "foldr", "jacobian", "hessian", "ScanOp",
           "ScanOutput", "ScanGradOp"]


class until:
    """``return outputs, until(condition)`` from a scan's ``fn`` ends the loop after the first
    step whose condition is true (that step's outputs are kept), as ``theano.scan_module.until``."""

    def __init__(self, condition):
        self.condition = _as_tensor(condition, "until")
        if self.condition.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar, got shape "
                            f"{format_shape(_shape(self.condition))}")


# ----- the step graph, closed and compiled --------------------------------------------------

class StepProgram:
    """A closed graph compiled to a flat schedule, called on a list of arrays (no conversion,
    no copies: the loop writes the results where they belong)."""

    def __init__(self, inputs, outputs):
        nodes, input_nodes, _ = extract(outputs, inputs, [])
        nodes = fuse_scalars(fuse(optimize(nodes)))
        schedule = Schedule(nodes, input_nodes)
        self.input_slots = [schedule.slot[id(n)] for n in input_nodes]
        self.output_slots = [schedule.slot[id(n)] for n in nodes]
        self.initial = schedule.initial
        self.shared = schedule.shared
        self.program = schedule.program

    def __call__(self, args):
        values = list(self.initial)
        for slot, value in zip(self.input_slots, args):
            values[slot] = value
        for slot, tensor, attribute, _ in self.shared:
            values[slot] = getattr(tensor, attribute)
        for kernel, arg_slots, out, free in self.program:
            values[out] = kernel(*[values[s] for s in arg_slots])
            for s in free:
                values[s] = None
        return [values[s] for s in self.output_slots]


class ScanSpec:
    """Everything a scan's loop and its gradient need, shared by its nodes (and by clones of
    them made when a graph holding the scan is differentiated).

    Inner inputs, in order: one per (sequence, tap) in ``seq_reads`` as (sequence number, row
    offset: the slice for step t is row t + offset), one per (recurrent output, tap) in
    ``state_reads`` as (recurrent number, tap < 0), then one per external (a hoisted value).
    Inner outputs: the recurrent outputs' new values, the other outputs', then the condition."""

    def __init__(self, name, seq_reads, seq_spans, windows, state_reads, n_external, inner_inputs,
                 inner_outputs, has_until, random, truncate_gradient, output_types):
        self.name = name
        self.seq_reads = seq_reads
        self.seq_spans = seq_spans
        self.windows = windows
        self.state_reads = state_reads
        self.n_seqs = len(seq_spans)
        self.n_recurrent = len(windows)
        self.n_external = n_external
        self.n_nit = len(inner_outputs) - self.n_recurrent - int(has_until)
        self.inner_inputs = inner_inputs
        self.inner_outputs = inner_outputs
        self.has_until = has_until
        self.random = random
        self.truncate_gradient = truncate_gradient
        self.output_types = output_types  # the public outputs' types (recurrent, then the others)
        self.state_types = [inner_outputs[k].tensor_type for k in range(self.n_recurrent)]
        self.nit_types = [o.tensor_type for o in
                          inner_outputs[self.n_recurrent:self.n_recurrent + self.n_nit]]
        #: Set once a gradient through this scan is asked for: the forward loop then keeps
        #: each step's intermediate values that the step's gradient reads (``saved``), so the
        #: backward loop does not compute the step again.
        self.save_for_grad = False
        self._saved = None
        self._programs = {}
        self._grad_programs = {}

    def label(self):
        return f"scan {self.name!r}" if self.name else "scan"

    def program(self, save):
        """The step; with ``save``, its outputs are followed by the values ``saved`` lists."""
        program = self._programs.get(save)
        if program is None:
            extra = self.saved() if save else []
            program = self._programs[save] = StepProgram(self.inner_inputs,
                                                         self.inner_outputs + extra)
        return program

    def saved(self):
        """The step's intermediate values that its gradient (for every floating input) reads."""
        if self._saved is None:
            inputs = {id(t) for t in self.inner_inputs}
            forward = set()
            stack = list(self.inner_outputs)
            while stack:
                t = stack.pop()
                if id(t) in forward or id(t) in inputs:
                    continue
                forward.add(id(t))
                stack.extend(t._inputs or ())
            mask = tuple(t.dtype.is_floating_point for t in self.inner_inputs)
            saved, seen = [], set()
            stack = list(_step_gradient(self, mask)[3])
            while stack:
                t = stack.pop()
                if id(t) in seen or id(t) in inputs:
                    continue
                seen.add(id(t))
                if id(t) in forward:
                    if t._op is not None and not isinstance(t, Constant):
                        saved.append(t)
                    continue
                stack.extend(t._inputs or ())
            self._saved = saved
        return self._saved

    def grad_program(self, mask):
        """The step's vector-Jacobian product for the inner inputs selected by ``mask`` (the
        gradient of every floating recurrent input is always computed: it carries the
        gradient back in time). Inputs: the inner inputs, one output gradient per floating
        output, then the saved values; outputs: the gradients of the inner inputs at
        ``positions``."""
        program = self._grad_programs.get(mask)
        if program is None:
            program = self._grad_programs[mask] = _GradProgram(self, mask)
        return program


def _step_gradient(spec, mask):
    """(output numbers that take a gradient, their gradient placeholders, the positions of the
    inner inputs whose gradients are returned, those gradients) for the step graph."""
    from ganglion.core.autograd import grad
    outputs = spec.inner_outputs[:spec.n_recurrent + spec.n_nit]
    adjoint_of = [k for k, o in enumerate(outputs) if o.dtype.is_floating_point]
    adjoints = [placeholder(outputs[k].dtype, _shape(outputs[k]), name=f"d_output{k}")
                for k in adjoint_of]
    # Outputs that carry a gradient: computed from a differentiable input, or one itself.
    differentiable = [(outputs[k], a) for k, a in zip(adjoint_of, adjoints)
                      if outputs[k].requires_grad]
    wrt = [k for k, t in enumerate(spec.inner_inputs) if t.dtype.is_floating_point and mask[k]]
    grads = []
    if differentiable and wrt:
        grads = grad([o for o, _ in differentiable], [spec.inner_inputs[k] for k in wrt],
                     grad_outputs=[a for _, a in differentiable], allow_unused=True)
    positions = [k for k, g in zip(wrt, grads) if g is not None]
    return adjoint_of, adjoints, positions, [g for g in grads if g is not None]


class _GradProgram:
    """The compiled step gradient. A non-sequence's gradient that is one matrix product
    ``L_t @ R_t`` (a weight's: ``x_t.T @ dgates_t``) is not summed step by step: the step returns
    L_t and R_t, and the loop's end computes the sum as one product of their concatenations
    (``products``: {position: (index of L, index of R)} among the program's outputs), as
    Theano's scan pushes such products out of the loop; one large GEMM runs faster than T small
    ones plus T additions of a weight-sized array."""

    def __init__(self, spec, mask):
        from ganglion.core.ops.linalg import MatMul
        self.adjoint_of, adjoints, self.positions, grads = _step_gradient(spec, mask)
        first_external = len(spec.seq_reads) + len(spec.state_reads)
        outputs, self.products, self.summed = [], {}, []
        for position, g in zip(self.positions, grads):
            if (position >= first_external and isinstance(g._op, MatMul)
                    and all(i.ndim == 2 for i in g._inputs)):
                self.products[position] = (len(outputs), len(outputs) + 1)
                outputs += list(g._inputs)
            else:
                self.summed.append((position, len(outputs)))
                outputs.append(g)
        # Listed as inputs, the saved values are read, not computed: extract stops there.
        self.program = StepProgram(list(spec.inner_inputs) + adjoints + spec.saved(), outputs)


# ----- the ops ----------------------------------------------------------------------------

class _TupleOp(Op):
    """An op whose value is a tuple of arrays, read by selector ops; never folded or merged."""
    __slots__ = ("spec",)
    differentiable = False
    saves_inputs = False
    nondeterministic = True

    def infer(self, *types):
        return TensorType(dtypes.int64, ())

    def __repr__(self):
        return f"{type(self).__name__}({self.spec.label()})"


class ScanOp(_TupleOp):
    """The loop. Inputs: n_steps (int64 scalar, -1: as many as the sequences allow), the
    sequences, the recurrent outputs' initial windows (m, ...), the externals. Value: the
    recurrent outputs' buffers, the other outputs (steps first), the number of steps run, and
    the list of each step's saved values (None unless ``spec.save_for_grad``)."""
    __slots__ = ()

    def __init__(self, spec):
        self.spec = spec

    @property
    def name(self):
        return "scan"

    def forward(self, backend, n_steps, *arrays):
        return _run_forward(self.spec, backend.xp, int(n_steps), arrays)


class ScanOutput(Op):
    """One result of a ``ScanOp``: ``kind`` 'public' (a recurrent output's steps, or another
    output) or 'last' (a recurrent output's last value: its initial value after 0 steps; what
    an update inside ``fn`` gives). Its inputs are the ``ScanOp`` node and then the scan's own
    inputs, through which gradients flow."""
    __slots__ = ("spec", "index", "kind", "type")
    saves_inputs = False

    def __init__(self, spec, index, kind, type):
        self.spec = spec
        self.index = index
        self.kind = kind
        self.type = type

    @property
    def name(self):
        return f"scan_output{self.index}"

    def forward(self, backend, outs, *inputs):
        spec = self.spec
        value = outs[self.index]
        if self.index < spec.n_recurrent:
            return value[-1] if self.kind == "last" else value[spec.windows[self.index]:]
        return value

    def infer(self, *types):
        return self.type

    def __repr__(self):
        return f"ScanOutput({self.spec.label()}, {self.index}, {self.kind})"

    def vjp(self, out, grad, needs):
        spec = self.spec
        if spec.random:
            raise NotImplementedError(
                f"{spec.label()}: cannot differentiate through a scan whose fn draws random "
                "numbers: the backward pass would draw them again; draw them outside fn (one "
                "slice per step as a sequence, or once as a non-sequence) and pass them in")
        tuple_node, inputs = out._inputs[0], out._inputs[1:]
        mask = tuple(bool(need) and t.dtype.is_floating_point
                     for need, t in zip(needs[2:], inputs[1:]))
        if not any(mask):
            return [None] * len(needs)
        if tuple_node._data is None:  # not run yet: let the forward loop keep what we need
            spec.save_for_grad = True
        types = tuple(t.tensor_type for t in inputs[1:])
        grads = apply(ScanGradOp(spec, self.index, self.kind, mask, types), tuple_node, *inputs,
                      grad)
        result = [None, None]
        for k, need in enumerate(mask):
            result.append(apply(ScanGradOutput(k, types[k]), grads) if need else None)
        return result


class ScanGradOp(_TupleOp):
    """Backpropagation through a scan for the gradient ``g`` of one of its outputs. Inputs:
    the ``ScanOp`` node, the scan's inputs, g. Value: the gradients of the sequences, initial
    windows and externals (None where ``mask`` is False)."""
    __slots__ = ("index", "kind", "mask", "types")

    def __init__(self, spec, index, kind, mask, types):
        self.spec = spec
        self.index = index
        self.kind = kind
        self.mask = mask
        self.types = types

    @property
    def name(self):
        return "scan_grad"

    def forward(self, backend, outs, n_steps, *arrays):
        return _run_backward(self, backend.xp, outs, arrays[:-1], arrays[-1])


class ScanGradOutput(Op):
    """The gradient of one input of a scan, read from a ``ScanGradOp``."""
    __slots__ = ("index", "type")
    saves_inputs = False

    def __init__(self, index, type):
        self.index = index
        self.type = type

    @property
    def name(self):
        return f"scan_grad{self.index}"

    def forward(self, backend, grads):
        return grads[self.index]

    def infer(self, grads):
        return self.type

    def vjp(self, out, grad, needs):
        raise NotImplementedError(
            "scan: second derivatives through a scan's gradient are not supported (the "
            "backward loop has no gradient of its own); differentiate a graph without scan, or "
            "compute the first gradient inside the scan's fn")


class _RowIndices(Op):
    """0, 1, ..., len(x) - 1 (int64): ``arange(x.shape[0])`` for any x, known shape or not."""
    __slots__ = ()
    differentiable = False
    saves_inputs = False

    def forward(self, backend, x):
        return backend.xp.arange(x.shape[0], dtype=backend.xp.int64)

    def infer(self, x):
        if not x.shape:
            raise TypeError("row indices: a 0-d tensor has no rows")
        return TensorType(dtypes.int64, (x.shape[0],))


# ----- running the loops ------------------------------------------------------------------

def _steps(spec, n_steps, seqs):
    available = [len(s) - span for s, span in zip(seqs, spec.seq_spans)]
    if n_steps < 0:
        steps = min(available)
        if steps < 0:
            k = available.index(steps)
            raise ValueError(f"{spec.label()}: sequence {k} has {len(seqs[k])} rows, fewer than "
                             f"its taps span ({spec.seq_spans[k] + 1})")
        return steps
    for k, count in enumerate(available):
        if count < n_steps:
            raise ValueError(f"{spec.label()}: n_steps is {n_steps} but sequence {k} has "
                             f"{len(seqs[k])} rows, enough for {max(count, 0)} steps "
                             f"with its taps")
    return n_steps


def _run_forward(spec, xp, n_steps, arrays):
    seqs = arrays[:spec.n_seqs]
    inits = arrays[spec.n_seqs:spec.n_seqs + spec.n_recurrent]
    externals = arrays[spec.n_seqs + spec.n_recurrent:]
    steps = _steps(spec, n_steps, seqs)
    save = spec.save_for_grad
    program = spec.program(save)
    n_outputs = len(spec.inner_outputs)
    saved = [] if save else None
    buffers = []
    for k, init in enumerate(inits):
        window = spec.windows[k]
        state_shape = spec.state_types[k].shape
        if len(init) < window or _clashes(init.shape[1:], state_shape):
            raise ValueError(f"{spec.label()}: the initial value of recurrent output {k} has shape "
                             f"{format_shape(init.shape[1:])} but fn returns shape "
                             f"{format_shape(state_shape)}")
        buffer = xp.empty((window + steps,) + init.shape[1:], dtype=init.dtype)
        buffer[:window] = init[:window]
        buffers.append(buffer)
    nits = [None] * spec.n_nit
    n_seq_args = len(spec.seq_reads)
    seq_reads = [(seqs[j], offset) for j, offset in spec.seq_reads]
    state_reads = [(buffers[k], spec.windows[k] + tap) for k, tap in spec.state_reads]
    args = [None] * (n_seq_args + len(state_reads)) + list(externals)
    positions = [(buffers[k], spec.windows[k], init.shape[1:]) for k, init in enumerate(inits)]
    done = steps
    for t in range(steps):
        for a, (sequence, offset) in enumerate(seq_reads):
            args[a] = sequence[t + offset]
        for a, (buffer, offset) in enumerate(state_reads, n_seq_args):
            args[a] = buffer[t + offset]
        results = program(args)
        for k, (buffer, window, shape) in enumerate(positions):
            value = results[k]
            if value.shape != shape:
                raise ValueError(f"{spec.label()}: step {t} of recurrent output {k} has shape "
                                 f"{format_shape(value.shape)}, but its initial value has shape "
                                 f"{format_shape(shape)}")
            buffer[window + t] = value
        for l in range(spec.n_nit):
            value = xp.asarray(results[spec.n_recurrent + l])
            if nits[l] is None:
                nits[l] = xp.empty((steps,) + value.shape, dtype=spec.nit_types[l].dtype.np)
            elif value.shape != nits[l].shape[1:]:
                raise ValueError(f"{spec.label()}: output {spec.n_recurrent + l} has shape "
                                 f"{format_shape(value.shape)} at step {t} but "
                                 f"{format_shape(nits[l].shape[1:])} at step 0")
            nits[l][t] = value
        if save:
            saved.append(results[n_outputs:])
        if spec.has_until and results[n_outputs - 1]:
            done = t + 1
            break
    if done < steps:
        buffers = [b[:spec.windows[k] + done] for k, b in enumerate(buffers)]
        nits = [n[:done] for n in nits]
    for l in range(spec.n_nit):
        if nits[l] is None:  # no step ran: the shape is what the graph knows (unknown dims 0)
            shape = tuple(0 if d is None else d for d in spec.nit_types[l].shape)
            nits[l] = xp.zeros((0,) + shape, dtype=spec.nit_types[l].dtype.np)
    return tuple(buffers) + tuple(nits) + (xp.asarray(done, dtype=xp.int64), saved)


def _clashes(shape, other):
    """True when two shapes (None: unknown) cannot be the same."""
    return len(shape) != len(other) or any(
        a is not None and b is not None and a != b for a, b in zip(shape, other))


def _run_backward(op, xp, outs, arrays, g):
    """BPTT for ``op`` (a ScanGradOp); see the module docstring."""
    spec, mask = op.spec, op.mask
    seqs = arrays[:spec.n_seqs]
    inits = arrays[spec.n_seqs:spec.n_seqs + spec.n_recurrent]
    externals = arrays[spec.n_seqs + spec.n_recurrent:]
    steps = int(outs[spec.n_recurrent + spec.n_nit])
    saved = outs[spec.n_recurrent + spec.n_nit + 1]
    buffers = outs[:spec.n_recurrent]
    # Inner inputs whose gradient is needed: the sequence taps and externals the caller asked
    # for, and every floating recurrent tap (it carries the gradient to earlier steps).
    n_seq_args = len(spec.seq_reads)
    n_state_args = len(spec.state_reads)
    inner_mask = tuple([mask[j] for j, _ in spec.seq_reads]
                       + [spec.state_types[k].dtype.is_floating_point for k, _ in spec.state_reads]
                       + list(mask[spec.n_seqs + spec.n_recurrent:]))
    if saved is None:
        raise RuntimeError(f"{spec.label()}: the forward loop ran before its gradient was asked "
                           "for and kept nothing to differentiate; build the gradient before "
                           "running the scan")
    grad_program = spec.grad_program(inner_mask)
    floating = [k for k in range(spec.n_recurrent) if spec.state_types[k].dtype.is_floating_point]
    carries = {k: xp.zeros((spec.windows[k],) + buffers[k].shape[1:], dtype=buffers[k].dtype)
               for k in floating}
    # The gradient given for output ``op.index``, laid over its whole buffer (or its steps).
    given = None
    if op.index < spec.n_recurrent:
        if op.index in carries:
            buffer = buffers[op.index]
            given = xp.zeros(buffer.shape, dtype=buffer.dtype)
            if op.kind == "last":
                given[-1] = g
            else:
                given[spec.windows[op.index]:] = g
    else:
        given = g
    seq_grads = [xp.zeros(s.shape, dtype=s.dtype) if mask[j] else None for j, s in enumerate(seqs)]
    external_grads = [xp.zeros(e.shape, dtype=e.dtype) if mask[spec.n_seqs + spec.n_recurrent + e_k]
                      else None for e_k, e in enumerate(externals)]
    zero_adjoints = {}
    limit = steps if spec.truncate_gradient < 0 else min(steps, spec.truncate_gradient)
    args = [None] * (n_seq_args + n_state_args) + list(externals)
    adjoint_positions = grad_program.adjoint_of
    adjoints = [None] * len(adjoint_positions)
    products = [([], []) for _ in grad_program.products]
    # Where each summed result goes, worked out once (the loop below runs per step). A state of
    # window 1 (the usual h, c) keeps its adjoint as the array itself, replaced each step, not
    # in a carry buffer that is shifted, zeroed and added into; a sequence read by one tap
    # gets each step's gradient row assigned, not added.
    single = {k for k in carries if spec.windows[k] == 1}
    zero_state = {k: xp.zeros(buffers[k].shape[1:], dtype=buffers[k].dtype) for k in single}
    current = dict(zero_state)
    shifted = [carries[k] for k in carries if k not in single]
    taps_per_seq = [sum(1 for j2, _ in spec.seq_reads if j2 == j) for j in range(spec.n_seqs)]
    for j, (j_read, offset) in enumerate(spec.seq_reads):
        if (seq_grads[j_read] is not None and taps_per_seq[j_read] == 1 and offset == 0
                and limit == steps == len(seqs[j_read])
                and any(p == j for p, _ in grad_program.summed)):
            # Every row is assigned below: no zero fill, and reused memory (no page faults).
            seq_grads[j_read] = array_cache.empty(seqs[j_read].shape, seqs[j_read].dtype)
    seq_summed, state_summed, carry_summed, external_summed = [], {k: [] for k in single}, [], []
    for position, index in grad_program.summed:
        if position < n_seq_args:
            j, offset = spec.seq_reads[position]
            seq_summed.append((index, seq_grads[j], offset, taps_per_seq[j] == 1))
        elif position < n_seq_args + n_state_args:
            k, tap = spec.state_reads[position - n_seq_args]
            if k in single:
                state_summed[k].append(index)
            else:
                carry_summed.append((index, carries[k], -tap - 1))
        else:
            external_summed.append((index, external_grads[position - n_seq_args - n_state_args]))
    state_summed = list(state_summed.items())
    for t in range(steps - 1, steps - 1 - limit, -1):
        for a, (j, offset) in enumerate(spec.seq_reads):
            args[a] = seqs[j][t + offset]
        for a, (k, tap) in enumerate(spec.state_reads, n_seq_args):
            args[a] = buffers[k][spec.windows[k] + t + tap]
        for a, output in enumerate(adjoint_positions):
            if output < spec.n_recurrent:
                value = current[output] if output in current else carries[output][0]
                if output == op.index:
                    value = value + given[spec.windows[output] + t]
            elif output == op.index:
                value = given[t]
            else:
                value = zero_adjoints.get(output)
                if value is None:
                    shape = outs[output].shape[1:]
                    value = zero_adjoints[output] = xp.zeros(
                        shape, dtype=spec.inner_outputs[output].dtype.np)
            adjoints[a] = value
        results = grad_program.program(args + adjoints + saved[t])
        for carry in shifted:  # shift: the carry now describes the values before step t
            carry[:-1] = carry[1:]
            carry[-1] = 0
        for factors, (left, right) in zip(products, grad_program.products.values()):
            factors[0].append(results[left])
            factors[1].append(results[right])
        for index, grads, offset, assign in seq_summed:
            if assign:
                grads[t + offset] = results[index]
            else:
                grads[t + offset] += results[index]
        for k, indexes in state_summed:
            if not indexes:
                current[k] = zero_state[k]
                continue
            # The step's results are new arrays of this call (never written again): kept as is.
            value = results[indexes[0]]
            for index in indexes[1:]:
                value = value + results[index]
            current[k] = value
        for index, carry, row in carry_summed:
            carry[row] += results[index]
        for index, grads in external_summed:
            grads += results[index]
    for (lefts, rights), position in zip(products, grad_program.products):
        if lefts:
            external_grads[position - n_seq_args - n_state_args] += backend.matmul(
                xp.concatenate(lefts, axis=1), xp.concatenate(rights, axis=0))
    init_grads = []
    for k, init in enumerate(inits):
        if not mask[spec.n_seqs + k]:
            init_grads.append(None)
            continue
        window = spec.windows[k]
        result = xp.zeros(init.shape, dtype=init.dtype)
        if k in carries:
            if limit == steps:
                result[:window] += current[k] if k in current else carries[k][::-1]
            if k == op.index and given is not None:
                result[:window] += given[:window]
        init_grads.append(result)
    return tuple(seq_grads) + tuple(init_grads) + tuple(external_grads)


# ----- building a scan ----------------------------------------------------------------------

def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """Theano's scan (module docstring): returns ``(outputs, updates)``; ``outputs`` is one
    tensor for one output, a list for several (always a list with ``return_list=True``), None
    for none; ``updates`` an OrderedDict {shared variable: value after the loop}. ``mode``,
    ``profile`` and ``allow_gc`` are accepted for Theano's code and ignored."""
    label = f"scan {name!r}" if name else "scan"
    if not callable(fn):
        raise TypeError(f"{label}: fn must be callable, got {fn!r}")
    seq_entries = [_sequence_entry(s, label, k) for k, s in enumerate(_as_list(sequences))]
    for j, (s, _) in enumerate(seq_entries):
        if s.ndim == 0:
            raise ValueError(f"{label}: sequence {j} is a scalar; a sequence is iterated over its "
                             "first dimension")
    if go_backwards:
        from ganglion.core.ops.shape import flip
        seq_entries = [(flip(s, 0), taps) for s, taps in seq_entries]
    info_entries = [_output_entry(o, label, k) for k, o in enumerate(_as_list(outputs_info))]
    non_seqs = [_as_tensor(v, label) for v in _as_list(non_sequences)]
    if n_steps is None and not seq_entries:
        raise ValueError(f"{label}: give sequences= or n_steps= (the number of steps cannot be "
                         "known otherwise)")
    steps_tensor, known_steps = _n_steps(n_steps, label)
    if known_steps is None and n_steps is None and all(
            _shape(s)[0] is not None for s, _ in seq_entries):
        known_steps = max(0, min(_shape(s)[0] - (max(taps) - min(taps)) for s, taps in seq_entries))
    if truncate_gradient is None or truncate_gradient == 0:
        truncate_gradient = -1

    # Placeholders for one step, in fn's argument order.
    seq_reads, seq_spans, seq_args = [], [], []
    for j, (s, taps) in enumerate(seq_entries):
        low = min(taps)
        seq_spans.append(max(taps) - low)
        for tap in taps:
            seq_reads.append((j, tap - low))
            seq_args.append(placeholder(s.dtype, _shape(s)[1:], name=_tap_name(s, "t", tap)))
    recurrent_inits, windows, state_reads, state_args = [], [], [], []
    for k, entry in enumerate(info_entries):
        if entry is None:
            continue
        initial, taps = entry
        number = len(windows)
        window = -min(taps)
        if taps == [-1]:
            shape = _shape(initial)
            init_window = initial.unsqueeze(0)
        else:
            if initial.ndim == 0 or _shape(initial)[0] is not None and _shape(initial)[0] < window:
                raise ValueError(f"{label}: outputs_info {k} has taps {list(taps)}, so its initial "
                                 f"value needs at least {window} rows; got shape "
                                 f"{format_shape(_shape(initial))}")
            shape = _shape(initial)[1:]
            init_window = initial[:window]
        windows.append(window)
        recurrent_inits.append(init_window)
        for tap in taps:
            state_reads.append((number, tap))
            state_args.append(placeholder(initial.dtype, shape, name=_tap_name(initial, "t", tap)))

    returned = fn(*(seq_args + state_args + non_seqs))
    outputs, updates, condition = _split_return(returned, label)
    n_outputs = len(outputs)
    if info_entries and len(info_entries) != n_outputs:
        raise ValueError(f"{label}: fn returns {n_outputs} output{'s' if n_outputs != 1 else ''} "
                         f"but outputs_info has {len(info_entries)} entries; give None in "
                         "outputs_info for each output that is not fed back")
    if not info_entries:
        info_entries = [None] * n_outputs
    recurrent_outputs = [o for o, e in zip(outputs, info_entries) if e is not None]
    nit_outputs = [o for o, e in zip(outputs, info_entries) if e is None]
    recurrent_positions = [k for k, e in enumerate(info_entries) if e is not None]
    nit_positions = [k for k, e in enumerate(info_entries) if e is None]
    _check_recurrent_types(label, recurrent_outputs, recurrent_inits, recurrent_positions)

    # Shared variables updated inside fn become recurrent states (tap -1) of the loop.
    update_targets = []
    replacements = {}
    for target, value in updates:
        if not isinstance(target, SharedVariable) and (target._data is None or
                                                       isinstance(target, Constant)):
            raise TypeError(f"{label}: fn returns an update of {target!r}, which is not a shared "
                            "variable")
        if not isinstance(value, Tensor):
            value = _as_tensor(value, label, target.dtype)
        if value.dtype is not target.dtype:
            value = value.to(target.dtype)
        state = placeholder(target.dtype, _shape(target), name=target.name)
        number = len(windows)
        windows.append(1)
        recurrent_inits.append(target.unsqueeze(0))
        state_reads.append((number, -1))
        state_args.append(state)
        replacements[id(target)] = state
        update_targets.append(target)
        recurrent_outputs.append(value)

    step_inputs = seq_args + state_args
    step_outputs = recurrent_outputs + nit_outputs + ([condition] if condition is not None else [])
    externals, closed_outputs, external_phs, random = _close(step_outputs, step_inputs,
                                                             replacements, non_seqs, strict, label)
    inner_inputs = step_inputs + external_phs
    n_rec_user = len(recurrent_positions)
    output_types = []
    for k, o in enumerate(closed_outputs[:len(recurrent_outputs)]):
        output_types.append(TensorType(o.dtype, (known_steps,) + _shape(recurrent_inits[k])[1:]))
    for o in closed_outputs[len(recurrent_outputs):len(recurrent_outputs) + len(nit_outputs)]:
        output_types.append(TensorType(o.dtype, (known_steps if condition is None else None,)
                                       + _shape(o)))
    if condition is not None:
        output_types[:len(recurrent_outputs)] = [TensorType(t.dtype, (None,) + t.shape[1:])
                                                 for t in output_types[:len(recurrent_outputs)]]
    spec = ScanSpec(name, seq_reads, seq_spans, windows, state_reads, len(externals), inner_inputs,
                    closed_outputs, condition is not None, random, int(truncate_gradient),
                    output_types)
    scan_inputs = ([steps_tensor] + [s for s, _ in seq_entries] + recurrent_inits + externals)
    from ganglion.core.grad_mode import grad_enabled
    if grad_enabled[0] and all(t._data is not None for t in scan_inputs) and any(
            t.requires_grad for t in scan_inputs):
        spec.save_for_grad = True  # an eager loop that backward may go through
    node = apply(ScanOp(spec), *scan_inputs)

    def output(index, kind):
        if kind == "last":
            state_type = _shape(recurrent_inits[index])[1:]
            type_ = TensorType(output_types[index].dtype, state_type)
        else:
            type_ = output_types[index]
        result = apply(ScanOutput(spec, index, kind, type_), node, *scan_inputs)
        if isinstance(result, Tensor) and not result.dtype.is_floating_point:
            result.requires_grad = False
        return result

    results = [None] * n_outputs
    for number, position in enumerate(recurrent_positions):
        results[position] = output(number, "public")
    for l, position in enumerate(nit_positions):
        results[position] = output(len(recurrent_outputs) + l, "public")
    update_dict = OrderedDict()
    for u, target in enumerate(update_targets):
        update_dict[target] = output(n_rec_user + u, "last")
    if return_list:
        return results, update_dict
    if not results:
        return None, update_dict
    return (results[0] if n_outputs == 1 else results), update_dict


def _shape(t):
    """What is known of ``t``'s shape now: ints, None where unknown (never symbolic dims)."""
    return tuple(t.tensor_type.shape)


def _tap_name(t, letter, tap):
    base = t.name or "x"
    return f"{base}[{letter}{tap:+d}]" if tap else f"{base}[{letter}]"


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_tensor(value, label, dtype=None):
    if isinstance(value, Tensor):
        return value
    from ganglion.core.creation import tensor
    try:
        array = backend.xp.asarray(value)
    except Exception:  # noqa: BLE001  (anything NumPy cannot read is refused by name below)
        array = None
    if array is None or array.dtype == object:
        raise TypeError(f"{label}: expected a tensor, an array or a number, got {value!r}")
    if dtype is not None:
        return tensor(array, dtype=dtype)
    return make_tensor(array)


def _sequence_entry(entry, label, k):
    taps = [0]
    if isinstance(entry, dict):
        if "input" not in entry:
            raise ValueError(f"{label}: sequences[{k}] is a dict without 'input'")
        taps = entry.get("taps", [0])
        taps = [0] if taps is None else list(taps) if isinstance(taps, (list, tuple)) else [taps]
        entry = entry["input"]
    if not taps or any(not isinstance(t, int) for t in taps):
        raise ValueError(f"{label}: sequences[{k}] taps must be a non-empty list of ints, got "
                         f"{taps}")
    return _as_tensor(entry, label), taps


def _output_entry(entry, label, k):
    """None (an output not fed back) or (initial value, taps)."""
    if entry is None:
        return None
    taps = [-1]
    if isinstance(entry, dict):
        initial = entry.get("initial")
        if initial is None:
            if entry.get("taps"):
                raise ValueError(f"{label}: outputs_info[{k}] has taps but no initial value")
            return None
        taps = entry.get("taps", [-1])
        taps = [-1] if taps is None else list(taps) if isinstance(taps, (list, tuple)) else [taps]
        entry = initial
    if not taps or any(not isinstance(t, int) or t >= 0 for t in taps):
        raise ValueError(f"{label}: outputs_info[{k}] taps must be negative ints (earlier steps), "
                         f"got {taps}")
    return _as_tensor(entry, label), taps


def _n_steps(n_steps, label):
    """(the n_steps input as an int64 tensor, the number of steps if known now)."""
    from ganglion.core.ops.elementwise import constant
    if n_steps is None:
        return constant(-1, dtypes.int64), None
    if isinstance(n_steps, Tensor):
        if n_steps.ndim != 0 or n_steps.dtype.is_floating_point or n_steps.dtype is dtypes.bool_:
            raise TypeError(f"{label}: n_steps must be an integer scalar, got "
                            f"{n_steps.dtype.name} of shape {format_shape(_shape(n_steps))}")
        if n_steps._data is not None:
            return _n_steps(int(n_steps._data), label)
        return n_steps.to(dtypes.int64) if n_steps.dtype is not dtypes.int64 else n_steps, None
    if isinstance(n_steps, bool) or not hasattr(type(n_steps), "__index__"):
        raise TypeError(f"{label}: n_steps must be an integer, got {n_steps!r}")
    n_steps = n_steps.__index__()
    if n_steps < 0:
        raise ValueError(f"{label}: n_steps must not be negative, got {n_steps} (use "
                         "go_backwards=True to iterate from the end)")
    return constant(n_steps, dtypes.int64), n_steps


def _split_return(returned, label):
    """fn's result as (outputs, update pairs, condition), in any of Theano's forms."""
    if returned is None:
        return [], [], None
    items = list(returned) if isinstance(returned, (list, tuple)) else [returned]
    if _is_updates(returned) and not isinstance(returned, Tensor):
        return [], _update_pairs(returned), None
    condition = None
    if items and isinstance(items[-1], until):
        condition = items.pop().condition
    if any(isinstance(i, until) for i in items):
        raise ValueError(f"{label}: until(...) must be the last thing fn returns")
    updates = []
    if len(items) in (1, 2) and any(_is_updates(i) for i in items):
        outputs = []
        for item in items:
            if _is_updates(item):
                updates = _update_pairs(item)
            else:
                outputs = _as_list(item)
    else:
        outputs = items
    result = []
    for k, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            o = _as_tensor(o, label)
        result.append(o)
    return result, updates, condition


def _is_updates(value):
    if isinstance(value, dict):
        return True
    if isinstance(value, (list, tuple)) and value and not isinstance(value, Tensor):
        return all(isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], SharedVariable)
                   for p in value)
    return False


def _update_pairs(value):
    return list(value.items()) if isinstance(value, dict) else [tuple(p) for p in value]


def _check_recurrent_types(label, outputs, inits, positions):
    for number, (o, init) in enumerate(zip(outputs, inits)):
        if o.dtype is not init.dtype:
            raise TypeError(
                f"{label}: output {positions[number]} of fn has dtype {o.dtype.name} but its "
                f"initial value (outputs_info) has dtype {init.dtype.name}; they must match "
                "(give an initial value of the output's dtype, or cast the output)")
        state = _shape(init)[1:]
        if _clashes(_shape(o), state):
            raise ValueError(
                f"{label}: output {positions[number]} of fn has shape {format_shape(_shape(o))} "
                f"but its initial value (outputs_info) has shape {format_shape(state)}; the "
                "initial value must have the shape of one step's output")


def _close(outputs, step_inputs, replacements, non_seqs, strict, label):
    """Close the step graph: (externals, outputs rebuilt on placeholders, the externals'
    placeholders, whether the graph draws random numbers).

    A tensor depends on the step if it is a step input, a replaced shared variable, or an op
    on something that does, or a random draw made inside fn (drawn again each step, as in
    Theano; explicit non-sequences are never drawn again). The others that step tensors read
    are externals: computed once, outside the loop, and read through a placeholder."""
    from ganglion.core.rebinds import correct_graph
    from ganglion.symbolic.rewrites import nondeterministic
    correct_graph(outputs)  # step nodes made before an in-place change read the old value
    inner = {id(t): True for t in step_inputs}
    for key in replacements:
        inner[key] = True
    fixed = {id(t) for t in non_seqs}
    random = [False]
    stack = list(outputs)
    while stack:
        t = stack[-1]
        key = id(t)
        if key in inner:
            stack.pop()
            continue
        if key in fixed or t._op is None:
            inner[key] = False
            stack.pop()
            continue
        pending = [i for i in t._inputs if id(i) not in inner]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        draws = nondeterministic(t._op) and (not isinstance(t._op, _TupleOp) or t._op.spec.random)
        inner[key] = draws or any(inner[id(i)] for i in t._inputs)
        random[0] = random[0] or (draws and inner[key])
    externals, holders = [], {}
    memo = {id(t): t for t in step_inputs}
    memo.update(replacements)

    def external(t):
        holder = holders.get(id(t))
        if holder is None:
            if isinstance(t, Constant):
                return t
            if strict:
                _check_strict(t, fixed, label)
            holder = placeholder(t.dtype, _shape(t), name=t.name)
            holders[id(t)] = holder
            externals.append(t)
        return holder

    closed = []
    for root in outputs:
        stack = [root]
        while stack:
            t = stack[-1]
            key = id(t)
            if key in memo:
                stack.pop()
                continue
            if not inner[key]:
                memo[key] = external(t)
                stack.pop()
                continue
            pending = [i for i in t._inputs if id(i) not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            new_inputs = tuple(memo[id(i)] for i in t._inputs)
            if all(a is b for a, b in zip(new_inputs, t._inputs)):
                memo[key] = t
            else:
                memo[key] = apply(t._op, *new_inputs)
        closed.append(memo[id(root)])
    return externals, closed, [holders[id(t)] for t in externals], random[0]


def _check_strict(t, fixed, label):
    stack, seen = [t], set()
    while stack:
        u = stack.pop()
        if id(u) in seen or id(u) in fixed or isinstance(u, Constant):
            continue
        seen.add(id(u))
        if u._op is None:
            raise ValueError(f"{label}: strict=True, but fn uses {u.name or 'a variable'!r} "
                             f"(shape {format_shape(_shape(u))}), which is not in non_sequences")
        stack.extend(u._inputs)


# ----- Theano's shortcuts and the gradient helpers built on scan --------------------------

def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False, mode=None,
        name=None):
    """``fn`` applied to each step of the sequences (``theano.map``)."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None,
           name=None):
    """A scan that keeps only the last value of each recurrent output (``theano.reduce``)."""
    outputs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                            non_sequences=non_sequences, go_backwards=go_backwards, name=name)
    if isinstance(outputs, list):
        return [o[-1] for o in outputs], updates
    return outputs[-1], updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name)


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Jacobian of a vector (or scalar) ``expression`` with respect to ``wrt`` (a tensor or a
    list): one row of gradients per element, by a scan over the elements, as Theano's
    ``theano.gradient.jacobian``. Shape: expression's length followed by wrt's shape."""
    from ganglion.core.autograd import grad
    from ganglion.core.creation import zeros_like
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    allow = disconnected_inputs != "raise"
    if expression.ndim == 0:
        grads = list(grad(expression, wrt_list, allow_unused=allow))
        return grads[0] if single else grads
    if expression.ndim != 1:
        raise TypeError(f"jacobian: the expression must be a vector (1-d) or a scalar, got "
                        f"shape {format_shape(_shape(expression))}; flatten it first")

    def row(i, expression, *wrt_vars):
        grads = grad(expression[i], list(wrt_vars), allow_unused=allow)
        return [g if g is not None else zeros_like(w) for g, w in zip(grads, wrt_vars)]

    indices = apply(_RowIndices(), expression)
    rows, _ = scan(row, sequences=indices, non_sequences=[expression] + wrt_list,
                   return_list=True, name="jacobian")
    return rows[0] if single else rows


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Hessian of a scalar ``cost`` with respect to ``wrt`` (a vector or a list of
    vectors): the Jacobian of the gradient, one scan per variable (Theano's
    ``theano.gradient.hessian``)."""
    from ganglion.core.autograd import grad
    if cost.ndim != 0:
        raise TypeError(f"hessian: the cost must be a scalar, got shape "
                        f"{format_shape(_shape(cost))}")
    single = not isinstance(wrt, (list, tuple))
    result = []
    for variable in ([wrt] if single else list(wrt)):
        if variable.ndim != 1:
            raise TypeError(f"hessian: each variable must be a vector, got shape "
                            f"{format_shape(_shape(variable))}")
        gradient = grad(cost, [variable], allow_unused=disconnected_inputs != "raise")[0]
        result.append(jacobian(gradient, variable, disconnected_inputs=disconnected_inputs))
    return result[0] if single else result
