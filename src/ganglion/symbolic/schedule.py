"""The flat schedule a compiled function runs: kernel calls over numbered value slots.

Compiling assigns every node a slot and turns each apply node into one instruction
``(kernel, input slots, output slot, slots to free)``. Running is a single loop over that list:
no graph walk, no type checks, no dispatch per call. A slot is freed (its array released) right
after its last reader, so peak memory follows the live values only.

Buffer reuse: an elementwise op writes its result (``out=``) into an array that the schedule
owns (made by an earlier op: not a view, not an input, shared value or output) and that nobody
reads any more: an input that dies at this op, or else a dead buffer of the same type from a
pool, as a hand-written NumPy step does. This avoids allocating (and page-faulting) a fresh
large array per op; it pays only for large arrays of known shape, and only those are rewritten.
An update's new value is written straight into the shared variable's storage once nothing reads
the old value any more, as an eager optimizer's in-place step does (so two shared variables
must not share one array, as ``borrow=True`` could make them).

What the schedule needs to know about each op is declared on the op (``core/op.py``): whether
its result is always a new array (``returns_new_array``) or its first input's storage
(``is_view``), and whether it can write into a given array (``accepts_out``, whose
``in_place_kernel`` the schedule calls).
"""
from functools import partial

from ganglion.backend import current as backend
from ganglion.symbolic.fusion import FusedElementwiseOutputs, FusedOutput
from ganglion.symbolic.graph import toposort
from ganglion.symbolic.shared import value_attribute

__all__ = ["Schedule"]

# Arrays smaller than this are cheap to allocate: reusing them does not pay.
_REUSE_MIN_SIZE = 1024


class Instruction:
    __slots__ = ("node", "kernel", "args", "out", "free", "in_place")

    def __init__(self, node, kernel, args, out):
        self.node = node
        self.kernel = kernel
        self.args = args
        self.out = out
        self.free = ()
        self.in_place = None


