"""Tensor.data as PyTorch's (a Tensor sharing memory, with no history and a version counter of its
own), 0-d results that hold 0-d arrays (never NumPy scalars), and the Tensor object's PyTorch
surface: Size, type(), __format__, numel/is_tensor and the memory queries. Each behaviour is
compared with PyTorch running the same code."""
import numpy as np
import pytest
import torch

import ganglion as gn
from bad_inputs import BadInput, bad_input_test


def both(values, dtype=np.float32, requires_grad=False):
    """The same values as a ganglion tensor and a PyTorch tensor."""
    array = np.array(values, dtype=dtype)
    g, t = gn.from_numpy(array.copy()), torch.from_numpy(array.copy())
    if requires_grad:
        g.requires_grad_(True)
        t.requires_grad_(True)
    return g, t


def assert_same(g, t):
    np.testing.assert_array_equal(g.detach().numpy(), t.detach().numpy())
    assert tuple(g.shape) == tuple(t.shape)


# ----- .data is a detached Tensor view -------------------------------------------------------

def test_data_is_a_leaf_tensor_sharing_memory():
    g, t = both([1.0, 2.0, 3.0], requires_grad=True)
    gd, td = g.data, t.data
    assert isinstance(gd, gn.Tensor) and type(gd) is gn.Tensor
    assert (gd.requires_grad, gd.is_leaf, gd.grad_fn) == (td.requires_grad, td.is_leaf, None)
    assert gd.data_ptr() == g.data_ptr()
    assert np.shares_memory(gd.numpy(), g.detach().numpy())
    p = gn.nn.Parameter(gn.ones(2))
    assert type(p.data) is gn.Tensor   # PyTorch's Parameter.data is a plain Tensor too


@pytest.mark.parametrize("write", [
    lambda d: d.add_(1.5),
    lambda d: d.mul_(0.9),
    lambda d: d.sub_(d.clone(), alpha=2),
    lambda d: d.zero_(),
    lambda d: d.fill_(7),
    lambda d: d.copy_(d.clone() * 3),
    lambda d: d.__setitem__(0, 5),
    lambda d: d.__setitem__(slice(1, None), -1),
    lambda d: d[1:].add_(10),          # a view of .data
    lambda d: d.view(3).mul_(2),
], ids=["add_", "mul_", "sub_ alpha", "zero_", "fill_", "copy_", "setitem int", "setitem slice",
        "add_ on a slice", "mul_ on a view"])
def test_writes_through_data_change_the_tensor_as_in_pytorch(write):
    g, t = both([1.0, 2.0, 3.0], requires_grad=True)
    write(g.data)
    with torch.no_grad():
        write(t.data)
    assert_same(g, t)
    assert g.requires_grad and g.is_leaf


def test_writes_through_data_do_not_bump_the_version_and_backward_uses_the_new_values():
    """PyTorch: x.data has its own version counter, so backward silently reads the new values."""
    results = []
    for lib in (gn, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, -1.0], requires_grad=True)
        y = (x * x * w).sum()
        x.data.mul_(3)
        x.data[0] = 10.0
        view = x.data
        view.add_(1)
        results.append((x._version, view._version, x.data._version))
        y.backward()
        results.append(x.grad.tolist())
        results.append(w.grad.tolist())
    assert results[:3] == results[3:]
    assert results[0] == (0, 1, 0)


def test_in_place_on_the_tensor_itself_still_refuses_backward():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = (h * h).sum()
    h.detach().add_(1)   # detach() shares the version counter, as in PyTorch
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_data_reads_as_in_pytorch():
    g, t = both([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]], requires_grad=True)
    gv, gi = gn.max(g.data, 1)
    tv, ti = torch.max(t.data, 1)
    assert_same(gv, tv)
    assert gi.tolist() == ti.tolist()
    np.testing.assert_array_equal(g.data.numpy(), t.data.numpy())
    assert g.data.sum().item() == t.data.sum().item()
    np.testing.assert_allclose(g.data.norm().item(), t.data.norm().item(), rtol=1e-6)
    assert repr(g.data) == "tensor([[ 1.0000, -2.0000,  3.0000],\n        [ 4.0000,  0.5000, -6.0000]])"


