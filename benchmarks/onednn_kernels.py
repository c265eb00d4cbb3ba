"""Per-layer time of the oneDNN provider's kernels (backend/onednn) against ganglion's NumPy
backend kernels and PyTorch's, on the convolution shapes of LeNet-5, the CIFAR CNN, ResNet-18
(CIFAR, 32x32) and the CIFAR MobileNetV2, for the forward pass, the input gradient ("data")
and the weight (+ bias) gradient ("weights"), float32, at 1 and 2 threads; then pooling and
batch norm on those networks' shapes, the cost of OpenBLAS's spinning threads to a oneDNN
convolution that follows a NumPy matmul, and oneDNN's matmul against OpenBLAS on the MLP's and
the LSTM classifier's GEMMs. Section ``inference`` (not run by default) times ResNet-18 (CIFAR,
benchmarks/models.py) inference at batch 1 and 32, with oneDNN's per-call weight reorders and
inside ``onednn.conv.frozen_weights()`` (each weight converted once), against PyTorch, in CPU
time (all threads) and wall time.

Each kernel is timed in blocks of calls, the implementations taking turns block by block, so
a slow spell of a shared machine falls on all of them alike (see common.py); times are
medians in ms. The PyTorch backward passes are ``aten.convolution_backward`` with one output
selected, so each pass is timed alone. ganglion's NumPy kernels split the batch over
``threads.CORES`` cores with single-threaded BLAS; here CORES is set to the thread count.

PyTorch and oneDNN share one GNU OpenMP runtime in this process (PyTorch's, loaded first), so
ganglion's OMP_WAIT_POLICY=PASSIVE default (backend/onednn/library.py) does not apply here;
--passive sets it for both.

Run: python benchmarks/onednn_kernels.py [--quick] [--passive] [--threads 1,2]
     [--networks lenet,cifar,resnet,mobilenet]
     [--sections conv,pool,batchnorm,interplay,matmul,inference]
"""
import argparse
import os
import statistics
import sys
import time

if "--passive" in sys.argv:  # read by GNU OpenMP when it loads (with PyTorch, below)
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import machine  # noqa: E402

from ganglion.backend import batchnorm as numpy_batchnorm  # noqa: E402
from ganglion.backend import blas_threads, threads  # noqa: E402
from ganglion.backend import conv as numpy_conv  # noqa: E402
from ganglion.backend.numpy_backend import NumpyBackend  # noqa: E402
from ganglion.backend.onednn import library  # noqa: E402

