"""PyTorch's dtype surface against PyTorch itself: the second names (``float``, ``long``, ...),
the legacy tensor types (``FloatTensor([1, 2])``, ``isinstance(x, LongTensor)``), their type
names (``legacy_name``, ``from_legacy_name``, ``typename``), ``Tensor.float()`` & co., the
default dtype, ``is_floating_point``, and ``finfo`` / ``iinfo``.

Bad calls are rows of the shared table; ``TORCH`` gives the same call in PyTorch, and
``test_same_exception_type_as_pytorch`` checks ganglion's exception is an instance of PyTorch's.
"""
import numpy as np
import pytest
import torch
from bad_inputs import BadInput, bad_input_test, same_exception_as_torch_test

import ganglion as gn
from ganglion.core import dtypes

DTYPE_PAIRS = [(gn.float16, torch.float16), (gn.float32, torch.float32), (gn.float64, torch.float64),
               (gn.int8, torch.int8), (gn.int16, torch.int16), (gn.int32, torch.int32),
               (gn.int64, torch.int64), (gn.uint8, torch.uint8), (gn.bool, torch.bool)]
LEGACY_NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
                "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]


def _same_dtype(ours, theirs):
    return str(theirs) == f"torch.{ours.name}"


@pytest.mark.parametrize("name", ["float", "double", "long", "int", "half", "bool", "short",
                                  "uint8", "int8", "float32"])
def test_alias_is_the_same_dtype_as_in_pytorch(name):
    assert _same_dtype(getattr(gn, name), getattr(torch, name))


def test_aliases_are_the_canonical_objects():
    assert gn.float is gn.float32 and gn.double is gn.float64 and gn.half is gn.float16
    assert gn.long is gn.int64 and gn.int is gn.int32 and gn.short is gn.int16
    assert gn.tensor([1, 2], dtype=gn.long).dtype is gn.int64
    assert gn.zeros(2).to(gn.double).dtype is gn.float64
    # ganglion has no complex dtypes: no cfloat/complex64 to alias.
    assert not hasattr(gn, "cfloat") and not hasattr(gn, "complex64")


@pytest.mark.parametrize("ours,theirs", DTYPE_PAIRS, ids=[d.name for d, _ in DTYPE_PAIRS])
def test_dtype_properties_as_pytorch(ours, theirs):
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.itemsize == theirs.itemsize
    assert ours.is_signed == theirs.is_signed
    assert ours.is_complex == theirs.is_complex
    # The legacy type name is PyTorch's own string, as Tensor.type() gives it there.
    assert ours.legacy_name == torch.zeros(1, dtype=theirs).type()
    assert dtypes.from_legacy_name(ours.legacy_name) is ours
    assert dtypes.from_legacy_name(ours.legacy_name.replace("torch.", "ganglion.")) is ours


@pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "short", "char",
                                    "byte", "bool"])
def test_conversion_methods_as_pytorch(method):
    values = [[-1.5, 0.0], [2.7, 300.0]]
    ours = getattr(gn.tensor(values), method)()
    theirs = getattr(torch.tensor(values), method)()
    assert _same_dtype(ours.dtype, theirs.dtype)
    if method not in ("byte", "char"):  # 300 and -1.5 wrap differently in the C++ and NumPy casts
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", LEGACY_NAMES)
def test_legacy_constructor_from_data(name):
    for data in ([1, 0, 2], [[1.7, 2.0]], (3, 1), [], np.array([1, 2])):
        ours, theirs = getattr(gn, name)(data), getattr(torch, name)(data)
        assert _same_dtype(ours.dtype, theirs.dtype), (name, data)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert type(ours) is gn.Tensor  # a plain Tensor, as PyTorch's is a plain torch.Tensor