def test_grad_data_works_the_same():
    for lib in (gn, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x * 3).sum().backward()
        x.grad.data.mul_(2)
        assert x.grad.tolist() == [6.0, 6.0]
        x.grad.data.zero_()
        assert x.grad.tolist() == [0.0, 0.0]


def test_sgd_written_with_data_matches_pytorch():
    """The pre-optimizer idiom of many tutorials: p.data.add_(p.grad.data, alpha=-lr)."""
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    losses = []
    for lib in (gn, torch):
        w = lib.tensor(w0, requires_grad=True, dtype=lib.float64)
        x = lib.tensor(x0, dtype=lib.float64)
        history = []
        for _ in range(3):
            loss = (x @ w).tanh().sum()
            loss.backward()
            w.data.add_(w.grad.data, alpha=-0.1)
            w.grad.data.zero_()
            history.append(loss.item())
        losses.append((history, w.detach().numpy().copy()))
    np.testing.assert_allclose(losses[0][0], losses[1][0], rtol=1e-12)
    np.testing.assert_allclose(losses[0][1], losses[1][1], rtol=1e-12)


def test_data_setter_replaces_the_memory_as_in_pytorch():
    for lib in (gn, torch):
        p = lib.nn.Parameter(lib.ones(3))
        other = lib.zeros(2, 2)
        p.data = other
        assert tuple(p.shape) == (2, 2) and p.requires_grad and p._version == 0
        other.add_(1)   # p shares other's memory now
        assert p.tolist() == [[1.0, 1.0], [1.0, 1.0]]
        p.data = lib.zeros(3, dtype=lib.float64)
        assert str(p.dtype).endswith("float64")


def test_data_alias_is_versions_detached_alias():
    from ganglion.core.versions import detached_alias, owner
    x = gn.ones(2, 3)
    base = x.detach().numpy()
    for array in (x.data.numpy(), detached_alias(base)):
        assert owner(array) is array and np.shares_memory(array, base)
        assert (array.shape, array.strides, array.dtype) == (base.shape, base.strides, base.dtype)


def test_data_setter_keeps_the_version():
    x = gn.ones(3)
    x.add_(1)
    version = x._version
    x.data = gn.zeros(3)
    assert x._version == version
    x.data *= 2      # x.data is a Tensor: x.data = (x.data *= 2), as in PyTorch
    assert x._version == version


def test_optimizer_refuses_a_parameter_whose_data_changed_shape():
    p = gn.nn.Parameter(gn.ones(3))
    optimizer = gn.optim.Adam([p], lr=0.1)
    p.grad = gn.ones(3)
    optimizer.step()
    p.data = gn.zeros(2)
    p.grad.data = gn.ones(2)
    before = p.detach().numpy().copy()
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        optimizer.step()
    np.testing.assert_array_equal(p.detach().numpy(), before)


def test_symbolic_data_is_detach():
    x = gn.placeholder(gn.float32, (3,), name="x")
    d = x.data
    assert d.is_symbolic and not d.requires_grad
    f = gn.function([x], d * 2)
    np.testing.assert_array_equal(f(np.arange(3, dtype=np.float32)), [0.0, 2.0, 4.0])
    (gx,) = gn.grad((x.data * x).sum(), x)   # .data cuts the graph: d/dx (c * x) = c
    g = gn.function([x], gx)
    np.testing.assert_array_equal(g(np.arange(3, dtype=np.float32)), [0.0, 1.0, 2.0])


