"""ganglion.distributed: data-parallel training over processes and machines on MPI
(``torch.distributed``'s names; the extra ``ganglion[mpi]``: mpi4py and Open MPI's wheel).

::

    # mpiexec -n 2 python train.py
    import ganglion.distributed as dist
    dist.init_process_group()
    model = gn.nn.parallel.DistributedDataParallel(model)
    sampler = gn.data.DistributedSampler(dataset)       # each rank reads its own share

A process started without ``mpiexec`` is a world of one, so the same script runs alone.
See docs/distributed.rst for launching on one or several machines.
"""
from ganglion.distributed.collectives import (ReduceOp, Work, all_gather, all_gather_object,
                                              all_reduce, broadcast, broadcast_object_list,
                                              gather_object, reduce_scatter,
                                              scatter_object_list)
from ganglion.distributed.graph_ops import all_reduce_mean, averaged_updates
from ganglion.distributed.process_group import (DistributedError, barrier, destroy_process_group,
                                                get_backend, get_rank, get_world_size,
                                                init_process_group, is_available, is_initialized,
                                                launched_by_mpi)

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "get_rank", "get_world_size", "get_backend", "barrier", "launched_by_mpi",
           "DistributedError", "ReduceOp", "Work", "all_reduce", "broadcast", "all_gather",
           "reduce_scatter", "all_gather_object", "gather_object", "broadcast_object_list",
           "scatter_object_list", "all_reduce_mean", "averaged_updates"]
