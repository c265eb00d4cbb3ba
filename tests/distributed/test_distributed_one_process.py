"""ganglion.distributed in a single process (no launcher, no MPI loaded): the world of one, the
collectives' identities and errors, DistributedDataParallel's reducer (buckets, the hook timing,
no_sync, unused parameters) and DistributedSampler against PyTorch's. The multi-process
behaviour is checked under mpiexec by test_mpi_launch.py."""
import numpy as np
import pytest
import torch
from torch.utils.data.distributed import DistributedSampler as TorchDistributedSampler

import ganglion as gn
import ganglion.distributed as dist
import ganglion.nn as nn
from ganglion.core.op import ShapeError
from bad_inputs import BadInput, bad_input_test


@pytest.fixture(autouse=True)
def world_of_one(monkeypatch):
    for name in ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(name, raising=False)
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_a_process_without_launcher_is_a_world_of_one_without_mpi():
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "self")
    assert dist.is_initialized() and not dist.launched_by_mpi()
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    with pytest.raises(dist.DistributedError, match="get_rank: the default process group has "
                                                    "not been initialized"):
        dist.get_rank()
    dist.init_process_group("self", world_size=1, rank=0)
    assert dist.get_world_size() == 1


def test_collectives_in_a_world_of_one_leave_values_and_fill_lists():
    t = gn.tensor([[1.0, 2.0], [3.0, 4.0]])
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN):
        dist.all_reduce(t, op=op)
        np.testing.assert_array_equal(t.numpy(), [[1, 2], [3, 4]])
    work = dist.all_reduce(t.T, async_op=True)  # a non-contiguous view
    assert work.is_completed() and work.wait()
    out = [gn.zeros(2, 2)]
    dist.all_gather(out, t)
    np.testing.assert_array_equal(out[0].numpy(), t.numpy())
    scattered = gn.zeros(2)
    dist.reduce_scatter(scattered, [gn.tensor([5.0, 6.0])])
    assert scattered.tolist() == [5.0, 6.0]
    objects = [None]
    dist.all_gather_object(objects, {"loss": 0.25})
    assert objects == [{"loss": 0.25}]
    received = [None]
    dist.scatter_object_list(received, ["mine"])
    assert received == ["mine"]


def _mlp(seed=0):
    gn.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 2))


def test_ddp_in_a_world_of_one_trains_exactly_as_the_plain_model():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 16, 5)).astype(np.float32), rng.integers(0, 2, (2, 16))
    results = []
    for wrap in (False, True):
        model = _mlp()
        net = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.002) if wrap else model
        opt = gn.optim.Adam(net.parameters(), lr=0.01)
        for step in range(2):
            opt.zero_grad()
            nn.functional.cross_entropy(net(gn.from_numpy(x[step])),
                                        gn.from_numpy(y[step])).backward()
            opt.step()
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert list(net.state_dict())[:2] == ["module.0.weight", "module.0.bias"]
    assert net.module is model


def test_buckets_follow_reverse_registration_order_and_start_before_backward_ends():
    model = _mlp()
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.002)
    names = {id(p): name for name, p in model.named_parameters()}
    order = [names[id(p)] for bucket in ddp.reducer.buckets for p in bucket.params]
    assert order == [name for name, _ in model.named_parameters()][::-1]
    assert all(b.buffer.nbytes <= 0.002 * 2 ** 20 or len(b.params) == 1
               for b in ddp.reducer.buckets)
    ddp.reducer.timeline = []
    ddp(gn.ones(3, 5)).sum().backward()
    events = [(kind, bucket) for kind, bucket, _ in ddp.reducer.timeline]
    starts = [bucket for kind, bucket in events if kind == "start"]
    assert starts == list(range(len(ddp.reducer.buckets)))
    # The last layers' buckets start while backward still has the first layers to do.
    assert events.index(("start", 0)) < events.index(("backward_end", -1))