@pytest.mark.parametrize("kind", ["add_ under no_grad", "add_", "read out.data", "sgd"])
def test_data_in_a_jit_traced_step_matches_eager_pytorch(kind):
    """In a traced step, writes through p.data update p in the compiled function (they were
    lost: the alias was another tensor), and reads through .data carry no gradient."""
    def run(lib, compiled):
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0, 3.0]))

        def step(x):
            out = p * x
            loss = out.sum() + (p.data * x).sum()
            if kind == "add_ under no_grad":
                with lib.no_grad():
                    p.data.add_(x)
            elif kind == "add_":
                p.data.add_(x)
            elif kind == "read out.data":
                values, _ = lib.max(out.data.reshape(1, 3), 1)
                loss = loss + values.sum()
                p.data.add_(x)
            else:
                loss.backward()
                p.data.add_(p.grad.data, alpha=-0.5)
                p.data.mul_(0.9)
                p.grad = None
            return loss
        if compiled:
            step = gn.jit(step)
        losses = [step(lib.tensor([1.0, 0.5, 2.0])).item() for _ in range(3)]
        return losses, p.tolist()
    want = run(torch, False)
    for compiled in (False, True):
        got = run(gn, compiled)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


# ----- 0-d results hold 0-d arrays --------------------------------------------------------

ZERO_D = {
    "sum": lambda lib, x, v: x.sum(),
    "mean": lambda lib, x, v: x.mean(),
    "max": lambda lib, x, v: x.max(),
    "min": lambda lib, x, v: lib.min(x),
    "amax": lambda lib, x, v: lib.amax(x),
    "prod": lambda lib, x, v: v.prod(),
    "var": lambda lib, x, v: x.var(),
    "std": lambda lib, x, v: x.std(),
    "logsumexp": lambda lib, x, v: lib.logsumexp(x, (0, 1)),
    "argmax": lambda lib, x, v: x.argmax(),
    "all": lambda lib, x, v: (x > -10).all(),
    "any": lambda lib, x, v: (x > 10).any(),
    "dot": lambda lib, x, v: lib.dot(v, v),
    "matmul 1-d": lambda lib, x, v: v @ v,
    "index 1-d": lambda lib, x, v: v[0],
    "index 2-d": lambda lib, x, v: x[1, 2],
    "index -1": lambda lib, x, v: v[-1],
    "item arithmetic": lambda lib, x, v: (x.sum() * 2 + 1) / 3 - x.mean() ** 2,
    "reflected": lambda lib, x, v: 1 - x.sum(),
    "exp of 0-d": lambda lib, x, v: x.sum().exp(),
    "comparison": lambda lib, x, v: x.sum() > 0,
    "int sum": lambda lib, x, v: (x > 0).long().sum(),
    "mse": lambda lib, x, v: lib.nn.functional.mse_loss(x, x * 2),
    "cross_entropy": lambda lib, x, v: lib.nn.functional.cross_entropy(x, lib.tensor([0, 2])),
    "tensor(3.0)": lambda lib, x, v: lib.tensor(3.0),
    "tensor(np.float32)": lambda lib, x, v: lib.tensor(np.float32(2.5)),
    "as_tensor(np.float32)": lambda lib, x, v: lib.as_tensor(np.float32(2.5)),
}


@pytest.mark.parametrize("name", list(ZERO_D))
def test_zero_d_results_hold_arrays_and_match_pytorch(name):
    rows = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
    g, t = both(rows)
    gv, tv = both([0.5, -1.5, 2.0])
    got, want = ZERO_D[name](gn, g, gv), ZERO_D[name](torch, t, tv)
    assert type(got._data) is np.ndarray and got._data.ndim == 0
    assert got.shape == () and tuple(want.shape) == ()
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    if got.dtype is not gn.bool_:   # in place on the 0-d result, as PyTorch allows
        got.add_(1)
        want.add_(1)
    else:
        got[...] = False
        want[...] = False
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_zero_d_gradients_hold_arrays():
    s = gn.tensor(2.0, requires_grad=True)
    (s * gn.ones(4)).sum().backward()
    (s * 3).backward()
    assert type(s.grad._data) is np.ndarray and s.grad.item() == 7.0


def test_accumulating_zero_d_results_in_place_as_in_pytorch():
    results = []
    for lib in (gn, torch):
        t = lib.arange(6)
        acc = 0
        acc += t.sum()
        acc += t.sum()
        m = t.float().mean()
        m.add_(1)
        m *= 2
        loss_sum = lib.zeros(())
        for k in range(3):
            loss_sum += (t.float() * k).mean()
        results.append((acc.item(), str(acc.dtype).split(".")[-1], m.item(), loss_sum.item()))
    assert results[0] == results[1] == (30, "int64", 7.0, 7.5)


