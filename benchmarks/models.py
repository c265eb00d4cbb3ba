"""Train-step speed of the issue-4 workloads: ganglion vs PyTorch eager in one process.

Each model is written once against the PyTorch-compatible API and built twice, from
``ganglion.nn`` and from ``torch.nn``; ganglion loads the torch model's state dict, so both
start from the same weights. A step is forward + cross-entropy + backward + Adam, float32,
median of N after warm-up.

``--processes`` times each framework alone in a process of its own instead, alternating
between them for three rounds: that is how users run them, and it keeps either framework's
memory from changing how the other's allocations behave (in one process they share glibc's
heap; see ``_forget_cache``).
``--cpu-time`` times instead the CPU time of the calling thread with one thread for each
framework (PyTorch's intra-op pool, OpenBLAS, ganglion's kernels and oneDNN), as zoo.py's option:
on a machine that other jobs load, wall times measure the load.
Run: python benchmarks/models.py [lenet cifar_cnn lstm resnet18 gru rnn] [--repeats N]
     [--processes | --cpu-time]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from common import adam_step, interleaved_medians, machine, set_threads, thread_setting


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def cifar_cnn(nn):
    layers = []
    for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(2048, 256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 10))


def recurrent_classifier(layer):
    """A builder of the issue's LSTM classifier (input 64, hidden 256, FC on the last step) with
    ``layer`` ('LSTM', 'GRU' or 'RNN') as its recurrent layer."""
    def build(nn):
        class RecurrentClassifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.recurrent = getattr(nn, layer)(64, 256)
                self.fc = nn.Linear(256, 10)

            def forward(self, x):
                out, _ = self.recurrent(x)
                return self.fc(out[-1])
        return RecurrentClassifier()
    return build


lstm_classifier = recurrent_classifier("LSTM")


def resnet18(nn):
    """ResNet-18, CIFAR variant: 3x3 stem, no max-pool, four stages of two basic blocks."""
    class BasicBlock(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU()
            self.shortcut = nn.Sequential()
            if stride != 1 or c_in != c_out:
                self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                              nn.BatchNorm2d(c_out))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            blocks, c_in = [], 64
            for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                blocks += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
                c_in = c_out
            self.layers = nn.Sequential(*blocks)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, classes)

        def forward(self, x):
            out = self.layers(self.relu(self.bn1(self.conv1(x))))
            return self.fc(self.pool(out).flatten(1))
    return ResNet18()


WORKLOADS = {
    # name: (builder, input shape, batch, repeats by default)
    "lenet": (lenet, (1, 28, 28), 128, 30),
    "cifar_cnn": (cifar_cnn, (3, 32, 32), 128, 30),
    "lstm": (lstm_classifier, None, 64, 30),
    "resnet18": (resnet18, (3, 32, 32), 128, 3),
    # Not issue-4 targets: the LSTM classifier with the other two recurrent layers.
    "gru": (recurrent_classifier("GRU"), None, 64, 30),
    "rnn": (recurrent_classifier("RNN"), None, 64, 30),
}
SEQUENCES = ("lstm", "gru", "rnn")


def make_batch(name, batch, shape):
    rng = np.random.default_rng(0)
    if name in SEQUENCES:
        x = rng.standard_normal((35, batch, 64)).astype(np.float32)
    else:
        x = rng.standard_normal((batch,) + shape).astype(np.float32)
    return x, rng.integers(0, 10, batch)


def torch_step(model, x, y):
    import torch
    return adam_step(torch, model, x, y)


def ganglion_step(model, x, y):
    import ganglion
    return adam_step(ganglion, model, x, y)


def _forget_cache(name):
    """Before PyTorch's blocks, release the memory ganglion's array cache keeps for reuse: in
    one process both frameworks share glibc's heap, and PyTorch's allocations behave
    differently around memory that ganglion holds (ResNet-18: 265,000 page faults a step
    without ganglion's cache, 413,000 with it, 3.1 s a step against 3.9). ganglion's blocks
    then start with an empty cache, which their untimed first calls fill, as a training loop's
    first steps would."""
    if name == "torch":
        from ganglion.backend import array_cache
        array_cache.clear()


def run(names, repeats=None, cpu_time=False):
    import torch
    import ganglion.nn as gnn
    limits, threads = thread_setting(cpu_time)  # noqa: F841  (the limit holds while it lives)
    print(f"Train step (forward + cross-entropy + backward + Adam), float32, {threads}")
    print(machine())
    print(f"{'workload':<12}{'ganglion ms':>14}{'PyTorch ms':>14}{'ratio':>8}")
    results = {}
    for name in names:
        builder, shape, batch, default_repeats = WORKLOADS[name]
        torch.manual_seed(0)
        torch_model = builder(torch.nn)
        model = builder(gnn)
        model.load_state_dict(torch_model.state_dict())
        x, y = make_batch(name, batch, shape)
        n = repeats or default_repeats
        warmup = 1 if n < 10 else 5
        medians = interleaved_medians({"ganglion": ganglion_step(model, x, y),
                                       "torch": torch_step(torch_model, x, y)},
                                      warmup=warmup, repeats=n, block=max(1, min(10, n // 3)),
                                      settle=2 if n >= 10 else 1, before_block=_forget_cache,
                                      clock=time.thread_time if cpu_time else time.perf_counter)
        ganglion_ms, torch_ms = medians["ganglion"], medians["torch"]
        results[name] = (ganglion_ms, torch_ms)
        print(f"{name:<12}{ganglion_ms:>14.1f}{torch_ms:>14.1f}{ganglion_ms / torch_ms:>8.2f}")
    return results


ROUNDS = 3


def run_processes(names, repeats=None):
    """As ``run``, with each framework timed alone in a fresh process, ``ROUNDS`` times in turn."""
    print(f"Train step (forward + cross-entropy + backward + Adam), float32, each framework in a "
          f"process of its own, {ROUNDS} rounds")
    print(f"{'workload':<12}{'ganglion ms':>14}{'PyTorch ms':>14}{'ratio':>8}")
    results = {}
    for name in names:
        n = repeats or WORKLOADS[name][3]
        per_round = max(1, n // ROUNDS)
        times = {"ganglion": [], "torch": []}
        for _ in range(ROUNDS):
            for framework in times:
                done = subprocess.run([sys.executable, __file__, "--worker", framework, name,
                                       str(per_round)], capture_output=True, text=True, check=True)
                times[framework] += json.loads(done.stdout.splitlines()[-1])
        ganglion_ms, torch_ms = (statistics.median(times[f]) for f in ("ganglion", "torch"))
        results[name] = (ganglion_ms, torch_ms)
        print(f"{name:<12}{ganglion_ms:>14.1f}{torch_ms:>14.1f}{ganglion_ms / torch_ms:>8.2f}")
    return results


def _worker(framework, name, count):
    """Print (as JSON) the ms of ``count`` steps of one framework, after warm-up, in this
    process: the ganglion worker never imports torch, nor the torch worker ganglion."""
    builder, shape, batch, _ = WORKLOADS[name]
    x, y = make_batch(name, batch, shape)
    if framework == "torch":
        import torch
        set_threads()
        torch.manual_seed(0)
        step = torch_step(builder(torch.nn), x, y)
    else:
        import ganglion as gn
        import ganglion.nn as gnn
        gn.manual_seed(0)
        step = ganglion_step(builder(gnn), x, y)
    for _ in range(2 if count >= 3 else 1):
        step()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps(times))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="workloads to run: " + ", ".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--processes", action="store_true",
                        help="time each framework alone in its own process")
    parser.add_argument("--cpu-time", action="store_true",
                        help="CPU time of one thread per step instead of wall time")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    if args.processes and args.cpu_time:
        parser.error("--processes and --cpu-time: choose one")
    if args.processes:
        run_processes(args.names or list(WORKLOADS), args.repeats)
    else:
        run(args.names or list(WORKLOADS), args.repeats, args.cpu_time)
