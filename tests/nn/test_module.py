"""Tests of the module system: registration, traversal names, modes, hooks, printing and state
dicts, each compared with PyTorch on the same nested model where PyTorch defines the answer
(names, repr, state_dict keys, loading a state dict exported from PyTorch)."""
import copy
import re
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion import nn

GN = SimpleNamespace(nn=nn, zeros=lambda *s: gn.zeros(*s), ones=lambda *s: gn.ones(*s))
TORCH = SimpleNamespace(nn=torch.nn, zeros=lambda *s: torch.zeros(*s), ones=lambda *s: torch.ones(*s))


def build(lib):
    """The same nested model in either library: a custom block with a parameter, a persistent
    and a non-persistent buffer and extra_repr, inside Sequential, ModuleList, ModuleDict and
    an OrderedDict-named Sequential."""

    class Block(lib.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.scale = lib.nn.Parameter(lib.ones(n))
            self.register_buffer("running_mean", lib.zeros(n))
            self.register_buffer("scratch", lib.zeros(n), persistent=False)
            self.fc = lib.nn.Linear(n, n)

        def forward(self, x):
            return self.fc(x) * self.scale + self.running_mean

        def extra_repr(self):
            return f"n={self.scale.shape[0]}"

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Linear(12, 8), Block(8))
            self.heads = lib.nn.ModuleList([lib.nn.Linear(8, 4), lib.nn.Linear(8, 4, bias=False)])
            self.branches = lib.nn.ModuleDict({"left": lib.nn.Identity(), "right": Block(4)})
            self.tail = lib.nn.Sequential(OrderedDict([("proj", lib.nn.Linear(4, 3)),
                                                       ("out", lib.nn.Identity())]))

        def forward(self, x):
            h = self.features(x)
            h = self.heads[0](h) + self.heads[1](h)
            return self.tail(self.branches["right"](self.branches["left"](h)))

    return Net()


def copy_from_torch(model, torch_model):
    model.load_state_dict(torch_model.state_dict())


@pytest.fixture
def pair():
    torch.manual_seed(0)
    return build(GN), build(TORCH)


# ----- names and registration ---------------------------------------------------------------

def test_names_match_pytorch(pair):
    g, t = pair
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in g.features.named_parameters(prefix="f")] == \
        [n for n, _ in t.features.named_parameters(prefix="f")]
    assert [n for n, _ in g.named_parameters(recurse=False)] == []
    assert [type(m).__name__ for m in g.modules()] == [type(m).__name__ for m in t.modules()]


def test_state_dict_keys_and_repr_match_pytorch(pair):
    g, t = pair
    assert list(g.state_dict()) == list(t.state_dict())
    assert "features.2.scratch" not in g.state_dict()
    assert repr(g) == repr(t)


def test_registration_order_and_none_entries():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = nn.Parameter(gn.zeros(1))
            self.a = nn.Parameter(gn.zeros(2))
            self.register_parameter("none", None)
            self.register_buffer("buf", None)
            self.z = nn.Linear(1, 1)
            self.y = None
    m = M()
    assert [n for n, _ in m.named_parameters()] == ["b", "a", "z.weight", "z.bias"]
    assert list(m.state_dict()) == ["b", "a", "z.weight", "z.bias"]
    assert m.none is None and m.buf is None
    m.a = None
    assert [n for n, _ in m.named_parameters()] == ["b", "z.weight", "z.bias"]
    m.z = None
    assert list(m.named_children()) == []
    del m.b
    assert "b" not in m._parameters and not hasattr(m, "b")


def test_shared_parameters_are_listed_once_but_saved_under_both_names():
    g = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    g[1].weight = g[0].weight
    t = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    t[1].weight = t[0].weight
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert len(list(g.named_parameters(remove_duplicate=False))) == 4
    assert list(g.state_dict()) == list(t.state_dict())
    twice = nn.Sequential(g[0], g[0])
    assert [n for n, _ in twice.named_modules()] == ["", "0"]
    assert len(list(twice.named_modules(remove_duplicate=False))) == 3


