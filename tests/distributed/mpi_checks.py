"""Checks that need several processes, run by tests/distributed/test_mpi_launch.py as
``mpiexec -n 2 python mpi_checks.py <group>`` (one launch pays MPI's start-up for many checks).

Each check raises on failure; the uncaught exception aborts every rank (ganglion.distributed's
MPI_Abort hook), so the launching test sees a nonzero exit and the traceback. Rank 0 prints
``ok <check>`` after each check that passed on every rank.
"""
import sys

import numpy as np

import ganglion as gn
import ganglion.distributed as dist
import ganglion.nn as nn
from ganglion.distributed import ReduceOp, collectives

CHECKS = {}


def check(function):
    CHECKS[function.__name__] = function
    return function


def done(name):
    dist.barrier()
    if dist.get_rank() == 0:
        print("ok", name, flush=True)


# ----- collectives ----------------------------------------------------------------------------

@check
def collectives_dtypes_empty_noncontiguous():
    rank, size = dist.get_rank(), dist.get_world_size()
    for dtype in (np.float32, np.float64, np.int64):
        base = (np.arange(12).reshape(3, 4) * (rank + 1)).astype(dtype)
        expected_sum = sum((np.arange(12).reshape(3, 4) * (r + 1)).astype(dtype)
                           for r in range(size))
        for op, expected in ((ReduceOp.SUM, expected_sum),
                             (ReduceOp.MAX, base * 0 + np.arange(12).reshape(3, 4) * size),
                             (ReduceOp.MIN, np.arange(12).reshape(3, 4).astype(dtype))):
            t = gn.from_numpy(base.copy())
            dist.all_reduce(t, op=op)
            np.testing.assert_array_equal(t.numpy(), expected.astype(dtype))
            assert t.numpy().dtype == dtype
        if dtype is not np.int64:
            avg = base.copy()
            dist.all_reduce(avg, op=ReduceOp.AVG)
            np.testing.assert_allclose(avg, expected_sum / size, rtol=1e-6)
        # Non-contiguous: a transposed view and a strided slice, reduced in place in their base.
        holder = np.zeros((4, 3, 2), dtype)
        view = holder[:, :, 1].T          # (3, 4), non-contiguous
        view[...] = base
        dist.all_reduce(view)
        np.testing.assert_array_equal(holder[:, :, 1].T, expected_sum)
        np.testing.assert_array_equal(holder[:, :, 0], 0)  # the other half untouched
        # Empty arrays: nothing to send, no hang.
        empty = np.empty((0, 5), dtype)
        dist.all_reduce(empty)
        dist.broadcast(empty, src=1)
        assert dist.all_reduce(gn.from_numpy(np.empty(0, dtype)), async_op=True).wait()
        # Broadcast from rank 1 into a non-contiguous view.
        holder = np.full((4, 6), -1, dtype)
        target = holder[::2, ::3]
        target[...] = rank * 10 + np.arange(4).reshape(2, 2)
        dist.broadcast(target, src=1)
        np.testing.assert_array_equal(holder[::2, ::3], 10 + np.arange(4).reshape(2, 2))
        assert (holder[1::2] == -1).all()
        # All-gather into a list of tensors.
        gathered = [gn.from_numpy(np.zeros(3, dtype)) for _ in range(size)]
        dist.all_gather(gathered, gn.from_numpy(np.full(3, rank + 1, dtype)))
        for r, g in enumerate(gathered):
            np.testing.assert_array_equal(g.numpy(), np.full(3, r + 1, dtype))
    done("collectives_dtypes_empty_noncontiguous")


