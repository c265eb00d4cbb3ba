"""ganglion.models.transfer: feature_extractor, module_names, freeze/unfreeze, and what transfer
learning relies on (optimizers skip frozen parameters, batch norm in eval mode keeps its running
statistics), against PyTorch on a small torch.nn twin where a comparison applies."""
from collections import OrderedDict

import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as gnn
import ganglion.optim as goptim
import ganglion.models as zoo
from ganglion.models import feature_extractor, freeze, module_names, unfreeze

torch = pytest.importorskip("torch")
tnn = torch.nn


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _small_pair():
    """A ganglion Sequential CNN and its torch.nn twin with the same weights and BN stats."""
    g = gnn.Sequential(OrderedDict([
        ("conv1", gnn.Conv2d(3, 8, 3, padding=1, bias=False)), ("bn1", gnn.BatchNorm2d(8)),
        ("relu1", gnn.ReLU()), ("conv2", gnn.Conv2d(8, 16, 3, stride=2, padding=1)),
        ("relu2", gnn.ReLU()), ("pool", gnn.AdaptiveAvgPool2d(1)), ("flatten", gnn.Flatten()),
        ("fc", gnn.Linear(16, 5))]))
    t = tnn.Sequential(OrderedDict([
        ("conv1", tnn.Conv2d(3, 8, 3, padding=1, bias=False)), ("bn1", tnn.BatchNorm2d(8)),
        ("relu1", tnn.ReLU()), ("conv2", tnn.Conv2d(8, 16, 3, stride=2, padding=1)),
        ("relu2", tnn.ReLU()), ("pool", tnn.AdaptiveAvgPool2d(1)), ("flatten", tnn.Flatten()),
        ("fc", tnn.Linear(16, 5))]))
    rng = np.random.default_rng(1)
    with torch.no_grad():
        t.bn1.weight.copy_(torch.from_numpy(0.5 + rng.random(8).astype(np.float32)))
        t.bn1.bias.copy_(torch.from_numpy(0.1 * rng.standard_normal(8).astype(np.float32)))
        t.bn1.running_mean.copy_(torch.from_numpy(0.1 * rng.standard_normal(8).astype(np.float32)))
        t.bn1.running_var.copy_(torch.from_numpy(0.5 + rng.random(8).astype(np.float32)))
    g.load_state_dict({k: gn.from_numpy(v.detach().numpy().copy())
                       for k, v in t.state_dict().items()})
    return g, t


def test_module_names_are_named_modules_without_the_root():
    g, t = _small_pair()
    assert module_names(g) == [n for n, _ in t.named_modules() if n]
    m = zoo.resnet20()
    names = module_names(m)
    assert names[:4] == ["conv1", "bn1", "layer1", "layer1.0"]
    assert "layer3.2.bn2" in names and "linear" in names and "" not in names


def test_feature_extractor_on_a_sequential_matches_pytorch_hooks():
    g, t = _small_pair()
    g.eval(), t.eval()
    nodes = {"bn1": "bn", "relu2": "mid", "flatten": "feat", "fc": "logits"}
    x = _x(2, 3, 12, 12)
    got = feature_extractor(g, nodes)(gn.from_numpy(x))
    assert isinstance(got, OrderedDict) and list(got) == ["bn", "mid", "feat", "logits"]
    seen = {}
    handles = [t.get_submodule(n).register_forward_hook(
        lambda m, i, o, key=out: seen.__setitem__(key, o.detach().numpy()))
        for n, out in nodes.items()]
    with torch.no_grad():
        t(torch.from_numpy(x))
    for h in handles:
        h.remove()
    assert set(seen) == set(got)
    for key in seen:
        np.testing.assert_allclose(got[key].detach().numpy(), seen[key], rtol=1e-4, atol=1e-5)
    # gradients flow back through a returned activation, as through the model's own output
    got["mid"].sum().backward()
    t.zero_grad()
    mid = {}
    h = t.relu2.register_forward_hook(lambda m, i, o: mid.__setitem__("mid", o))
    t(torch.from_numpy(x))
    h.remove()
    mid["mid"].sum().backward()
    np.testing.assert_allclose(g.conv1.weight.grad.numpy(), t.conv1.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-5)
    # the hooks are gone again: the model's own forward is unchanged
    assert not any(m._forward_hooks for m in g.modules())