# name, (C, H, W), out channels, kernel, stride, padding, groups, bias, input gradient, uses
NETWORKS = {
    "lenet": ("LeNet-5", 128, [
        ("conv1 1->6 5x5 p2", (1, 28, 28), 6, 5, 1, 2, 1, True, False, 1),
        ("conv2 6->16 5x5", (6, 14, 14), 16, 5, 1, 0, 1, True, True, 1)]),
    "cifar": ("CIFAR CNN", 128, [
        ("conv1 3->32", (3, 32, 32), 32, 3, 1, 1, 1, True, False, 1),
        ("conv2 32->64", (32, 16, 16), 64, 3, 1, 1, 1, True, True, 1),
        ("conv3 64->128", (64, 8, 8), 128, 3, 1, 1, 1, True, True, 1)]),
    "resnet": ("ResNet-18 (CIFAR)", 128, [
        ("stem 3->64", (3, 32, 32), 64, 3, 1, 1, 1, False, False, 1),
        ("layer1 64->64", (64, 32, 32), 64, 3, 1, 1, 1, False, True, 4),
        ("layer2 64->128 s2", (64, 32, 32), 128, 3, 2, 1, 1, False, True, 1),
        ("layer2 128->128", (128, 16, 16), 128, 3, 1, 1, 1, False, True, 3),
        ("layer2 sc 1x1 s2", (64, 32, 32), 128, 1, 2, 0, 1, False, True, 1),
        ("layer3 128->256 s2", (128, 16, 16), 256, 3, 2, 1, 1, False, True, 1),
        ("layer3 256->256", (256, 8, 8), 256, 3, 1, 1, 1, False, True, 3),
        ("layer3 sc 1x1 s2", (128, 16, 16), 256, 1, 2, 0, 1, False, True, 1),
        ("layer4 256->512 s2", (256, 8, 8), 512, 3, 2, 1, 1, False, True, 1),
        ("layer4 512->512", (512, 4, 4), 512, 3, 1, 1, 1, False, True, 3),
        ("layer4 sc 1x1 s2", (256, 8, 8), 512, 1, 2, 0, 1, False, True, 1)]),
    "mobilenet": ("MobileNetV2 (CIFAR)", 64, [
        ("stem 3->32", (3, 32, 32), 32, 3, 1, 1, 1, False, False, 1),
        ("dw 32 @32", (32, 32, 32), 32, 3, 1, 1, 32, False, True, 1),
        ("expand 24->144 @32", (24, 32, 32), 144, 1, 1, 0, 1, False, True, 2),
        ("dw 144 @32", (144, 32, 32), 144, 3, 1, 1, 144, False, True, 1),
        ("dw 144 s2 @32", (144, 32, 32), 144, 3, 2, 1, 144, False, True, 1),
        ("project 144->24 @32", (144, 32, 32), 24, 1, 1, 0, 1, False, True, 1),
        ("expand 32->192 @16", (32, 16, 16), 192, 1, 1, 0, 1, False, True, 3),
        ("dw 192 @16", (192, 16, 16), 192, 3, 1, 1, 192, False, True, 2),
        ("project 192->32 @16", (192, 16, 16), 32, 1, 1, 0, 1, False, True, 2),
        ("expand 64->384 @8", (64, 8, 8), 384, 1, 1, 0, 1, False, True, 4),
        ("dw 384 @8", (384, 8, 8), 384, 3, 1, 1, 384, False, True, 4),
        ("project 384->64 @8", (384, 8, 8), 64, 1, 1, 0, 1, False, True, 3),
        ("dw 576 s2 @8", (576, 8, 8), 576, 3, 2, 1, 576, False, True, 1),
        ("expand 160->960 @4", (160, 4, 4), 960, 1, 1, 0, 1, False, True, 3),
        ("dw 960 @4", (960, 4, 4), 960, 3, 1, 1, 960, False, True, 3),
        ("project 960->160 @4", (960, 4, 4), 160, 1, 1, 0, 1, False, True, 2),
        ("last 320->1280 @4", (320, 4, 4), 1280, 1, 1, 0, 1, False, True, 1)]),
}


def set_threads(count):
    """The same thread count for all three: PyTorch, oneDNN, and ganglion's NumPy kernels
    (their per-core split, and OpenBLAS outside it)."""
    torch.set_num_threads(count)
    library.set_num_threads(count)
    threads.CORES = count
    for _, set_ in blas_threads._load():
        set_(count)