def test_no_sync_accumulates_and_unused_parameters_are_named():
    model = _mlp()
    ddp = nn.parallel.DistributedDataParallel(model)
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
        ddp(gn.ones(2, 5)).sum().backward()
    first = model[0].weight.grad.numpy().copy()
    ddp(gn.ones(2, 5)).sum().backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * first, rtol=1e-6)

    class Partly(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(2, 2)
            self.idle = nn.Linear(2, 2)

        def forward(self, x):
            return self.used(x)
    partly = Partly()
    strict = nn.parallel.DistributedDataParallel(partly)
    with pytest.raises(RuntimeError, match="received no gradient in this backward pass on rank "
                                           "0: idle.weight, idle.bias.*find_unused_parameters"):
        strict(gn.ones(1, 2)).sum().backward()
    lenient = nn.parallel.DistributedDataParallel(Partly(), find_unused_parameters=True)
    lenient(gn.ones(1, 2)).sum().backward()
    assert lenient.module.idle.weight.grad is None and lenient.module.used.weight.grad is not None


def test_forward_without_grad_does_not_arm_the_reducer():
    ddp = nn.parallel.DistributedDataParallel(_mlp())
    with gn.no_grad():
        ddp(gn.ones(1, 5))
    assert not ddp.reducer.armed


# ----- DistributedSampler against torch.utils.data.distributed.DistributedSampler ---------------

@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (11, 4, False),
                                                    (2, 5, False), (12, 4, True), (7, 7, False)])