def test_make_tensor_of_a_numpy_scalar_is_a_zero_d_array():
    from ganglion.core.tensor import make_tensor
    for scalar in (np.float32(1.5), np.int64(3), np.bool_(True)):
        t = make_tensor(scalar)
        assert type(t._data) is np.ndarray and t._data.dtype == scalar.dtype and t.item() == scalar
        assert type(gn.Tensor(scalar)._data) is np.ndarray


# ----- Size ---------------------------------------------------------------------------------

def test_shape_and_size_are_a_size_as_in_pytorch():
    g, t = both(np.zeros((2, 3)))
    for shape, want in ((g.shape, t.shape), (g.size(), t.size())):
        assert type(shape) is gn.Size and isinstance(shape, tuple)
        assert shape == want == (2, 3) and shape == tuple(want)
        assert shape.numel() == want.numel() == 6
        assert repr(shape) == repr(want).replace("torch", "ganglion") == "ganglion.Size([2, 3])"
        assert str(shape) == "ganglion.Size([2, 3])"
    assert gn.Size([]).numel() == torch.Size([]).numel() == 1
    assert gn.Size([4, 5]) == torch.Size([4, 5]) and gn.Size((np.int64(2),)) == (2,)
    assert gn.zeros(gn.Size([2, 1])).shape == (2, 1)
    assert g.size(1) == 3 and g.size(-2) == 2
    assert repr(gn.placeholder(gn.float32, (None, 3)).shape) == "ganglion.Size([None, 3])"


# ----- type(), __format__, numel, is_tensor, memory -------------------------------------------

DTYPE_PAIRS = [(gn.float32, torch.float32), (gn.float64, torch.float64), (gn.float16, torch.float16),
               (gn.int8, torch.int8), (gn.int16, torch.int16), (gn.int32, torch.int32),
               (gn.int64, torch.int64), (gn.uint8, torch.uint8), (gn.bool_, torch.bool)]


@pytest.mark.parametrize("pair", DTYPE_PAIRS, ids=[str(t) for _, t in DTYPE_PAIRS])
def test_type_names_and_conversions_as_in_pytorch(pair):
    gd, td = pair
    g, t = gn.zeros(2, dtype=gd), torch.zeros(2, dtype=td)
    assert g.type() == t.type()
    x, y = both([1.5, -2.0])
    converted, reference = x.type(gd), y.type(td)
    assert str(converted.dtype).split(".")[-1] == str(reference.dtype).split(".")[-1]
    assert converted.tolist() == reference.tolist()
    by_name = x.type(t.type())
    assert by_name.dtype is gd and by_name.tolist() == y.type(t.type()).tolist()
    assert element_size_pair(g, t)


def element_size_pair(g, t):
    return (g.element_size(), g.itemsize, g.nbytes) == (t.element_size(), t.itemsize, t.nbytes)


def test_type_returns_itself_for_its_own_dtype_and_keeps_gradients():
    x = gn.ones(2, requires_grad=True)
    assert x.type(gn.float32) is x and x.type("torch.FloatTensor") is x
    y = x.type(gn.float64)
    (y * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0] and x.grad.dtype is gn.float32


def test_format_as_in_pytorch():
    for lib in (gn, torch):
        loss = lib.tensor(3.14159, requires_grad=True) * 1
        assert f"{loss:.2f}" == "3.14" and f"{loss:8.3f}" == "   3.142"
        assert f"{lib.tensor(3):d}" == "3" and f"{lib.tensor(7):>4}" == "   7"
        assert f"{loss}" == format(loss.item(), "")   # a 0-d tensor formats as its number
        assert f"{lib.tensor(True)}" == "True"
    assert f"{gn.ones(2)}" == str(gn.ones(2))
    for lib in (gn, torch):
        with pytest.raises(TypeError, match="unsupported format string"):
            f"{lib.ones(2):.2f}"


