"""ganglion.onnx.load against ONNX Runtime (the reference runtime) and PyTorch (the exporter).

Models are exported here with PyTorch's TorchScript exporter (``torch.onnx.export(...,
dynamo=False)``, which needs no package beyond torch and onnx). ResNet-18 and MobileNetV2 are
compact torch.nn copies of torchvision's ``resnet.py`` (BasicBlock) and ``mobilenetv2.py``
(torchvision is not installed); ganglion.models has the same architectures, so one set of
random weights (batch-norm statistics included) is copied ganglion -> PyTorch, and the loaded
graph is compared with ONNX Runtime, PyTorch and ganglion's own model. Outputs must agree
within atol 1e-5 relative to the output's scale (its largest magnitude). Small exports and
hand-written ONNX graphs cover each operator; single-node graphs check attributes that the
exporter never writes (opset-11 forms, asymmetric pads, other alphas).
"""
import os
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx package (extra ganglion[onnx]) is needed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime (extra ganglion[onnx]) is needed")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import ganglion as gn  # noqa: E402
import ganglion.models as zoo  # noqa: E402
from ganglion.core.errors import DTypeError, ShapeError  # noqa: E402
from ganglion.onnx.load import load  # noqa: E402
from ganglion.onnx.load import OnnxModule, UnsupportedOnnxError  # noqa: E402

from bad_inputs import BadInput, bad_input_test  # noqa: E402

tnn = torch.nn


# ----- helpers ----------------------------------------------------------------------------

def export(module, example, path, dynamic_batch=True, **kwargs):
    """``module`` in eval mode written by PyTorch's TorchScript exporter; returns ``path``."""
    module.eval()
    examples = example if isinstance(example, tuple) else (example,)
    names = [f"input{k}" for k in range(len(examples))]
    axes = {name: {0: "batch"} for name in names} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, examples, str(path), dynamo=False, input_names=names,
                          dynamic_axes=axes, **kwargs)
    return str(path)


def run_onnxruntime(path, *arrays):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, arrays)))


def as_numpy(value):
    return value.detach().numpy() if isinstance(value, gn.Tensor) else np.asarray(value)


def assert_close(ours, reference, what):
    reference = np.asarray(reference)
    ours = as_numpy(ours)
    assert ours.shape == reference.shape, f"{what}: shape {ours.shape} != {reference.shape}"
    scale = max(float(np.abs(reference).max()), 1e-30) if reference.size else 1.0
    error = float(np.abs(ours.astype(np.float64) - reference).max()) if reference.size else 0.0
    assert error <= 1e-5 * scale, f"{what}: max error {error:.3g} > 1e-5 * scale {scale:.3g}"


def compare_with_onnxruntime(path, *arrays):
    module = load(path)
    with gn.no_grad():
        ours = module(*arrays)
    ours = ours if isinstance(ours, tuple) else (ours,)
    reference = run_onnxruntime(path, *arrays)
    assert len(ours) == len(reference)
    for k, (a, b) in enumerate(zip(ours, reference)):
        assert_close(a, b, f"{os.path.basename(str(path))} output {k}")
    return module, ours


# ----- the PyTorch twins of torchvision's ResNet-18 and MobileNetV2 -----------------------

