"""Train-step CPU time of ganglion at two checkouts of this repository (say, before and after a
kernel change), for the workloads of ``models.py``: is any workload slower than it was?

Each checkout runs in processes of its own (``PYTHONPATH=<checkout>/src``), alternating between
the two for several rounds, with the same model code (this folder's ``models.py``), the same
batch and the same seed. A step is timed by the process's CPU time (``time.process_time``), so
other jobs on the machine do not count, and every process is pinned to one core so that the
CPU time is one core's work (threads waiting for each other do not add up).

Run: python benchmarks/compare_checkouts.py OLD_CHECKOUT NEW_CHECKOUT [workloads]
         [--rounds 3] [--steps 5] [--env NAME=VALUE ...] [--old-env NAME=VALUE ...]
e.g. the numba kernels now against the commit before issue 19's providers:
    git worktree add /tmp/base 5fd90f9
    python benchmarks/compare_checkouts.py /tmp/base . lenet cifar_cnn lstm --env GANGLION_KERNELS=numba
``--env`` applies to both checkouts (an older one ignores settings it does not know);
``--old-env`` / ``--new-env`` to one.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# One core's work: the same for both checkouts whatever their own thread defaults are.
SINGLE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "OMP_WAIT_POLICY": "PASSIVE", "GANGLION_NUM_THREADS": "1"}


def _pairs(items):
    env = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"compare_checkouts: --env {item!r}: expected NAME=VALUE")
        env[name] = value
    return env


def _run_worker(checkout, name, steps, env):
    full_env = dict(os.environ, **SINGLE_CORE, **env,
                    PYTHONPATH=str(Path(checkout).resolve() / "src"))
    command = [sys.executable, __file__, "--worker", name, str(steps)]
    if hasattr(os, "sched_getaffinity"):
        core = min(os.sched_getaffinity(0))
        command = ["taskset", "-c", str(core)] + command
    done = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=HERE)
    if done.returncode:
        raise SystemExit(f"compare_checkouts: {checkout} {name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def compare(old, new, names, rounds, steps, old_env, new_env):
    print(f"Train-step CPU ms (forward + cross-entropy + backward + Adam, float32, one core), "
          f"median of {rounds} x {steps} steps in alternating processes")
    print(f"old: {old} {old_env or ''}\nnew: {new} {new_env or ''}")
    print(f"{'workload':<12}{'old ms':>10}{'new ms':>10}{'new/old':>9}")
    results = {}
    for name in names:
        times = {"old": [], "new": []}
        for _ in range(rounds):
            times["old"] += _run_worker(old, name, steps, old_env)
            times["new"] += _run_worker(new, name, steps, new_env)
        old_ms, new_ms = (statistics.median(times[k]) for k in ("old", "new"))
        results[name] = (old_ms, new_ms)
        print(f"{name:<12}{old_ms:>10.1f}{new_ms:>10.1f}{new_ms / old_ms:>9.2f}", flush=True)
    return results


def _worker(name, steps):
    """Print (as JSON) the CPU ms of ``steps`` ganglion train steps of workload ``name``."""
    sys.path.insert(0, str(HERE))
    import ganglion as gn
    import ganglion.nn as gnn
    from models import WORKLOADS, ganglion_step, make_batch
    builder, shape, batch, _ = WORKLOADS[name]
    x, y = make_batch(name, batch, shape)
    gn.manual_seed(0)
    step = ganglion_step(builder(gnn), x, y)
    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        start = time.process_time()
        step()
        times.append((time.process_time() - start) * 1000)
    print(json.dumps(times))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2], int(sys.argv[3]))
        sys.exit()
    sys.path.insert(0, str(HERE))
    from models import WORKLOADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("names", nargs="*", help="workloads: " + ", ".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--env", action="append", help="NAME=VALUE for both checkouts")
    parser.add_argument("--old-env", action="append", help="NAME=VALUE for the old checkout")
    parser.add_argument("--new-env", action="append", help="NAME=VALUE for the new checkout")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    shared = _pairs(args.env)
    compare(args.old, args.new, args.names or list(WORKLOADS), args.rounds, args.steps,
            dict(shared, **_pairs(args.old_env)), dict(shared, **_pairs(args.new_env)))
