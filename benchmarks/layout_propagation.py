"""Train steps with and without oneDNN layout propagation (issue 19), eager and compiled,
against PyTorch eager, in one process.

A step is forward + cross-entropy + backward + Adam (float32, batch 128) of benchmarks/models.py's
``cifar_cnn`` or ``lenet``, written once (``common.adam_step``) and run five ways: PyTorch eager;
ganglion eager with ``config.layout_propagation`` off and on (``core/blocked_tensor.py``); that
step compiled with ``gn.jit`` with it off and on (``symbolic/rewrites/onednn_layout.py``).
Layout propagation keeps activations in oneDNN's blocked layout between the convolutions,
ReLUs and max poolings, forward and backward. All five start from the same weights. Timed by the process's CPU time in interleaved blocks (``common.interleaved_medians``
with ``clock=time.process_time``): meaningful with one thread, so run it as

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/layout_propagation.py [cifar_cnn lenet] [--repeats N] [--profile]

``--profile`` prints cProfile's top functions of the compiled step with the rewrite instead.
``--zoo`` times the zoo's networks eagerly with layout propagation on and off instead (ganglion
only, the same interleaved blocks): train steps (SGD with momentum, batch 64 at 3x32x32) of
resnet20, CIFAR MobileNetV2 and CIFAR VGG-11-BN, and eval-mode no_grad forwards of resnet20
(batch 64), ResNet-50 and AlexNet (batch 1 at 3x224x224). ``--zoo --wall`` times them by the
clock on every core instead (``OMP_NUM_THREADS`` unset; a quiet machine only); names after
``--zoo`` pick some of them (``--zoo resnet20``).
"""
import argparse
import os
import time

import numpy as np

from common import interleaved_medians, machine, set_threads
from models import WORKLOADS, make_batch


def _models(name):
    import torch
    import ganglion.nn as gnn
    builder, shape, batch, _ = WORKLOADS[name]
    torch.manual_seed(0)
    twin = builder(torch.nn)
    models = {}
    for label in ("eager", "eager+layout", "compiled", "compiled+layout"):
        model = builder(gnn)
        model.load_state_dict(twin.state_dict())
        models[label] = model
    return twin, models, shape, batch


def compiled_step(ganglion, model, x, target, layout):
    """A ``gn.jit`` train step of ``model`` (Adam, lr 1e-3) on fixed NumPy inputs, compiled with
    the layout rewrite on or off; returns a function of no argument."""
    F = ganglion.nn.functional
    optimizer = ganglion.optim.Adam(model.parameters(), lr=1e-3)

    @ganglion.jit
    def step(x, target):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        return loss

    x, target = ganglion.from_numpy(x), ganglion.from_numpy(target)
    with ganglion.config(layout_propagation=layout):
        step(x, target)          # traces and compiles under the setting
    return lambda: step(x, target)


def _with_layout(ganglion, layout, step):
    def run():
        with ganglion.config(layout_propagation=layout):
            return step()
    return run


def steps(name):
    import torch
    import ganglion
    from common import adam_step
    twin, models, shape, batch = _models(name)
    x, target = make_batch(name, batch, shape)
    return {"torch": adam_step(torch, twin, x, target),
            "eager": _with_layout(ganglion, False, adam_step(ganglion, models["eager"], x, target)),
            "eager+layout": _with_layout(ganglion, True,
                                         adam_step(ganglion, models["eager+layout"], x, target)),
            "compiled": compiled_step(ganglion, models["compiled"], x, target, False),
            "compiled+layout": compiled_step(ganglion, models["compiled+layout"], x, target, True)}


def _zoo_cases():
    import ganglion
    import ganglion.models as zoo
    F = ganglion.nn.functional

    def train(model, batch, shape):
        rng = np.random.default_rng(0)
        x = ganglion.from_numpy(rng.standard_normal((batch,) + shape).astype(np.float32))
        y = ganglion.from_numpy(rng.integers(0, 10, batch))
        optimizer = ganglion.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
        return step

    def infer(model, batch, shape):
        model.eval()
        x = ganglion.from_numpy(
            np.random.default_rng(0).standard_normal((batch,) + shape).astype(np.float32))

        def step():
            with ganglion.no_grad():
                model(x)
        return step
    return {"resnet20 train b64": lambda: train(zoo.resnet20(), 64, (3, 32, 32)),
            "mobilenet_v2_cifar train b64": lambda: train(zoo.mobilenet_v2_cifar(), 64, (3, 32, 32)),
            "vgg11_bn_cifar train b64": lambda: train(zoo.vgg11_bn_cifar(), 64, (3, 32, 32)),
            "resnet20 eval b64": lambda: infer(zoo.resnet20(), 64, (3, 32, 32)),
            "resnet50 eval b1": lambda: infer(zoo.resnet50(), 1, (3, 224, 224)),
            "alexnet eval b1": lambda: infer(zoo.alexnet(), 1, (3, 224, 224))}


def run_zoo(repeats, wall=False, names=None):
    import ganglion
    if wall:
        set_threads()
        print(f"ganglion eager, layout propagation on / off, wall time, {os.cpu_count()} cores, "
              "interleaved blocks")
    else:
        set_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        print("ganglion eager, layout propagation on / off, CPU time (process), interleaved blocks")
    print(machine())
    print(f"{'workload':<30}{'off ms':>10}{'on ms':>10}{'on/off':>9}")
    for name, make in _zoo_cases().items():
        if names and name.split()[0] not in names:
            continue
        step = make()
        medians = interleaved_medians({"off": _with_layout(ganglion, False, step),
                                       "on": _with_layout(ganglion, True, step)},
                                      warmup=2, repeats=repeats, block=2, settle=1,
                                      clock=time.perf_counter if wall else time.process_time)
        print(f"{name:<30}{medians['off']:>10.1f}{medians['on']:>10.1f}"
              f"{medians['on'] / medians['off']:>9.3f}", flush=True)


def run(names, repeats):
    set_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print("Train step (forward + cross-entropy + backward + Adam), float32, batch 128, "
          "CPU time (process), interleaved blocks, medians")
    print(machine())
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}  "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    columns = ("eager", "eager+layout", "compiled", "compiled+layout")
    print(f"{'workload':<11}{'PyTorch':>9}" + "".join(f"{c:>17}" for c in columns))
    for name in names:
        medians = interleaved_medians(steps(name), warmup=3, repeats=repeats,
                                      block=max(1, min(5, repeats // 3)), settle=1,
                                      clock=time.process_time)
        base = medians["torch"]
        cells = "".join(f"{medians[k]:>10.1f} ({medians[k] / base:.2f})" for k in columns)
        print(f"{name:<11}{base:>9.1f}{cells}", flush=True)


def profile(name):
    import cProfile
    import pstats
    step = steps(name)["compiled+layout"]
    for _ in range(3):
        step()
    profiler = cProfile.Profile(time.process_time)  # (CPU time: the machine is shared)
    profiler.enable()
    for _ in range(10):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="cifar_cnn, lenet (default: both); with --zoo, "
                                                 "the zoo's networks to time (default: all)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--zoo", action="store_true")
    parser.add_argument("--wall", action="store_true", help="with --zoo: wall time, every core")
    args = parser.parse_args()
    if args.zoo:
        run_zoo(min(args.repeats, 7), args.wall, args.names)
    elif args.profile:
        for workload in args.names or ["cifar_cnn", "lenet"]:
            profile(workload)
    else:
        run(args.names or ["cifar_cnn", "lenet"], args.repeats)