@pytest.mark.parametrize("name", LEGACY_NAMES)
def test_legacy_constructor_from_sizes(name):
    for sizes in ((2, 3), (4,), (0, 2), (np.int64(3),)):
        ours, theirs = getattr(gn, name)(*sizes), getattr(torch, name)(*sizes)
        assert tuple(ours.shape) == tuple(theirs.shape) and _same_dtype(ours.dtype, theirs.dtype)
        assert not ours.numpy().any()  # zeros (PyTorch leaves them uninitialised)
    assert tuple(getattr(gn, name)().shape) == tuple(getattr(torch, name)().shape) == (0,)
    # A Size means sizes, a tuple means values, as in PyTorch.
    assert tuple(getattr(gn, name)(gn.zeros(2, 3).shape).shape) == (2, 3)
    assert tuple(getattr(gn, name)((2, 3)).shape) == (2,)
    assert tuple(getattr(gn, name)(2, device="cpu").shape) == (2,)


def test_legacy_constructor_of_a_tensor_shares_memory():
    x = gn.tensor([1.0, 2.0])
    y = gn.FloatTensor(x)
    y[0] = 5.0
    assert x.tolist() == [5.0, 2.0]


@pytest.mark.parametrize("ours,theirs", DTYPE_PAIRS, ids=[d.name for d, _ in DTYPE_PAIRS])
def test_isinstance_of_legacy_types_as_pytorch(ours, theirs):
    x, t = gn.zeros(2, dtype=ours), torch.zeros(2, dtype=theirs)
    for name in LEGACY_NAMES:
        assert isinstance(x, getattr(gn, name)) == isinstance(t, getattr(torch, name)), name
    assert isinstance(x, gn.Tensor)
    assert not isinstance(3, gn.FloatTensor) and not isinstance(np.zeros(2), gn.FloatTensor)
    assert not issubclass(gn.FloatTensor, gn.Tensor)  # as in PyTorch
    assert gn.typename(x) == torch.typename(t)


@pytest.mark.parametrize("name", LEGACY_NAMES)
def test_cuda_legacy_types_exist_and_hold_nothing(name):
    ours, theirs = getattr(gn.cuda, name), getattr(torch.cuda, name)
    assert _same_dtype(ours.dtype, theirs.dtype) and ours.__name__ == theirs.__name__
    assert isinstance(gn.zeros(1, dtype=ours.dtype), ours) is False
    assert isinstance(torch.zeros(1, dtype=theirs.dtype), theirs) is False
    with pytest.raises(TypeError, match=f"cuda.{name}.*not available.*'cpu'"):
        ours([1])
    # The idiom of old scripts: pick the type by what is available.
    chosen = getattr(gn.cuda if gn.cuda.is_available() else gn, name)
    assert chosen([1]).dtype is ours.dtype


def test_typename_of_other_objects_as_pytorch():
    for ours, theirs in ((3, 3), ([1], [1]), ("a", "a"), (None, None)):
        assert gn.typename(ours) == torch.typename(theirs)
    assert gn.typename(gn.nn.Linear(1, 1)) == f"{gn.nn.Linear.__module__}.Linear"
    assert gn.FloatTensor.dtype is gn.float32 and gn.FloatTensor.__name__ == "FloatTensor"


def test_default_dtype_round_trip():
    assert _same_dtype(gn.get_default_dtype(), torch.get_default_dtype())
    try:
        gn.set_default_dtype(gn.double)
        assert gn.get_default_dtype() is gn.float64
        assert gn.tensor([1.5]).dtype is gn.float64 and gn.zeros(2).dtype is gn.float64
        assert gn.finfo().dtype == "float64"
    finally:
        gn.set_default_dtype(gn.float32)
    assert gn.tensor([1.5]).dtype is gn.float32


def test_set_default_tensor_type_as_pytorch():
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            gn.set_default_tensor_type(gn.DoubleTensor)
        assert gn.get_default_dtype() is gn.float64 and gn.tensor([0.5]).dtype is gn.float64
        with pytest.warns(UserWarning):
            gn.set_default_tensor_type("torch.HalfTensor")
        assert gn.get_default_dtype() is gn.float16
    finally:
        gn.set_default_dtype(gn.float32)