def test_numel_is_tensor_and_memory_queries_as_in_pytorch():
    g, t = both(np.arange(12.0).reshape(3, 4))
    assert (gn.numel(g), g.numel(), g.nelement()) == (torch.numel(t), t.numel(), t.nelement())
    assert gn.is_tensor(g) and gn.is_tensor(gn.nn.Parameter(gn.ones(1)))
    assert not gn.is_tensor(np.zeros(2)) and not gn.is_tensor(3)
    assert g.is_cuda is t.is_cuda is False
    assert element_size_pair(g, t) and g.nbytes == 48
    assert g.is_contiguous() and t.is_contiguous() and g.contiguous() is g
    for index in ((slice(1, None),), (1, slice(2, None)), (slice(None), 3)):
        assert g[index].storage_offset() == t[index].storage_offset()
        assert g[index].data_ptr() - g.data_ptr() == (t[index].data_ptr() - t.data_ptr())
    assert g.data[1:].storage_offset() == 4
    assert gn.zeros(0).numel() == 0 and gn.tensor(2.0).numel() == 1


# ----- bad inputs -------------------------------------------------------------------------

_P = gn.nn.Parameter(gn.ones(3))
_STATE = lambda: (_P.detach().numpy().copy(), _P.dtype.name, _P._version)  # noqa: E731


def _set_data(value, target=_P):
    target.data = value


CASES = [
    BadInput("data = ndarray", lambda: _set_data(np.zeros(3, np.float32)), TypeError,
             ["Tensor.data", "has to be a Tensor", "numpy.ndarray", "from_numpy"],
             unchanged=_STATE),
    BadInput("data = list", lambda: _set_data([1.0, 2.0, 3.0]), TypeError,
             ["Tensor.data", "has to be a Tensor", "list"], unchanged=_STATE),
    BadInput("data = None", lambda: _set_data(None), TypeError,
             ["Tensor.data", "has to be a Tensor", "NoneType"], unchanged=_STATE),
    BadInput("data = int tensor on a tensor that requires grad",
             lambda: _set_data(gn.zeros(3, dtype=gn.int64)), RuntimeError,
             ["Tensor.data", "requires gradients", "floating point", "int64"], unchanged=_STATE),
    BadInput("data = symbolic", lambda: _set_data(gn.placeholder(gn.float32, (3,))), RuntimeError,
             ["Tensor.data", "symbolic"], unchanged=_STATE),
    BadInput("symbolic data = value",
             lambda: _set_data(gn.ones(3), gn.placeholder(gn.float32, (3,))), RuntimeError,
             ["Tensor.data", "symbolic tensor a value"]),
    BadInput("type unknown name", lambda: _P.type("torch.FooTensor"), ValueError,
             ["invalid type", "torch.FooTensor"], unchanged=_STATE),
    BadInput("type cuda name", lambda: _P.type("torch.cuda.FloatTensor"), RuntimeError,
             ["type()", "torch.cuda.FloatTensor", "CPU"], unchanged=_STATE),
    BadInput("type of a number", lambda: _P.type(3), TypeError,
             ["type()", "3", "int", "legacy type name"], unchanged=_STATE),
    BadInput("format spec on a vector", lambda: format(_P, ".2f"), TypeError,
             ["unsupported format string", "Parameter", "'.2f'", "(3,)", "item()"]),
    BadInput("Size of floats", lambda: gn.Size([2.5]), TypeError,
             ["Size()", "'int'", "item 0", "float"]),
    BadInput("Size of a string", lambda: gn.Size(["a"]), TypeError, ["Size()", "item 0", "str"]),
    BadInput("size() float dim", lambda: _P.size(1.0), TypeError, ["size()", "dim", "1.0", "float"]),
    BadInput("size() dim out of range", lambda: _P.size(1), IndexError,
             ["size()", "dimension 1", "out of range", "1 dimensions"]),
    BadInput("numel of an array", lambda: gn.numel(np.zeros(2)), TypeError,
             ["numel()", "must be Tensor", "ndarray"]),
    BadInput("numel of an unknown shape", lambda: gn.placeholder(gn.float32, (None, 2)).numel(),
             TypeError, ["numel()", "not known", "Size([None, 2])"]),
    BadInput("data_ptr of a symbolic tensor", lambda: gn.placeholder(gn.float32, (2,)).data_ptr(),
             RuntimeError, ["data_ptr()", "symbolic"]),
]

