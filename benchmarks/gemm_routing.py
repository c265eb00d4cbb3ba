"""Where the products go (issue 19): oneDNN's matmul against NumPy's OpenBLAS, per GEMM shape
and per workload, in one thread's CPU time, interleaved with PyTorch.

Sections:
- ``products``: the MLP's (784-512-512-10, batch 64 / 128) and the recurrent classifiers'
  (input 64, hidden 256, batch 64, 35 steps) GEMMs: OpenBLAS, oneDNN's plain product, oneDNN
  with a fixed right operand copied once into its blocked layout (the recurrent loops' form),
  PyTorch; and the provider ``kernels="auto"`` picks for the shape.
- ``modules``: the MLP forward taken apart: each module's CPU time inside the sequence (where
  caches hold what the previous module left, unlike a module timed alone), ganglion and
  PyTorch in alternating rounds.
- ``models``: the MLP forward (nn.Linear/ReLU, no_grad), the raw-tensor MLP train step
  (mlp_step.py, eager Adam), the compiled MLP step (symbolic_mlp.py) and the LSTM / GRU / RNN
  classifier train steps (models.py), each under ``kernels="numba"`` (OpenBLAS products: the
  state before the products were routed) and ``"auto"`` (oneDNN where the rule says), in the
  same interleaved rounds as PyTorch.

Times are ``time.process_time`` of one thread (OMP/OpenBLAS/PyTorch/ganglion all at one
thread): on this project's shared 2-core machine the wall clock measures the load. ``--wall``
times the ``models`` section instead by the wall clock with every framework on all cores (the
default threading users get; only on a quiet machine).
Run: OMP_WAIT_POLICY=PASSIVE python benchmarks/gemm_routing.py [--sections products,modules,models]
     [--repeats N] [--wall]
"""
import os

import sys

# Read before NumPy and PyTorch load: their thread pools are sized at import.
WALL = "--wall" in sys.argv
if not WALL:
    for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                      "GANGLION_NUM_THREADS"):
        os.environ[_variable] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from common import adam_step, interleaved_medians, machine  # noqa: E402


def _cpu_medians(steps, repeats, block=10):
    return interleaved_medians(steps, warmup=3, repeats=repeats, block=block, settle=2,
                               clock=time.perf_counter if WALL else time.process_time)


def product_shapes():
    """(name, a, b) of the MLP's and the recurrent classifiers' GEMMs."""
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    shapes = []
    for batch in (64, 128):
        for n_in, n_out in ((784, 512), (512, 512), (512, 10)):
            w, x, g = r(n_out, n_in), r(batch, n_in), r(batch, n_out)
            shapes += [(f"MLP b{batch} {n_in}->{n_out} x @ W.T", x, w.T),
                       (f"MLP b{batch} {n_in}->{n_out} g.T @ x", g.T, x),
                       (f"MLP b{batch} {n_in}->{n_out} g @ W", g, w)]
    for layer, gates in (("LSTM", 4), ("GRU", 3), ("RNN", 1)):
        w_hh = r(gates * 256, 256)
        shapes += [(f"{layer} step h @ W_hh.T", r(64, 256), np.ascontiguousarray(w_hh.T)),
                   (f"{layer} step grad g @ W_hh", r(64, gates * 256), w_hh),
                   (f"{layer} input projection x @ W_ih.T", r(35 * 64, 64), r(gates * 256, 64).T),
                   (f"{layer} W_hh grad g.T @ h", r(35 * 64, gates * 256).T, r(35 * 64, 256))]
    shapes.append(("classifier head h @ W.T (64, 256) -> 10", r(64, 256), r(10, 256).T))
    return shapes


def run_products(repeats):
    import torch

    from ganglion.backend import providers
    from ganglion.backend.onednn import matmul as onednn_matmul
    print("\n## Products, one thread, CPU us per call\n")
    print("| product | OpenBLAS | oneDNN | oneDNN, fixed right operand | PyTorch | oneDNN / OpenBLAS "
          "| auto picks |\n|---|---:|---:|---:|---:|---:|---|")
    for name, a, b in product_shapes():
        out = np.empty((a.shape[0], b.shape[1]), np.float32)
        fixed = onednn_matmul.fixed_right(b, a.shape[0])
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        t = _cpu_medians({"blas": lambda: np.matmul(a, b, out=out),
                          "onednn": lambda: onednn_matmul.matmul(a, b, out=out),
                          "fixed": lambda: fixed(a, b, out=out),
                          "torch": lambda: torch.matmul(at, bt)}, repeats, block=20)
        pick = providers.kernel_for("matmul", a, b)
        print(f"| {name} {a.shape} @ {b.shape} | {t['blas'] * 1e3:.0f} | {t['onednn'] * 1e3:.0f} | "
              f"{t['fixed'] * 1e3:.0f} | {t['torch'] * 1e3:.0f} | {t['onednn'] / t['blas']:.2f} | {pick} |",
              flush=True)


def _with_kernels(kernels, step):
    import ganglion as gn

    def run():
        with gn.config(kernels=kernels):
            return step()
    return run