def test_is_complex_as_pytorch():
    for ours, theirs in DTYPE_PAIRS:
        x, t = gn.zeros(1, dtype=ours), torch.zeros(1, dtype=theirs)
        assert gn.is_complex(x) is torch.is_complex(t) is False
        assert x.is_complex() is t.is_complex() is False


def test_is_floating_point_as_pytorch():
    for ours, theirs in DTYPE_PAIRS:
        x, t = gn.zeros(1, dtype=ours), torch.zeros(1, dtype=theirs)
        assert gn.is_floating_point(x) == torch.is_floating_point(t) == x.is_floating_point()
    assert gn.is_floating_point(input=gn.zeros(1))


@pytest.mark.parametrize("ours,theirs", DTYPE_PAIRS[:3], ids=["float16", "float32", "float64"])
def test_finfo_as_pytorch(ours, theirs):
    mine, reference = gn.finfo(ours), torch.finfo(theirs)
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(mine, field) == getattr(reference, field), field
        assert type(getattr(mine, field)) is type(getattr(reference, field)), field
    assert repr(mine) == repr(reference)
    assert mine == gn.finfo(ours) and mine != gn.finfo(gn.float64 if ours is not gn.float64
                                                       else gn.float32)


def test_finfo_default_is_the_default_dtype():
    assert repr(gn.finfo()) == repr(torch.finfo())


@pytest.mark.parametrize("ours,theirs", DTYPE_PAIRS[3:8], ids=[d.name for d, _ in DTYPE_PAIRS[3:8]])
def test_iinfo_as_pytorch(ours, theirs):
    mine, reference = gn.iinfo(ours), torch.iinfo(theirs)
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(mine, field) == getattr(reference, field), field
        assert type(getattr(mine, field)) is type(getattr(reference, field)), field
    assert repr(mine) == repr(reference)


CASES = [
    BadInput("legacy type name unknown", lambda: dtypes.from_legacy_name("torch.Foo"), ValueError,
             ["invalid type", "torch.Foo", "torch.FloatTensor"]),
    BadInput("legacy type name not a string", lambda: dtypes.from_legacy_name(3), ValueError,
             ["invalid type", "3"]),
    BadInput("legacy type name on cuda", lambda: dtypes.from_legacy_name("torch.cuda.FloatTensor"),
             RuntimeError, ["torch.cuda.FloatTensor", "not available", "'cpu'"]),
    BadInput("cuda.FloatTensor call", lambda: gn.cuda.FloatTensor([1, 2]), TypeError,
             ["cuda.FloatTensor", "not available", "ganglion.FloatTensor"]),
    BadInput("FloatTensor of a float", lambda: gn.FloatTensor(2.5), TypeError,
             ["FloatTensor", "2.5", "sequence"]),
    BadInput("FloatTensor of a string", lambda: gn.FloatTensor("a"), TypeError,
             ["FloatTensor", "'a'", "str"]),
    BadInput("FloatTensor negative size", lambda: gn.FloatTensor(-1), RuntimeError,
             ["FloatTensor", "(-1,)", "non-negative"]),
    BadInput("FloatTensor of a LongTensor", lambda: gn.FloatTensor(gn.tensor([1, 2])), TypeError,
             ["FloatTensor", "float32", "int64"]),
    BadInput("FloatTensor data and a size", lambda: gn.FloatTensor([1, 2], 3), TypeError,
             ["FloatTensor", "list", "int"]),
    BadInput("FloatTensor size and a float", lambda: gn.FloatTensor(2, 3.0), TypeError,
             ["FloatTensor", "float"]),
    BadInput("FloatTensor dtype keyword", lambda: gn.FloatTensor([1], dtype=gn.float), TypeError,
             ["dtype"]),
    BadInput("LongTensor on cuda", lambda: gn.LongTensor(2, device="cuda"), RuntimeError,
             ["LongTensor", "'cuda'", "not available", "'cpu'"]),
    BadInput("set_default_dtype integer", lambda: gn.set_default_dtype(gn.int64), TypeError,
             ["set_default_dtype", "floating", "int64"], unchanged=lambda: gn.get_default_dtype().name),
    BadInput("is_floating_point of a float", lambda: gn.is_floating_point(3.0), TypeError,
             ["is_floating_point", "Tensor", "float"]),
    BadInput("is_complex of an int", lambda: gn.is_complex(3), TypeError,
             ["is_complex", "Tensor", "int"]),
    BadInput("set_default_tensor_type integer", lambda: gn.set_default_tensor_type(gn.LongTensor),
             TypeError, ["set_default_tensor_type", "floating", "int64"],
             unchanged=lambda: gn.get_default_dtype().name),
    BadInput("set_default_tensor_type number", lambda: gn.set_default_tensor_type(3), TypeError,
             ["set_default_tensor_type", "legacy tensor type", "3"],
             unchanged=lambda: gn.get_default_dtype().name),
    BadInput("set_default_tensor_type cuda", lambda: gn.set_default_tensor_type(gn.cuda.FloatTensor),
             TypeError, ["cuda.FloatTensor", "not available"],
             unchanged=lambda: gn.get_default_dtype().name),
    BadInput("set_default_tensor_type unknown name", lambda: gn.set_default_tensor_type("torch.Foo"),
             ValueError, ["invalid type", "torch.Foo"], unchanged=lambda: gn.get_default_dtype().name),
    BadInput("finfo of an integer dtype", lambda: gn.finfo(gn.int32), TypeError,
             ["finfo", "floating", "int32", "iinfo"]),
    BadInput("finfo of a name", lambda: gn.finfo("float32"), TypeError,
             ["finfo", "dtype", "str"]),
    BadInput("iinfo of a float dtype", lambda: gn.iinfo(gn.float32), TypeError,
             ["iinfo", "integer", "float32", "finfo"]),
    BadInput("iinfo of bool", lambda: gn.iinfo(gn.bool), TypeError, ["iinfo", "bool"]),
    BadInput("iinfo without a dtype", lambda: gn.iinfo(), TypeError, ["type"]),
]
test_bad_input = bad_input_test(CASES)