def interleaved(steps, rounds, block):
    """{name: median ms}: ``rounds`` rounds of one untimed and ``block`` timed calls of each."""
    times = {name: [] for name in steps}
    for step in steps.values():
        step()
    for _ in range(rounds):
        for name, step in steps.items():
            step()
            for _ in range(block):
                start = time.perf_counter()
                step()
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def conv_steps(batch, shape, out_channels, k, stride, padding, groups, bias, seed=0):
    """{pass: {implementation: step}} for one layer."""
    from ganglion.backend.onednn import conv as onednn_conv
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + shape).astype(np.float32)
    w = (rng.standard_normal((out_channels, shape[0] // groups, k, k)) * 0.1).astype(np.float32)
    b = rng.standard_normal(out_channels).astype(np.float32) if bias else None
    s, p, d = (stride, stride), ((padding, padding), (padding, padding)), (1, 1)
    y = numpy_conv.conv2d_forward(x, w, b, s, p, d, groups)
    g = rng.standard_normal(y.shape).astype(np.float32)
    xt, wt, bt, gt = (None if a is None else torch.from_numpy(a) for a in (x, w, b, g))
    aten = torch.ops.aten.convolution_backward

    def torch_backward(mask):
        return lambda: aten(gt, xt, wt, [out_channels] if bias else None, [stride] * 2, [padding] * 2,
                            [1, 1], False, [0, 0], groups, mask)

    def numpy_weights():
        gw = numpy_conv.conv2d_backward_weight(x, g, (k, k), s, p, d, groups)
        return gw, (g.sum(axis=(0, 2, 3)) if bias else None)
    return {
        "forward": {"numpy": lambda: numpy_conv.conv2d_forward(x, w, b, s, p, d, groups),
                    "onednn": lambda: onednn_conv.conv2d_forward(x, w, b, s, p, d, groups),
                    "torch": lambda: torch.nn.functional.conv2d(xt, wt, bt, stride, padding, 1, groups)},
        "data": {"numpy": lambda: numpy_conv.conv2d_backward_input(g, w, shape[1:], s, p, d, groups),
                 "onednn": lambda: onednn_conv.conv2d_backward_input(g, w, shape[1:], s, p, d, groups),
                 "torch": torch_backward([True, False, False])},
        "weights": {"numpy": numpy_weights,
                    "onednn": lambda: onednn_conv.conv2d_backward_weight_bias(x, g, (k, k), s, p, d,
                                                                              groups, bias=bias),
                    "torch": torch_backward([False, True, bias])},
    }


def run_conv(networks, thread_counts, rounds, block):
    print("\n## Convolutions: ms per call (median), and ratio to PyTorch")
    totals = {}
    for count in thread_counts:
        set_threads(count)
        for key in networks:
            title, batch, layers = NETWORKS[key]
            print(f"\n### {title}, batch {batch}, {count} thread{'s' if count > 1 else ''}\n")
            print("| layer | pass | NumPy | oneDNN | PyTorch | NumPy/PT | oneDNN/PT |")
            print("|---|---|---:|---:|---:|---:|---:|")
            total = {"numpy": 0.0, "onednn": 0.0, "torch": 0.0}
            for name, shape, o, k, s, p, groups, bias, input_grad, uses in layers:
                steps = conv_steps(batch, shape, o, k, s, p, groups, bias)
                for pass_, impls in steps.items():
                    if pass_ == "data" and not input_grad:
                        continue
                    t = interleaved(impls, rounds, block)
                    for impl in total:
                        total[impl] += uses * t[impl]
                    print(f"| {name} | {pass_} | {t['numpy']:.2f} | {t['onednn']:.2f} | "
                          f"{t['torch']:.2f} | {t['numpy'] / t['torch']:.2f} | "
                          f"{t['onednn'] / t['torch']:.2f} |", flush=True)
            totals[(title, count)] = total
            print(f"| **all layers x uses** | | {total['numpy']:.1f} | {total['onednn']:.1f} | "
                  f"{total['torch']:.1f} | {total['numpy'] / total['torch']:.2f} | "
                  f"{total['onednn'] / total['torch']:.2f} |")
    return totals


POOLS = [  # name, (N, C, H, W), kernel, stride, padding
    ("LeNet pool1 2x2", (128, 6, 28, 28), 2, 2, 0),
    ("CIFAR CNN pool1 2x2", (128, 32, 32, 32), 2, 2, 0),
    ("CIFAR CNN pool3 2x2", (128, 128, 8, 8), 2, 2, 0),
    ("3x3 s2 p1 (ResNet stem pool)", (64, 64, 32, 32), 3, 2, 1),
]


def run_pool(thread_counts, rounds, block):
    from ganglion.backend.onednn import pool as onednn_pool
    backend = NumpyBackend()
    print("\n## Max pooling: forward + argmax (ganglion's forward pass and its vjp's argmax), "
          "and scatter, ms")
    for count in thread_counts:
        set_threads(count)
        print(f"\n{count} thread(s)\n\n| shape | pass | NumPy backend | oneDNN | PyTorch |\n"
              "|---|---|---:|---:|---:|")
        for name, shape, k, s, p in POOLS:
            geometry = ((k, k), (s, s), (p, p), (1, 1), False)
            x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            out, arg = onednn_pool.max_pool2d_with_argmax(x, *geometry)
            g = np.ones_like(out)
            xt = torch.from_numpy(x).requires_grad_()
            yt, it = torch.nn.functional.max_pool2d(xt, k, s, p, return_indices=True)
            gt = torch.from_numpy(g)
            forward = interleaved({
                "numpy": lambda: backend.max_pool2d_argmax(x, backend.max_pool2d(x, *geometry), *geometry),
                "onednn": lambda: onednn_pool.max_pool2d_with_argmax(x, *geometry),
                "torch": lambda: torch.ops.aten.max_pool2d_with_indices(xt.detach(), [k, k], [s, s], [p, p])},
                rounds, block)
            scatter = interleaved({
                "numpy": lambda: backend.max_pool2d_scatter(g, arg, shape, *geometry),
                "onednn": lambda: onednn_pool.max_pool2d_scatter(g, arg, shape, *geometry),
                "torch": lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                    gt, xt.detach(), [k, k], [s, s], [p, p], [1, 1], False, it)}, rounds, block)
            for pass_, t in (("forward+argmax", forward), ("scatter", scatter)):
                print(f"| {name} {shape} | {pass_} | {t['numpy']:.2f} | {t['onednn']:.2f} | "
                      f"{t['torch']:.2f} |",
                      flush=True)


NORMS = [("ResNet layer1", (128, 64, 32, 32)), ("ResNet layer3", (128, 256, 8, 8)),
         ("MobileNet @16", (64, 192, 16, 16)), ("MobileNet @4", (64, 960, 4, 4))]


def run_batchnorm(thread_counts, rounds, block):
    from ganglion.backend.onednn import batchnorm as onednn_bn
    print("\n## Batch norm (training): forward = statistics + normalization, backward = "
          "gradient sums + input gradient (NumPy backend: numba loops where numba is present), ms")
    for count in thread_counts:
        set_threads(count)
        print(f"\n{count} thread(s)\n\n| shape | pass | NumPy backend (2 kernels) | oneDNN, same 2 kernels | "
              f"oneDNN fused | PyTorch |\n|---|---|---:|---:|---:|---:|")
        for name, shape in NORMS:
            rng = np.random.default_rng(0)
            x, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
            c = shape[1]
            w, b, mean, var = (np.ones(c, np.float32), np.zeros(c, np.float32),
                               np.zeros(c, np.float32), np.ones(c, np.float32))
            a = np.ones(c)
            xt, gt, wt, bt = (torch.from_numpy(v) for v in (x, g, w, b))
            _, save_mean, save_invstd = torch.ops.aten.native_batch_norm(xt, wt, bt, None, None, True,
                                                                         0.1, 1e-5)

            def numpy_forward():
                stats = numpy_batchnorm.batch_statistics(x)
                return numpy_batchnorm.batch_normalize(x, w, b), stats

            def onednn_forward():
                stats = onednn_bn.batch_statistics(x)
                return onednn_bn.batch_normalize(x, w, b), stats
            forward = interleaved({
                "numpy": numpy_forward, "onednn": onednn_forward,
                "fused": lambda: onednn_bn.batch_norm_forward_training(x, w, b, 1e-5),
                "torch": lambda: torch.ops.aten.native_batch_norm(xt, wt, bt, None, None, True, 0.1, 1e-5)},
                rounds, block)
            backward = interleaved({
                "numpy": lambda: (numpy_batchnorm.batch_norm_gradient_sums(g, x, mean),
                                  numpy_batchnorm.batch_norm_input_gradient(g, x, mean, a, a, a)),
                "onednn": lambda: (onednn_bn.batch_norm_gradient_sums(g, x, mean),
                                   numpy_batchnorm.batch_norm_input_gradient(g, x, mean, a, a, a)),
                "fused": lambda: onednn_bn.batch_norm_backward(g, x, mean, var, w, 1e-5, True),
                "torch": lambda: torch.ops.aten.native_batch_norm_backward(
                    gt, xt, wt, None, None, save_mean, save_invstd, True, 1e-5, [True, True, True])},
                rounds, block)
            for pass_, t in (("forward", forward), ("backward", backward)):
                print(f"| {name} {shape} | {pass_} | {t['numpy']:.2f} | {t['onednn']:.2f} | "
                      f"{t['fused']:.2f} | {t['torch']:.2f} |", flush=True)


def run_interplay(rounds):
    """A oneDNN convolution alone, right after a 2-thread OpenBLAS matmul, and right after the
    same matmul with OpenBLAS held to one thread (``blas_threads.single_threaded``)."""
    from ganglion.backend.onednn import conv as onednn_conv
    set_threads(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 32, 16, 16)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    a = rng.standard_normal((128, 4096)).astype(np.float32)
    m = rng.standard_normal((4096, 256)).astype(np.float32)
    geometry = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)

    def conv():
        onednn_conv.conv2d_forward(x, w, None, *geometry)

    def timed(before):
        times = []
        for _ in range(rounds * 5):
            before()
            start = time.perf_counter()
            conv()
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)

    def single_matmul():
        with blas_threads.single_threaded():
            a @ m
    conv()
    print("\n## oneDNN convolution (CIFAR CNN conv2 forward, batch 128, 2 threads) after a matmul, ms")
    results = {"alone": timed(lambda: None), "after a 2-thread OpenBLAS matmul": timed(lambda: a @ m),
               "after the matmul on 1 OpenBLAS thread": timed(single_matmul)}
    for name, t in results.items():
        print(f"- {name}: {t:.2f}")