class TorchBasicBlock(tnn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet18(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 1)
        self.layer2 = self._make_layer(128, 2)
        self.layer3 = self._make_layer(256, 2)
        self.layer4 = self._make_layer(512, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = tnn.Sequential(tnn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                        tnn.BatchNorm2d(planes))
        first = TorchBasicBlock(self.inplanes, planes, stride, downsample)
        self.inplanes = planes
        return tnn.Sequential(first, TorchBasicBlock(planes, planes))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class TorchConvNormActivation(tnn.Sequential):
    def __init__(self, cin, cout, kernel=3, stride=1, groups=1, activation=True):
        layers = [tnn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups,
                             bias=False), tnn.BatchNorm2d(cout)]
        if activation:
            layers.append(tnn.ReLU6(inplace=True))
        super().__init__(*layers)


class TorchInvertedResidual(tnn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [TorchConvNormActivation(inp, hidden, 1)] if expand_ratio != 1 else []
        layers += [TorchConvNormActivation(hidden, hidden, 3, stride, groups=hidden),
                   tnn.Conv2d(hidden, oup, 1, 1, 0, bias=False), tnn.BatchNorm2d(oup)]
        self.conv = tnn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class TorchMobileNetV2(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                   [6, 160, 3, 2], [6, 320, 1, 1]]
        channels = 32
        layers = [TorchConvNormActivation(3, channels, 3, 2)]
        for t, c, n, s in setting:
            for i in range(n):
                layers.append(TorchInvertedResidual(channels, c, s if i == 0 else 1, t))
                channels = c
        layers.append(TorchConvNormActivation(channels, 1280, 1))
        self.features = tnn.Sequential(*layers)
        self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(1280, num_classes))

    def forward(self, x):
        x = tnn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


TWINS = {"resnet18": (zoo.resnet18, TorchResNet18),
         "mobilenet_v2": (zoo.mobilenet_v2, TorchMobileNetV2)}


def zoo_pair(name, seed=0):
    """(ganglion zoo model, PyTorch twin) holding one set of weights, copied ganglion -> torch,
    with random batch-norm statistics and affine parameters (fresh ones are 0/1 and would hide
    a wrong mean/variance order)."""
    gn.manual_seed(seed)
    model = TWINS[name][0]().eval()
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in model.state_dict().items():
        array = value.numpy().copy()
        if key.endswith("running_mean") or key.endswith("bn1.bias") or key.endswith(".1.bias"):
            array = rng.normal(0, 0.1, array.shape).astype(array.dtype)
        elif key.endswith("running_var"):
            array = rng.uniform(0.5, 1.5, array.shape).astype(array.dtype)
        state[key] = array
    model.load_state_dict({k: gn.from_numpy(v) for k, v in state.items()})
    twin = TWINS[name][1]().eval()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model, twin


@pytest.fixture(scope="module", params=sorted(TWINS))
def exported_zoo_model(request, tmp_path_factory):
    name = request.param
    model, twin = zoo_pair(name)
    path = tmp_path_factory.mktemp(name) / f"{name}.onnx"
    export(twin, torch.zeros(1, 3, 32, 32), path, output_names=["logits"])
    return name, model, twin, str(path)


def test_torchvision_architectures_match_onnxruntime_pytorch_and_ganglion(exported_zoo_model):
    name, model, twin, path = exported_zoo_model
    module = load(path)
    rng = np.random.default_rng(1)
    for batch in (2, 3):  # the batch axis is dynamic in the file
        x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
        with gn.no_grad():
            ours = module(x)
            zoo_output = model(gn.from_numpy(x))
        assert_close(ours, run_onnxruntime(path, x)[0], f"{name} vs ONNX Runtime, batch {batch}")
        with torch.no_grad():
            assert_close(ours, twin(torch.from_numpy(x)).numpy(), f"{name} vs PyTorch")
        assert_close(ours, zoo_output.numpy(), f"{name} vs ganglion.models")


def test_loaded_model_compiled_with_jit_equals_eager(exported_zoo_model):
    name, _, _, path = exported_zoo_model
    module = load(path).eval()
    x = gn.from_numpy(np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32))
    with gn.no_grad():
        eager = module(x)
        compiled = gn.jit(module)
        first, second = compiled(x), compiled(x * 0.5)
        half = module(x * 0.5)
    assert_close(first, eager.numpy(), "jit vs eager")
    assert_close(second, half.numpy(), "jit on new values")


class SequenceClassifier(gn.nn.Module):
    """Embedding -> recurrent layer -> linear -> log-softmax on the last step (ganglion)."""

    def __init__(self, kind, **options):
        super().__init__()
        self.embedding = gn.nn.Embedding(20, 6)
        self.recurrent = getattr(gn.nn, kind)(6, 5, **options)
        self.fc = gn.nn.Linear(10 if options.get("bidirectional") else 5, 3)

    def forward(self, tokens):
        out, _ = self.recurrent(self.embedding(tokens))
        last = out[:, -1] if self.recurrent.batch_first else out[-1]
        return gn.log_softmax(self.fc(last), -1)


ROUND_TRIPS = {
    # name: (model builder, example input)
    "mobilenet_v3_small": (lambda: zoo.get_model("mobilenet_v3_small"), (2, 3, 32, 32)),
    "googlenet": (lambda: zoo.get_model("googlenet", num_classes=10), (2, 3, 64, 64)),
    "lstm_two_layers_bidirectional": (
        lambda: SequenceClassifier("LSTM", num_layers=2, bidirectional=True), (7, 2)),
    "gru_batch_first": (lambda: SequenceClassifier("GRU", batch_first=True), (2, 7)),
    "rnn_relu": (lambda: SequenceClassifier("RNN", nonlinearity="relu"), (7, 2)),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_ganglion_exports_load_back_equal_to_the_model_and_onnxruntime(name, tmp_path):
    """Every operator that ganglion.onnx.export writes for these models runs here."""
    try:
        from ganglion.onnx import export as ganglion_export
    except ImportError:
        pytest.skip("ganglion.onnx.export is not there yet")
    build, shape = ROUND_TRIPS[name]
    gn.manual_seed(0)
    model = build().eval()
    if len(shape) == 2:
        x = gn.randint(0, 20, shape)
    else:
        x = gn.randn(*shape)
    path = str(tmp_path / f"{name}.onnx")
    ganglion_export(model, (x,), path, input_names=["x"])
    module, (ours,) = compare_with_onnxruntime(path, x.numpy())
    with gn.no_grad():
        assert_close(ours, model(x).numpy(), f"{name} loaded vs the ganglion model")


def test_symbolic_function_of_the_loaded_model_takes_any_batch_size(small_model_path):
    """gn.function over a placeholder of unknown batch size: Flatten keeps the free dim."""
    module = load(small_model_path)
    images = gn.symbolic.placeholders.tensor(gn.float32, (None, 3, 12, 12), name="images")
    with gn.no_grad():
        predict = gn.function([images], module(images))
    rng = np.random.default_rng(13)
    for batch in (1, 5):
        x = rng.standard_normal((batch, 3, 12, 12)).astype(np.float32)
        out = predict(x)
        out = out[0] if isinstance(out, (list, tuple)) else out
        assert_close(np.asarray(out), run_onnxruntime(small_model_path, x)[0], f"batch {batch}")


# ----- parameters, state_dict and fine-tuning ---------------------------------------------

class SmallCNN(tnn.Module):
    def __init__(self):
        super().__init__()
        self.features = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1), tnn.ReLU(),
                                       tnn.MaxPool2d(2), tnn.Conv2d(8, 8, 3, stride=2))
        self.head = tnn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        return self.head(torch.flatten(torch.tanh(self.features(x)), 1))