# Functions take Tensors, as in PyTorch (torch.max(ndarray) is a TypeError there too): an array or
# a list where a tensor goes is a TypeError naming the function, never an internal AttributeError.
_ARRAY = np.ones((2, 3), np.float32)
NOT_TENSOR_CALLS = [
    ("max", lambda: gn.max(_ARRAY), ["max()", "argument 0", "numpy.ndarray", "ganglion.tensor"]),
    ("max dim", lambda: gn.max(_ARRAY, 1), ["max()", "numpy.ndarray"]),
    ("sum of a list", lambda: gn.sum([1.0, 2.0]), ["sum()", "must be a Tensor", "list"]),
    ("mean", lambda: gn.mean(_ARRAY), ["mean()", "numpy.ndarray"]),
    ("var", lambda: gn.var(_ARRAY), ["var()", "numpy.ndarray"]),
    ("argmax", lambda: gn.argmax(_ARRAY), ["argmax()", "numpy.ndarray"]),
    ("logsumexp", lambda: gn.logsumexp(_ARRAY, 1), ["logsumexp()", "numpy.ndarray"]),
    ("reshape", lambda: gn.reshape(_ARRAY, (3, 2)), ["reshape()", "numpy.ndarray"]),
    ("permute", lambda: gn.permute(_ARRAY, (1, 0)), ["permute()", "numpy.ndarray"]),
    ("matmul first", lambda: gn.matmul(_ARRAY, gn.ones(3, 2)), ["matmul()", "argument 0", "ndarray"]),
    ("matmul second", lambda: gn.matmul(gn.ones(2, 2), _ARRAY), ["matmul()", "argument 1", "ndarray"]),
    ("floor", lambda: gn.floor(_ARRAY), ["floor", "Tensor", "ndarray"]),
    ("clamp", lambda: gn.clamp(_ARRAY, 0, 1), ["clamp()", "numpy.ndarray"]),
    ("one_hot", lambda: gn.nn.functional.one_hot(np.array([0, 1])), ["one_hot()", "ndarray"]),
    ("max_pool2d", lambda: gn.nn.functional.max_pool2d(np.ones((1, 1, 4, 4), np.float32), 2),
     ["max_pool2d()", "numpy.ndarray"]),
    ("embedding", lambda: gn.nn.functional.embedding(np.array([0, 1]), gn.ones(3, 2)),
     ["embedding()", "argument 0", "numpy.ndarray"]),
    ("linear", lambda: gn.nn.functional.linear(_ARRAY, gn.ones(4, 3)), ["linear()", "ndarray"]),
]
CASES += [BadInput(f"{name} of an array", call, TypeError, words)
          for name, call, words in NOT_TENSOR_CALLS]

test_bad_input = bad_input_test(CASES)


def test_pytorch_refuses_arrays_too():
    with pytest.raises(TypeError, match="must be Tensor, not numpy.ndarray"):
        torch.max(np.zeros(3))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        torch.sum([1.0, 2.0])


def test_stack_converts_numbers_and_arrays_as_cat_does():
    joined = gn.stack([np.array([1.0, 2.0], np.float32), gn.zeros(2)])
    assert joined.tolist() == gn.cat([np.array([[1.0, 2.0]], np.float32), gn.zeros(1, 2)]).tolist()
    assert joined.tolist() == [[1.0, 2.0], [0.0, 0.0]]
    mixed = gn.stack([gn.ones(2, dtype=gn.int64), gn.zeros(2)])
    want = torch.stack([torch.ones(2, dtype=torch.int64), torch.zeros(2)])
    assert mixed.dtype is gn.float32 and mixed.tolist() == want.tolist()