def matmul_shapes():
    """(name, a, b) of the MLP's (784-512-256-10) GEMMs at batch 64 / 128 / 256, forward and
    backward, and the LSTM classifier's (input 64, hidden 256, batch 64, 35 steps)."""
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    shapes = []
    for batch in (64, 128, 256):
        for n_in, n_out in ((784, 512), (512, 256), (256, 10)):
            w = r(n_out, n_in)
            x, g = r(batch, n_in), r(batch, n_out)
            shapes += [(f"MLP b{batch} {n_in}->{n_out} forward x @ W.T", x, w.T),
                       (f"MLP b{batch} {n_in}->{n_out} weight grad g.T @ x", g.T, x)]
            if n_in != 784:
                shapes.append((f"MLP b{batch} {n_in}->{n_out} input grad g @ W", g, w))
    w_ih, w_hh = r(1024, 64), r(1024, 256)
    shapes += [("LSTM input projection (2240, 64) @ W_ih.T", r(35 * 64, 64), w_ih.T),
               ("LSTM step h @ W_hh.T (64, 256) @ (256, 1024)", r(64, 256), w_hh.T),
               ("LSTM step grad g @ W_hh (64, 1024) @ (1024, 256)", r(64, 1024), w_hh),
               ("LSTM W_hh grad g.T @ h (1024, 2240) @ (2240, 256)", r(35 * 64, 1024).T, r(35 * 64, 256))]
    return shapes