@check
def collectives_async_reduce_scatter_objects_and_debug_check():
    rank, size = dist.get_rank(), dist.get_world_size()
    x = np.arange(1 << 16, dtype=np.float32) * (rank + 1)
    work = dist.all_reduce(x, async_op=True)
    assert isinstance(work, dist.Work)
    work.wait()
    assert work.is_completed()
    np.testing.assert_array_equal(x, np.arange(1 << 16, dtype=np.float32) * 3)
    out = gn.zeros(2, dtype=gn.float64)
    dist.reduce_scatter(out, [gn.full((2,), float(10 * r + rank), dtype=gn.float64)
                              for r in range(size)])
    np.testing.assert_array_equal(out.numpy(), [20 * rank + 1] * 2)
    everyone = [None] * size
    dist.all_gather_object(everyone, {"rank": rank, "loss": 0.5 + rank})
    assert everyone == [{"rank": r, "loss": 0.5 + r} for r in range(size)]
    gathered = [None] * size if rank == 0 else None
    dist.gather_object(("metric", rank), gathered, dst=0)
    assert rank != 0 or gathered == [("metric", r) for r in range(size)]
    items = ["from rank 1", 7] if rank == 1 else [None, None]
    dist.broadcast_object_list(items, src=1)
    assert items == ["from rank 1", 7]
    received = [None]
    dist.scatter_object_list(received, [f"to {r}" for r in range(size)] if rank == 0 else None)
    assert received == [f"to {rank}"]
    # GANGLION_DISTRIBUTED_DEBUG's check: different dtypes on the ranks are named, not garbage.
    collectives._debug[0] = True
    try:
        mismatched = np.zeros(3, np.float32 if rank == 0 else np.float64)
        try:
            dist.all_reduce(mismatched)
        except dist.DistributedError as error:
            assert "rank 0: ('float32'" in str(error) and "rank 1: ('float64'" in str(error), error
        else:
            raise AssertionError("all_reduce of float32 on rank 0 and float64 on rank 1 passed")
    finally:
        collectives._debug[0] = False
    done("collectives_async_reduce_scatter_objects_and_debug_check")


# ----- DistributedDataParallel ----------------------------------------------------------------

def _mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3)).double()


@check
def ddp_matches_one_process_on_the_concatenated_batch():
    rank, size = dist.get_rank(), dist.get_world_size()
    gn.manual_seed(100 + rank)  # different initial weights: DDP must take rank 0's
    model = _mlp()
    initial = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.001)  # several buckets
    assert len(ddp.reducer.buckets) >= 3
    opt = gn.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(7)
    steps, batch = 4, 5
    xs = rng.standard_normal((steps, batch * size, 6))
    ys = rng.standard_normal((steps, batch * size, 3))
    for step in range(steps):
        shard = slice(rank * batch, (rank + 1) * batch)
        opt.zero_grad()
        loss = ((ddp(gn.from_numpy(xs[step, shard])) - gn.from_numpy(ys[step, shard])) ** 2).mean()
        loss.backward()
        opt.step()
    mine = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    everyone = [None] * size
    dist.all_gather_object(everyone, mine)
    for r in range(size):  # bit-identical on every rank
        np.testing.assert_array_equal(everyone[r], everyone[0])
    # One process, the whole batch, rank 0's initial weights.
    rank0_initial = [initial if rank == 0 else None]
    dist.broadcast_object_list(rank0_initial, src=0)
    reference = _mlp()
    reference.load_state_dict({k: gn.from_numpy(v) for k, v in rank0_initial[0].items()})
    ref_opt = gn.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for step in range(steps):
        ref_opt.zero_grad()
        loss = ((reference(gn.from_numpy(xs[step])) - gn.from_numpy(ys[step])) ** 2).mean()
        loss.backward()
        ref_opt.step()
    expected = np.concatenate([p.detach().numpy().ravel() for p in reference.parameters()])
    assert np.abs(mine - expected).max() < 1e-10, np.abs(mine - expected).max()
    assert not np.allclose(mine, rank0_initial[0]["0.weight"].ravel()[0])  # it trained
    done("ddp_matches_one_process_on_the_concatenated_batch")


