"""The Tensor API: creation functions, dtypes, attributes, conversions and printing.

PyTorch is the oracle wherever ganglion follows it. One deliberate difference is tested on its
own: ``ganglion.tensor`` turns float64 NumPy input into float32 (the default float dtype), where
``torch.tensor`` keeps float64.
"""
import numpy as np
import pytest
import torch

import ganglion as gn

DTYPES = [
    (gn.float16, torch.float16, np.float16), (gn.float32, torch.float32, np.float32),
    (gn.float64, torch.float64, np.float64), (gn.int8, torch.int8, np.int8),
    (gn.int32, torch.int32, np.int32), (gn.int64, torch.int64, np.int64),
    (gn.uint8, torch.uint8, np.uint8), (gn.bool, torch.bool, np.bool_),
]
TORCH_DTYPE = {g: t for g, t, _ in DTYPES}


def assert_like_torch(g, t):
    """Same dtype, shape and values as the PyTorch tensor ``t``."""
    assert g.dtype is {v: k for k, v in TORCH_DTYPE.items()}[t.dtype], f"{g.dtype} vs {t.dtype}"
    assert tuple(g.shape) == tuple(t.shape)
    np.testing.assert_array_equal(g.numpy(), t.numpy())


# ----- ganglion.tensor ------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    [1.0, 2.5], [[1, 2], [3, 4]], [True, False, True], 3, 2.5, True, [[1.5]], [1, 2.5],
    [], [[True, 2]],
])
def test_tensor_from_python_data_matches_torch(data):
    assert_like_torch(gn.tensor(data), torch.tensor(data))


def test_tensor_default_dtypes():
    assert gn.tensor([1.0, 2.0]).dtype is gn.float32
    assert gn.tensor(1.5).dtype is gn.float32
    assert gn.tensor([1, 2]).dtype is gn.int64
    assert gn.tensor(7).dtype is gn.int64
    assert gn.tensor([True, False]).dtype is gn.bool
    assert gn.tensor(np.array([1, 2], np.int32)).dtype is gn.int32
    assert gn.tensor(np.array([1, 2], np.uint8)).dtype is gn.uint8


def test_tensor_float64_numpy_gives_float32():
    # The project's spec: NumPy float64 data becomes the default float dtype (torch keeps float64).
    array = np.array([[0.1, 0.2], [0.3, 0.4]])
    t = gn.tensor(array)
    assert t.dtype is gn.float32
    np.testing.assert_array_equal(t.numpy(), array.astype(np.float32))
    assert gn.tensor(np.float64(2.5)).dtype is gn.float32


def test_tensor_keeps_narrower_numpy_floats_like_torch():
    for np_dtype in (np.float16, np.float32):
        array = np.array([1.5, -2.0], np_dtype)
        assert_like_torch(gn.tensor(array), torch.tensor(array))


def test_tensor_from_tensor_keeps_its_dtype_and_copies():
    source = gn.tensor([1.0, 2.0], dtype=gn.float64)
    copy = gn.tensor(source)
    assert copy.dtype is gn.float64
    copy.numpy()[0] = 9.0
    assert source.tolist() == [1.0, 2.0]


def test_tensor_copies_its_input():
    array = np.array([1.0, 2.0], np.float32)
    t = gn.tensor(array)
    array[0] = 5.0
    assert t.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("g_dtype,t_dtype,_", DTYPES)
def test_tensor_explicit_dtype(g_dtype, t_dtype, _):
    data = [[0, 1], [2, 3]]
    assert_like_torch(gn.tensor(data, dtype=g_dtype), torch.tensor(data, dtype=t_dtype))


def test_tensor_requires_grad():
    t = gn.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert not gn.tensor([1.0]).requires_grad
    with pytest.raises(RuntimeError, match="floating"):
        gn.tensor([1, 2], requires_grad=True)


def test_tensor_rejects_strings():
    with pytest.raises(TypeError, match="tensor"):
        gn.tensor(["a", "b"])