def test_sampler_equals_pytorchs_unshuffled_and_partitions_like_it_shuffled(n, replicas, drop_last):
    for rank in range(replicas):
        ours = gn.data.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                          drop_last=drop_last)
        theirs = TorchDistributedSampler(range(n), replicas, rank, shuffle=False,
                                         drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    for epoch in (0, 1):
        ours = [gn.data.DistributedSampler(range(n), replicas, r, seed=5, drop_last=drop_last)
                for r in range(replicas)]
        theirs = [TorchDistributedSampler(range(n), replicas, r, seed=5, drop_last=drop_last)
                  for r in range(replicas)]
        for s in ours + theirs:
            s.set_epoch(epoch)
        ours_all = sorted(i for s in ours for i in s)
        theirs_all = sorted(i for s in theirs for i in s)
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        # Same multiset shape: how many distinct indices, and how many repeats of padding.
        assert len(ours_all) == len(theirs_all)
        assert len(set(ours_all)) == len(set(theirs_all))
    first = [list(gn.data.DistributedSampler(range(20), 2, 0, seed=1))]
    again = gn.data.DistributedSampler(range(20), 2, 0, seed=1)
    again.set_epoch(1)
    assert list(again) != first[0]


def test_sampler_takes_rank_and_world_from_the_process_group():
    sampler = gn.utils.data.DistributedSampler(range(5))
    assert (sampler.num_replicas, sampler.rank, sorted(sampler)) == (1, 0, [0, 1, 2, 3, 4])
    assert gn.utils.data.distributed.DistributedSampler is gn.data.DistributedSampler


test_bad_input = bad_input_test([
    BadInput("init twice", lambda: dist.init_process_group(), dist.DistributedError,
             ["init_process_group", "already initialised"]),
    BadInput("unknown backend", lambda: (dist.destroy_process_group(),
                                         dist.init_process_group("tcp")),
             dist.DistributedError, ["init_process_group", "'tcp'", "'mpi'"]),
    BadInput("world size against launcher", lambda: (dist.destroy_process_group(),
                                                     dist.init_process_group(world_size=4)),
             dist.DistributedError, ["world_size=4", "world_size 1"]),
    BadInput("unknown op", lambda: dist.all_reduce(gn.ones(2), op="mean"), ValueError,
             ["all_reduce", "'mean'", "ReduceOp.SUM"]),
    BadInput("avg of integers", lambda: dist.all_reduce(np.arange(3), op=dist.ReduceOp.AVG),
             TypeError, ["all_reduce", "AVG", "int64", "SUM"]),
    BadInput("float16", lambda: dist.all_reduce(np.ones(2, np.float16)), TypeError,
             ["all_reduce", "float16", "float32"]),
    BadInput("read-only", lambda: dist.broadcast(np.broadcast_to(np.ones(1), (3,)), src=0),
             ValueError, ["broadcast", "read-only", "(3,)"]),
    BadInput("not a tensor", lambda: dist.all_reduce([1.0, 2.0]), TypeError,
             ["all_reduce", "Tensor or a NumPy array", "list"]),
    BadInput("src out of range", lambda: dist.broadcast(gn.ones(2), src=1), ValueError,
             ["broadcast", "src=1", "0 .. 0"]),
    BadInput("gather list length", lambda: dist.all_gather([gn.ones(2)] * 2, gn.ones(2)),
             ValueError, ["all_gather", "world_size=1", "got 2"]),
    BadInput("gather list shape", lambda: dist.all_gather([gn.ones(3)], gn.ones(2)), ValueError,
             ["all_gather", "(3,)", "(2,)"]),
    BadInput("ddp of a function", lambda: nn.parallel.DistributedDataParallel(lambda x: x),
             TypeError, ["DistributedDataParallel", "Module", "function"]),
    BadInput("ddp bucket size", lambda: nn.parallel.DistributedDataParallel(
        nn.Linear(2, 2), bucket_cap_mb=0), ValueError, ["bucket_cap_mb", "positive", "0"]),
    BadInput("ddp without parameters", lambda: nn.parallel.DistributedDataParallel(nn.ReLU()),
             RuntimeError, ["DistributedDataParallel", "doesn't have any parameter"]),
    BadInput("ddp gpu ids", lambda: nn.parallel.DistributedDataParallel(
        nn.Linear(2, 2), device_ids=[0]), RuntimeError, ["device_ids=[0]", "cpu"]),
])


def test_all_reduce_mean_op_compiles_and_is_never_folded_or_merged():
    x = gn.symbolic.placeholders.tensor(gn.float64, (None, 2), name="x")
    w = gn.shared(np.array([[1.0], [2.0]]), name="w")
    cost = (x @ w).sum()
    # Two reductions of one value stay two nodes (each rank must run both collectives).
    both = dist.all_reduce_mean(cost) + dist.all_reduce_mean(cost)
    f = gn.function([x], both, updates=dist.averaged_updates(gn.optim.SGD([w], lr=0.5), cost))
    ops = [type(node.op).__name__ for node in f.maker.fgraph.toposort()]
    assert ops.count("AllReduceMean") == 2 + 1  # the two above and the weight's gradient
    assert float(f(np.ones((3, 2)))) == 18.0  # 2 x mean over one rank of 9
    np.testing.assert_array_equal(w.get_value(), [[-0.5], [0.5]])  # w - 0.5 * 3
    with pytest.raises(TypeError, match="averaged_updates.*symbolic"):
        dist.averaged_updates(gn.optim.SGD([w], lr=0.5), gn.ones(1))


def test_sync_batchnorm_is_batchnorm_in_one_process_and_converts_in_place():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, momentum=None), nn.ReLU())
    weight = model[1].weight
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model and isinstance(model[1], nn.SyncBatchNorm)
    assert model[1].weight is weight and model[1].momentum is None
    reference = nn.BatchNorm1d(3, momentum=None)
    x = gn.from_numpy(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    np.testing.assert_array_equal(model[1](x).detach().numpy(), reference(x).detach().numpy())
    np.testing.assert_array_equal(model[1].running_var.numpy(), reference.running_var.numpy())
    with pytest.raises(ShapeError, match=r"SyncBatchNorm\(3\): expected input of shape \(N, 3, \.\.\.\)"):
        model[1](gn.ones(2, 4))
