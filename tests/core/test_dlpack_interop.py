"""Arrays across frameworks (issue 17): DLPack (``Tensor.__dlpack__``, ``__dlpack_device__``,
``ganglion.from_dlpack``), ``Tensor.numpy()`` / ``__array__`` and ``ganglion.from_numpy``.

Each pair (ganglion <-> NumPy, ganglion <-> PyTorch, both directions) must share memory: a write
through one side is seen through the other. PyTorch's rules are the reference (numpy() of a
tensor that requires grad raises, export of one is refused), except for read-only memory, which
PyTorch cannot represent: ganglion keeps it read-only (see ganglion/core/dlpack.py).
"""
import gc
import warnings

import numpy as np
import pytest
import torch
import torch.utils.dlpack

import ganglion as gn
from bad_inputs import BadInput, bad_input_test

DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
          np.float64]


def _values(dtype, shape=(2, 3)):
    return (np.arange(int(np.prod(shape))).reshape(shape) % 2 == 1).astype(dtype) \
        if dtype is np.bool_ else np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


def _read_only(array):
    array.flags.writeable = False
    return array


# ----- ganglion <-> NumPy ---------------------------------------------------------------------
def test_from_numpy_shares_memory_both_ways():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gn.from_numpy(array)
    t[0, 1] = 50.0           # ganglion -> NumPy
    t.add_(1.0)
    array[1, 2] = -7.0       # NumPy -> ganglion
    np.testing.assert_array_equal(array, [[1, 51, 3], [4, 5, -7]])
    np.testing.assert_array_equal(t.tolist(), array)
    assert t.data_ptr() == array.ctypes.data


def test_numpy_and_asarray_share_memory_and_array_copies():
    t = gn.arange(6).reshape(2, 3)
    shared, asarray, copied = t.numpy(), np.asarray(t), np.array(t)
    shared[0, 0] = 10
    asarray[1, 1] = 20
    t[1, 2] = 30
    assert t.tolist() == [[10, 1, 2], [3, 20, 30]]
    assert shared.tolist() == asarray.tolist() == t.tolist()
    assert copied.tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_dlpack_round_trip_keeps_dtype_and_shares(dtype):
    array = _values(dtype)
    t = gn.from_dlpack(array)
    assert t.dtype.np == np.dtype(dtype) and t.shape == (2, 3)
    back = np.from_dlpack(t)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)
    flipped = np.logical_not(array[0, 0]) if dtype is np.bool_ else dtype(9)
    t[0, 0] = flipped.item()
    assert back[0, 0] == array[0, 0] == flipped
    back[1, 1] = array[1, 0]
    assert t[1, 1].item() == array[1, 0].item()


def test_zero_dim_tensors_share_memory():
    array = np.array(2.5)
    t = gn.from_dlpack(array)
    assert t.shape == () and t.item() == 2.5
    t.fill_(4.0)
    assert array.item() == 4.0
    torch_view = torch.from_dlpack(t)
    assert torch_view.shape == () and torch_view.item() == 4.0
    torch_view.fill_(-1.0)
    assert t.item() == array.item() == -1.0
    back = gn.from_dlpack(torch.tensor(True))
    assert back.dtype is gn.bool_ and back.shape == () and back.item() is True


def test_from_numpy_and_from_dlpack_of_non_contiguous_views():
    base = np.arange(24.0).reshape(4, 6)
    view = base[1::2, ::3].T           # transposed and strided, shape (2, 2)
    for t in (gn.from_numpy(view), gn.from_dlpack(view)):
        assert t.tolist() == view.tolist()
        t[1, 0] = -1.0
        assert base[1, 3] == -1.0
        base[3, 0] = -2.0
        assert t[0, 1].item() == -2.0


# ----- ganglion <-> PyTorch --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_torch_from_dlpack_of_ganglion_shares_memory(dtype):
    t = gn.from_numpy(_values(dtype))
    shared = torch.from_dlpack(t)
    assert shared.dtype == torch.from_numpy(_values(dtype)).dtype
    assert shared.data_ptr() == t.data_ptr()
    np.testing.assert_array_equal(shared.numpy(), t.numpy())
    shared[0, 0] = shared[0, 1]        # PyTorch -> ganglion
    assert t[0, 0].item() == t[0, 1].item()
    t[1, 2] = t[1, 0]                  # ganglion -> PyTorch
    assert shared[1, 2].item() == shared[1, 0].item()