def test_assignment_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = gn.zeros(2, 2)
    seq = nn.Sequential(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="sub-module '0'"):
        setattr(seq, "0", 3)
    with pytest.raises(TypeError, match="buffer"):
        m.register_buffer("b", np.zeros(2))
        m.b = 3
    with pytest.raises(KeyError, match="no '.'"):
        m.register_buffer("a.b", gn.zeros(1))
    with pytest.raises(KeyError, match="already has an attribute 'train'"):
        m.add_module("train", nn.Identity())
    with pytest.raises(TypeError, match="must be a Parameter"):
        m.register_parameter("p", gn.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)
            super().__init__()
    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Early()


def test_parameter_basics():
    p = nn.Parameter(gn.randn(2, 3))
    assert isinstance(p, gn.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\n")
    assert not isinstance(p * 2, nn.Parameter)
    assert not nn.Parameter(gn.zeros(2), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="floating"):
        nn.Parameter(gn.tensor([1, 2]))


def test_deepcopy_keeps_tied_parameters_tied():
    g = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    g[1].weight = g[0].weight
    c = copy.deepcopy(g)
    assert c[0].weight is c[1].weight and c[0].weight is not g[0].weight
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), g[0].weight.detach().numpy())
    assert len(list(c.parameters())) == 3


def test_get_submodule():
    g = build(GN)
    assert g.get_submodule("features.2.fc") is g.features[2].fc
    assert g.get_submodule("") is g
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        g.get_submodule("features.nope")


# ----- modes and bulk changes ---------------------------------------------------------------

def test_train_eval_reach_every_module_and_respect_overrides():
    class Frozen(nn.Module):
        def train(self, mode=True):
            return super().train(False)

    g = nn.Sequential(nn.Linear(2, 2), Frozen(), nn.Sequential(nn.Identity()))
    assert all(m.training for m in g.modules() if not isinstance(m, Frozen))
    assert g.eval() is g
    assert not any(m.training for m in g.modules())
    g.train()
    assert [m.training for m in g.modules()] == [True, True, False, True, True]
    with pytest.raises(ValueError, match="bool"):
        g.train("yes")


def test_zero_grad_and_requires_grad():
    g = nn.Linear(3, 2)
    g(gn.randn(4, 3)).sum().backward()
    grad = g.weight.grad
    g.zero_grad(set_to_none=False)
    assert g.weight.grad is grad and not grad.numpy().any()
    g.zero_grad()
    assert g.weight.grad is None and g.bias.grad is None
    g.requires_grad_(False)
    assert not any(p.requires_grad for p in g.parameters())
    assert not g(gn.randn(1, 3)).requires_grad
    g.requires_grad_()
    assert all(p.requires_grad for p in g.parameters())


def test_apply_visits_children_first_like_pytorch(pair):
    g, t = pair
    seen_g, seen_t = [], []
    assert g.apply(lambda m: seen_g.append(type(m).__name__)) is g
    t.apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_g == seen_t


def test_to_double_converts_parameters_and_buffers(pair):
    g, _ = pair
    g.double()
    assert all(t.dtype is gn.float64 for t in list(g.parameters()) + list(g.buffers()))
    assert g(gn.randn(2, 3, 4, dtype=gn.float64)).dtype is gn.float64
    g.float()
    assert all(p.dtype is gn.float32 for p in g.parameters())


# ----- hooks -----------------------------------------------------------------------------------

def test_forward_hooks_and_pre_hooks_and_remove():
    g = nn.Linear(2, 2)
    calls = []
    pre = g.register_forward_pre_hook(lambda m, args: calls.append(("pre", m, args[0].shape)))
    post = g.register_forward_hook(lambda m, args, out: calls.append(("post", out.shape)))
    x = gn.randn(5, 2)
    y = g(x)
    assert calls == [("pre", g, (5, 2)), ("post", (5, 2))]
    pre.remove()
    post.remove()
    post.remove()  # a second remove is harmless
    g(x)
    assert len(calls) == 2
    # A pre-hook may replace the inputs (bare value or tuple), a forward hook the output.
    doubled = g.register_forward_pre_hook(lambda m, args: args[0] * 2)
    np.testing.assert_allclose(g(x).detach().numpy(), g.forward(x * 2).detach().numpy(), rtol=1e-6)
    doubled.remove()
    g.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    g.register_forward_hook(lambda m, args, out: out + 1)
    np.testing.assert_allclose(g(x).detach().numpy(), g.bias.detach().numpy() + 1 + 0 * y.detach().numpy(),
                               rtol=1e-6)


