"""Inference latency for deployment (issue 17 "Speed"): ResNet-18 and MobileNetV2 in ONNX
Runtime, ganglion and PyTorch, on this machine.

Each model is torchvision's architecture: ganglion.models' ``resnet18`` / ``mobilenet_v2`` and
their PyTorch twins from tests/onnx/test_onnx_load.py, holding one set of random weights
(batch-norm statistics included). The twin is exported with ``torch.onnx.export`` (TorchScript
exporter, dynamic batch axis; it folds batch norm into the convolutions); ganglion's model is
exported with ``ganglion.onnx.export`` when that exists. Columns, all float32, eval mode,
no gradients:

- ``ORT (torch export)`` / ``ORT (ganglion export)``: ONNX Runtime's CPU provider on those
  files (``intra_op_num_threads`` = the thread count, one inter-op thread);
- ``ganglion eager``: the zoo model called under ``gn.no_grad()``;
- ``ganglion jit``: ``gn.jit`` of that model (compiled per input shape; the compile is warmup);
- ``ganglion onnx.load``: ``ganglion.onnx.load`` of the torch export, eager;
- ``PyTorch eager``: the twin under ``torch.inference_mode()``.

Threads: 1 and 2 for every runtime (``torch.set_num_threads``, ORT's session options,
ganglion's ``config.num_threads`` where it exists, else its kernels' core count and OpenBLAS's
through threadpoolctl, as benchmarks/zoo.py's one_thread does). Timing is
``common.interleaved_medians``: blocks of calls of each runtime in turn, the median of all
timed calls, so a slow spell of this shared machine falls on every column alike.

Run: python benchmarks/onnx_latency.py [--repeats N] [--threads 1 2] [--workloads NAME ...]
"""
import argparse
import os
import sys
import tempfile
import warnings

import numpy as np

from common import interleaved_medians, machine

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
    import test_onnx_load
    return test_onnx_load


_limits = []


def set_threads(n):
    """``n`` threads for PyTorch, ganglion's kernels and OpenBLAS."""
    import torch
    torch.set_num_threads(n)
    try:
        from ganglion import config
        if "num_threads" in getattr(config, "SETTINGS", ()):
            config.num_threads = n
            return
    except ImportError:
        pass
    from threadpoolctl import threadpool_limits
    from ganglion.backend import threads
    threads.CORES = n
    _limits[:] = [threadpool_limits(n, user_api="blas")]


def ort_session(path, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


def ganglion_export(model, folder, name):
    """``ganglion.onnx.export`` of ``model`` with a dynamic batch axis, or (None, why not)."""
    import ganglion as gn
    try:
        from ganglion.onnx import export
    except ImportError as error:
        return None, f"ganglion.onnx.export missing ({error})"
    path = os.path.join(folder, f"{name}_ganglion.onnx")
    try:
        export(model, (gn.zeros(1, 3, 32, 32),), path, input_names=["images"],
               output_names=["logits"], dynamic_axes={"images": {0: "batch"},
                                                      "logits": {0: "batch"}})
    except Exception as error:  # report it in the table's notes; the other columns still run
        return None, f"ganglion.onnx.export failed: {type(error).__name__}: {error}"
    return path, None


def prepare(folder):
    """{model name: (ganglion model, torch twin, torch-export path, ganglion-export path)}."""
    twins = _twins()
    prepared, notes = {}, []
    for name in sorted({model for model, _, _ in WORKLOADS.values()}):
        model, twin = twins.zoo_pair(name)
        torch_path = os.path.join(folder, f"{name}_torch.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            twins.export(twin, twins.torch.zeros(1, 3, 32, 32), torch_path)
        ganglion_path, why = ganglion_export(model, folder, name)
        if why:
            notes.append(f"{name}: {why}")
        prepared[name] = (model, twin, torch_path, ganglion_path)
    return prepared, notes


def runners(prepared, workload, threads):
    """{column: function of no argument} for ``workload`` at ``threads`` threads."""
    import torch
    import ganglion as gn
    from ganglion.onnx.load import load
    name, batch, side = WORKLOADS[workload]
    model, twin, torch_path, ganglion_path = prepared[name]
    x = np.random.default_rng(0).standard_normal((batch, 3, side, side)).astype(np.float32)
    x_ganglion, x_torch = gn.from_numpy(x), torch.from_numpy(x)
    loaded = load(torch_path).eval()
    compiled = gn.jit(model)

    def ganglion_call(fn):
        def run():
            with gn.no_grad():
                return fn(x_ganglion)
        return run

    def torch_call():
        with torch.inference_mode():
            return twin(x_torch)

    steps = {"ORT (torch export)": (lambda run=ort_session(torch_path, threads): run(x))}
    if ganglion_path:
        steps["ORT (ganglion export)"] = (lambda run=ort_session(ganglion_path, threads): run(x))
    steps["ganglion eager"] = ganglion_call(model)
    steps["ganglion jit"] = ganglion_call(compiled)
    steps["ganglion onnx.load"] = ganglion_call(loaded)
    steps["PyTorch eager"] = torch_call
    return steps


def check_outputs(steps):
    """Every runtime must give the same logits (1e-4 of their scale: the runtimes sum in
    different orders), or its time means nothing."""
    outputs = {}
    for column, step in steps.items():
        out = step()
        out = out[0] if isinstance(out, list) else out
        outputs[column] = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
    reference = outputs["PyTorch eager"]
    scale = float(np.abs(reference).max())
    for column, out in outputs.items():
        error = float(np.abs(out - reference).max())
        if error > 1e-4 * scale:
            raise AssertionError(f"{column}: output differs from PyTorch's by {error:.3g} "
                                 f"(scale {scale:.3g})")


def run(workloads, thread_counts, repeats):
    print(machine())
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganglion_onnx_latency_") as folder:
        prepared, notes = prepare(folder)
        for threads in thread_counts:
            set_threads(threads)
            for workload in workloads:
                steps = runners(prepared, workload, threads)
                check_outputs(steps)
                batch = WORKLOADS[workload][1]
                n = repeats or (10 if batch > 1 or WORKLOADS[workload][2] > 32 else 30)
                medians = interleaved_medians(steps, warmup=2, repeats=n, block=max(1, n // 5),
                                              settle=1)
                rows.append((workload, threads, medians))
                print(f"  {workload}, {threads} thread(s): "
                      + ", ".join(f"{k} {v:.2f}" for k, v in medians.items()), flush=True)
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print()
    print("| workload (model_batch_side) | threads | " + " | ".join(COLUMNS) + " |")
    print("|---|---:|" + "---:|" * len(COLUMNS))
    for workload, threads, medians in rows:
        best = min(medians.values())
        cells = []
        for column in COLUMNS:
            value = medians.get(column)
            if value is None:
                cells.append("n/a")
            else:
                cells.append(f"**{value:.2f}**" if value == best else f"{value:.2f}")
        print(f"| {workload} | {threads} | " + " | ".join(cells) + " |")
    print("\nmedian milliseconds per call; bold: the fastest in the row")
    for note in notes:
        print(f"note: {note}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS),
                        help="any of: " + ", ".join(repr(w) for w in WORKLOADS))
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed calls per runtime (default 30 at batch 1 of 32x32, else 10)")
    args = parser.parse_args()
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    run(args.workloads, args.threads, args.repeats)