@pytest.mark.parametrize("dtype", [torch.bool, torch.uint8, torch.int32, torch.int64,
                                   torch.float16, torch.float32, torch.float64],
                         ids=str)
def test_ganglion_from_dlpack_of_torch_shares_memory(dtype):
    source = torch.arange(6).reshape(2, 3).to(dtype)
    t = gn.from_dlpack(source)
    assert t.dtype.np == source.numpy().dtype and t.data_ptr() == source.data_ptr()
    source[0, 2] = source[0, 1]        # PyTorch -> ganglion
    assert t[0, 2].item() == t[0, 1].item()
    t[1, 0] = t[0, 0].item()           # ganglion -> PyTorch
    assert source[1, 0].item() == source[0, 0].item()


def test_non_contiguous_views_cross_to_torch_and_back_with_their_strides():
    t = gn.arange(24.0).reshape(4, 6)
    view = t[::2, 1::2].t()            # ganglion's view: shape (3, 2), non-contiguous
    shared = torch.from_dlpack(view)
    assert shared.shape == (3, 2) and not shared.is_contiguous()
    assert shared.tolist() == view.tolist()
    shared[2, 1] = 100.0
    assert t[2, 5].item() == 100.0

    source = torch.arange(24.0).reshape(4, 6)
    torch_view = source[1:, ::2].t()   # PyTorch's view: shape (3, 3)
    g = gn.from_dlpack(torch_view)
    assert g.tolist() == torch_view.tolist()
    g[0, 2] = -5.0
    assert source[3, 0].item() == -5.0


def test_flipped_view_is_exported_as_a_copy_and_copy_false_refuses():
    # A negative stride (flip's view) would abort the process in PyTorch's importer, so
    # ganglion exports a contiguous copy when copying is allowed.
    t = gn.arange(5.0)
    flipped = gn.flip(t, [0])
    assert flipped.numpy().strides[0] < 0
    exported = torch.from_dlpack(flipped)
    assert exported.tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    exported[0] = 99.0
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(BufferError, match="negative stride.*copy=False"):
        flipped.__dlpack__(max_version=(1, 0), copy=False)
    assert gn.from_dlpack(flipped).data_ptr() == flipped.data_ptr()  # ganglion to ganglion shares


