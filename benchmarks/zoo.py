"""Model-zoo speed against PyTorch eager (issue 14 "Speed"): train steps and inference latency.

Workloads and targets (ratio = ganglion time / PyTorch time, both timed in this process):

- train steps (forward + cross-entropy + backward + SGD with momentum 0.9), float32:
  ``resnet20`` (batch 64, 3x32x32) <= 1.5, CIFAR ``mobilenet_v2`` (64, 3x32x32) <= 2.0,
  CIFAR ``vgg11_bn`` (64, 3x32x32) <= 1.5, ``googlenet`` (32, 3x96x96) <= 2.0;
- inference, batch 1 of 3x224x224, eval mode, no_grad: ``resnet50`` and ``mobilenet_v2``
  latency <= 1.5.

The ganglion models come from ``ganglion.models``; the PyTorch models are the twins that
tests/models/test_*.py write with ``torch.nn`` (compact copies of torchvision's and the CIFAR
references' code: torchvision is not installed). They are imported from those test modules
rather than copied here, so that the benchmark times exactly the architectures that the tests
prove equal to ganglion's (same state_dict keys and shapes, same outputs); ganglion loads the
twin's state dict, so both start from the same weights. Importing them needs pytest, which the
test modules import. Timing is ``common.interleaved_medians`` (blocks of steps of each
framework in turn, medians), with PyTorch given ganglion's thread count (all cores).

``--cpu-time`` measures instead the CPU time of the calling thread per step with one thread for
each framework (PyTorch's intra-op threads, OpenBLAS's and ganglion's kernels' all set to 1, as
benchmarks/transformer.py does): when other jobs load this 2-core machine, wall times of either
framework swing by 2-10x and PyTorch's spinning OpenMP threads suffer most, while the CPU time
of one thread does not count the time a step waits for a core.

``--kernels auto,numba`` times ganglion once per kernel-provider setting
(``gn.config(kernels=...)``, see backend/providers.py: ``auto`` runs convolutions and pooling
on oneDNN when the ``onednn`` extra is installed, ``numba`` forces the numba loops and the
NumPy/OpenBLAS kernels), in the same interleaved rounds as PyTorch, each setting with its own
ratio to PyTorch's time. Set
OMP_WAIT_POLICY=PASSIVE in the environment for both frameworks on a shared machine: spinning
OpenMP threads (PyTorch's, and oneDNN's GNU OpenMP) collapse when other jobs hold the cores.

Run: python benchmarks/zoo.py [resnet20 mobilenet_v2_cifar vgg11_bn_cifar googlenet
     resnet50_infer mobilenet_v2_infer] [--repeats N] [--cpu-time] [--kernels auto,numba]
"""
import argparse
import os
import sys
import time

import numpy as np

from common import interleaved_medians, machine, thread_setting

_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests", "models")


def _twins():
    """The test modules that hold the PyTorch twins (imported once, on first use)."""
    if _TESTS not in sys.path:
        sys.path.insert(0, _TESTS)
    import test_alexnet_vgg
    import test_inception
    import test_mobilenet
    import test_resnet
    return test_resnet, test_mobilenet, test_alexnet_vgg, test_inception


def _pair(name):
    """(ganglion model, PyTorch twin) of zoo model ``name``, the twin's weights in both."""
    import torch
    import ganglion as gn
    from ganglion.models import get_model
    test_resnet, test_mobilenet, test_alexnet_vgg, test_inception = _twins()
    twin_builders = {
        "resnet20": lambda: test_resnet.TCifarResNet(3),
        "resnet50": test_resnet._TWINS["resnet50"],
        "mobilenet_v2_cifar": lambda: test_mobilenet.TMobileNetV2(num_classes=10, cifar=True),
        "mobilenet_v2": lambda: test_mobilenet.TMobileNetV2(),
        "vgg11_bn_cifar": lambda: test_alexnet_vgg.twin("vgg11_bn_cifar"),
        "googlenet": lambda: test_inception.TGoogLeNet(aux_logits=False),
    }
    torch.manual_seed(0)
    twin = twin_builders[name]()
    model = get_model(name)
    model.load_state_dict({k: gn.from_numpy(v.detach().numpy().copy())
                           for k, v in twin.state_dict().items()})
    return model, twin


def sgd_step(framework, model, x, target, lr=0.01):
    """One train step (forward, cross-entropy, backward, SGD with momentum 0.9 and weight decay
    5e-4, the CIFAR recipes' optimizer) written once for ``torch`` and ``ganglion``."""
    model.train()
    optimizer = framework.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    x, target = framework.from_numpy(x), framework.from_numpy(target)
    cross_entropy = framework.nn.functional.cross_entropy

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        return loss
    return step


def inference(framework, model, x):
    """One eval-mode forward pass without gradient recording."""
    model.eval()
    x = framework.from_numpy(x)

    def step():
        with framework.no_grad():
            return model(x)
    return step