TORCH = {
    "legacy type name unknown": lambda: torch.zeros(1).type("torch.Foo"),
    "legacy type name on cuda": lambda: torch.zeros(1).type("torch.cuda.FloatTensor"),
    "cuda.FloatTensor call": lambda: torch.cuda.FloatTensor([1, 2]),
    "FloatTensor of a float": lambda: torch.FloatTensor(2.5),
    "FloatTensor of a string": lambda: torch.FloatTensor("a"),
    "FloatTensor negative size": lambda: torch.FloatTensor(-1),
    "FloatTensor of a LongTensor": lambda: torch.FloatTensor(torch.tensor([1, 2])),
    "FloatTensor data and a size": lambda: torch.FloatTensor([1, 2], 3),
    "FloatTensor size and a float": lambda: torch.FloatTensor(2, 3.0),
    "FloatTensor dtype keyword": lambda: torch.FloatTensor([1], dtype=torch.float),
    "set_default_dtype integer": lambda: torch.set_default_dtype(torch.int64),
    "is_floating_point of a float": lambda: torch.is_floating_point(3.0),
    "is_complex of an int": lambda: torch.is_complex(3),
    "set_default_tensor_type integer": lambda: torch.set_default_tensor_type(torch.LongTensor),
    "set_default_tensor_type number": lambda: torch.set_default_tensor_type(3),
    "set_default_tensor_type cuda": lambda: torch.set_default_tensor_type(torch.cuda.FloatTensor),
    "finfo of an integer dtype": lambda: torch.finfo(torch.int32),
    "finfo of a name": lambda: torch.finfo("float32"),
    "iinfo of a float dtype": lambda: torch.iinfo(torch.float32),
    "iinfo of bool": lambda: torch.iinfo(torch.bool),
    "iinfo without a dtype": lambda: torch.iinfo(),
}
# PyTorch warns before refusing set_default_tensor_type.
test_same_exception_type_as_pytorch = pytest.mark.filterwarnings(
    "ignore:.*set_default_tensor_type")(same_exception_as_torch_test(CASES, TORCH))
