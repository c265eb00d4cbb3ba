"""Data-parallel training on MPI (issue 18): throughput, communication, overlap, cost model.

1. Throughput on this machine: 1 process with 2 BLAS/kernel threads against 2 processes
   (``mpiexec -n 2``) with 1 thread each and DistributedDataParallel, at the same global batch,
   on the registry's ``mlp``, LeNet-5 and the CIFAR CNN; images/s
   of the whole job.
2. Communication per step, measured in the 2-process run: the blocking all-reduce of the
   model's gradient buckets alone (what the step would wait for without overlap), and the wait
   that is left at the end of backward (what the overlap did not hide), as ms and as a
   fraction of the step.
3. Overlap: for one CIFAR CNN step, when each bucket's all-reduce started and was seen done,
   against the end of backward (timestamps relative to the start of backward).
4. The ring all-reduce cost model,
   ``t = 2 (p - 1) / p * bytes / bandwidth + buckets * 2 (p - 1) * latency``
   (a ring moves each byte 2(p-1)/p times and takes 2(p-1) latency-bound steps per bucket),
   with the gradient bytes of each workload and of ResNet-50 (25,557,032 float32 parameters),
   predicting the scaling efficiency ``compute / (compute + exposed communication)`` at 2, 8,
   64 and 256 processes on 10 and 100 Gbit/s links, without overlap (a floor) and with overlap
   (exposed = max(communication - backward, the last bucket's all-reduce), backward taken as
   0.6 of the step). The 2-process prediction on this machine uses the
   shared-memory bandwidth and latency measured here, against the measured all-reduce time.

Run: python benchmarks/distributed.py [--steps N]   (it launches its own mpiexec workers)

The ranks run with ``--bind-to none``: on a machine shared with other work, a rank pinned to a
busy core would hold back the other at every step.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
WORKLOADS = {"mlp": (1, 28, 28), "lenet5": (1, 28, 28), "cifar_cnn": (3, 32, 32)}
GLOBAL_BATCH = 128
RESNET50_PARAMS = 25_557_032
LINKS = {"10 Gbit/s": (10e9 / 8, 25e-6), "100 Gbit/s": (100e9 / 8, 5e-6)}  # bytes/s, latency s
PROCESSES = (2, 8, 64, 256)
BUCKET_BYTES = 25 * 2 ** 20


def thread_environment(threads):
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS", "GANGLION_NUM_THREADS"):
        env[name] = str(threads)
    env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                "OMPI_MCA_btl_tcp_if_include": "lo"})
    return env


# ----- the worker (one process, or one rank under mpiexec) ------------------------------------

def worker(steps):
    import numpy as np

    import ganglion as gn
    import ganglion.distributed as dist
    from ganglion.models import get_model
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    results = {}
    for name, shape in WORKLOADS.items():
        gn.manual_seed(0)
        model = get_model(name)
        net = gn.nn.parallel.DistributedDataParallel(model) if size > 1 else model
        opt = gn.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        batch = GLOBAL_BATCH // size
        rng = np.random.default_rng(rank)
        x = gn.from_numpy(rng.standard_normal((batch, *shape)).astype(np.float32))
        y = gn.from_numpy(rng.integers(0, 10, batch))
        loss_fn = gn.nn.CrossEntropyLoss()
        waits, ends = [], []

        def step():
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()

        for _ in range(3):
            step()
        times = []
        for _ in range(steps):
            if size > 1:
                net.reducer.timeline = []
                dist.barrier()  # the ranks start each timed step together
            start = time.perf_counter()
            if size > 1:
                opt.zero_grad()
                loss = loss_fn(net(x), y)
                backward_start = time.perf_counter()
                loss.backward()
                opt.step()
                events = net.reducer.timeline
                end_of_backward = next(t for kind, _, t in events if kind == "backward_end")
                last_done = max(t for kind, _, t in events if kind == "done")
                waits.append(max(0.0, last_done - end_of_backward))
                ends.append(end_of_backward)
            else:
                step()
            times.append(time.perf_counter() - start)
        step_s = float(np.median(times))
        entry = {"step_ms": 1000 * step_s, "images_per_s": GLOBAL_BATCH / step_s,
                 "grad_bytes": int(sum(p._data.nbytes for p in model.parameters())),
                 "params": int(sum(p._data.size for p in model.parameters()))}
        if size > 1:
            # perf_counter is the system's monotonic clock: comparable across the ranks.
            everyone = [None] * size
            dist.all_gather_object(everyone, (waits, ends))
            step_waits = np.array([w for w, _ in everyone])   # (ranks, steps)
            step_ends = np.array([e for _, e in everyone])
            # The rank that ends backward last waits only for the communication left over;
            # the others also wait for it (the ranks' skew, not communication).
            entry["exposed_wait_ms"] = 1000 * float(np.median(step_waits.min(axis=0)))
            entry["skew_ms"] = 1000 * float(np.median(step_ends.max(axis=0) -
                                                      step_ends.min(axis=0)))
            buffers = [b.buffer for b in net.reducer.buckets]
            entry["buckets"] = len(buffers)
            for _ in range(5):  # the first large messages set up shared-memory transfers
                for buffer in buffers:
                    dist.all_reduce(buffer)
            allreduce_times = []
            for _ in range(max(5, steps)):
                dist.barrier()
                start = time.perf_counter()
                for buffer in buffers:
                    dist.all_reduce(buffer)
                allreduce_times.append(time.perf_counter() - start)
            entry["allreduce_ms"] = 1000 * float(np.median(allreduce_times))
            # The overlap timeline of the last timed step, relative to backward's start.
            entry["timeline"] = [(kind, bucket, 1000 * (t - backward_start))
                                 for kind, bucket, t in events]
            entry["backward_ms"] = 1000 * (end_of_backward - backward_start)
        results[name] = entry
    if size > 1:
        results["link"] = measure_link(dist, np)
    if rank == 0:
        print("RESULT " + json.dumps({"processes": size, "results": results}), flush=True)


def measure_link(dist, np):
    """Bandwidths (bytes/s, from 4 MiB and 64 MiB all-reduces on 2 ranks, where the model's
    t = bytes / bandwidth: in-cache and memory-bound) and latency (s, half an 8-byte
    all-reduce, which takes 2(p-1) = 2 steps) of this machine."""
    def timed(nbytes, repeats):
        buffer = np.zeros(nbytes // 4, np.float32)
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(buffer)
            times.append(time.perf_counter() - start)
        return float(np.median(times))
    small = timed(8, 200)
    timed(4 * 2 ** 20, 3)
    return {"latency": small / 2, "bandwidth_4MiB": 4 * 2 ** 20 / timed(4 * 2 ** 20, 20),
            "bandwidth_64MiB": 64 * 2 ** 20 / timed(64 * 2 ** 20, 5)}


# ----- the driver -------------------------------------------------------------------------------

def run_worker(processes, threads, steps):
    command = [sys.executable, str(HERE), "--worker", "--steps", str(steps)]
    if processes > 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        command = [str(mpiexec), "-n", str(processes), "--bind-to", "none",
                   *command]
    output = subprocess.run(command, env=thread_environment(threads), capture_output=True,
                            text=True, timeout=900)
    for line in output.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])["results"]
    raise RuntimeError(f"worker failed:\n{output.stdout}\n{output.stderr}")


def ring_seconds(nbytes, processes, bandwidth, latency, buckets):
    return 2 * (processes - 1) / processes * nbytes / bandwidth \
        + buckets * 2 * (processes - 1) * latency


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps)
        return
    from common import machine
    print(machine())
    # Rounds of both configurations in turn; per workload the round with the highest
    # throughput counts (the one the other users of this shared machine disturbed least), and
    # the link measurement of the round with the highest bandwidth.
    one, two = {}, {}
    for _ in range(args.rounds):
        for best, result in ((one, run_worker(1, 2, args.steps)),
                             (two, run_worker(2, 1, args.steps))):
            for name, entry in result.items():
                score = entry.get("images_per_s", entry.get("bandwidth_4MiB"))
                if name not in best or score > best[name].get(
                        "images_per_s", best[name].get("bandwidth_4MiB")):
                    best[name] = entry
    link = two.pop("link")

    print(f"\n## Throughput, global batch {GLOBAL_BATCH} (images/s; median of {args.steps} steps, "
          f"best of {args.rounds} rounds)\n")
    print("| workload | params | 1 proc x 2 threads | 2 procs x 1 thread | ratio | step ms "
          "(2 procs) | all-reduce alone, ms (% of step) | exposed after backward, ms (% of "
          "step) | ranks' skew at backward end, ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in WORKLOADS:
        a, b = one[name], two[name]
        print(f"| {name} | {a['params']:,} | {a['images_per_s']:.0f} | {b['images_per_s']:.0f} | "
              f"{b['images_per_s'] / a['images_per_s']:.2f} | {b['step_ms']:.1f} | "
              f"{b['allreduce_ms']:.2f} ({100 * b['allreduce_ms'] / b['step_ms']:.1f}%) | "
              f"{b['exposed_wait_ms']:.2f} ({100 * b['exposed_wait_ms'] / b['step_ms']:.1f}%) | "
              f"{b['skew_ms']:.2f} |")

    print(f"\n## Overlap: one CIFAR CNN step on 2 ranks (ms from the start of backward)\n")
    timeline = two["cifar_cnn"]["timeline"]
    print(f"backward ends at {two['cifar_cnn']['backward_ms']:.2f} ms")
    for kind, bucket, t in timeline:
        if kind != "backward_end":
            print(f"  bucket {bucket}: {kind:5s} {t:8.2f} ms")

    latency = link["latency"]
    in_cache, in_memory = link["bandwidth_4MiB"], link["bandwidth_64MiB"]
    print(f"\n## Cost model check on this machine (2 ranks, shared memory: "
          f"{in_cache / 1e9:.2f} GB/s at 4 MiB, {in_memory / 1e9:.2f} GB/s at 64 MiB, "
          f"latency {1e6 * latency:.1f} us)\n")
    print("| workload | gradient MB | buckets | predicted ms (4 MiB bandwidth) | predicted ms "
          "(64 MiB bandwidth) | measured ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in WORKLOADS:
        b = two[name]
        predicted = [ring_seconds(b["grad_bytes"], 2, bw, latency, b["buckets"])
                     for bw in (in_cache, in_memory)]
        print(f"| {name} | {b['grad_bytes'] / 1e6:.2f} | {b['buckets']} | "
              f"{1000 * predicted[0]:.2f} | {1000 * predicted[1]:.2f} | {b['allreduce_ms']:.2f} |")

    print("\n## Predicted scaling efficiency (weak scaling: per-rank batch fixed)\n")
    print("compute per step: the measured 1-thread step time at a per-rank batch of "
          f"{GLOBAL_BATCH // 2} (2-process run) for the three workloads; 0.25 s assumed for "
          "ResNet-50 (a GPU step at batch 64). Efficiency without overlap / with overlap.\n")
    workloads = {name: (two[name]["grad_bytes"], two[name]["step_ms"] / 1000 -
                        two[name]["exposed_wait_ms"] / 1000) for name in WORKLOADS}
    workloads["resnet50"] = (4 * RESNET50_PARAMS, 0.25)
    print("| workload | gradient MB | link | " + " | ".join(f"p={p}" for p in PROCESSES) + " |")
    print("|---|---:|---|" + "---:|" * len(PROCESSES))
    for name, (nbytes, compute) in workloads.items():
        buckets = max(1, -(-nbytes // BUCKET_BYTES))
        for link_name, (bw, lat) in LINKS.items():
            cells = []
            for p in PROCESSES:
                comm = ring_seconds(nbytes, p, bw, lat, buckets)
                last = ring_seconds(min(nbytes, BUCKET_BYTES), p, bw, lat, 1)
                hidden = max(comm - compute * 0.6, last)  # backward is ~0.6 of a step
                cells.append(f"{compute / (compute + comm):.2f} / "
                             f"{compute / (compute + hidden):.2f}")
            print(f"| {name} | {nbytes / 1e6:.1f} | {link_name} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    main()