# ----- filled tensors -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_ones_match_torch(name):
    g_fn, t_fn = getattr(gn, name), getattr(torch, name)
    assert_like_torch(g_fn(2, 3), t_fn(2, 3))
    assert_like_torch(g_fn((4,)), t_fn((4,)))
    assert_like_torch(g_fn([2, 1, 3]), t_fn([2, 1, 3]))
    assert_like_torch(g_fn(()), t_fn(()))
    assert_like_torch(g_fn(3, dtype=gn.int32), t_fn(3, dtype=torch.int32))
    assert_like_torch(g_fn(2, 2, dtype=gn.bool), t_fn(2, 2, dtype=torch.bool))
    t = g_fn(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf


@pytest.mark.parametrize("value", [3, 2.5, True, -1])
def test_full_dtype_follows_value_like_torch(value):
    assert_like_torch(gn.full((2, 3), value), torch.full((2, 3), value))


def test_full_with_dtype_and_int_size():
    assert_like_torch(gn.full((2,), 3, dtype=gn.float64), torch.full((2,), 3, dtype=torch.float64))
    assert gn.full(4, 1.0).shape == (4,)


def test_empty():
    t = gn.empty(2, 5)
    assert t.shape == (2, 5) and t.dtype is gn.float32
    assert gn.empty((3,), dtype=gn.int64).dtype is gn.int64


def test_like_functions_keep_shape_and_dtype():
    for g_dtype, t_dtype, _ in DTYPES:
        g_base = gn.zeros(2, 3, dtype=g_dtype)
        t_base = torch.zeros(2, 3, dtype=t_dtype)
        assert_like_torch(gn.zeros_like(g_base), torch.zeros_like(t_base))
        assert_like_torch(gn.ones_like(g_base), torch.ones_like(t_base))
        assert_like_torch(gn.full_like(g_base, 1), torch.full_like(t_base, 1))
    base = gn.tensor([1.0, 2.0], requires_grad=True)
    assert not gn.zeros_like(base).requires_grad
    assert gn.ones_like(base, requires_grad=True).requires_grad
    assert_like_torch(gn.full_like(gn.tensor([1, 2]), 2.5), torch.full_like(torch.tensor([1, 2]), 2.5))
    assert gn.zeros_like(gn.zeros(2), dtype=gn.int64).dtype is gn.int64
    assert gn.empty_like(gn.zeros(3, 2, dtype=gn.float64)).shape == (3, 2)


# ----- ranges and identity --------------------------------------------------------------------

@pytest.mark.parametrize("args", [(5,), (2, 9), (9, 2, -3), (0, 10, 3), (0.0, 1.0, 0.25), (0, 1, 0.1),
                                  (1.5,), (-2.0, 2.0, 0.5), (3, 3)])
def test_arange_matches_torch(args):
    g, t = gn.arange(*args), torch.arange(*args)
    assert g.dtype is {torch.int64: gn.int64, torch.float32: gn.float32}[t.dtype]
    assert g.shape == tuple(t.shape)
    np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=0, atol=1e-6)


def test_arange_numpy_integers_and_dtype():
    assert gn.arange(np.int64(4)).dtype is gn.int64
    assert gn.arange(np.int32(1), 4).tolist() == [1, 2, 3]
    assert_like_torch(gn.arange(4, dtype=gn.float64), torch.arange(4, dtype=torch.float64))


@pytest.mark.parametrize("args", [(0, 1, 5), (-3, 7, 11), (2, 2, 1), (1, 0, 4)])
def test_linspace_matches_torch(args):
    g, t = gn.linspace(*args), torch.linspace(*args)
    assert g.dtype is gn.float32 and g.shape == tuple(t.shape)
    np.testing.assert_allclose(g.numpy(), t.numpy(), atol=1e-6)
    assert_like_torch(gn.linspace(0, 10, 5, dtype=gn.int64), torch.linspace(0, 10, 5, dtype=torch.int64))


def test_eye_matches_torch():
    assert_like_torch(gn.eye(3), torch.eye(3))
    assert_like_torch(gn.eye(2, 4), torch.eye(2, 4))
    assert_like_torch(gn.eye(3, dtype=gn.int64), torch.eye(3, dtype=torch.int64))


# ----- random ---------------------------------------------------------------------------------

def test_rand_randn_shapes_dtypes_and_ranges():
    gn.manual_seed(0)
    u = gn.rand(2000)
    assert u.dtype is gn.float32 and u.shape == (2000,)
    values = u.numpy()
    assert values.min() >= 0.0 and values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.05
    n = gn.randn(50, 40)
    assert n.dtype is gn.float32 and n.shape == (50, 40)
    assert abs(n.numpy().mean()) < 0.1 and abs(n.numpy().std() - 1.0) < 0.1
    assert gn.rand((3, 2)).shape == (3, 2)
    assert gn.randn(2, dtype=gn.float64).dtype is gn.float64
    assert gn.randn(2, dtype=gn.float16).dtype is gn.float16
    assert gn.rand(3, requires_grad=True).requires_grad