class Schedule:
    """Slots and instructions for computing ``roots`` (output and update nodes)."""

    def __init__(self, outputs, input_nodes, updates=()):
        """``outputs``: nodes to return; ``updates``: (target tensor, new value node) pairs."""
        roots = list(outputs) + [value for _, value in updates]
        order = toposort(roots)
        self.slot = {}
        for node in list(input_nodes) + order:
            self.slot.setdefault(id(node), len(self.slot))
        self.types = {self.slot[id(node)]: node.type for node in order}
        self.initial = [None] * len(self.slot)
        self.shared = []
        self.instructions = []
        for node in order:
            slot = self.slot[id(node)]
            if node.kind == "constant":
                self.initial[slot] = node.value
            elif node.kind == "shared":
                self.shared.append((slot, node.tensor, value_attribute(node.tensor), node.type.shape))
            elif node.kind == "apply":
                args = tuple(self.slot[id(i)] for i in node.inputs)
                self.instructions.append(Instruction(node, partial(node.op.forward, backend), args, slot))
        kept = {self.slot[id(r)] for r in roots}
        last_use = self._last_uses(kept)
        targets = self._update_targets(outputs, updates)
        last_use.update(self._reuse_buffers(last_use, kept, targets))
        self._plan_frees(last_use, kept)
        self.program = [(i.kernel, i.args, i.out, i.free) for i in self.instructions]

    def _last_uses(self, kept):
        end = len(self.instructions)
        last_use = {}
        for index, instruction in enumerate(self.instructions):
            for slot in instruction.args:
                last_use[slot] = index
        for slot in kept:
            last_use[slot] = end
        return last_use

    def _update_targets(self, outputs, updates):
        """{slot of an update's new value: slot of the shared value it replaces}, for updates
        whose new value is computed by this schedule and is not also returned."""
        shared_slots = {id(tensor): slot for slot, tensor, _, _ in self.shared}
        returned = {id(node) for node in outputs}
        values = [id(value) for _, value in updates]
        targets = {}
        for target, value in updates:
            slot = shared_slots.get(id(target))
            if (slot is not None and value.kind == "apply" and id(value) not in returned
                    and values.count(id(value)) == 1):
                targets[self.slot[id(value)]] = slot
        return targets

    def _reuse_buffers(self, last_use, kept, targets):
        """Give elementwise ops a dead buffer to write into (module docstring); the op computing
        an update writes straight into the storage of the shared value it replaces, once nothing
        reads the old value any more (``targets``: see ``_update_targets``). Returns {slot: index
        of the instruction that takes over its buffer}: such a slot is freed there, not at its
        own last use."""
        owner = {}       # slot -> the slot whose array it is (itself, or the array it views)
        pinned = set()   # owners whose arrays must never be overwritten
        for instruction in self.instructions:
            op = instruction.node.op
            if op.returns_new_array:
                owner[instruction.out] = instruction.out
            elif isinstance(op, FusedElementwiseOutputs):
                # Its value is a tuple of arrays: never a buffer for anyone.
                owner[instruction.out] = instruction.out
                pinned.add(instruction.out)
            elif instruction.args and op.is_view:
                owner[instruction.out] = owner.get(instruction.args[0], instruction.args[0])
            else:
                # An op that may return (a view of) any input: none of them may be overwritten.
                owner[instruction.out] = instruction.out
                pinned.add(instruction.out)
                pinned.update(owner.get(a, a) for a in instruction.args)
        owner_last_use = {}
        view_last_use = {}
        for slot, first in owner.items():
            owner_last_use[first] = max(owner_last_use.get(first, -1), last_use.get(slot, -1))
            if slot != first:
                view_last_use[first] = max(view_last_use.get(first, -1), last_use.get(slot, -1))
        writable_storage = {value: slot for value, slot in targets.items() if slot not in pinned}
        for slot in kept:
            pinned.add(owner.get(slot, slot))
        dying = {}
        for slot, index in owner_last_use.items():
            if owner.get(slot) == slot and slot not in pinned:
                dying.setdefault(index, []).append(slot)
        types = self.types
        output_slots = {}  # (slot of a multi-output loop, output number) -> slot of that output
        for instruction in self.instructions:
            if isinstance(instruction.node.op, FusedOutput):
                output_slots[(instruction.args[0], instruction.node.op.index)] = instruction.out
        pool = {}        # TensorType -> owner slots whose arrays are dead and free to take
        taken = {}
        for index, instruction in enumerate(self.instructions):
            op = instruction.node.op
            if isinstance(op, FusedElementwiseOutputs):
                positions = []
                for k in range(len(op.spec.outputs)):
                    storage = writable_storage.get(output_slots.get((instruction.out, k)))
                    if (storage is not None and storage not in pinned
                            and last_use.get(storage, -1) <= index
                            and view_last_use.get(storage, -1) < index
                            and types[storage] == types[output_slots[(instruction.out, k)]]):
                        positions.append(len(instruction.args))
                        instruction.args += (storage,)
                        taken[storage] = index
                    else:
                        positions.append(None)
                instruction.kernel = op.kernel_into(tuple(positions))
                if any(p is not None for p in positions):
                    instruction.in_place = instruction.args[len(op.spec.inputs):]
            # make(position): the op's kernel writing into its argument at ``position``.
            make = (partial(op.in_place_kernel, backend, arity=len(instruction.args))
                    if op.accepts_out else None)
            out_type = instruction.node.type
            storage = writable_storage.get(instruction.out)
            if (make is not None and _pays(instruction.node) and storage is not None
                    and storage not in pinned and last_use.get(storage, -1) <= index
                    and view_last_use.get(storage, -1) < index
                    and self.types[storage] == instruction.node.type):
                instruction.kernel = make(len(instruction.args))
                instruction.args += (storage,)
                instruction.in_place = storage
                taken[storage] = index
            elif make is not None and _pays(instruction.node):
                for position, slot in enumerate(instruction.args):
                    if slot in dying.get(index, ()) and types[slot] == out_type:
                        instruction.kernel = make(position)
                        instruction.in_place = slot
                        dying[index].remove(slot)
                        break
                else:
                    free_buffers = pool.get(out_type)
                    if free_buffers:
                        slot = free_buffers.pop()
                        instruction.kernel = make(len(instruction.args))
                        instruction.args += (slot,)
                        instruction.in_place = slot
                        taken[slot] = index
            for slot in dying.get(index, ()):
                pool.setdefault(types[slot], []).append(slot)
        return taken

    def _plan_frees(self, last_use, kept):
        frees = {}
        for slot, index in last_use.items():
            if slot not in kept:
                frees.setdefault(index, []).append(slot)
        for index, instruction in enumerate(self.instructions):
            instruction.free = tuple(frees.get(index, ()))


def makes_new_array(node):
    """True when ``node``'s value is always an array of its own (never an input or a view)."""
    return node.kind == "apply" and node.op.returns_new_array


def _pays(node):
    shape = node.type.shape
    if not shape or None in shape:
        return False
    size = 1
    for d in shape:
        size *= d
    return size >= _REUSE_MIN_SIZE