def test_feature_extractor_on_resnet20_equals_the_submodules_by_hand():
    m = zoo.resnet20().eval()
    fx = feature_extractor(m, ["layer1", "layer2.0.bn1", "layer3", "linear"])
    x = gn.from_numpy(_x(2, 3, 32, 32))
    with gn.no_grad():
        got = fx(x)
        h0 = gnn.functional.relu(m.bn1(m.conv1(x)))
        l1 = m.layer1(h0)
        b = m.layer2[0].bn1(m.layer2[0].conv1(l1))
        l3 = m.layer3(m.layer2(l1))
        logits = m(x)
    assert list(got) == ["layer1", "layer2.0.bn1", "layer3", "linear"]
    for key, want in [("layer1", l1), ("layer2.0.bn1", b), ("layer3", l3), ("linear", logits)]:
        np.testing.assert_allclose(got[key].numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert tuple(got["layer3"].shape) == (2, 64, 8, 8) and tuple(got["linear"].shape) == (2, 10)


def test_feature_extractor_stops_after_the_last_requested_node():
    m = zoo.resnet20().eval()
    calls = []
    m.layer3.register_forward_hook(lambda mod, i, o: calls.append("layer3"))
    fx = feature_extractor(m, ["layer1"])
    fx(gn.from_numpy(_x(1, 3, 32, 32)))
    assert calls == []  # layer3 never ran
    m(gn.from_numpy(_x(1, 3, 32, 32)))
    assert calls == ["layer3"]


def test_feature_extractor_shares_the_model_and_follows_train_eval():
    m = zoo.resnet20()
    fx = feature_extractor(m, "layer1")
    assert fx.model is m
    fx.eval()
    assert not m.training and not m.layer1[0].bn1.training
    fx.train()
    assert m.training
    assert set(fx.state_dict()) == {"model." + k for k in m.state_dict()}


def test_unknown_or_bad_return_nodes_are_clear_errors():
    m = zoo.resnet20()
    with pytest.raises(ValueError, match=r"node 'layer4' is not present in model CifarResNet.*"
                                         r"'layer1', 'layer1\.0'"):
        feature_extractor(m, ["layer1", "layer4"])
    with pytest.raises(ValueError, match="empty"):
        feature_extractor(m, [])
    with pytest.raises(ValueError, match="output names repeat"):
        feature_extractor(m, {"layer1": "a", "layer2": "a"})
    with pytest.raises(TypeError, match="list of sub-module names"):
        feature_extractor(m, 3)
    with pytest.raises(TypeError, match="ganglion.nn.Module"):
        feature_extractor(object(), ["fc"])


def test_a_module_the_forward_never_calls_is_reported():
    class Skip(gnn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.unused = gnn.Linear(3, 3), gnn.Linear(3, 3)

        def forward(self, x):
            return self.a(x)

    with pytest.raises(RuntimeError, match=r"\['unused'\].*not called"):
        feature_extractor(Skip(), ["a", "unused"])(gn.from_numpy(_x(2, 3)))


def test_requires_grad_freeze_and_unfreeze():
    m = zoo.resnet20()
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_(True)
    freeze(m, except_=("linear",))
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {"linear.weight", "linear.bias"}
    unfreeze(m, only=("layer3.2",))
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {"linear.weight", "linear.bias"} | {
        n for n, _ in m.named_parameters() if n.startswith("layer3.2.")}
    freeze(m)
    assert not any(p.requires_grad for p in m.parameters())
    unfreeze(m)
    assert all(p.requires_grad for p in m.parameters())
    with pytest.raises(ValueError, match="'fc', which is neither a sub-module nor a parameter"):
        freeze(m, except_=("fc",))


def test_resnet18_new_head_frozen_backbone_one_sgd_step_changes_only_fc():
    model = zoo.resnet18()
    model.fc = gnn.Linear(512, 4)
    freeze(model, except_=("fc",))
    model.eval()  # batch norm keeps its running statistics
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    # every parameter goes to the optimizer, with momentum and weight decay: frozen ones have no
    # gradient and must be skipped
    opt = goptim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    x = gn.from_numpy(_x(2, 3, 32, 32))
    y = gn.from_numpy(np.array([1, 3], dtype=np.int64))
    opt.zero_grad()
    gnn.functional.cross_entropy(model(x), y).backward()
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("fc."))
    opt.step()
    after = model.state_dict()
    changed = {k for k in before if not np.array_equal(before[k], after[k].numpy())}
    assert changed == {"fc.weight", "fc.bias"}


def test_frozen_step_matches_pytorch_and_eval_bn_keeps_its_statistics():
    g, t = _small_pair()
    freeze(g, except_=("fc",))
    for name, p in t.named_parameters():
        p.requires_grad_(name.startswith("fc."))
    g.eval(), t.eval()
    og = goptim.SGD(g.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    ot = torch.optim.SGD(t.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    mean0 = g.bn1.running_mean.numpy().copy()
    var0 = g.bn1.running_var.numpy().copy()
    for step in range(2):
        x, y = _x(4, 3, 8, 8, seed=step), np.array([0, 1, 2, 4], dtype=np.int64)
        og.zero_grad(), ot.zero_grad()
        gnn.functional.cross_entropy(g(gn.from_numpy(x)), gn.from_numpy(y)).backward()
        torch.nn.functional.cross_entropy(t(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        og.step(), ot.step()
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(g.state_dict()[k].numpy(), v.detach().numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=k)
    np.testing.assert_array_equal(g.bn1.running_mean.numpy(), mean0)
    np.testing.assert_array_equal(g.bn1.running_var.numpy(), var0)
    # in training mode, as in PyTorch, freezing does not stop the statistics from moving
    g.train(), t.train()
    with gn.no_grad():
        g(gn.from_numpy(_x(4, 3, 8, 8, seed=9)))
    with torch.no_grad():
        t(torch.from_numpy(_x(4, 3, 8, 8, seed=9)))
    assert not np.allclose(g.bn1.running_mean.numpy(), mean0)
    np.testing.assert_allclose(g.bn1.running_mean.numpy(), t.bn1.running_mean.numpy(),
                               rtol=1e-4, atol=1e-6)


def test_exported():
    for name in ("feature_extractor", "FeatureExtractor", "module_names", "freeze", "unfreeze"):
        assert name in zoo.__all__ and hasattr(zoo, name)