def test_randint():
    gn.manual_seed(1)
    r = gn.randint(3, 7, (1000,))
    assert r.dtype is gn.int64 and r.shape == (1000,)
    assert set(r.tolist()) == {3, 4, 5, 6}
    assert set(gn.randint(4, (500,)).tolist()) == {0, 1, 2, 3}
    assert gn.randint(0, 2, (2, 3), dtype=gn.int32).dtype is gn.int32
    assert gn.randint(10, size=(4,)).shape == (4,)


def test_randperm_is_a_permutation():
    p = gn.randperm(20)
    assert p.dtype is gn.int64
    assert sorted(p.tolist()) == list(range(20))


@pytest.mark.parametrize("draw", [lambda: gn.rand(5), lambda: gn.randn(2, 3),
                                  lambda: gn.randint(0, 1000, (6,)), lambda: gn.randperm(10)])
def test_manual_seed_reproduces_and_different_seeds_differ(draw):
    gn.manual_seed(123)
    first = draw().tolist()
    gn.manual_seed(123)
    assert draw().tolist() == first
    gn.manual_seed(124)
    assert draw().tolist() != first


def test_rng_state_round_trip():
    gn.manual_seed(5)
    state = gn.get_rng_state()
    a = gn.randn(4).tolist()
    gn.set_rng_state(state)
    assert gn.randn(4).tolist() == a
    with pytest.raises(ValueError, match="out of range"):
        gn.manual_seed(2**64)  # PyTorch's range is [-2**63, 2**64): -1 is a seed


# ----- from_numpy -----------------------------------------------------------------------------

def test_from_numpy_shares_memory_and_keeps_dtype():
    array = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = gn.from_numpy(array)
    assert t.dtype is gn.float64
    array[0, 0] = 10.0
    assert t[0, 0].item() == 10.0
    t.numpy()[1, 1] = -1.0
    assert array[1, 1] == -1.0
    assert gn.from_numpy(np.arange(3, dtype=np.int32)).dtype is gn.int32
    with pytest.raises(TypeError, match="NumPy array"):
        gn.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype"):
        gn.from_numpy(np.array(["a"]))


# ----- dtypes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("g_dtype,t_dtype,np_dtype", DTYPES)
def test_dtype_objects(g_dtype, t_dtype, np_dtype):
    assert repr(g_dtype) == repr(t_dtype).replace("torch", "ganglion")
    assert g_dtype.is_floating_point == t_dtype.is_floating_point
    assert g_dtype.itemsize == t_dtype.itemsize
    t = gn.zeros(2, dtype=g_dtype)
    assert t.dtype is g_dtype and t.numpy().dtype == np.dtype(np_dtype)
    assert t.is_floating_point() == g_dtype.is_floating_point


def test_result_type_matches_torch_promotion():
    from ganglion.core.dtypes import result_type
    pairs = DTYPES + [(gn.int16, torch.int16, np.int16)]
    to_gn = {t: g for g, t, _ in pairs}
    mismatches = []
    for (ga, ta, _), (gb, tb, _) in [(a, b) for a in pairs for b in pairs]:
        for sa, sb in (((2,), (2,)), ((), (2,)), ((2,), ()), ((), ())):
            got = result_type(gn.zeros(sa, dtype=ga), gn.zeros(sb, dtype=gb))
            want = to_gn[torch.result_type(torch.zeros(sa, dtype=ta), torch.zeros(sb, dtype=tb))]
            if got is not want:
                mismatches.append(f"{ga}{sa} + {gb}{sb}: {got} != {want}")
    for g, t, _ in pairs:
        for shape in ((2,), ()):
            for scalar in (True, 3, 2.5):
                got = result_type(gn.zeros(shape, dtype=g), scalar)
                want = to_gn[torch.result_type(torch.zeros(shape, dtype=t), scalar)]
                if got is not want:
                    mismatches.append(f"{g}{shape} + {scalar!r}: {got} != {want}")
    assert not mismatches, "\n".join(mismatches)


def test_zero_dim_tensor_of_higher_category_keeps_its_dtype():
    out = gn.tensor([1, 2], dtype=gn.int32) + gn.tensor(1.5, dtype=gn.float64)
    assert_like_torch(out, torch.tensor([1, 2], dtype=torch.int32) + torch.tensor(1.5, dtype=torch.float64))