@check
def ddp_no_sync_unused_parameters_and_buffers():
    rank, size = dist.get_rank(), dist.get_world_size()
    gn.manual_seed(0)
    model = _mlp()
    ddp = nn.parallel.DistributedDataParallel(model)
    rng = np.random.default_rng(rank)
    a, b = rng.standard_normal((2, 4, 6))
    # no_sync: the first backward stays local, the second averages the accumulated sum.
    with ddp.no_sync():
        ddp(gn.from_numpy(a)).sum().backward()
    local_first = [p.grad.numpy().copy() for p in model.parameters()]
    ddp(gn.from_numpy(b)).sum().backward()
    plain = _mlp()
    plain.load_state_dict(model.state_dict())
    plain(gn.from_numpy(a)).sum().backward()
    plain(gn.from_numpy(b)).sum().backward()
    for p, q, first in zip(model.parameters(), plain.parameters(), local_first):
        expected = q.grad.numpy().copy()
        dist.all_reduce(expected, op=ReduceOp.AVG)
        np.testing.assert_allclose(p.grad.numpy(), expected, rtol=1e-12, atol=1e-14)
    everyone = [None] * size
    dist.all_gather_object(everyone, local_first[0])
    assert not np.array_equal(everyone[0], everyone[1])  # no_sync did not average

    # find_unused_parameters: a layer used on rank 0 only is averaged with rank 1's zeros; a
    # layer used nowhere keeps grad None.
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 3).double()
            self.rank0_head = nn.Linear(3, 1).double()
            self.never = nn.Linear(3, 1).double()

        def forward(self, x):
            h = self.body(x)
            return self.rank0_head(h).sum() if dist.get_rank() == 0 else h.sum()
    heads = TwoHeads()
    ddp = nn.parallel.DistributedDataParallel(heads, find_unused_parameters=True)
    x = gn.from_numpy(np.ones((2, 3)))
    ddp(x).backward()
    assert heads.never.weight.grad is None
    reference = TwoHeads()
    reference.load_state_dict(heads.state_dict())
    reference.rank0_head(reference.body(x)).sum().backward()
    np.testing.assert_allclose(heads.rank0_head.weight.grad.numpy(),
                               reference.rank0_head.weight.grad.numpy() / size, rtol=1e-12)

    # broadcast_buffers: rank 0's BatchNorm statistics reach every rank at each forward.
    bn_model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    bn_ddp = nn.parallel.DistributedDataParallel(bn_model)
    bn = bn_model[1]
    bn.running_mean.numpy()[...] = rank + 1.0
    bn_ddp.eval()
    with gn.no_grad():
        bn_ddp(gn.ones(2, 4))
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.ones(4, np.float32))
    assert list(bn_ddp.state_dict())[0].startswith("module.")

    # Different models on the ranks: refused on every rank, naming the first difference.
    different = nn.Linear(3, 2 if rank == 0 else 4)
    try:
        nn.parallel.DistributedDataParallel(different)
    except RuntimeError as error:
        assert "wrap different models" in str(error) and "(2, 3)" in str(error) \
            and "(4, 3)" in str(error), error
    else:
        raise AssertionError("DDP accepted a Linear(3, 2) on rank 0 and Linear(3, 4) on rank 1")
    done("ddp_no_sync_unused_parameters_and_buffers")