def test_state_dict_keys_values_and_gradients_equal_pytorch_and_fine_tuning_learns(tmp_path):
    torch.manual_seed(0)
    twin = SmallCNN()
    path = export(twin, torch.zeros(1, 3, 12, 12), tmp_path / "small.onnx")
    module = load(path)
    state = module.state_dict()
    assert sorted(state) == sorted(twin.state_dict())
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(state[key].numpy(), value.numpy())
    parameters = dict(module.named_parameters())
    assert sorted(parameters) == sorted(dict(twin.named_parameters()))
    assert all(isinstance(p, gn.nn.Parameter) and p.requires_grad for p in parameters.values())

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 12, 12)).astype(np.float32)
    target = np.array([0, 3, 1, 4])
    loss = gn.nn.functional.cross_entropy(module(x), gn.from_numpy(target))
    loss.backward()
    twin.train()
    torch_loss = tnn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(target))
    torch_loss.backward()
    assert abs(loss.item() - torch_loss.item()) <= 1e-5 * abs(torch_loss.item())
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(parameters[name].grad.numpy(), p.grad.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=name)

    before = {k: v.detach().numpy().copy() for k, v in parameters.items()}
    optimizer = gn.optim.SGD(module.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = gn.nn.functional.cross_entropy(module(x), gn.from_numpy(target))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.9
    assert all(not np.array_equal(before[k], v.detach().numpy()) for k, v in parameters.items())
    # the new weights are what the module runs: a fresh load of the file still gives the old
    assert load(path).state_dict()["head.weight"].numpy().tolist() == before["head.weight"].tolist()


def test_batch_norm_statistics_are_buffers_and_match_onnxruntime(tmp_path):
    torch.manual_seed(1)
    twin = tnn.Sequential(tnn.Conv2d(3, 4, 3), tnn.BatchNorm2d(4), tnn.ReLU(),
                          tnn.BatchNorm2d(4, eps=1e-3))
    for layer in (twin[1], twin[3]):
        layer.running_mean.normal_(0, 0.5)
        layer.running_var.uniform_(0.5, 2.0)
    path = export(twin, torch.zeros(1, 3, 6, 6), tmp_path / "bn.onnx",
                  training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    assert [n.op_type for n in onnx.load(path).graph.node].count("BatchNormalization") == 2
    x = np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32)
    module, (out,) = compare_with_onnxruntime(path, x)
    with torch.no_grad():
        assert_close(out, twin(torch.from_numpy(x)).numpy(), "batch norm vs PyTorch")
    buffers = dict(module.named_buffers())
    assert {"1.running_mean", "1.running_var", "3.running_mean", "3.running_var"} <= set(buffers)
    assert not any("running" in name for name, _ in module.named_parameters())


def test_names_that_are_not_identifiers_are_sanitized_and_clashes_numbered(tmp_path):
    weight = numpy_helper.from_array(np.ones((2, 2), np.float32), "onnx::MatMul_7")
    same = numpy_helper.from_array(np.full((2, 2), 2.0, np.float32), "onnx__MatMul_7")
    clash = numpy_helper.from_array(np.full((2, 2), 3.0, np.float32), "forward")
    nodes = [helper.make_node("MatMul", ["x", "onnx::MatMul_7"], ["a"]),
             helper.make_node("MatMul", ["a", "onnx__MatMul_7"], ["b"]),
             helper.make_node("MatMul", ["b", "forward"], ["y"])]
    path = _save_graph(tmp_path / "names.onnx", nodes, [("x", (1, 2))], [("y", (1, 2))],
                       [weight, same, clash])
    module = load(path)
    assert sorted(module.state_dict()) == ["forward_1", "onnx__MatMul_7", "onnx__MatMul_7_1"]
    assert module(np.ones((1, 2), np.float32)).detach().numpy().tolist() == [[48.0, 48.0]]


# ----- operators: small PyTorch exports ---------------------------------------------------

class Lambda(tnn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.layers = tnn.ModuleList(layers)
        self.fn = fn

    def forward(self, *x):
        return self.fn(self.layers, *x)


F = tnn.functional
TORCH_CASES = {
    # name: (module builder, input shapes, export keyword arguments)
    "activations": (lambda: Lambda(lambda _, x: torch.cat([
        F.leaky_relu(x, 0.2), torch.sigmoid(x), torch.tanh(x), F.hardswish(x),
        F.hardsigmoid(x), F.elu(x, 0.7), torch.erf(x), torch.clamp(x, -0.5, 0.25),
        F.relu6(x * 4), F.gelu(x), F.gelu(x, approximate="tanh"), F.selu(x), F.softplus(x)], 1)), [(2, 3, 4)], {}),
    "gelu_opset_17_as_erf": (lambda: Lambda(lambda _, x: F.gelu(x)), [(2, 5)],
                             {"opset_version": 17}),
    "softmax_log_softmax_reduce_mean": (lambda: Lambda(lambda _, x: (
        F.softmax(x, 1), F.log_softmax(x, -1), x.mean((1, 2), keepdim=True), x.mean(-1))),
        [(2, 3, 4)], {}),
    "arithmetic_matmul_gemm": (lambda: Lambda(
        lambda m, x, y: (m[0](x) - x @ y.transpose(0, 1) / 3.0) * 2.0 + (y ** 2).sum(),
        tnn.Linear(4, 4)), [(3, 4), (4, 4)], {}),
    "pooling": (lambda: Lambda(lambda _, x: (
        F.max_pool2d(x, 3, 2, 1, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1),
        F.avg_pool2d(x, 2, count_include_pad=False), F.adaptive_avg_pool2d(x, 1),
        F.max_pool2d(x, 2, dilation=2), F.max_pool1d(x.flatten(2), 3, 2))), [(2, 3, 9, 9)], {}),
    "conv_groups_dilation_1d": (lambda: Lambda(
        lambda m, x: (m[0](x), m[1](x.flatten(2))),
        tnn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2), tnn.Conv1d(4, 2, 5)),
        [(2, 4, 9, 9)], {}),
    "shapes_view_concat_slice_gather": (lambda: Lambda(lambda _, x: (
        x.view(x.size(0), -1), torch.cat([x[:, 1:3], x[:, :1]], 1), x[:, 0], x[..., ::2],
        x.permute(0, 2, 1).unsqueeze(1).squeeze(1), x.flip(-1), x[:, [2, 0]],
        torch.flatten(x, 0, 1))), [(2, 3, 5)], {}),
    "pad_modes": (lambda: Lambda(lambda _, x: (
        F.pad(x, (1, 2, 0, 1)), F.pad(x, (2, 1, 1, 2), mode="reflect"),
        F.pad(x, (1, 1, 2, 0), mode="replicate"), F.pad(x, (1, 0), value=-2.0))),
        [(2, 3, 5, 5)], {}),
    "embedding_and_dropout": (lambda: Lambda(lambda m, i: m[1](m[0](i)),
                                             tnn.Embedding(10, 4), tnn.Dropout(0.5)),
                              [("int64", (3, 5))], {}),
    "lstm_two_layers_bidirectional": (lambda: Lambda(lambda m, x: m[0](x)[0],
                                                     tnn.LSTM(4, 6, 2, bidirectional=True)),
                                      [(5, 2, 4)], {"dynamic_batch": False}),
    "lstm_batch_first_with_state": (lambda: Lambda(
        lambda m, x, h, c: m[0](x, (h, c)), tnn.LSTM(3, 5, batch_first=True)),
        [(2, 4, 3), (1, 2, 5), (1, 2, 5)], {"dynamic_batch": False}),
    "gru_bidirectional": (lambda: Lambda(lambda m, x: m[0](x), tnn.GRU(4, 5, bidirectional=True)),
                          [(6, 2, 4)], {"dynamic_batch": False}),
    "rnn_tanh_and_relu": (lambda: Lambda(lambda m, x: (m[0](x)[0], m[1](x)[1]),
                                         tnn.RNN(4, 3), tnn.RNN(4, 3, nonlinearity="relu")),
                          [(5, 2, 4)], {"dynamic_batch": False}),
}


def _example(spec, rng):
    if spec[0] == "int64":
        return rng.integers(0, 10, spec[1]).astype(np.int64)
    return rng.standard_normal(spec).astype(np.float32)


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_pytorch_exports_match_onnxruntime(case, tmp_path):
    build, shapes, options = TORCH_CASES[case]
    options = dict(options)
    dynamic = options.pop("dynamic_batch", True)
    torch.manual_seed(0)
    module = build()
    rng = np.random.default_rng(0)
    arrays = [_example(s, rng) for s in shapes]
    path = export(module, tuple(torch.from_numpy(a) for a in arrays), tmp_path / f"{case}.onnx",
                  dynamic_batch=dynamic, **options)
    compare_with_onnxruntime(path, *arrays)
    if dynamic and len(arrays) == 1 and arrays[0].shape[0] == 2:
        compare_with_onnxruntime(path, np.concatenate([arrays[0], arrays[0][:1]]))


def test_lstm_parameters_get_gradients(tmp_path):
    torch.manual_seed(0)
    twin = Lambda(lambda m, x: m[0](x)[0], tnn.GRU(3, 4))
    x = np.random.default_rng(5).standard_normal((4, 2, 3)).astype(np.float32)
    path = export(twin, torch.from_numpy(x), tmp_path / "gru.onnx", dynamic_batch=False)
    module = load(path)
    module(x).sum().backward()
    twin(torch.from_numpy(x)).sum().backward()
    ours = sorted(float(np.abs(p.grad.numpy()).sum()) for p in module.parameters())
    theirs = sorted(float(p.grad.abs().sum()) for p in twin.parameters())
    # The exporter reorders and stacks the gate blocks (W, R, B), so the sums are compared as
    # totals: W's |grad| = weight_ih's, R's = weight_hh's, B's = b_ih's + b_hh's.
    np.testing.assert_allclose(sum(ours), sum(theirs), rtol=1e-5)
    assert len(ours) == 3


# ----- operators: hand-written graphs (forms the exporter does not write) -----------------

def _save_graph(path, nodes, inputs, outputs, initializers=(), opset=17, dtype=TensorProto.FLOAT):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, dtype, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


SINGLE_NODES = {
    # name: (op, attributes, input shapes, extra initializers, opset)
    "gemm_transposes_alpha_beta": ("Gemm", {"alpha": 0.5, "beta": 2.0, "transA": 1},
                                   [(4, 3), (4, 5)], [_const("c", np.arange(5.0, dtype=np.float32))],
                                   17),
    "gemm_trans_b_no_bias": ("Gemm", {"transB": 1}, [(3, 4), (5, 4)], [], 17),
    "softmax_opset_11_coerced_2d": ("Softmax", {"axis": 1}, [(2, 3, 4)], [], 11),
    "log_softmax_opset_11": ("LogSoftmax", {}, [(2, 3, 4)], [], 11),
    "hard_sigmoid_other_alpha": ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, [(3, 4)], [], 17),
    "squeeze_axes_attribute": ("Squeeze", {"axes": [1, 3]}, [(2, 1, 3, 1)], [], 11),
    "unsqueeze_axes_attribute": ("Unsqueeze", {"axes": [0, -1]}, [(2, 3)], [], 11),
    "reduce_mean_axes_input_opset_18": ("ReduceMean", {"keepdims": 0}, [(2, 3, 4)],
                                        [_const("axes", np.array([0, 2]))], 18),
    "clip_attributes_opset_6": ("Clip", {"min": -0.3, "max": 0.2}, [(3, 4)], [], 6),
    "conv_asymmetric_pads_same_upper": ("Conv", {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
                                        [(1, 2, 6, 7)],
                                        [_const("w", np.random.default_rng(0).standard_normal(
                                            (3, 2, 2, 3)).astype(np.float32))], 17),
    "max_pool_asymmetric_pads": ("MaxPool", {"kernel_shape": [2, 2], "pads": [0, 1, 1, 0]},
                                 [(1, 2, 5, 5)], [], 17),
    "average_pool_exclude_pad": ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
                                 [(1, 2, 5, 5)], [], 17),
    "global_max_pool": ("GlobalMaxPool", {}, [(2, 3, 4, 5)], [], 17),
    "flatten_axis_2": ("Flatten", {"axis": 2}, [(2, 3, 4, 5)], [], 17),
    "transpose_default_reverses": ("Transpose", {}, [(2, 3, 4)], [], 17),
    "slice_attributes_opset_9": ("Slice", {"starts": [1, 0], "ends": [3, 100], "axes": [1, 2]},
                                 [(2, 4, 5)], [], 9),
    "slice_negative_steps": ("Slice", {}, [(2, 6)],
                             [_const("starts", np.array([-1])), _const("ends",
                              np.array([np.iinfo(np.int64).min])), _const("axes", np.array([1])),
                              _const("steps", np.array([-2]))], 17),
    "gather_axis_1_matrix_indices": ("Gather", {"axis": 1}, [(2, 5, 3)],
                                     [_const("idx", np.array([[0, -1], [2, 2]]))], 17),
    "pad_constant_axes_opset_18": ("Pad", {"mode": "constant"}, [(2, 3, 4)],
                                   [_const("pads", np.array([1, 2, 0, 1])),
                                    _const("value", np.array(1.5, np.float32)),
                                    _const("pad_axes", np.array([0, 2]))], 18),
    "pad_edge": ("Pad", {"mode": "edge"}, [(1, 2, 3, 3)],
                 [_const("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1]))], 17),
    "prelu_channel_slopes": ("PRelu", {}, [(2, 3, 2)],
                                [_const("slope", np.array([[0.1], [0.2], [-0.3]], np.float32))],
                                17),
    "lrn_size_3": ("LRN", {"size": 3, "alpha": 0.1, "beta": 0.5, "bias": 1.5}, [(1, 5, 2, 2)],
                   [], 17),
    "lrn_size_5_defaults": ("LRN", {"size": 5}, [(2, 7, 3, 3)], [], 13),
    "reduce_max_keepdims": ("ReduceMax", {"axes": [1]}, [(2, 3, 4)], [], 17),
    "reduce_sum_noop_with_empty_axes": ("ReduceSum", {"noop_with_empty_axes": 1}, [(2, 3)], [],
                                        17),
    "layer_normalization": ("LayerNormalization", {"axis": -1, "epsilon": 1e-3}, [(2, 3, 4)],
                            [_const("scale", np.linspace(0.5, 1.5, 4).astype(np.float32)),
                             _const("bias", np.linspace(-1, 1, 4).astype(np.float32))], 17),
    "gelu_opset_20_tanh": ("Gelu", {"approximate": "tanh"}, [(3, 4)], [], 20),
    "split_into_three": ("Split", {"axis": 1, "num_outputs": 3}, [(2, 7)], [], 18),
    "conv_transpose_stride_output_padding": (
        "ConvTranspose", {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 0]},
        [(1, 4, 3, 4)], [_const("w", np.random.default_rng(1).standard_normal(
            (4, 3, 3, 3)).astype(np.float32))], 17),
    "conv_transpose_asymmetric_pads_groups": (
        "ConvTranspose", {"strides": [2, 1], "pads": [0, 1, 2, 0], "group": 2},
        [(2, 4, 3, 3)], [_const("w", np.random.default_rng(2).standard_normal(
            (4, 1, 3, 2)).astype(np.float32)), _const("b", np.ones(2, np.float32))], 17),
    "einsum_batched_product": ("Einsum", {"equation": "bij,bjk->bik"}, [(2, 3, 4), (2, 4, 5)],
                               [], 17),
    "cumsum_exclusive_reverse": ("CumSum", {"exclusive": 1, "reverse": 1}, [(2, 5)],
                                 [_const("axis", np.array(1))], 17),
    "cumsum": ("CumSum", {}, [(3, 4)], [_const("axis", np.array(-2))], 17),
    "reduce_prod": ("ReduceProd", {"axes": [0, 2], "keepdims": 0}, [(2, 3, 2)], [], 17),
    "reduce_log_sum_exp": ("ReduceLogSumExp", {"axes": [-1]}, [(2, 3, 4)], [], 17),
    "mod_fmod_floats": ("Mod", {"fmod": 1}, [(3, 4), (3, 4)], [], 17),
}

UNARY = {  # op: the input range it is defined on
    "Sin": (-3, 3), "Cos": (-3, 3), "Tan": (-1.5, 1.5), "Asin": (-0.99, 0.99),
    "Acos": (-0.99, 0.99), "Atan": (-5, 5), "Sinh": (-3, 3), "Cosh": (-3, 3),
    "Asinh": (-5, 5), "Acosh": (1.01, 5), "Atanh": (-0.99, 0.99), "Sign": (-2, 2),
    "Round": (-4, 4), "Floor": (-4, 4), "Ceil": (-4, 4), "Sqrt": (0, 4), "Exp": (-3, 3),
    "Log": (0.01, 4), "Softplus": (-5, 5), "Selu": (-3, 3), "Relu": (-2, 2), "Erf": (-3, 3),
}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_operators_match_onnxruntime(op, tmp_path):
    path = _save_graph(tmp_path / f"{op}.onnx", [helper.make_node(op, ["x"], ["y"])],
                       [("x", (3, 7))], [("y", None)])
    low, high = UNARY[op]
    x = np.random.default_rng(11).uniform(low, high, (3, 7)).astype(np.float32)
    if op == "Round":
        x[0, :4] = [0.5, 1.5, -2.5, 2.5]  # halves round to even
    compare_with_onnxruntime(path, x)


def test_logical_bitwise_comparison_and_integer_mod_operators(tmp_path):
    """Boolean and integer operators, built around Cast so the graph takes and gives floats."""
    nodes = [helper.make_node("Greater", ["a", "zero"], ["pa"]),
             helper.make_node("Less", ["b", "zero"], ["nb"])]
    outputs = []
    for op in ("And", "Or", "Xor"):
        nodes.append(helper.make_node(op, ["pa", "nb"], [op]))
        outputs.append(op)
    nodes.append(helper.make_node("Not", ["pa"], ["Not"]))
    outputs.append("Not")
    for op in ("GreaterOrEqual", "LessOrEqual", "Equal"):
        nodes.append(helper.make_node(op, ["a_round", "b_round"], [op]))
        outputs.append(op)
    nodes[:0] = [helper.make_node("Round", ["a"], ["a_round"]),
                 helper.make_node("Round", ["b"], ["b_round"])]
    nodes += [helper.make_node("Mul", ["a", "ten"], ["a10"]),
              helper.make_node("Cast", ["a10"], ["ai"], to=TensorProto.INT64),
              helper.make_node("Mul", ["b", "ten"], ["b10"]),
              helper.make_node("Cast", ["b10"], ["bi"], to=TensorProto.INT64)]
    for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor", "Mod"):
        nodes.append(helper.make_node(op, ["ai", "bi_nonzero" if op == "Mod" else "bi"], [op]))
        outputs.append(op)
    nodes[-1:-1] = [helper.make_node("Abs", ["bi"], ["bi_abs"]),
                    helper.make_node("Add", ["bi_abs", "one"], ["bi_nonzero"])]
    casts = [helper.make_node("Cast", [name], [name + "_f"], to=TensorProto.FLOAT)
             for name in outputs]
    concat = helper.make_node("Concat", [name + "_f" for name in outputs], ["y"], axis=1)
    path = _save_graph(tmp_path / "logic.onnx", nodes + casts + [concat],
                       [("a", (4, 3)), ("b", (4, 3))], [("y", None)],
                       [_const("zero", np.array(0.0, np.float32)),
                        _const("ten", np.array(10.0, np.float32)),
                        _const("one", np.array(1, np.int64))], opset=18)
    rng = np.random.default_rng(12)
    a, b = (rng.uniform(-3, 3, (4, 3)).astype(np.float32) for _ in range(2))
    compare_with_onnxruntime(path, a, b)


def _single_node_graph(path, case):
    op, attrs, shapes, extras, opset = SINGLE_NODES[case]
    inputs = [(f"x{k}", s) for k, s in enumerate(shapes)]
    names = [n for n, _ in inputs] + [t.name for t in extras]
    outputs = 3 if op == "Split" else 1
    node = helper.make_node(op, names, [f"y{k}" for k in range(outputs)], **attrs)
    return _save_graph(path, [node], inputs, [(f"y{k}", None) for k in range(outputs)], extras,
                       opset)


@pytest.mark.parametrize("case", sorted(SINGLE_NODES))
def test_single_operators_match_onnxruntime(case, tmp_path):
    path = _single_node_graph(tmp_path / f"{case}.onnx", case)
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in SINGLE_NODES[case][2]]
    compare_with_onnxruntime(path, *arrays)


def test_constants_identity_dropout_shape_arithmetic_and_elementwise_ops(tmp_path):
    """Constant, Identity, inference Dropout with its mask, Shape -> Gather -> Concat ->
    Reshape, Cast, Where, Expand, and the unary/binary ops exporters use."""
    nodes = [
        helper.make_node("Constant", [], ["two"], value=_const("v", np.array(2.0, np.float32))),
        helper.make_node("Constant", [], ["minus_one"], value_ints=[-1]),
        helper.make_node("Identity", ["x"], ["x_id"]),
        helper.make_node("Dropout", ["x_id", "ratio"], ["dropped", "mask"]),
        helper.make_node("Shape", ["dropped"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "zero"], ["batch_1d"]),
        helper.make_node("Concat", ["batch_1d", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["dropped", "target"], ["flat"]),
        helper.make_node("Cast", ["mask"], ["mask_float"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["mask_float", "target"], ["mask_flat"]),
        helper.make_node("Abs", ["flat"], ["abs"]),
        helper.make_node("Sqrt", ["abs"], ["sqrt"]),
        helper.make_node("Exp", ["flat"], ["exp"]),
        helper.make_node("Log", ["exp"], ["log"]),
        helper.make_node("Neg", ["log"], ["neg"]),
        helper.make_node("Reciprocal", ["two"], ["half"]),
        helper.make_node("Mul", ["sqrt", "half"], ["scaled"]),
        helper.make_node("Greater", ["neg", "scaled"], ["bigger"]),
        helper.make_node("Where", ["bigger", "neg", "scaled"], ["picked"]),
        helper.make_node("Max", ["picked", "mask_flat", "log"], ["largest"]),
        helper.make_node("Pow", ["largest", "two"], ["squared"]),
        helper.make_node("Shape", ["squared"], ["flat_shape"]),
        helper.make_node("Expand", ["bias", "flat_shape"], ["bias_wide"]),
        helper.make_node("Sub", ["squared", "bias_wide"], ["y"]),
    ]
    zero = _const("zero", np.array(0, np.int64))
    bias = _const("bias", np.array([[0.5]], np.float32))
    path = _save_graph(tmp_path / "mixed.onnx", nodes, [("x", ("n", 3, 2))], [("y", None)],
                       [zero, bias, _const("ratio", np.array(0.3, np.float32))], opset=13)
    x = np.random.default_rng(8).standard_normal((4, 3, 2)).astype(np.float32)
    compare_with_onnxruntime(path, x)


def test_lrn_of_even_size_follows_the_onnx_window(tmp_path):
    """ONNX Runtime refuses an even LRN size, so the spec's formula is the reference here: the
    square sum over channels [c - floor((size-1)/2), c + ceil((size-1)/2)]."""
    node = helper.make_node("LRN", ["x"], ["y"], size=4, alpha=0.2, beta=0.6, bias=1.2)
    path = _save_graph(tmp_path / "lrn4.onnx", [node], [("x", (2, 6, 2, 3))], [("y", None)])
    x = np.random.default_rng(10).standard_normal((2, 6, 2, 3)).astype(np.float32)
    squares = np.pad(x.astype(np.float64) ** 2, ((0, 0), (1, 2), (0, 0), (0, 0)))
    window = sum(squares[:, k:k + 6] for k in range(4))
    expected = x / (1.2 + 0.2 / 4 * window) ** 0.6
    assert_close(load(path)(x), expected, "LRN size 4")


# ----- external data ----------------------------------------------------------------------

def _model_with_external_weights(folder, location="weights.bin"):
    torch.manual_seed(2)
    twin = SmallCNN()
    path = export(twin, torch.zeros(1, 3, 12, 12), folder / "plain.onnx")
    model = onnx.load(path)
    external = folder / "external.onnx"
    onnx.save_model(model, str(external), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=location, size_threshold=0)
    return twin, str(external)


def test_external_data_inside_the_folder_is_read(tmp_path):
    twin, path = _model_with_external_weights(tmp_path)
    assert os.path.getsize(tmp_path / "weights.bin") > 1000
    module = load(path)
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(module.state_dict()[key].numpy(), value.numpy())
    x = np.random.default_rng(9).standard_normal((2, 3, 12, 12)).astype(np.float32)
    assert_close(module(x), run_onnxruntime(path, x)[0], "external-data model")


def _point_external_data_at(path, location, out):
    model = onnx.load(path, load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(out))
    return str(out)


# ----- bad input --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_model_path(tmp_path_factory):
    torch.manual_seed(0)
    return export(SmallCNN(), torch.zeros(1, 3, 12, 12),
                  tmp_path_factory.mktemp("small") / "small.onnx")


_FILES = {}


def _bad_file(kind):
    """Files made once for the bad-input rows (they run outside fixtures)."""
    if kind not in _FILES:
        import tempfile
        folder = tempfile.mkdtemp(prefix="ganglion_onnx_bad_")
        path = os.path.join(folder, kind + ".onnx")
        if kind == "text":
            with open(path, "w") as handle:
                handle.write("this is a text file, not an ONNX model\n" * 3)
        elif kind == "unknown_op":
            _save_graph(path, [helper.make_node("FancyOp", ["x"], ["y"], name="fancy")],
                        [("x", (1,))], [("y", (1,))], opset=17)
        elif kind == "custom_domain":
            graph = helper.make_graph([helper.make_node("Inverse", ["x"], ["y"],
                                                        domain="com.microsoft")], "g",
                                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 2))],
                                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2, 2))])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                            helper.make_opsetid("com.microsoft", 1)])
            onnx.save(model, path)
        elif kind == "shape_arithmetic":
            nodes = [helper.make_node("Shape", ["x"], ["shape"]),
                     helper.make_node("Reshape", ["x", "shape"], ["y"])]
            _save_graph(path, nodes, [("x", ("n", 3))], [("y", None)])
        elif kind == "small":
            torch.manual_seed(0)
            export(SmallCNN(), torch.zeros(1, 3, 12, 12), path)
        _FILES[kind] = path
    return _FILES[kind]


