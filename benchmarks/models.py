"""Train-step speed of the issue-4 workloads: ganglion vs PyTorch eager in one process.

Each model is written once against the PyTorch-compatible API and built twice, from
``ganglion.nn`` and from ``torch.nn``; ganglion loads the torch model's state dict, so both
start from the same weights. A step is forward + cross-entropy + backward + Adam, float32,
median of N after warm-up.
Run: python benchmarks/models.py [lenet cifar_cnn lstm resnet18] [--repeats N]
"""
import argparse

import numpy as np

from common import interleaved_medians, machine, set_threads


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


def lstm_classifier(nn):
    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(64, 256)
            self.fc = nn.Linear(256, 10)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[-1])
    return LSTMClassifier()


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
}


def make_batch(name, batch, shape):
    rng = np.random.default_rng(0)
    if name == "lstm":
        x = rng.standard_normal((35, batch, 64)).astype(np.float32)
    else:
        x = rng.standard_normal((batch,) + shape).astype(np.float32)
    return x, rng.integers(0, 10, batch)


def torch_step(model, x, y):
    import torch
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return step


def ganglion_step(model, x, y):
    import ganglion as gn
    import ganglion.nn.functional as F
    optimizer = gn.optim.Adam(model.parameters(), lr=1e-3)
    x, y = gn.from_numpy(x), gn.from_numpy(y)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return step


def run(names, repeats=None):
    import torch
    import ganglion.nn as gnn
    threads = set_threads()
    print(f"Train step (forward + cross-entropy + backward + Adam), float32, {threads} threads")
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
                                      settle=2 if n >= 10 else 0)
        ganglion_ms, torch_ms = medians["ganglion"], medians["torch"]
        results[name] = (ganglion_ms, torch_ms)
        print(f"{name:<12}{ganglion_ms:>14.1f}{torch_ms:>14.1f}{ganglion_ms / torch_ms:>8.2f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="workloads to run: " + ", ".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    run(args.names or list(WORKLOADS), args.repeats)