@check
def sync_batchnorm_equals_batchnorm_on_the_concatenated_batch():
    rank, size = dist.get_rank(), dist.get_world_size()

    def build(norm):
        gn.manual_seed(9)
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), norm(3), nn.ReLU(),
                             nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).double()
    rng = np.random.default_rng(4)
    steps, batch = 3, 3
    xs = rng.standard_normal((steps, batch * size, 2, 4, 4)) * 3 + 1
    ys = rng.standard_normal((steps, batch * size, 2))
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(build(nn.BatchNorm2d))
    assert type(synced[1]).__name__ == "SyncBatchNorm"
    ddp = nn.parallel.DistributedDataParallel(synced)
    opt = gn.optim.SGD(ddp.parameters(), lr=0.1)
    reference = build(nn.BatchNorm2d)
    ref_opt = gn.optim.SGD(reference.parameters(), lr=0.1)
    shard = slice(rank * batch, (rank + 1) * batch)
    for step in range(steps):
        opt.zero_grad()
        out = ddp(gn.from_numpy(xs[step, shard]))
        ((out - gn.from_numpy(ys[step, shard])) ** 2).mean().backward()
        opt.step()
        ref_opt.zero_grad()
        ref_out = reference(gn.from_numpy(xs[step]))
        ((ref_out - gn.from_numpy(ys[step])) ** 2).mean().backward()
        ref_opt.step()
        np.testing.assert_allclose(out.detach().numpy(), ref_out.detach().numpy()[shard],
                                   rtol=0, atol=1e-10)
    for (name, a), b in zip(synced.state_dict().items(), reference.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-10, err_msg=name)
    done("sync_batchnorm_equals_batchnorm_on_the_concatenated_batch")


@check
def sampler_partitions_the_dataset_over_the_group():
    rank, size = dist.get_rank(), dist.get_world_size()
    for n, drop_last in ((11, False), (11, True), (1, False)):
        sampler = gn.data.DistributedSampler(range(n), seed=3, drop_last=drop_last)
        assert (sampler.num_replicas, sampler.rank) == (size, rank)
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            shares = [None] * size
            dist.all_gather_object(shares, list(sampler))
            assert len({len(s) for s in shares}) == 1
            together = sorted(i for s in shares for i in s)
            if drop_last:
                assert len(set(together)) == len(together) == n - n % size
            else:
                assert set(together) == set(range(n)) and len(together) == -(-n // size) * size
    done("sampler_partitions_the_dataset_over_the_group")


@check
def compiled_function_with_averaged_updates_matches_one_process():
    rank, size = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(11)
    steps, batch = 3, 4
    xs = rng.standard_normal((steps, batch * size, 6))
    ys = rng.standard_normal((steps, batch * size, 3))

    def train(averaged, data):
        gn.manual_seed(5)  # the same initial weights on every rank (no DDP to broadcast them)
        model = _mlp()
        opt = gn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        x = gn.symbolic.placeholders.tensor(gn.float64, (None, 6), name="x")
        y = gn.symbolic.placeholders.tensor(gn.float64, (None, 3), name="y")
        cost = ((model(x) - y) ** 2).mean()
        updates = dist.averaged_updates(opt, cost) if averaged else opt.updates(cost)
        step = gn.function([x, y], cost, updates=updates)
        for k in range(steps):
            step(*data(k))
        return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])

    shard = slice(rank * batch, (rank + 1) * batch)
    mine = train(True, lambda k: (xs[k, shard], ys[k, shard]))
    everyone = [None] * size
    dist.all_gather_object(everyone, mine)
    np.testing.assert_array_equal(everyone[1], everyone[0])
    expected = train(False, lambda k: (xs[k], ys[k]))
    assert np.abs(mine - expected).max() < 1e-10, np.abs(mine - expected).max()
    # Eager too: the op's value and its gradient (the same average).
    v = gn.tensor([1.0 + rank, 2.0], dtype=gn.float64, requires_grad=True)
    m = dist.all_reduce_mean(v)
    np.testing.assert_array_equal(m.detach().numpy(), [1.5, 2.0])
    (m * gn.tensor([rank + 1.0, 0.0], dtype=gn.float64)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1.5, 0.0])
    done("compiled_function_with_averaged_updates_matches_one_process")


# ----- fit ------------------------------------------------------------------------------------