def test_default_dtype():
    assert gn.get_default_dtype() is gn.float32
    gn.set_default_dtype(gn.float64)
    try:
        assert gn.tensor([1.5]).dtype is gn.float64
        assert gn.zeros(2).dtype is gn.float64
        assert "dtype" not in repr(gn.tensor([1.5]))
    finally:
        gn.set_default_dtype(gn.float32)
    assert gn.tensor([1.5]).dtype is gn.float32
    with pytest.raises(TypeError, match="floating"):
        gn.set_default_dtype(gn.int64)


# ----- attributes -----------------------------------------------------------------------------

def test_size_of_missing_dimension():
    for dim in (2, -3):
        with pytest.raises(IndexError, match=f"dimension {dim} is out of range for a tensor of 2"):
            gn.zeros(2, 3).size(dim)
        with pytest.raises(IndexError):
            torch.zeros(2, 3).size(dim)
    with pytest.raises(IndexError, match="0 dimensions"):
        gn.tensor(1.0).size(0)


def test_shape_ndim_size_numel():
    t = gn.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4)
    assert (t.size(0), t.size(1), t.size(-1)) == (2, 3, 4)
    assert t.numel() == 24
    scalar = gn.tensor(5.0)
    assert scalar.shape == () and scalar.ndim == 0 and scalar.numel() == 1
    assert gn.zeros(0, 3).numel() == 0


def test_device():
    t = gn.zeros(2)
    assert t.device == "cpu" and str(t.device) == "cpu"
    assert t.device == gn.device("cpu")
    assert gn.device("cpu").type == "cpu"
    assert repr(gn.device("cpu")) == repr(torch.device("cpu"))
    for spec in ("cuda", "cuda:0"):
        # A device is a name, as in PyTorch: it is placing tensors on it that fails.
        assert str(gn.device(spec)) == spec
        with pytest.raises(ValueError, match=f"device '{spec}' is not available"):
            gn.zeros(2, device=spec)
    with pytest.raises(ValueError, match="cuda"):
        gn.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="cuda"):
        t.to("cuda")
    assert t.to("cpu") is t and t.cpu() is t


def test_numpy_item_tolist():
    t = gn.tensor([[1.5, 2.0], [3.0, 4.0]])
    array = t.numpy()
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    np.testing.assert_array_equal(array, [[1.5, 2.0], [3.0, 4.0]])
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert gn.tensor(2.5).tolist() == 2.5
    item = gn.tensor([3.5]).item()
    assert item == 3.5 and type(item) is float
    assert type(gn.tensor(3).item()) is int
    assert gn.tensor(True).item() is True
    assert float(gn.tensor([2.5])) == 2.5 and int(gn.tensor(7)) == 7
    assert list(range(10))[gn.tensor(3)] == 3


def test_np_asarray():
    t = gn.tensor([[1, 2], [3, 4]], dtype=gn.int32)
    array = np.asarray(t)
    assert array.dtype == np.int32
    np.testing.assert_array_equal(array, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float64), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(np.array(gn.tensor([0.5])), [0.5])


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
def test_np_asarray_shares_and_np_array_copies_like_torch():
    for lib in (gn, torch):
        shared = lib.zeros(3)
        np.asarray(shared)[0] = 5.0
        copied = lib.zeros(3)
        np.array(copied)[0] = 5.0
        assert shared.tolist() == [5.0, 0.0, 0.0], lib.__name__
        assert copied.tolist() == [0.0, 0.0, 0.0], lib.__name__
    with pytest.raises(ValueError, match="copy"):
        np.array(gn.zeros(2), dtype=np.float64, copy=False)


@pytest.mark.parametrize("method,args,t_method", [
    ("float", (), "float"), ("double", (), "double"), ("long", (), "long"), ("int", (), "int"),
    ("bool", (), "bool"), ("half", (), "half"),
    ("to", (gn.float64,), ("to", torch.float64)), ("to", (gn.int8,), ("to", torch.int8)),
    ("to", ("cpu", gn.float16), ("to", "cpu", torch.float16)),
])
def test_conversions_match_torch(method, args, t_method):
    data = [[-1.7, 0.0, 2.5], [3.2, -0.4, 1.0]]
    g = getattr(gn.tensor(data), method)(*args)
    if isinstance(t_method, tuple):
        t = getattr(torch.tensor(data), t_method[0])(*t_method[1:])
    else:
        t = getattr(torch.tensor(data), t_method)()
    assert_like_torch(g, t)