WORKLOADS = {
    # name: (zoo model, "train" or "infer", batch, image side, target ratio, default repeats)
    "resnet20": ("resnet20", "train", 64, 32, 1.5, 20),
    "mobilenet_v2_cifar": ("mobilenet_v2_cifar", "train", 64, 32, 2.0, 10),
    "vgg11_bn_cifar": ("vgg11_bn_cifar", "train", 64, 32, 1.5, 10),
    "googlenet": ("googlenet", "train", 32, 96, 2.0, 10),
    "resnet50_infer": ("resnet50", "infer", 1, 224, 1.5, 20),
    "mobilenet_v2_infer": ("mobilenet_v2", "infer", 1, 224, 1.5, 30),
}


def _forget_cache(name):  # name: "torch" or ("ganglion", kernel setting)
    """Release ganglion's array cache before PyTorch's blocks (see models.py's _forget_cache:
    the two frameworks share glibc's heap in one process)."""
    if name == "torch":
        from ganglion.backend import array_cache
        array_cache.clear()


def with_kernels(kernels, step):
    """``step`` run under ganglion's kernel-provider setting ``kernels``."""
    import ganglion

    def run_step():
        with ganglion.config(kernels=kernels):
            return step()
    return run_step


def cpu_time_medians(steps, warmup=2, repeats=30, block=5):
    """{name: median CPU ms of the calling thread} for ``steps``, in alternating blocks."""
    return interleaved_medians(steps, warmup, repeats, block, settle=1, clock=time.thread_time)


def measure(name, repeats=None, cpu_time=False, kernels=(None,)):
    """({kernel setting: ganglion ms}, PyTorch ms) of workload ``name``, interleaved medians (of
    wall time, or of one thread's CPU time); ``kernels`` are ganglion's provider settings to time
    (None: the configured one)."""
    import torch
    import ganglion
    model_name, kind, batch, side, _, default_repeats = WORKLOADS[name]
    model, twin = _pair(model_name)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, side, side)).astype(np.float32)
    if kind == "train":
        target = rng.integers(0, 10, batch)
        make_step = lambda framework, net: sgd_step(framework, net, x, target)  # noqa: E731
    else:
        make_step = lambda framework, net: inference(framework, net, x)  # noqa: E731
    # One model for every kernel setting: the settings change which kernels run, not the math.
    steps = {("ganglion", k): (make_step(ganglion, model) if k is None
                               else with_kernels(k, make_step(ganglion, model)))
             for k in kernels}
    steps["torch"] = make_step(torch, twin)
    n = repeats or default_repeats
    block = max(1, min(5, n // 3))
    if cpu_time:
        medians = cpu_time_medians(steps, repeats=n, block=block)
    else:
        medians = interleaved_medians(steps, warmup=2, repeats=n, block=block, settle=1,
                                      before_block=_forget_cache)
    return {k: medians[("ganglion", k)] for k in kernels}, medians["torch"]


def run(names, repeats=None, cpu_time=False, kernels=(None,)):
    import ganglion
    _twins()                    # a test module sets PyTorch's threads: set them after it
    _limits, threads = thread_setting(cpu_time)  # noqa: F841  (the limit holds while it lives)
    print(f"Model zoo, ganglion vs PyTorch eager, float32, {threads}, one process")
    print(machine())
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}  "
          f"GANGLION_KERNELS={os.environ.get('GANGLION_KERNELS', '(unset)')}  "
          f"kernels timed: {', '.join(k or ganglion.config.kernels for k in kernels)}")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    labels = [k or ganglion.config.kernels for k in kernels]
    header = "".join(f"{'gn ' + label + ' ms':>16}{'ratio':>7}" for label in labels)
    print(f"{'workload':<20}{'kind':<28}{header}{'PyTorch ms':>12}{'target':>8}")
    results = {}
    for name in names:
        model_name, kind, batch, side, target, _ = WORKLOADS[name]
        ganglion_ms, torch_ms = measure(name, repeats, cpu_time, kernels)
        results[name] = (ganglion_ms, torch_ms)
        what = (f"train, {batch}x3x{side}x{side}" if kind == "train"
                else f"eval latency, 1x3x{side}x{side}")
        cells = "".join(f"{ganglion_ms[k]:>16.1f}{ganglion_ms[k] / torch_ms:>6.2f}"
                        f"{' ' if ganglion_ms[k] / torch_ms <= target else '!'}" for k in kernels)
        print(f"{name:<20}{what:<28}{cells}{torch_ms:>12.1f}{'<= ' + str(target):>8}", flush=True)
    print("(! marks a ratio over the target)")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="workloads to run: " + ", ".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--cpu-time", action="store_true",
                        help="CPU time of one thread per step instead of wall time")
    parser.add_argument("--kernels", default=None,
                        help="comma-separated kernel-provider settings to time ganglion under, "
                             "e.g. auto,numba (default: the configured one)")
    args = parser.parse_args()
    kernel_settings = (None,) if args.kernels is None else tuple(args.kernels.split(","))
    for setting in kernel_settings:
        if setting is not None and setting not in ("auto", "onednn", "numba", "numpy"):
            parser.error(f"unknown kernel setting {setting!r}; "
                         "choose from auto, onednn, numba, numpy")
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    run(args.names or list(WORKLOADS), args.repeats, args.cpu_time, kernel_settings)