# ----- state dicts ----------------------------------------------------------------------------

@pytest.mark.parametrize("as_numpy", [False, True])
def test_load_state_dict_from_pytorch_gives_identical_outputs(pair, as_numpy):
    g, t = pair
    state = t.state_dict()
    for key in state:
        if key.endswith("running_mean"):
            state[key].normal_()
    if as_numpy:
        state = {k: v.numpy() for k, v in state.items()}
    result = g.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(g(gn.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_load_torch_parameters_that_require_grad():
    t = torch.nn.Linear(3, 2)
    g = nn.Linear(3, 2)
    g.load_state_dict(dict(t.named_parameters()))
    np.testing.assert_array_equal(g.weight.detach().numpy(), t.weight.detach().numpy())


def test_state_dict_round_trip_and_memory_sharing():
    a, b = build(GN), build(GN)
    state = a.state_dict()
    assert not any(v.requires_grad for v in state.values())
    b.load_state_dict(state)
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=k)
    # state_dict() values share memory with the module, as in PyTorch.
    with gn.no_grad():
        a.state_dict()["tail.proj.bias"].fill_(7.0)
    assert (a.tail.proj.bias.detach().numpy() == 7).all()
    assert a.state_dict(keep_vars=True)["tail.proj.bias"] is a.tail.proj.bias


def snapshot(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_unchanged(model, before):
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


def test_strict_missing_and_unexpected_keys():
    g = build(GN)
    state = {k: v.numpy() + 1 for k, v in g.state_dict().items()}
    before = snapshot(g)
    del state["heads.0.bias"]
    state["heads.9.weight"] = np.zeros(3, np.float32)
    with pytest.raises(RuntimeError) as info:
        g.load_state_dict(state)
    message = str(info.value)
    assert "missing keys: 'heads.0.bias'" in message
    assert "unexpected keys: 'heads.9.weight'" in message
    assert_unchanged(g, before)
    result = g.load_state_dict(state, strict=False)
    assert result == nn.IncompatibleKeys(["heads.0.bias"], ["heads.9.weight"])
    np.testing.assert_array_equal(g.heads[0].weight.detach().numpy(), before["heads.0.weight"] + 1)
    np.testing.assert_array_equal(g.heads[0].bias.detach().numpy(), before["heads.0.bias"])


@pytest.mark.parametrize("strict", [True, False])
def test_shape_mismatch_names_key_and_both_shapes_and_changes_nothing(strict):
    g = build(GN)
    before = snapshot(g)
    state = {k: v.numpy() + 1 for k, v in g.state_dict().items()}
    state["tail.proj.weight"] = np.zeros((3, 5), np.float32)
    with pytest.raises(RuntimeError, match=re.escape(
            "size mismatch for 'tail.proj.weight': the checkpoint has shape (3, 5), the model has "
            "shape (3, 4)")):
        g.load_state_dict(state, strict=strict)
    assert_unchanged(g, before)


def test_load_rejects_values_that_are_not_arrays():
    g = nn.Linear(2, 1)
    before = snapshot(g)
    with pytest.raises(RuntimeError, match="'weight' is a object"):  # PyTorch: RuntimeError
        g.load_state_dict({"weight": object(), "bias": np.zeros(1)})
    assert_unchanged(g, before)


def test_load_casts_to_the_parameter_dtype():
    g = nn.Linear(2, 1)
    g.load_state_dict({"weight": np.ones((1, 2)), "bias": np.zeros(1)})
    assert g.weight.dtype is gn.float32 and (g.weight.detach().numpy() == 1).all()


# ----- symbolic inputs --------------------------------------------------------------------------

def test_module_on_a_placeholder_compiles_to_the_eager_values(pair):
    g, _ = pair
    x = gn.placeholder(gn.float32, (None, 3, 4))
    y = g(x)
    assert y.shape == (None, 3)
    f = gn.function([x], y)
    data = np.random.default_rng(1).standard_normal((6, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(f(data), g(gn.tensor(data)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_jit_compiled_module_matches_eager(pair):
    g, _ = pair
    compiled = gn.jit(g)
    data = gn.tensor(np.random.default_rng(2).standard_normal((4, 3, 4)).astype(np.float32))
    np.testing.assert_allclose(compiled(data).numpy(), g(data).detach().numpy(), rtol=1e-5, atol=1e-6)


# ----- containers ---------------------------------------------------------------------------------

def child_names(module):
    return [(name, type(child).__name__) for name, child in module.named_children()]


@pytest.mark.parametrize("edit", [
    lambda lib, s: s.append(lib.nn.Identity()),
    lambda lib, s: s.insert(1, lib.nn.Identity()),
    lambda lib, s: s.__delitem__(0),
    lambda lib, s: s.__delitem__(slice(0, 2)),
    lambda lib, s: s.__delitem__(-1),
    lambda lib, s: s.pop(1),
    lambda lib, s: s.__setitem__(-2, lib.nn.Identity()),
    lambda lib, s: s.extend([lib.nn.Flatten(), lib.nn.Identity()]),
])
@pytest.mark.parametrize("container", ["Sequential", "ModuleList"])
def test_list_containers_edit_like_pytorch(edit, container):
    def make(lib):
        cls = getattr(lib.nn, container)
        parts = [lib.nn.Linear(2, 2), lib.nn.Flatten(), lib.nn.Linear(2, 3)]
        return cls(*parts) if container == "Sequential" else cls(parts)
    g, t = make(GN), make(TORCH)
    edit(GN, g)
    edit(TORCH, t)
    assert child_names(g) == child_names(t)
    assert len(g) == len(t)
    assert [type(m).__name__ for m in g] == [type(m).__name__ for m in t]
    assert list(g.state_dict()) == list(t.state_dict())


def test_sequential_indexing_slicing_and_names():
    layers = OrderedDict([("conv", nn.Linear(4, 3)), ("act", nn.Identity()), ("out", nn.Linear(3, 2))])
    s = nn.Sequential(layers)
    assert s[0] is layers["conv"] and s[-1] is layers["out"] and s.act is layers["act"]
    head = s[:2]
    assert isinstance(head, nn.Sequential) and child_names(head) == [("conv", "Linear"), ("act", "Identity")]
    assert head[0] is s[0]
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        s[3]
    x = gn.randn(5, 4)
    np.testing.assert_allclose(s(x).detach().numpy(), s.out(s.conv(x)).detach().numpy(), rtol=1e-6)
    both = nn.Sequential(nn.Linear(4, 4)) + nn.Sequential(nn.Identity())
    assert child_names(both) == [("0", "Linear"), ("1", "Identity")]
    assert nn.Sequential()(x) is x


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(1, 1)])
    layers += [nn.Identity()]
    assert len(layers) == 2 and isinstance(layers[1:], nn.ModuleList)
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias"]
    with pytest.raises(NotImplementedError):
        layers(gn.zeros(1))
    d = nn.ModuleDict([("b", nn.Linear(1, 2)), ("a", nn.Identity())])
    t = torch.nn.ModuleDict([("b", torch.nn.Linear(1, 2)), ("a", torch.nn.Identity())])
    d["c"] = nn.Flatten()
    t["c"] = torch.nn.Flatten()
    d.update({"b": nn.Identity()})
    t.update({"b": torch.nn.Identity()})
    assert child_names(d) == child_names(t) and list(d) == list(t) and "c" in d
    assert d.pop("a") is not None and list(d.keys()) == ["b", "c"]
    del d["b"]
    assert [k for k, _ in d.items()] == ["c"] and len(d) == 1
    d.clear()
    assert len(d) == 0
    with pytest.raises(KeyError, match="already has an attribute 'update'"):
        d["update"] = nn.Identity()
    with pytest.raises(TypeError, match="pairs"):
        d.update([nn.Identity()])


def test_loading_in_place_invalidates_graphs_built_from_the_old_values():
    g = nn.Linear(3, 2)
    y = g(gn.randn(4, 3)).sum()
    g.load_state_dict({k: v.numpy() * 2 for k, v in g.state_dict().items()})
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