def test_astype_and_to_forms():
    t = gn.tensor([1.7, -2.2])
    assert t.astype(gn.int32).tolist() == [1, -2]
    assert t.astype("float64").dtype is gn.float64
    assert t.to(dtype=gn.float64).dtype is gn.float64
    assert t.to(gn.tensor([1], dtype=gn.int64)).dtype is gn.int64
    assert t.to(np.float64).dtype is gn.float64
    assert t.float() is t
    assert t.to(gn.float32, copy=True) is not t


def test_conversion_keeps_gradient_for_floats():
    x = gn.tensor([1.5, 2.5], requires_grad=True)
    y = x.double()
    assert y.dtype is gn.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype is gn.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 5.0])
    assert not x.long().requires_grad


def test_len_and_iteration():
    t = gn.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert [v.item() for v in gn.tensor([7, 8])] == [7, 8]
    with pytest.raises(TypeError, match="0-d"):
        len(gn.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(gn.tensor(1.0))


def test_bool_of_tensor():
    assert bool(gn.tensor([1.0])) and not bool(gn.tensor(0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(gn.tensor([1.0, 2.0]))


def test_tensors_are_not_pickled():
    import pickle
    with pytest.raises(TypeError, match="safetensors"):
        pickle.dumps(gn.zeros(2))


# ----- printing -------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda m: m.tensor([[1., 2.]], requires_grad=True),
    lambda m: m.tensor([1, 2]),
    lambda m: m.tensor([1.5, 2.0]),
    lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
    lambda m: m.tensor(2.0), lambda m: m.tensor(2.5), lambda m: m.tensor(-3),
    lambda m: m.tensor([True, False]), lambda m: m.tensor([True]),
    lambda m: m.tensor([[1.5, 2.0], [3.0, -4.25]]),
    lambda m: m.tensor([1e-5, 1.0]), lambda m: m.tensor([1e9, 1.5]), lambda m: m.tensor([1e10]),
    lambda m: m.tensor([1.0, 2000.0]), lambda m: m.tensor([float("nan"), 1.0]),
    lambda m: m.tensor([float("inf"), -2.5, 0.0]),
    lambda m: m.tensor([1, 2], dtype=m.int32), lambda m: m.tensor([1.0], dtype=m.float16),
    lambda m: m.tensor([]), lambda m: m.zeros(0, 3), lambda m: m.zeros(0, dtype=m.int64),
    lambda m: m.arange(2000.0), lambda m: m.arange(40).reshape(2, 20),
    lambda m: m.arange(3000).reshape(30, 100) * 1.5,
    lambda m: m.ones(2, 3, 4, dtype=m.float64, requires_grad=True),
], ids=lambda f: "")
def test_repr_matches_torch(make):
    assert repr(make(gn)) == repr(make(torch)).replace("torch.", "ganglion.")


def test_repr_exact_strings():
    assert repr(gn.tensor([[1., 2.]], requires_grad=True)) == "tensor([[1., 2.]], requires_grad=True)"
    assert repr(gn.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(gn.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
    assert repr(gn.tensor([1.0], dtype=gn.float64)) == "tensor([1.], dtype=ganglion.float64)"
    assert str(gn.tensor([1, 2])) == "tensor([1, 2])"


def test_repr_of_non_leaf_names_grad_fn():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    text = repr((x + 1).double())
    assert text.startswith("tensor([2., 3.], dtype=ganglion.float64, grad_fn=<")
    assert "requires_grad" not in text
    with gn.no_grad():
        assert repr(x * 2) == "tensor([2., 4.])"


def test_deepcopy_copies_memory_and_keeps_class_and_ties():
    import copy
    import ganglion.nn as nn
    layer = nn.BatchNorm1d(3)
    clone = copy.deepcopy(layer)
    assert type(clone.weight) is nn.Parameter and clone.weight.requires_grad
    clone.running_mean.data[0] = 5.0
    assert layer.running_mean[0].item() == 0.0
    shared = nn.Parameter(gn.ones(2))
    pair = copy.deepcopy([shared, shared])
    assert pair[0] is pair[1] and pair[0] is not shared
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        copy.deepcopy(shared * 2)