def run_matmul(thread_counts, rounds, block):
    from ganglion.backend.onednn import matmul as onednn_matmul
    print("\n## matmul: oneDNN's matmul primitive against NumPy (OpenBLAS) and PyTorch, us per call")
    for count in thread_counts:
        set_threads(count)
        print(f"\n{count} thread(s)\n\n| product | NumPy | oneDNN | PyTorch | oneDNN/NumPy |\n"
              "|---|---:|---:|---:|---:|")
        for name, a, b in matmul_shapes():
            at, bt = torch.from_numpy(a), torch.from_numpy(b)
            t = interleaved({"numpy": lambda: np.matmul(a, b), "onednn": lambda: onednn_matmul.matmul(a, b),
                             "torch": lambda: torch.matmul(at, bt)}, rounds, block * 10)
            print(f"| {name} | {t['numpy'] * 1e3:.0f} | {t['onednn'] * 1e3:.0f} | {t['torch'] * 1e3:.0f} | "
                  f"{t['onednn'] / t['numpy']:.2f} |", flush=True)


def run_inference(thread_counts, rounds, block):
    import ganglion as gn
    import ganglion.nn as gnn
    from ganglion.backend.onednn import conv as onednn_conv
    from models import resnet18
    print("\n## ResNet-18 (CIFAR) inference, eval mode, no_grad: ms per forward pass, CPU time of "
          "all threads (wall time in brackets)")
    torch.manual_seed(0)
    torch_model, model = resnet18(torch.nn).eval(), resnet18(gnn)
    model.load_state_dict(torch_model.state_dict())
    model.eval()
    for count in thread_counts:
        set_threads(count)
        gn.config.num_threads = count
        print(f"\n{count} thread(s)\n\n| batch | reorder per call | frozen_weights | PyTorch |"
              " frozen / per call | frozen / PyTorch |\n|---:|---:|---:|---:|---:|---:|")
        for batch in (1, 32):
            x = np.random.default_rng(0).standard_normal((batch, 3, 32, 32)).astype(np.float32)
            xg, xt = gn.from_numpy(x), torch.from_numpy(x)

            def ganglion_forward():
                with gn.no_grad():
                    model(xg)

            def torch_forward():
                with torch.no_grad():
                    torch_model(xt)

            def timed(step, calls):
                step()
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(calls):
                    step()
                return ((time.process_time() - cpu) / calls * 1e3,
                        (time.perf_counter() - wall) / calls * 1e3)
            times = {"plain": [], "frozen": [], "torch": []}
            calls = max(1, block * 8 // batch)
            for _ in range(rounds):
                times["plain"].append(timed(ganglion_forward, calls))
                with onednn_conv.frozen_weights():  # (leaving the block frees the copies)
                    times["frozen"].append(timed(ganglion_forward, calls))
                times["torch"].append(timed(torch_forward, calls))
            cpu = {name: statistics.median(c for c, _ in t) for name, t in times.items()}
            wall = {name: statistics.median(w for _, w in t) for name, t in times.items()}
            print(f"| {batch} | " + " | ".join(f"{cpu[n]:.1f} ({wall[n]:.1f})" for n in times)
                  + f" | {cpu['frozen'] / cpu['plain']:.2f} | {cpu['frozen'] / cpu['torch']:.2f} |",
                  flush=True)
        gn.config.num_threads = None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed calls")
    parser.add_argument("--passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE for both")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--networks", default="lenet,cifar,resnet,mobilenet")
    parser.add_argument("--sections", default="conv,pool,batchnorm,interplay,matmul")
    args = parser.parse_args()
    if not library.available():
        sys.exit(f"oneDNN unavailable: {library.unavailable_reason()}")
    rounds, block = (2, 2) if args.quick else (3, 3)
    thread_counts = [int(t) for t in args.threads.split(",")]
    print(f"machine: {machine()}; oneDNN {'.'.join(map(str, library.version()))}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}")
    sections = args.sections.split(",")
    if "conv" in sections:
        run_conv(args.networks.split(","), thread_counts, rounds, block)
    if "pool" in sections:
        run_pool(thread_counts, rounds, block)
    if "batchnorm" in sections:
        run_batchnorm(thread_counts, rounds, block)
    if "interplay" in sections:
        run_interplay(rounds)
    if "matmul" in sections:
        run_matmul(thread_counts, rounds, block)
    if "inference" in sections:
        run_inference(thread_counts, rounds, block)


if __name__ == "__main__":
    main()