def test_legacy_capsule_from_torch_utils_dlpack():
    # A DLPack 0.x capsule cannot say whether its memory may be written, so NumPy (which holds
    # ganglion's values) imports it read-only: shared, changes seen, writes refused.
    source = torch.arange(4.0)
    t = gn.from_dlpack(torch.utils.dlpack.to_dlpack(source))
    source[0] = 8.0
    assert t.tolist() == [8.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="setitem: .*read-only"):
        t[1] = 5.0
    assert source.tolist() == [8.0, 1.0, 2.0, 3.0]
    # Versioned and unversioned capsules: what the consumer asked for.
    writable = gn.arange(2.0)
    assert '"dltensor_versioned"' in repr(writable.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(writable.__dlpack__())


def test_views_keep_the_memory_alive_after_the_original_is_deleted():
    t = gn.arange(8.0)
    view = t[2:6]
    del t
    shared = torch.from_dlpack(view)
    del view
    gc.collect()
    assert shared.tolist() == [2.0, 3.0, 4.0, 5.0]

    source = torch.arange(8.0)
    g = gn.from_dlpack(source[4:])
    del source
    gc.collect()
    assert g.tolist() == [4.0, 5.0, 6.0, 7.0]
    g.mul_(2.0)
    assert g.tolist() == [8.0, 10.0, 12.0, 14.0]


def test_dlpack_device_is_the_cpu_as_torch_says():
    assert gn.ones(2).__dlpack_device__() == (1, 0) == torch.ones(2).__dlpack_device__()


def test_copy_argument_of_from_dlpack():
    source = np.arange(3.0)
    copied = gn.from_dlpack(source, copy=True)
    copied[0] = 5.0
    assert source[0] == 0.0
    shared = gn.from_dlpack(source, copy=False, device="cpu")
    shared[0] = 6.0
    assert source[0] == 6.0
    g = gn.arange(3.0)
    assert gn.from_dlpack(g, copy=True).data_ptr() != g.data_ptr()


def test_jax_round_trip_where_installed():
    jnp = pytest.importorskip("jax.numpy", reason="JAX is not installed: the JAX pair is untested")
    t = gn.from_dlpack(jnp.arange(4.0, dtype=jnp.float32))
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert jnp.from_dlpack(gn.arange(3.0)).tolist() == [0.0, 1.0, 2.0]


# ----- PyTorch's rules: grad, symbolic tensors -------------------------------------------------
def test_tensor_that_requires_grad_is_refused_as_in_pytorch():
    w = gn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as ours:
        w.numpy()
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(3, requires_grad=True).numpy()
    assert str(ours.value) == str(theirs.value) == (
        "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
    with pytest.raises(BufferError, match="require gradient"):
        torch.from_dlpack(w)
    with pytest.raises(BufferError, match="from_dlpack.*require gradient"):
        gn.from_dlpack(w)
    forced = w.numpy(force=True)
    detached = torch.from_dlpack(w.detach())
    forced[0] = 3.0
    assert detached[0].item() == 3.0 and w[0].item() == 3.0


def test_symbolic_tensor_has_no_memory_to_share():
    x = gn.placeholder(shape=(None, 3), name="x")
    with pytest.raises(RuntimeError, match="numpy.*'x' is symbolic"):
        x.numpy()
    with pytest.raises(BufferError, match="__dlpack__.*'x' is symbolic"):
        x.__dlpack__()
    with pytest.raises(BufferError, match="from_dlpack.*'x' is symbolic"):
        gn.from_dlpack(x)


# ----- read-only memory stays read-only ------------------------------------------------------
WRITES = {
    "setitem": lambda t: t.__setitem__(0, 9.0),
    "add_": lambda t: t.add_(1.0),
    "iadd": lambda t: t.__iadd__(1.0),
    "copy_": lambda t: t.copy_(gn.ones(3, dtype=gn.float64)),
    "data": lambda t: t.data.__setitem__(1, 9.0),
    "view": lambda t: t[1:].zero_(),
    "numpy": lambda t: t.numpy().__setitem__(0, 9.0),
}


@pytest.mark.parametrize("route", ["from_numpy", "from_dlpack", "as_tensor"])
@pytest.mark.parametrize("write", WRITES, ids=str)
def test_writes_into_a_read_only_numpy_source_raise(route, write):
    source = _read_only(np.arange(3.0))
    t = getattr(gn, route)(source)
    assert t.data_ptr() == source.ctypes.data  # shared, not copied
    with pytest.raises(ValueError, match="read-only"):
        WRITES[write](t)
    assert source.tolist() == [0.0, 1.0, 2.0]


def test_read_only_memory_stays_read_only_through_exports():
    source = _read_only(np.arange(3.0))
    t = gn.from_numpy(source)
    assert not np.from_dlpack(t).flags.writeable
    assert not np.asarray(t).flags.writeable
    assert not gn.from_dlpack(t).numpy().flags.writeable
    # An unversioned (DLPack 0.x) capsule cannot carry the read-only flag: refused, as NumPy does.
    with pytest.raises(BufferError, match="readonly"):
        t.__dlpack__()


def test_pytorch_shares_read_only_numpy_memory_with_a_warning_ganglion_without():
    # The reference behaviour: PyTorch shares and warns that writes would be undefined;
    # ganglion shares and refuses the writes, so it has nothing to warn about.
    source = _read_only(np.arange(3.0))
    with pytest.warns(UserWarning, match="not writable"):
        torch.from_numpy(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gn.from_numpy(source).data_ptr() == source.ctypes.data


# ----- bad inputs ------------------------------------------------------------------------------
test_bad_input = bad_input_test([
    BadInput("from_dlpack of a list", lambda: gn.from_dlpack([1, 2]), TypeError,
             ["from_dlpack", "list", "__dlpack__"]),
    BadInput("from_dlpack of bfloat16", lambda: gn.from_dlpack(torch.ones(2, dtype=torch.bfloat16)),
             TypeError, ["from_dlpack", "dtype", "float()"]),
    BadInput("from_dlpack of complex64", lambda: gn.from_dlpack(np.ones(2, dtype=np.complex64)),
             TypeError, ["from_dlpack", "complex64"]),
    BadInput("from_dlpack to a GPU", lambda: gn.from_dlpack(np.ones(2), device="cuda"),
             RuntimeError, ["from_dlpack", "cuda"]),
    BadInput("from_dlpack copy of a capsule",
             lambda: gn.from_dlpack(np.ones(2).__dlpack__(), copy=True), ValueError,
             ["from_dlpack", "capsule", "copy"]),
    BadInput("numpy of a tensor that requires grad", lambda: gn.ones(2, requires_grad=True).numpy(),
             RuntimeError, ["numpy()", "requires grad", "detach()"]),
])
