"""All-reduce as an op of the graph, so that a compiled training function averages gradients
over the ranks (symbolic mode's counterpart of DistributedDataParallel).

``all_reduce_mean(x)`` is an Op: applied to computed tensors it reduces at once; applied to
symbolic ones it records a node, and the compiled function calls MPI's ``Allreduce`` each time
it runs. It is marked ``nondeterministic`` so the compiler neither folds it at compile time nor
merges it with another node (every rank must run the same collectives, in the same order). Its
vector-Jacobian product is the same average, since the mean over ranks is a linear map whose
adjoint is itself. ``averaged_updates(optimizer, cost)`` is ``optimizer.updates(cost)`` with
every gradient averaged this way::

    train = gn.function([x, y], cost, updates=dist.averaged_updates(opt, cost))

Each rank calls ``train`` on its own shard; all of them then take the same step.
"""
import numpy as np

from ganglion.core.op import Op, apply
from ganglion.core.tensor import Tensor, TensorType
from ganglion.distributed.process_group import current_group

__all__ = ["AllReduceMean", "all_reduce_mean", "averaged_updates"]


class AllReduceMean(Op):
    """The mean of ``x`` over every rank of the process group (a new array)."""

    __slots__ = ()
    saves_inputs = False
    returns_new_array = True
    nondeterministic = True  # a collective: never folded at compile time nor merged

    def forward(self, backend, x):
        group = current_group("all_reduce_mean")
        if x.dtype.kind != "f":
            raise TypeError(f"all_reduce_mean: needs a floating-point tensor, got {x.dtype}")
        result = np.array(x, order="C", copy=True)
        if group.comm is not None and result.size:
            from mpi4py import MPI
            group.comm.Allreduce(MPI.IN_PLACE, result, op=MPI.SUM)
            np.divide(result, group.size, out=result)
        return result

    def vjp(self, out, grad, needs):
        return (apply(self, grad),)

    def infer(self, x):
        return TensorType(x.dtype, x.shape)


_ALL_REDUCE_MEAN = AllReduceMean()


def all_reduce_mean(x):
    """The mean of ``x`` over the ranks: a new tensor (eager) or a graph node (symbolic)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"all_reduce_mean: expected a ganglion Tensor, got {type(x).__name__}")
    return apply(_ALL_REDUCE_MEAN, x)


def averaged_updates(optimizer, cost):
    """``optimizer.updates(cost)`` with each parameter's gradient averaged over the ranks: the
    ``updates=`` of a compiled data-parallel training step."""
    from ganglion.core.autograd import grad as symbolic_grad
    if not isinstance(cost, Tensor) or cost._data is not None:
        raise TypeError("averaged_updates(optimizer, cost): cost must be a symbolic Tensor "
                        "(built from placeholders); in eager mode use DistributedDataParallel")
    for group in optimizer.param_groups:  # the options are built into the graph: check them now
        optimizer._check_options(group)
    trainable = [(p, group) for group in optimizer.param_groups for p in group["params"]
                 if p.requires_grad]
    grads = symbolic_grad(cost, [p for p, _ in trainable], allow_unused=True)
    averaged = [None if g is None else all_reduce_mean(g) for g in grads]
    return optimizer._update_pairs(zip(trainable, averaged))
