"""Collectives on Tensors and NumPy arrays (``torch.distributed.all_reduce`` and friends), on MPI.

Arrays travel through MPI's buffer interface (``Allreduce``, ``Bcast``, ``Allgather``,
``Reduce_scatter_block`` and their non-blocking ``I...`` forms), never pickled. They work in
place as PyTorch's do: ``all_reduce(t)`` leaves the reduced values in ``t``. A non-contiguous
array (a transposed or sliced view) is copied into a contiguous buffer and the result copied
back, since MPI reads contiguous memory. ``async_op=True`` returns a ``Work`` handle at once;
its ``wait()`` finishes the operation (the copy back, the division of ``AVG``) and must be
called before the values are read.

MPI cannot see that two ranks passed different dtypes or shapes: the call then fails inside
MPI or returns garbage. With ``GANGLION_DISTRIBUTED_DEBUG=1`` in the environment (PyTorch's
``TORCH_DISTRIBUTED_DEBUG=DETAIL``) every collective first compares the ranks' dtypes and shapes
and raises an error that names them; it costs one small extra collective per call.

Python objects (metrics, file names) go through the ``*_object`` functions, which pickle: use
them for small values from the same job only.
"""
import os

import numpy as np

from ganglion.core.tensor import Tensor
from ganglion.core.versions import bump_storage
from ganglion.distributed.process_group import DistributedError, current_group

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "all_gather", "reduce_scatter",
           "all_gather_object", "gather_object", "broadcast_object_list", "scatter_object_list"]

#: dtypes MPI reduces natively (float16/bfloat16 have no MPI type).
_SUPPORTED_KINDS = "fiub"


class ReduceOp:
    """How ``all_reduce`` and ``reduce_scatter`` combine the ranks' values."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


def _mpi_op(op, who):
    from mpi4py import MPI
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
             ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}
    return table[op]


def _check_op(op, array, who):
    if op not in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MAX, ReduceOp.MIN):
        raise ValueError(f"{who}: unknown op {op!r}; use ReduceOp.SUM, AVG, PRODUCT, MAX or MIN")
    if op == ReduceOp.AVG and array.dtype.kind not in "fc":
        raise TypeError(f"{who}: ReduceOp.AVG needs a floating-point tensor, got {array.dtype}; "
                        "use ReduceOp.SUM and divide by get_world_size()")


class Work:
    """The handle of a non-blocking collective: ``wait()`` completes it (and must be called
    before the result is read), ``is_completed()`` asks without blocking."""

    __slots__ = ("_request", "_finish", "_done")

    def __init__(self, request=None, finish=None):
        self._request = request
        self._finish = finish
        self._done = request is None
        if self._done and finish is not None:
            finish()

    def wait(self, timeout=None):
        """Block until the operation is done and its result is in place; returns True."""
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def is_completed(self):
        """Whether the operation has finished (finishing it if MPI says it has)."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def _array_of(value, who, writes=True):
    """The NumPy array behind a Tensor or an ndarray, checked for MPI."""
    if isinstance(value, Tensor):
        array = value._data
        if array is None:
            raise TypeError(f"{who}: the tensor is symbolic (a placeholder's result) and has no "
                            "value; in a compiled function use ganglion.distributed.all_reduce_op")
    elif isinstance(value, np.ndarray):
        array = value
    else:
        raise TypeError(f"{who}: expected a ganglion Tensor or a NumPy array, got "
                        f"{type(value).__name__}")
    if array.dtype.kind not in _SUPPORTED_KINDS or array.dtype == np.float16:
        raise TypeError(f"{who}: dtype {array.dtype} has no MPI datatype; cast to float32 or "
                        "float64 first")
    if writes and not array.flags.writeable:
        raise ValueError(f"{who}: the array of shape {array.shape} is read-only, and this "
                         "collective writes its result in place")
    return array


def _contiguous(array):
    """(buffer MPI can use, whether the result must be copied back into ``array``)."""
    if array.flags.c_contiguous:
        return array, False
    return np.ascontiguousarray(array), True


def _check_same_everywhere(group, who, signature):
    """Under GANGLION_DISTRIBUTED_DEBUG: every rank passed the same (dtype, shape, ...)."""
    if not _debug[0] or group.comm is None:
        return
    signatures = group.comm.allgather(signature)
    if any(s != signatures[0] for s in signatures):
        described = "; ".join(f"rank {r}: {s}" for r, s in enumerate(signatures))
        raise DistributedError(f"{who}: the ranks passed different arguments ({described}); "
                               "every rank must call the same collective on tensors of the same "
                               "dtype and shape")


_debug = [os.environ.get("GANGLION_DISTRIBUTED_DEBUG", "").upper() in ("1", "DETAIL", "INFO")]