def _escaping(kind):
    import tempfile
    from pathlib import Path
    if "escaping" not in _FILES:
        root = Path(tempfile.mkdtemp(prefix="ganglion_onnx_escape_"))
        inner = root / "model"
        inner.mkdir()
        _, path = _model_with_external_weights(root)
        os.symlink(root / "weights.bin", inner / "link.bin")
        _FILES["escaping"] = {
            "dotdot": _point_external_data_at(path, "../weights.bin", inner / "dotdot.onnx"),
            "absolute": _point_external_data_at(path, str(root / "weights.bin"),
                                                inner / "absolute.onnx"),
            "link": _point_external_data_at(path, "link.bin", inner / "link.onnx"),
            "missing": _point_external_data_at(path, "nowhere.bin", inner / "missing.onnx"),
        }
    return _FILES["escaping"][kind]


def _call_small(*args, **kwargs):
    return load(_bad_file("small"))(*args, **kwargs)


_x = np.zeros((2, 3, 12, 12), np.float32)
CASES = [
    BadInput("missing file", lambda: load("/nonexistent/folder/model.onnx"), FileNotFoundError,
             ["ganglion.onnx.load", "no file", "/nonexistent/folder/model.onnx"]),
    BadInput("not an onnx file", lambda: load(_bad_file("text")), ValueError,
             ["ganglion.onnx.load", "text.onnx", "not an ONNX model"]),
    BadInput("unknown operator", lambda: load(_bad_file("unknown_op")), UnsupportedOnnxError,
             ["FancyOp", "'ai.onnx'", "opset 17", "fancy", "supported operators"]),
    BadInput("operator of another domain", lambda: load(_bad_file("custom_domain")),
             UnsupportedOnnxError, ["Inverse", "com.microsoft", "opset 1"]),
    BadInput("external data through ..", lambda: load(_escaping("dotdot")), ValueError,
             ["../weights.bin", "not inside the model's folder"]),
    BadInput("external data at an absolute path", lambda: load(_escaping("absolute")), ValueError,
             ["weights.bin", "not inside the model's folder"]),
    BadInput("external data through a link", lambda: load(_escaping("link")), ValueError,
             ["link.bin", "outside the model's folder"]),
    BadInput("external data file missing", lambda: load(_escaping("missing")), FileNotFoundError,
             ["nowhere.bin", "not in"]),
    BadInput("input of the wrong rank", lambda: _call_small(np.zeros((3, 12, 12), np.float32)),
             ShapeError, ["input0", "(batch, 3, 12, 12)", "rank 4", "(3, 12, 12)"]),
    BadInput("input of the wrong size", lambda: _call_small(np.zeros((2, 3, 16, 16), np.float32)),
             ShapeError, ["input0", "(batch, 3, 12, 12)", "(2, 3, 16, 16)"]),
    BadInput("input of the wrong element type", lambda: _call_small(_x.astype(np.float64)),
             DTypeError, ["input0", "float32", "float64"]),
    BadInput("missing input", lambda: _call_small(), TypeError, ["missing input", "input0"]),
    BadInput("unknown input name", lambda: _call_small(images=_x), TypeError,
             ["no input named 'images'", "input0"]),
    BadInput("Shape of a dimension unknown at graph-building time",
             lambda: load(_bad_file("shape_arithmetic"))(
                 gn.symbolic.placeholders.tensor(gn.float32, (None, 3), name="x")),
             UnsupportedOnnxError, ["Shape", "unknown", "concrete shape"]),
    BadInput("too many inputs", lambda: _call_small(_x, _x), TypeError, ["takes 1 inputs", "got 2"]),
]
test_bad_input = bad_input_test(CASES)


def test_public_name():
    import ganglion.onnx
    assert ganglion.onnx.load is load


def test_module_attributes_and_repr(small_model_path):
    module = load(small_model_path)
    assert isinstance(module, OnnxModule) and isinstance(module, gn.nn.Module)
    assert module.input_names == ["input0"] and module.input_shapes == [("batch", 3, 12, 12)]
    assert "opset=" in repr(module)
    assert module(np.zeros((1, 3, 12, 12), np.float32)).shape == (1, 5)