def _mlp_forward_models():
    """(ganglion model, PyTorch model, ganglion input, PyTorch input) of the MLP forward."""
    import torch

    import ganglion as gn
    from mlp_step import BATCH, SIZES, batch

    def build(framework):
        nn = framework.nn
        return nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]),
                             nn.ReLU(), nn.Linear(SIZES[2], SIZES[3]))
    torch.manual_seed(0)
    torch_model = build(torch)
    model = build(gn)
    model.load_state_dict(torch_model.state_dict())
    x_np, _ = batch()
    assert x_np.shape == (BATCH, SIZES[0])
    return model, torch_model, gn.from_numpy(x_np), torch.from_numpy(x_np)


def _mlp_forward_steps():
    import torch

    import ganglion as gn
    model, torch_model, x, xt = _mlp_forward_models()

    def ganglion_forward():
        with gn.no_grad():
            return model(x)

    def torch_forward():
        with torch.no_grad():
            return torch_model(xt)
    return ganglion_forward, torch_forward


def _classifier_steps(name):
    import torch

    import ganglion.nn as gnn
    from models import WORKLOADS, make_batch
    builder, shape, batch, _ = WORKLOADS[name]
    torch.manual_seed(0)
    torch_model = builder(torch.nn)
    model = builder(gnn)
    model.load_state_dict(torch_model.state_dict())
    x, y = make_batch(name, batch, shape)
    import ganglion
    return adam_step(ganglion, model, x, y), adam_step(torch, torch_model, x, y)


def run_modules(repeats, rounds=5):
    """Each module's median CPU time per forward over ``rounds`` alternating rounds, each round
    ``repeats`` forwards timed module by module."""
    import statistics

    import torch

    import ganglion as gn
    model, torch_model, x, xt = _mlp_forward_models()
    clock = time.process_time_ns
    frameworks = {"ganglion": (list(model), x, gn.no_grad), "PyTorch": (list(torch_model), xt,
                                                                      torch.no_grad)}
    per_round = {name: [] for name in frameworks}
    for _ in range(rounds):
        for name, (modules, inputs, no_grad) in frameworks.items():
            spent = [0] * (len(modules) + 1)
            with no_grad():
                for call in range(repeats + 5):
                    h = inputs
                    start = clock()
                    for i, module in enumerate(modules):
                        t0 = clock()
                        h = module(h)
                        if call >= 5:               # the first five warm up
                            spent[i] += clock() - t0
                    if call >= 5:
                        spent[-1] += clock() - start
            per_round[name].append([t / repeats / 1000 for t in spent])
    medians = {name: [statistics.median(r[i] for r in rounds_) for i in range(len(rounds_[0]))]
               for name, rounds_ in per_round.items()}
    print("\n## The MLP forward by module, one thread, CPU us per forward (inside the sequence)\n")
    print("| module | ganglion | PyTorch | difference |\n|---|---:|---:|---:|")
    names = [repr(m) for m in torch_model] + ["whole forward (timers included)"]
    for i, label in enumerate(names):
        g, t = medians["ganglion"][i], medians["PyTorch"][i]
        print(f"| {label} | {g:.1f} | {t:.1f} | {g - t:+.1f} |")


def run_models(names, repeats):
    import torch

    import ganglion as gn
    from mlp_step import ganglion_step_fn, torch_step_fn
    from symbolic_mlp import ganglion_compiled_step_fn
    torch.set_num_threads(os.cpu_count() if WALL else 1)
    how = f"{os.cpu_count()} threads, wall" if WALL else "one thread, CPU"
    print(f"\n## Workloads, {how} ms per call; ratio to PyTorch in brackets\n")
    print("| workload | ganglion, products on OpenBLAS (kernels=numba) | ganglion, kernels=auto "
          "(oneDNN products) | PyTorch |\n|---|---:|---:|---:|")
    for name in names:
        if name == "mlp_forward":
            ganglion_run, torch_run = _mlp_forward_steps()
        elif name == "mlp_step":
            ganglion_run, torch_run = ganglion_step_fn(), torch_step_fn()
        elif name == "mlp_compiled":
            ganglion_run, torch_run = ganglion_compiled_step_fn()[0], torch_step_fn()
        else:
            ganglion_run, torch_run = _classifier_steps(name)
        count = repeats if name.startswith("mlp") else max(10, repeats // 5)
        t = _cpu_medians({"numba": _with_kernels("numba", ganglion_run),
                          "auto": _with_kernels("auto", ganglion_run), "torch": torch_run},
                         count, block=10 if name.startswith("mlp") else 2)
        print(f"| {name} | {t['numba']:.2f} ({t['numba'] / t['torch']:.2f}) | "
              f"{t['auto']:.2f} ({t['auto'] / t['torch']:.2f}) | {t['torch']:.2f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="products,models")
    parser.add_argument("--models", default="mlp_forward,mlp_step,mlp_compiled,lstm,gru,rnn")
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--wall", action="store_true",
                        help="models: wall clock, all cores (read at import, see above)")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(os.cpu_count() if WALL else 1)
    print(machine())
    from ganglion.backend.onednn import library
    print(f"oneDNN {'.'.join(map(str, library.version()))}; OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    if "products" in args.sections:
        run_products(args.repeats)
    if "modules" in args.sections:
        run_modules(max(50, args.repeats * 5))
    if "models" in args.sections:
        run_models(args.models.split(","), args.repeats)


if __name__ == "__main__":
    main()