def _fit(directory, epochs, resume=None, compile=False):
    """fit on 60 examples (every rank builds the same loader; fit shards it); returns the
    model's parameters, the history and how many checkpoint files this rank wrote."""
    from ganglion.train import CSVLogger, ModelCheckpoint, callbacks, fit
    gn.manual_seed(3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 6))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    data = gn.data.TensorDataset(gn.from_numpy(x), gn.from_numpy(y))
    model = _mlp()
    opt = gn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = gn.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    writes = []
    original = callbacks.save
    callbacks.save = lambda obj, path: (writes.append(str(path)), original(obj, path))[1]
    try:
        history = fit(model, gn.data.DataLoader(data, 8, shuffle=True, seed=1),
                      nn.CrossEntropyLoss(), opt, epochs, scheduler=scheduler,
                      val_loader=gn.data.DataLoader(data, 25), metrics=["accuracy"],
                      callbacks=[ModelCheckpoint(directory), CSVLogger(f"{directory}/log.csv")],
                      resume=resume, verbose=0, compile=compile)
    finally:
        callbacks.save = original
    params = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    return params, dict(history), writes


@check
def fit_trains_data_parallel_checkpoints_on_rank_0_and_resumes_exactly():
    import tempfile
    rank, size = dist.get_rank(), dist.get_world_size()
    folder = [tempfile.mkdtemp() if rank == 0 else None]
    dist.broadcast_object_list(folder)
    whole, whole_history, writes = _fit(f"{folder[0]}/whole", 3)
    everyone = [None] * size
    dist.all_gather_object(everyone, (whole, whole_history, writes))
    for params, history, _ in everyone:
        np.testing.assert_array_equal(params, everyone[0][0])  # the same weights everywhere
        assert history == everyone[0][1]                      # the same (averaged) logs
    assert len(everyone[0][2]) >= 3 and everyone[1][2] == []  # only rank 0 writes
    assert whole_history["loss"][-1] < whole_history["loss"][0]
    with open(f"{folder[0]}/whole/log.csv") as log:
        assert len(log.read().splitlines()) == 1 + 3           # one writer: a header, 3 epochs
    _fit(f"{folder[0]}/first", 2)
    dist.barrier()  # rank 0's checkpoint is on disk before anyone reads it
    resumed, resumed_history, _ = _fit(f"{folder[0]}/first", 3,
                                       resume=f"{folder[0]}/first/last.safetensors")
    np.testing.assert_array_equal(resumed, whole)  # bit-exact continuation on every rank
    assert resumed_history == whole_history
    compiled, _, _ = _fit(f"{folder[0]}/compiled", 1, compile=True)
    everyone = [None] * size
    dist.all_gather_object(everyone, compiled)
    np.testing.assert_array_equal(everyone[1], everyone[0])
    done("fit_trains_data_parallel_checkpoints_on_rank_0_and_resumes_exactly")


# ----- failure ----------------------------------------------------------------------------------

@check
def rank_one_raises():
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.barrier()  # rank 0 would wait here forever without MPI_Abort
    raise AssertionError("rank 0 passed a barrier that rank 1 never reached")


GROUPS = {
    "core": ["collectives_dtypes_empty_noncontiguous",
             "collectives_async_reduce_scatter_objects_and_debug_check",
             "ddp_matches_one_process_on_the_concatenated_batch",
             "ddp_no_sync_unused_parameters_and_buffers",
             "sync_batchnorm_equals_batchnorm_on_the_concatenated_batch",
             "sampler_partitions_the_dataset_over_the_group",
             "compiled_function_with_averaged_updates_matches_one_process"],
    "fit": ["fit_trains_data_parallel_checkpoints_on_rank_0_and_resumes_exactly"],
    "abort": ["rank_one_raises"],
}

if __name__ == "__main__":
    dist.init_process_group()
    assert dist.get_world_size() == 2, "run with mpiexec -n 2"
    for name in GROUPS[sys.argv[1]]:
        CHECKS[name]()
    dist.destroy_process_group()
