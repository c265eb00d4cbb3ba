"""Inference latency for deployment (issue 17 "Speed"): ResNet-18 and MobileNetV2 in ONNX
Runtime, ganglion and PyTorch, on this machine.

Each model is torchvision's architecture: ganglion.models' ``resnet18`` / ``mobilenet_v2`` and
their PyTorch twins from tests/onnx/test_onnx_load.py (``zoo_pair``), holding one set of random
weights (batch-norm statistics included). The twin is exported with ``torch.onnx.export``
(TorchScript exporter, one file per image size with a dynamic batch axis; it folds batch norm
into the convolutions);
ganglion's model is exported with ``ganglion.onnx.export`` when that exists. Columns, all
float32, eval mode, no gradients:

- ``ORT (torch export)`` / ``ORT (ganglion export)``: ONNX Runtime's CPU provider on those
  files (``intra_op_num_threads`` = the thread count, one inter-op thread, sequential);
- ``ganglion eager``: the zoo model called under ``gn.no_grad()``;
- ``ganglion jit``: ``gn.jit`` of that model (compiled per input shape; the compile is warmup);
- ``ganglion onnx.load``: ``ganglion.onnx.load`` of the torch export, eager;
- ``PyTorch eager``: the twin under ``torch.inference_mode()``.

Each runtime runs alone in a process of its own, as a deployment would (in one process the
frameworks share glibc's heap and ONNX Runtime's and PyTorch's thread pools, which changed
each other's times by up to 5x here); the processes alternate over ``--rounds`` rounds and a
cell is the median of all of its timed calls. Threads: 1 and 2 for every runtime
(``torch.set_num_threads``, ORT's session options; for ganglion ``config.num_threads`` where it
exists, its kernels' core count, oneDNN's OpenMP count and OpenBLAS's through threadpoolctl,
as benchmarks/zoo.py's one_thread does). With one thread the table also gives the CPU time of the
calling thread, which a loaded machine does not inflate as it does wall time. Every process
checks its logits against PyTorch's (1e-4 of their scale) before timing.

The child processes inherit the environment, so ``GANGLION_KERNELS=numpy`` times ganglion on
its NumPy kernels instead of its default providers (oneDNN first), and ``OMP_WAIT_POLICY``
reaches the OpenMP runtime of oneDNN's GNU-OpenMP build (its default active wait spun the
calling thread for up to 200 ms a call on this loaded 2-core machine; ``passive`` stops it).

Run: python benchmarks/onnx_latency.py [--repeats N] [--rounds R] [--threads 1 2]
     [--workloads NAME ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from common import machine

_HERE = os.path.dirname(os.path.abspath(__file__))
_TESTS = os.path.join(_HERE, os.pardir, "tests")

WORKLOADS = {
    # name: (model, batch, image side)
    "resnet18_b1_32": ("resnet18", 1, 32),
    "resnet18_b32_32": ("resnet18", 32, 32),
    "resnet18_b1_224": ("resnet18", 1, 224),
    "mobilenet_v2_b1_32": ("mobilenet_v2", 1, 32),
    "mobilenet_v2_b32_32": ("mobilenet_v2", 32, 32),
    "mobilenet_v2_b1_224": ("mobilenet_v2", 1, 224),
}
COLUMNS = ["ORT (torch export)", "ORT (ganglion export)", "ganglion eager", "ganglion jit",
           "ganglion onnx.load", "PyTorch eager"]


def _twins():
    """The test module that defines the PyTorch twins and the weight copy (zoo_pair)."""
    for folder in (_TESTS, os.path.join(_TESTS, "onnx")):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import test_onnx_load
    return test_onnx_load


def _input(workload):
    _, batch, side = WORKLOADS[workload]
    return np.random.default_rng(0).standard_normal((batch, 3, side, side)).astype(np.float32)


# ----- the parent: files, processes, table ------------------------------------------------

def prepare(folder, names):
    """Write each model's torch export, ganglion export (if possible) and PyTorch's logits for
    every workload into ``folder``; returns notes on what could not be made."""
    import torch
    twins = _twins()
    notes = []
    for name in sorted({WORKLOADS[w][0] for w in names}):
        model, twin = twins.zoo_pair(name)
        for side in sorted({WORKLOADS[w][2] for w in names if WORKLOADS[w][0] == name}):
            twins.export(twin, torch.zeros(1, 3, side, side),
                         os.path.join(folder, f"{name}_{side}_torch.onnx"))
            why = _ganglion_export(model, side,
                                   os.path.join(folder, f"{name}_{side}_ganglion.onnx"))
            if why:
                notes.append(f"{name} at {side}x{side}: {why}")
        for workload in names:
            if WORKLOADS[workload][0] == name:
                with torch.inference_mode():
                    logits = twin(torch.from_numpy(_input(workload))).numpy()
                np.save(os.path.join(folder, f"{workload}_logits.npy"), logits)
    return notes


def _ganglion_export(model, side, path):
    """``ganglion.onnx.export`` of ``model`` with a dynamic batch axis; None, or why not."""
    import ganglion as gn
    try:
        from ganglion.onnx import export
    except ImportError as error:
        return f"ganglion.onnx.export missing ({error})"
    try:
        export(model, (gn.zeros(1, 3, side, side),), path, input_names=["images"],
               output_names=["logits"], dynamic_axes={"images": {0: "batch"},
                                                      "logits": {0: "batch"}})
    except Exception as error:  # reported under the table; the other columns still run
        return f"ganglion.onnx.export failed: {type(error).__name__}: {error}"
    return None


def run(workloads, thread_counts, repeats, rounds):
    print(machine())
    print("environment: " + ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in
                                      ("GANGLION_KERNELS", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")))
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    samples = {}  # (workload, threads, column) -> ([wall ms], [cpu ms])
    with tempfile.TemporaryDirectory(prefix="ganglion_onnx_latency_") as folder:
        notes = prepare(folder, workloads)
        columns = [c for c in COLUMNS if c != "ORT (ganglion export)"
                   or any(os.path.exists(os.path.join(folder, f"{m}_{side}_ganglion.onnx"))
                          for m, _, side in WORKLOADS.values())]
        for round_index in range(rounds):
            for threads in thread_counts:
                for column in columns:
                    command = [sys.executable, os.path.abspath(__file__), "--child", column,
                               "--folder", folder, "--threads", str(threads),
                               "--workloads", *workloads]
                    if repeats:
                        command += ["--repeats", str(repeats)]
                    done = subprocess.run(command, capture_output=True, text=True, cwd=_HERE)
                    if done.returncode:
                        raise RuntimeError(f"{column}, {threads} thread(s) failed:\n"
                                           f"{done.stderr[-3000:]}")
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    for workload, (walls, cpus) in result.items():
                        wall_list, cpu_list = samples.setdefault((workload, threads, column),
                                                                 ([], []))
                        wall_list += walls
                        cpu_list += cpus
                    print(f"  round {round_index + 1}, {threads} thread(s), {column}: "
                          + ", ".join(f"{w} {statistics.median(v[0]):.2f}"
                                      for w, v in result.items()), flush=True)
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    _table(samples, workloads, thread_counts, columns)
    for note in notes:
        print(f"note: {note}")
    return samples


def _table(samples, workloads, thread_counts, columns):
    print("| workload (model_batch_side) | threads | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for threads in thread_counts:
        for workload in workloads:
            walls = {c: statistics.median(samples[(workload, threads, c)][0]) for c in columns
                     if samples.get((workload, threads, c), ([], []))[0]}
            best = min(walls.values())
            cells = []
            for column in columns:
                if column not in walls:
                    cells.append("n/a")
                    continue
                text = f"{walls[column]:.2f}"
                if threads == 1:
                    text += f" ({statistics.median(samples[(workload, threads, column)][1]):.2f})"
                cells.append(f"**{text}**" if walls[column] == best else text)
            print(f"| {workload} | {threads} | " + " | ".join(cells) + " |")
    print("\nmedian wall milliseconds per call (with one thread: the calling thread's CPU "
          "milliseconds in brackets); bold: the fastest in the row")


# ----- a child: one runtime, one thread count, every workload -----------------------------

def set_threads(n):
    """``n`` threads for PyTorch, ganglion's kernels, OpenBLAS and oneDNN's OpenMP pool.

    Every knob is set, whichever this checkout has: ``config.num_threads`` (which sets
    OpenBLAS's count too), the kernels' core count (which oneDNN's pool follows) and
    threadpoolctl's OpenBLAS limit (returned: it lasts while the object lives)."""
    import torch
    from threadpoolctl import threadpool_limits
    from ganglion.backend import threads
    torch.set_num_threads(n)
    try:
        from ganglion import config
        if "num_threads" in getattr(config, "SETTINGS", ()):
            config.num_threads = n
    except ImportError:
        pass
    threads.CORES = n
    try:
        from ganglion.backend.onednn import library
        library.set_num_threads(n)
    except (ImportError, AttributeError):
        pass
    return threadpool_limits(n, user_api="blas")


def _ort(path, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def child(column, folder, threads, workloads, repeats):
    """Time ``column`` on ``workloads``; print {workload: [[wall ms], [cpu ms]]} as JSON."""
    if column.startswith("ORT"):
        which = "torch" if "torch" in column else "ganglion"
        runners = {}
        for workload in workloads:
            name, _, side = WORKLOADS[workload]
            runners[workload] = (_ort(os.path.join(folder, f"{name}_{side}_{which}.onnx"),
                                      threads), _input(workload))
    else:
        _limits = set_threads(threads)  # noqa: F841  (threadpoolctl's limit lasts while it lives)
        twins = _twins()
        runners = {}
        for workload in workloads:
            name, _, side = WORKLOADS[workload]
            runners[workload] = (_framework_runner(column, twins, name, side, folder),
                                 _input(workload))
    result = {}
    for workload, (run, x) in runners.items():
        expected = np.load(os.path.join(folder, f"{workload}_logits.npy"))
        out = run(x)
        scale = float(np.abs(expected).max())
        error = float(np.abs(out - expected).max())
        if error > 1e-4 * scale:
            raise AssertionError(f"{column} on {workload}: logits differ from PyTorch's by "
                                 f"{error:.3g} (scale {scale:.3g})")
        _, batch, side = WORKLOADS[workload]
        n = repeats or (30 if batch == 1 and side == 32 else 10)
        # Warm-up: at least 5 calls and 1 s (first calls compile loops and kernel plans).
        started, calls = time.perf_counter(), 0
        while calls < 5 or time.perf_counter() - started < 1.0:
            run(x)
            calls += 1
        walls, cpus = [], []
        for _ in range(n):
            wall, cpu = time.perf_counter(), time.thread_time()
            run(x)
            cpus.append((time.thread_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
        result[workload] = [walls, cpus]
    print(json.dumps(result))


def _framework_runner(column, twins, name, side, folder):
    """A function of a NumPy batch that returns NumPy logits, for a ganglion or PyTorch column
    (the other framework's copy of the model is dropped before timing)."""
    import gc
    import torch
    import ganglion as gn
    model, twin = twins.zoo_pair(name)
    if column == "PyTorch eager":
        del model
        gc.collect()

        def run(x):
            with torch.inference_mode():
                return twin(torch.from_numpy(x)).numpy()
        return run
    del twin
    gc.collect()
    if column == "ganglion jit":
        model = gn.jit(model)
    elif column == "ganglion onnx.load":
        from ganglion.onnx.load import load
        model = load(os.path.join(folder, f"{name}_{side}_torch.onnx"))

    def run(x):
        with gn.no_grad():
            return model(gn.from_numpy(x)).numpy()
    return run


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS),
                        help="any of: " + ", ".join(WORKLOADS))
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed calls per runtime and round (default 30 at batch 1 of "
                             "32x32, else 10)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    if args.child:
        child(args.child, args.folder, args.threads[0], args.workloads, args.repeats)
    else:
        run(args.workloads, args.threads, args.repeats, args.rounds)