def _run(request_or_none, finish, async_op):
    work = Work(request_or_none, finish)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks, in place: afterwards every rank holds the sum (or
    average, product, max, min) of all ranks' values."""
    who = "all_reduce"
    pg = current_group(who)
    array = _array_of(tensor, who)
    _check_op(op, array, who)
    _check_same_everywhere(pg, who, (str(array.dtype), array.shape, op))
    buffer, copy_back = _contiguous(array)
    size = pg.size

    def finish():
        if op == ReduceOp.AVG and size > 1:
            np.divide(buffer, size, out=buffer)
        if copy_back:
            array[...] = buffer
        bump_storage(array)

    request = None
    if pg.comm is not None and array.size:
        from mpi4py import MPI
        mpi_op = _mpi_op(op, who)
        if async_op:
            request = pg.comm.Iallreduce(MPI.IN_PLACE, buffer, op=mpi_op)
        else:
            pg.comm.Allreduce(MPI.IN_PLACE, buffer, op=mpi_op)
    return _run(request, finish, async_op)


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank (in place)."""
    who = "broadcast"
    pg = current_group(who)
    _check_rank(src, pg, who, "src")
    array = _array_of(tensor, who)
    _check_same_everywhere(pg, who, (str(array.dtype), array.shape, src))
    buffer, copy_back = _contiguous(array)

    def finish():
        if copy_back and pg.rank != src:
            array[...] = buffer
        bump_storage(array)

    request = None
    if pg.comm is not None and array.size:
        if async_op:
            request = pg.comm.Ibcast(buffer, root=src)
        else:
            pg.comm.Bcast(buffer, root=src)
    return _run(request, finish, async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list`` (one tensor per rank, each of ``tensor``'s shape and dtype) with
    every rank's ``tensor``."""
    who = "all_gather"
    pg = current_group(who)
    array = _array_of(tensor, who, writes=False)
    outputs = _output_list(tensor_list, pg.size, array, who)
    _check_same_everywhere(pg, who, (str(array.dtype), array.shape))
    send = np.ascontiguousarray(array)
    gathered = np.empty((pg.size,) + array.shape, array.dtype)

    def finish():
        for out, part in zip(outputs, gathered):
            out[...] = part
            bump_storage(out)

    request = None
    if pg.comm is None:
        gathered[0] = send
    elif array.size:
        if async_op:
            request = pg.comm.Iallgather(send, gathered)
        else:
            pg.comm.Allgather(send, gathered)
    return _run(request, finish, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list`` (one tensor per rank) over all ranks and leave the part of rank
    ``r`` (the reduction of every rank's ``input_list[r]``) in ``output`` on rank ``r``."""
    who = "reduce_scatter"
    pg = current_group(who)
    out_array = _array_of(output, who)
    _check_op(op, out_array, who)
    inputs = _output_list(input_list, pg.size, out_array, who, writes=False)
    _check_same_everywhere(pg, who, (str(out_array.dtype), out_array.shape, op))
    send = np.stack(inputs) if inputs else np.empty((0,) + out_array.shape, out_array.dtype)
    received = np.empty(out_array.shape, out_array.dtype)
    size = pg.size

    def finish():
        if op == ReduceOp.AVG and size > 1:
            np.divide(received, size, out=received)
        out_array[...] = received
        bump_storage(out_array)

    request = None
    if pg.comm is None:
        received[...] = send[0]
    elif out_array.size:
        mpi_op = _mpi_op(op, who)
        if async_op:
            request = pg.comm.Ireduce_scatter_block(send, received, op=mpi_op)
        else:
            pg.comm.Reduce_scatter_block(send, received, op=mpi_op)
    return _run(request, finish, async_op)


def _output_list(values, size, like, who, writes=True):
    if not isinstance(values, (list, tuple)) or len(values) != size:
        got = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise ValueError(f"{who}: expected a list of world_size={size} tensors, got {got}")
    arrays = [_array_of(v, who, writes) for v in values]
    for r, a in enumerate(arrays):
        if a.shape != like.shape or a.dtype != like.dtype:
            raise ValueError(f"{who}: tensor {r} of the list has shape {a.shape} and dtype "
                             f"{a.dtype}, expected shape {like.shape} and dtype {like.dtype}")
    return arrays


def _check_rank(value, pg, who, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value < pg.size:
        raise ValueError(f"{who}: {name}={value!r} is not a rank of this group (0 .. "
                         f"{pg.size - 1})")


# ----- Python objects (pickled; small values such as metrics) -----------------------------------

def all_gather_object(object_list, obj, group=None):
    """Fill ``object_list`` (of length world_size) with every rank's ``obj``."""
    pg = current_group("all_gather_object")
    _check_list_length(object_list, pg.size, "all_gather_object", "object_list")
    object_list[:] = [obj] if pg.comm is None else pg.comm.allgather(obj)


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    """On rank ``dst``, fill ``object_gather_list`` with every rank's ``obj`` (other ranks pass
    None)."""
    pg = current_group("gather_object")
    _check_rank(dst, pg, "gather_object", "dst")
    if pg.rank == dst:
        _check_list_length(object_gather_list, pg.size, "gather_object", "object_gather_list")
    gathered = [obj] if pg.comm is None else pg.comm.gather(obj, root=dst)
    if pg.rank == dst:
        object_gather_list[:] = gathered


def broadcast_object_list(object_list, src=0, group=None):
    """Replace ``object_list``'s items on every rank by rank ``src``'s (in place)."""
    pg = current_group("broadcast_object_list")
    _check_rank(src, pg, "broadcast_object_list", "src")
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: object_list must be a list, got "
                        f"{type(object_list).__name__}")
    if pg.comm is not None:
        object_list[:] = pg.comm.bcast(object_list if pg.rank == src else None, root=src)


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=0,
                        group=None):
    """Rank ``r`` receives ``scatter_object_input_list[r]`` of rank ``src`` into
    ``scatter_object_output_list[0]``."""
    who = "scatter_object_list"
    pg = current_group(who)
    _check_rank(src, pg, who, "src")
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError(f"{who}: scatter_object_output_list must be a non-empty list (its "
                         "first item receives this rank's object)")
    if pg.rank == src:
        _check_list_length(scatter_object_input_list, pg.size, who, "scatter_object_input_list")
    items = scatter_object_input_list if pg.rank == src else None
    scatter_object_output_list[0] = (items[0] if pg.comm is None
                                     else pg.comm.scatter(items, root=src))


def _check_list_length(values, size, who, name):
    if not isinstance(values, list) or len(values) != size:
        got = f"length {len(values)}" if isinstance(values, list) else type(values).__name__
        raise ValueError(f"{who}: {name} must be a list of world_size={size} items, got {got}")
