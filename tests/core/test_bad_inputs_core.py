"""Bad inputs to tensor creation, shape ops, in-place fills and integer division: each row is one
wrong call, the exception it must raise and the words its message must name (the function, the
offending value, what was expected).

``TORCH`` gives, for most rows, the same call in PyTorch: ``test_same_exception_type_as_pytorch``
checks that ganglion's exception is an instance of the type PyTorch raises, so code written
against PyTorch catches ganglion's errors too.
"""
import numpy as np
import pytest
import torch
from bad_inputs import BadInput, bad_input_test, same_exception_as_torch_test

import ganglion as gn

NAN, INF = float("nan"), float("inf")


def _state(t):
    return t.detach().numpy().copy()


_ints = gn.tensor([4, 5, 6])


def _compiled_division():
    a, b = gn.placeholder(gn.int64, (None,), name="a"), gn.placeholder(gn.int64, (None,), name="b")
    return gn.function([a, b], a // b)
_fill_target = gn.ones(2, 3)

CASES = [
    # ----- creation: sizes ------------------------------------------------------------------
    BadInput("zeros negative", lambda: gn.zeros(-1), RuntimeError, ["zeros", "-1", "non-negative"]),
    BadInput("zeros float size", lambda: gn.zeros(2.5), TypeError, ["zeros", "2.5", "integers"]),
    BadInput("zeros string size", lambda: gn.zeros("a"), TypeError, ["zeros", "'a'", "integers"]),
    BadInput("zeros tuple negative", lambda: gn.zeros((2, -4)), RuntimeError, ["zeros", "(2, -4)", "-4"]),
    BadInput("ones negative", lambda: gn.ones(2, -1), RuntimeError, ["ones", "(2, -1)", "non-negative"]),
    BadInput("empty negative", lambda: gn.empty(-1), RuntimeError, ["empty", "-1", "non-negative"]),
    BadInput("full negative", lambda: gn.full((-1,), 1.0), RuntimeError, ["full", "-1", "non-negative"]),
    BadInput("full string value", lambda: gn.full((2,), "a"), TypeError, ["full", "fill_value", "'a'", "number"]),
    BadInput("full None value", lambda: gn.full((2,), None), TypeError, ["full", "fill_value", "None"]),
    BadInput("rand negative", lambda: gn.rand(-1), RuntimeError, ["rand", "-1", "non-negative"]),
    BadInput("randn negative", lambda: gn.randn(2, -3), RuntimeError, ["randn", "(2, -3)", "-3"]),
    BadInput("randn float size", lambda: gn.randn(2, 1.5), TypeError, ["randn", "1.5", "integers"]),
    BadInput("rand integer dtype", lambda: gn.rand(2, dtype="int64"), NotImplementedError,
             ["rand", "int64", "floating-point"]),
    BadInput("randn integer dtype", lambda: gn.randn(2, dtype="int64"), TypeError,
             ["randn", "int64", "floating-point"]),
    BadInput("randint low >= high", lambda: gn.randint(5, 2, (3,)), RuntimeError,
             ["randint", "low=5", "high=2", "low < high"]),
    BadInput("randint empty range", lambda: gn.randint(5, 5, (3,)), ValueError, ["randint", "low=5", "high=5"]),
    BadInput("randint high 0", lambda: gn.randint(0, (3,)), RuntimeError, ["randint", "high=0"]),
    BadInput("randint negative size", lambda: gn.randint(0, 5, (-1,)), RuntimeError, ["randint", "-1", "non-negative"]),
    BadInput("randint float bounds", lambda: gn.randint(0.5, 3.5, (2,)), TypeError, ["randint", "0.5", "integers"]),
    BadInput("randperm negative", lambda: gn.randperm(-1), RuntimeError, ["randperm", "-1", "non-negative"]),
    BadInput("eye negative", lambda: gn.eye(-1), RuntimeError, ["eye", "n", "-1", "non-negative"]),
    BadInput("eye negative columns", lambda: gn.eye(2, -1), RuntimeError, ["eye", "m", "-1", "non-negative"]),
    BadInput("eye float", lambda: gn.eye(2.5), TypeError, ["eye", "2.5", "integer"]),
    BadInput("arange zero step", lambda: gn.arange(0, 10, 0), RuntimeError, ["arange", "step", "nonzero", "0"]),
    BadInput("arange zero float step", lambda: gn.arange(0.0, 1.0, 0.0), ValueError, ["arange", "step", "nonzero"]),
    BadInput("arange negative step upward", lambda: gn.arange(0, 10, -1), RuntimeError,
             ["arange", "-1", "0", "10", "step sign"]),
    BadInput("arange positive step downward", lambda: gn.arange(10, 0, 1), RuntimeError,
             ["arange", "10", "step sign"]),
    BadInput("arange nan end", lambda: gn.arange(0, NAN), RuntimeError, ["arange", "nan", "finite"]),
    BadInput("arange inf end", lambda: gn.arange(0, INF), RuntimeError, ["arange", "inf", "finite"]),
    BadInput("arange nan step", lambda: gn.arange(0, 1, NAN), RuntimeError, ["arange", "nan", "finite"]),
    BadInput("arange string", lambda: gn.arange("a"), TypeError, ["arange", "'a'", "numbers"]),
    BadInput("linspace negative steps", lambda: gn.linspace(0, 1, -1), RuntimeError,
             ["linspace", "steps", "-1", "non-negative"]),
    BadInput("linspace float steps", lambda: gn.linspace(0, 1, 2.5), TypeError, ["linspace", "steps", "2.5", "integer"]),
    # ----- creation: *_like -----------------------------------------------------------------
    BadInput("zeros_like list", lambda: gn.zeros_like([1, 2]), TypeError, ["zeros_like", "Tensor", "list"]),
    BadInput("ones_like array", lambda: gn.ones_like(np.ones(2)), TypeError, ["ones_like", "Tensor", "ndarray"]),
    BadInput("empty_like list", lambda: gn.empty_like([1.0]), TypeError, ["empty_like", "Tensor", "list"]),
    BadInput("full_like list", lambda: gn.full_like([1.0], 2.0), TypeError, ["full_like", "Tensor", "list"]),
    BadInput("full_like string value", lambda: gn.full_like(gn.ones(2), "a"), TypeError,
             ["full_like", "fill_value", "'a'"]),
    BadInput("rand_like list", lambda: gn.rand_like([1.0]), TypeError, ["rand_like", "Tensor", "list"]),
    BadInput("rand_like integer", lambda: gn.rand_like(gn.ones(2, dtype="int64")), NotImplementedError,
             ["rand", "int64", "floating-point"]),
    BadInput("randn_like integer", lambda: gn.randn_like(gn.ones(2, dtype="int64")), NotImplementedError,
             ["randn", "int64", "floating-point"]),
    # ----- the global generator (its state must be left as it was) ---------------------------
    BadInput("manual_seed string", lambda: gn.manual_seed("a"), ValueError, ["manual_seed", "'a'", "integer"],
             unchanged=gn.get_rng_state),
    BadInput("manual_seed None", lambda: gn.manual_seed(None), TypeError, ["manual_seed", "None", "integer"],
             unchanged=gn.get_rng_state),
    BadInput("set_rng_state string", lambda: gn.set_rng_state("x"), TypeError,
             ["set_rng_state", "get_rng_state", "str"], unchanged=gn.get_rng_state),
    BadInput("set_rng_state foreign dict", lambda: gn.set_rng_state({"bit_generator": "MT19937"}), ValueError,
             ["set_rng_state", "PCG64"], unchanged=gn.get_rng_state),
    BadInput("set_rng_state broken state",
             lambda: gn.set_rng_state({"bit_generator": "PCG64", "state": {"state": "x"}}), ValueError,
             ["set_rng_state", "PCG64"], unchanged=gn.get_rng_state),
    # ----- tensor() data --------------------------------------------------------------------
    BadInput("tensor ragged", lambda: gn.tensor([[1, 2], [3]]), ValueError,
             ["tensor", "length 2", "dim 1", "got 1", "rectangular"]),
    BadInput("tensor ragged deep", lambda: gn.tensor([[[1], [2]], [[3]]]), ValueError,
             ["tensor", "length 2", "dim 1", "got 1"]),
    BadInput("tensor ragged innermost", lambda: gn.tensor([[1, 2], [3, 4, 5]]), ValueError,
             ["tensor", "length 2", "dim 1", "got 3"]),
    BadInput("tensor number beside list", lambda: gn.tensor([[1, 2], [3, [4]]]), ValueError,
             ["tensor", "number and a sequence", "dim 2"]),
    BadInput("tensor string", lambda: gn.tensor("a"), TypeError, ["tensor", "str", "'a'", "numbers"]),
    BadInput("tensor string in list", lambda: gn.tensor([1, "a"]), TypeError, ["tensor", "str", "'a'"]),
    BadInput("tensor None", lambda: gn.tensor(None), RuntimeError, ["tensor", "NoneType", "numbers"]),
    BadInput("tensor None in list", lambda: gn.tensor([1.0, None]), RuntimeError, ["tensor", "NoneType"]),
    BadInput("tensor object", lambda: gn.tensor(object()), TypeError, ["tensor", "object", "numbers"]),
    BadInput("tensor None with a dtype", lambda: gn.tensor(None, dtype=gn.float32), TypeError,
             ["tensor", "NoneType"]),
    BadInput("tensor dict", lambda: gn.tensor({}), RuntimeError, ["tensor", "dict"]),
    BadInput("tensor nested tensors of mixed shape", lambda: gn.tensor([gn.ones(2), gn.ones(3)]), ValueError,
             ["tensor", "length 2", "dim 1", "got 3"]),
    # ----- in-place copies and fills (the target must be left as it was) ----------------------
    BadInput("copy_ wrong shape", lambda: _fill_target.copy_(gn.ones(4)), RuntimeError,
             ["copy_", "(2, 3)", "(4,)", "broadcast"], unchanged=lambda: _state(_fill_target)),
    BadInput("copy_ larger source", lambda: _fill_target.copy_(gn.ones(3, 2, 3)), RuntimeError,
             ["copy_", "(3, 2, 3)", "(2, 3)"], unchanged=lambda: _state(_fill_target)),
    BadInput("copy_ ragged list", lambda: _fill_target.copy_([[1, 2], [3]]), ValueError,
             ["copy_", "length 2", "dim 1"], unchanged=lambda: _state(_fill_target)),
    BadInput("copy_ None", lambda: _fill_target.copy_(None), RuntimeError,
             ["copy_", "NoneType"], unchanged=lambda: _state(_fill_target)),
    BadInput("masked_fill list mask", lambda: _fill_target.masked_fill([True, False, True], 0.0), TypeError,
             ["masked_fill", "bool tensor", "list"]),
    BadInput("fill_ with a vector", lambda: _fill_target.fill_(gn.ones(3)), RuntimeError,
             ["fill_", "0-d", "(3,)"], unchanged=lambda: _state(_fill_target)),
    BadInput("fill_ with a string", lambda: _fill_target.fill_("a"), TypeError,
             ["fill_", "'a'", "number"], unchanged=lambda: _state(_fill_target)),
    BadInput("masked_fill_ wrong mask shape",
             lambda: _fill_target.masked_fill_(gn.ones(2, dtype="bool"), 0.0), RuntimeError,
             ["masked_fill_", "(2, 3)", "(2,)"], unchanged=lambda: _state(_fill_target)),
    BadInput("masked_fill_ float mask", lambda: _fill_target.masked_fill_(gn.ones(2, 3), 0.0), RuntimeError,
             ["masked_fill_", "bool", "float32"], unchanged=lambda: _state(_fill_target)),
    BadInput("masked_fill vector value",
             lambda: _fill_target.masked_fill(gn.ones(2, 3, dtype="bool"), gn.ones(3)), RuntimeError,
             ["masked_fill", "0-d", "(3,)"]),
    # ----- reshape / view ---------------------------------------------------------------------
    BadInput("reshape -2", lambda: gn.ones(6).reshape(-2, 3), RuntimeError,
             ["reshape", "invalid shape dimension -2", "index 0", "-1"]),
    BadInput("reshape -3 last", lambda: gn.ones(6).reshape(3, -3), RuntimeError, ["reshape", "-3", "index 1"]),
    BadInput("view -2", lambda: gn.ones(6).view(-2, 3), RuntimeError, ["view", "invalid shape dimension -2"]),
    BadInput("reshape two -1", lambda: gn.ones(6).reshape(-1, -1), RuntimeError,
             ["reshape", "only one dimension can be -1", "(-1, -1)"]),
    BadInput("reshape empty with -1", lambda: gn.ones(0).reshape(0, -1), RuntimeError,
             ["reshape", "(0,)", "(0, -1)", "ambiguous"]),
    BadInput("reshape sizes do not multiply out", lambda: gn.ones(6).reshape(4, 2), RuntimeError,
             ["reshape", "(6,)", "(4, 2)", "8 elements"]),
    BadInput("reshape -1 not a divisor", lambda: gn.ones(6).reshape(4, -1), RuntimeError,
             ["reshape", "(4, -1)", "not a multiple of 4"]),
    BadInput("reshape float size", lambda: gn.ones(6).reshape(2.5, 2), TypeError, ["reshape", "2.5", "integer"]),
    BadInput("reshape whole float size", lambda: gn.ones(6).reshape(3.0, 2), TypeError, ["reshape", "3.0", "integer"]),
    BadInput("reshape string size", lambda: gn.ones(6).reshape("2", 3), TypeError, ["reshape", "'2'", "integer"]),
    BadInput("view float size", lambda: gn.ones(6).view(2, 1.5), TypeError, ["view", "1.5", "integer"]),
    # ----- expand / permute / transpose -------------------------------------------------------
    BadInput("expand incompatible", lambda: gn.ones(2, 3).expand(4, 3), RuntimeError,
             ["expand", "(2, 3)", "(4, 3)", "dimension 0"]),
    BadInput("expand fewer dims", lambda: gn.ones(2, 3).expand(3), RuntimeError, ["expand", "(2, 3)", "fewer"]),
    BadInput("expand -2", lambda: gn.ones(1, 3).expand(-2, 3), RuntimeError, ["expand", "-2"]),
    BadInput("expand float", lambda: gn.ones(1, 3).expand(2.5, 3), TypeError, ["expand", "2.5", "integer"]),
    BadInput("permute repeated axis", lambda: gn.ones(2, 3).permute(0, 0), RuntimeError,
             ["permute", "(0, 0)", "permutation"]),
    BadInput("permute missing axis", lambda: gn.ones(2, 3, 4).permute(0, 1), RuntimeError,
             ["permute", "(0, 1)", "3 dimensions"]),
    BadInput("permute out of range", lambda: gn.ones(2, 3).permute(0, 2), IndexError,
             ["permute", "dimension 2", "[-2, 1]"]),
    BadInput("permute float", lambda: gn.ones(2, 3).permute(0, 1.0), TypeError, ["permute", "1.0", "integer"]),
    BadInput("transpose out of range", lambda: gn.ones(2, 3).transpose(0, 2), IndexError,
             ["transpose", "dimension 2", "2 dimensions", "[-2, 1]"]),
    BadInput("transpose negative out of range", lambda: gn.ones(3).transpose(-2, 0), IndexError,
             ["transpose", "dimension -2", "[-1, 0]"]),
    BadInput("transpose float", lambda: gn.ones(2, 3).transpose(0, 1.5), TypeError, ["transpose", "1.5"]),
    # ----- cat / stack / split / chunk --------------------------------------------------------
    BadInput("cat mismatched shapes", lambda: gn.cat([gn.ones(2, 3), gn.ones(2, 4)]), RuntimeError,
             ["cat", "(2, 3)", "(2, 4)", "dimension 1"]),
    BadInput("cat mismatched ranks", lambda: gn.cat([gn.ones(2, 3), gn.ones(3)]), RuntimeError,
             ["cat", "same number of dimensions"]),
    BadInput("cat empty list", lambda: gn.cat([]), ValueError, ["cat", "non-empty"]),
    BadInput("cat a tensor", lambda: gn.cat(gn.ones(2, 3)), TypeError, ["cat", "sequence", "(2, 3)"]),
    BadInput("stack mismatched shapes", lambda: gn.stack([gn.ones(2, 3), gn.ones(2, 4)]), RuntimeError,
             ["stack", "same shape", "(2, 3)", "(2, 4)"]),
    BadInput("stack empty list", lambda: gn.stack([]), RuntimeError, ["stack", "non-empty"]),
    BadInput("stack a tensor", lambda: gn.stack(gn.ones(2, 3)), TypeError, ["stack", "sequence"]),
    BadInput("split size 0", lambda: gn.ones(4).split(0), RuntimeError, ["split", "got 0", "size 4"]),
    BadInput("split negative size", lambda: gn.ones(4).split(-1), RuntimeError, ["split", "-1", "positive"]),
    BadInput("split sections do not add up", lambda: gn.ones(4).split([1, 2]), RuntimeError,
             ["split", "[1, 2]", "3", "size 4"]),
    BadInput("split negative section", lambda: gn.ones(4).split([5, -1]), RuntimeError,
             ["split", "[5, -1]", "negative"]),
    BadInput("split float size", lambda: gn.ones(4).split(1.5), TypeError, ["split", "1.5"]),
    BadInput("chunk 0", lambda: gn.ones(4).chunk(0), RuntimeError, ["chunk", "positive", "0"]),
    # ----- flatten / squeeze / unsqueeze / repeat / tile --------------------------------------
    BadInput("flatten start after end", lambda: gn.ones(2, 3, 4).flatten(2, 1), RuntimeError,
             ["flatten", "start_dim 2", "end_dim 1"]),
    BadInput("flatten out of range", lambda: gn.ones(2, 3, 4).flatten(0, 3), IndexError,
             ["flatten", "dimension 3", "[-3, 2]"]),
    BadInput("squeeze out of range", lambda: gn.ones(2, 3).squeeze(2), IndexError, ["squeeze", "axis 2", "2 dimensions"]),
    BadInput("unsqueeze out of range", lambda: gn.ones(2, 3).unsqueeze(3), IndexError,
             ["unsqueeze", "dimension 3", "[-3, 2]"]),
    BadInput("unsqueeze negative out of range", lambda: gn.ones(2, 3).unsqueeze(-4), IndexError,
             ["unsqueeze", "-4", "[-3, 2]"]),
    BadInput("unsqueeze float", lambda: gn.ones(2, 3).unsqueeze(1.5), TypeError, ["unsqueeze", "1.5", "integer"]),
    BadInput("repeat negative", lambda: gn.ones(2).repeat(-1), RuntimeError, ["repeat", "negative", "(-1,)"]),
    BadInput("repeat too few counts", lambda: gn.ones(2, 2).repeat(2), RuntimeError,
             ["repeat", "1 repeat counts", "(2, 2)"]),
    BadInput("tile negative", lambda: gn.ones(2).tile((-1,)), RuntimeError, ["tile", "negative", "(-1,)"]),
    # ----- integer division by zero ---------------------------------------------------------
    BadInput("floor_divide int by zero element", lambda: gn.tensor([4, 5]) // gn.tensor([2, 0]),
             ZeroDivisionError, ["floor_divide", "division by zero", "int64"]),
    BadInput("floor_divide int by scalar zero", lambda: gn.floor_divide(gn.tensor([4, 5]), 0),
             RuntimeError, ["floor_divide", "division by zero"]),
    BadInput("number // int tensor holding zero", lambda: 5 // gn.tensor([1, 0]), ZeroDivisionError,
             ["floor_divide", "division by zero"]),
    BadInput("remainder int by zero element", lambda: gn.tensor([4, 5]) % gn.tensor([2, 0]),
             ZeroDivisionError, ["remainder", "division by zero"]),
    BadInput("remainder int by scalar zero", lambda: gn.remainder(gn.tensor([4, 5]), 0), RuntimeError,
             ["remainder", "division by zero"]),
    BadInput("div floor int by zero", lambda: gn.div(gn.tensor([4, 5]), 0, rounding_mode="floor"),
             ZeroDivisionError, ["floor_divide", "division by zero"]),
    BadInput("div trunc int by zero", lambda: gn.div(gn.tensor([4, 5]), gn.tensor([0, 1]), rounding_mode="trunc"),
             ZeroDivisionError, ["div", "trunc", "division by zero"]),
    BadInput("uint8 // 0", lambda: gn.tensor([4, 5], dtype="uint8") // 0, ZeroDivisionError,
             ["floor_divide", "uint8"]),
    BadInput("in-place //= 0 leaves the tensor", lambda: _ints.__ifloordiv__(0), ZeroDivisionError,
             ["floor_divide", "division by zero"], unchanged=lambda: _state(_ints)),
    BadInput("in-place %= 0 leaves the tensor", lambda: _ints.__imod__(gn.tensor([1, 0, 1])),
             ZeroDivisionError, ["remainder"], unchanged=lambda: _state(_ints)),
    BadInput("compiled floor_divide by a zero element", lambda: _compiled_division()(
                 np.array([7, -7]), np.array([2, 0])), ZeroDivisionError, ["floor_divide", "division by zero"]),
    BadInput("symbolic reshape -2", lambda: gn.placeholder(gn.float32, (None, 6)).reshape(-2, 3), RuntimeError,
             ["reshape", "-2"]),
    # ----- other elementwise arguments ---------------------------------------------------------
    BadInput("where float condition", lambda: gn.where(gn.tensor([1.0, 0.0]), 1.0, 2.0), RuntimeError,
             ["where", "condition", "bool", "float32"]),
    BadInput("where int condition", lambda: gn.where(gn.tensor([1, 0]), gn.ones(2), gn.zeros(2)), TypeError,
             ["where", "bool", "int64"]),
    BadInput("bitwise and of floats", lambda: gn.ones(2) & gn.ones(2), NotImplementedError,
             ["bitwise_and", "bool or integer", "float32"]),
    BadInput("add string alpha", lambda: gn.add(gn.ones(2), gn.ones(2), alpha="a"), TypeError,
             ["add", "alpha", "'a'", "number"]),
    BadInput("sub None alpha", lambda: gn.sub(gn.ones(2), gn.ones(2), alpha=None), TypeError, ["sub", "alpha", "None"]),
    BadInput("clamp string bound", lambda: gn.clamp(gn.ones(2), min="a"), TypeError, ["clamp", "min", "'a'"]),
    BadInput("relu of bool", lambda: gn.relu(gn.tensor([True])), RuntimeError, ["relu", "bool"]),
    BadInput("type_as a number", lambda: gn.ones(2).type_as(3), TypeError, ["type_as", "Tensor", "int"]),
    BadInput("expand_as a list", lambda: gn.ones(2).expand_as([1, 2]), TypeError, ["expand_as", "Tensor", "list"]),
    BadInput("reshape_as a list", lambda: gn.ones(2).reshape_as([1, 2]), TypeError, ["reshape_as", "Tensor", "list"]),
    BadInput("view_as a list", lambda: gn.ones(2).view_as([1, 2]), TypeError, ["view_as", "Tensor", "list"]),
    BadInput("pad odd length", lambda: gn.pad(gn.ones(2, 3), (1,)), RuntimeError, ["pad", "even", "(1,)"]),
    BadInput("pad too long", lambda: gn.pad(gn.ones(3), (1, 1, 1, 1)), RuntimeError, ["pad", "at most 2", "1-d"]),
    BadInput("pad float width", lambda: gn.pad(gn.ones(3), (1.5, 1)), TypeError, ["pad", "1.5", "integer"]),
    BadInput("div unknown rounding mode", lambda: gn.div(gn.tensor([4, 5]), 2, rounding_mode="round"),
             RuntimeError, ["div", "rounding_mode", "'round'", "'trunc'", "'floor'"]),
]

test_bad_input = bad_input_test(CASES)

# The same calls in PyTorch (rows whose PyTorch form raises; ganglion must raise an instance of
# PyTorch's exception type).
TORCH = {
    "zeros negative": lambda: torch.zeros(-1),
    "zeros float size": lambda: torch.zeros(2.5),
    "ones negative": lambda: torch.ones(2, -1),
    "empty negative": lambda: torch.empty(-1),
    "full negative": lambda: torch.full((-1,), 1.0),
    "full string value": lambda: torch.full((2,), "a"),
    "rand negative": lambda: torch.rand(-1),
    "randn negative": lambda: torch.randn(2, -3),
    "rand integer dtype": lambda: torch.rand(2, dtype=torch.int64),
    "randint low >= high": lambda: torch.randint(5, 2, (3,)),
    "randint empty range": lambda: torch.randint(5, 5, (3,)),
    "randint negative size": lambda: torch.randint(0, 5, (-1,)),
    "randperm negative": lambda: torch.randperm(-1),
    "eye negative": lambda: torch.eye(-1),
    "eye negative columns": lambda: torch.eye(2, -1),
    "eye float": lambda: torch.eye(2.5),
    "arange zero step": lambda: torch.arange(0, 10, 0),
    "arange negative step upward": lambda: torch.arange(0, 10, -1),
    "arange positive step downward": lambda: torch.arange(10, 0, 1),
    "arange nan end": lambda: torch.arange(0, NAN),
    "arange inf end": lambda: torch.arange(0, INF),
    "linspace negative steps": lambda: torch.linspace(0, 1, -1),
    "linspace float steps": lambda: torch.linspace(0, 1, 2.5),
    "zeros_like list": lambda: torch.zeros_like([1, 2]),
    "full_like string value": lambda: torch.full_like(torch.ones(2), "a"),
    "rand_like integer": lambda: torch.rand_like(torch.ones(2, dtype=torch.int64)),
    "randn_like integer": lambda: torch.randn_like(torch.ones(2, dtype=torch.int64)),
    "tensor ragged": lambda: torch.tensor([[1, 2], [3]]),
    "tensor ragged deep": lambda: torch.tensor([[[1], [2]], [[3]]]),
    "tensor string": lambda: torch.tensor("a"),
    "tensor string in list": lambda: torch.tensor([1, "a"]),
    "tensor None": lambda: torch.tensor(None),
    "tensor None in list": lambda: torch.tensor([1.0, None]),
    "tensor object": lambda: torch.tensor(object()),
    "tensor dict": lambda: torch.tensor({}),
    "manual_seed string": lambda: torch.manual_seed("a"),
    "set_rng_state string": lambda: torch.set_rng_state("x"),
    "tensor None with a dtype": lambda: torch.tensor(None, dtype=torch.float32),
    "copy_ None": lambda: torch.ones(2, 3).copy_(None),
    "masked_fill list mask": lambda: torch.ones(3).masked_fill([True, False, True], 0.0),
    "tensor nested tensors of mixed shape": lambda: torch.tensor([torch.ones(2), torch.ones(3)]),
    "copy_ wrong shape": lambda: torch.ones(2, 3).copy_(torch.ones(4)),
    "copy_ larger source": lambda: torch.ones(2, 3).copy_(torch.ones(3, 2, 3)),
    "fill_ with a vector": lambda: torch.ones(2, 3).fill_(torch.ones(3)),
    "masked_fill_ wrong mask shape": lambda: torch.ones(2, 3).masked_fill_(torch.ones(2, dtype=torch.bool), 0.0),
    "masked_fill_ float mask": lambda: torch.ones(2, 3).masked_fill_(torch.ones(2, 3), 0.0),
    "masked_fill vector value": lambda: torch.ones(2, 3).masked_fill(torch.ones(2, 3, dtype=torch.bool),
                                                                      torch.ones(3)),
    "reshape -2": lambda: torch.ones(6).reshape(-2, 3),
    "view -2": lambda: torch.ones(6).view(-2, 3),
    "reshape two -1": lambda: torch.ones(6).reshape(-1, -1),
    "reshape empty with -1": lambda: torch.ones(0).reshape(0, -1),
    "reshape sizes do not multiply out": lambda: torch.ones(6).reshape(4, 2),
    "reshape float size": lambda: torch.ones(6).reshape((2.5, 2)),
    "expand incompatible": lambda: torch.ones(2, 3).expand(4, 3),
    "expand fewer dims": lambda: torch.ones(2, 3).expand(3),
    "permute repeated axis": lambda: torch.ones(2, 3).permute(0, 0),
    "permute missing axis": lambda: torch.ones(2, 3, 4).permute(0, 1),
    "permute out of range": lambda: torch.ones(2, 3).permute(0, 2),
    "transpose out of range": lambda: torch.ones(2, 3).transpose(0, 2),
    "transpose negative out of range": lambda: torch.ones(3).transpose(-2, 0),
    "cat mismatched shapes": lambda: torch.cat([torch.ones(2, 3), torch.ones(2, 4)]),
    "cat mismatched ranks": lambda: torch.cat([torch.ones(2, 3), torch.ones(3)]),
    "cat empty list": lambda: torch.cat([]),
    "cat a tensor": lambda: torch.cat(torch.ones(2, 3)),
    "stack mismatched shapes": lambda: torch.stack([torch.ones(2, 3), torch.ones(2, 4)]),
    "stack empty list": lambda: torch.stack([]),
    "split size 0": lambda: torch.ones(4).split(0),
    "split negative size": lambda: torch.ones(4).split(-1),
    "split sections do not add up": lambda: torch.ones(4).split([1, 2]),
    "split negative section": lambda: torch.ones(4).split([5, -1]),
    "chunk 0": lambda: torch.ones(4).chunk(0),
    "flatten start after end": lambda: torch.ones(2, 3, 4).flatten(2, 1),
    "flatten out of range": lambda: torch.ones(2, 3, 4).flatten(0, 3),
    "squeeze out of range": lambda: torch.ones(2, 3).squeeze(2),
    "unsqueeze out of range": lambda: torch.ones(2, 3).unsqueeze(3),
    "unsqueeze float": lambda: torch.ones(2, 3).unsqueeze(1.5),
    "repeat too few counts": lambda: torch.ones(2, 2).repeat(2),
    "floor_divide int by zero element": lambda: torch.tensor([4, 5]) // torch.tensor([2, 0]),
    "floor_divide int by scalar zero": lambda: torch.floor_divide(torch.tensor([4, 5]), 0),
    "number // int tensor holding zero": lambda: 5 // torch.tensor([1, 0]),
    "remainder int by zero element": lambda: torch.tensor([4, 5]) % torch.tensor([2, 0]),
    "remainder int by scalar zero": lambda: torch.remainder(torch.tensor([4, 5]), 0),
    "div floor int by zero": lambda: torch.div(torch.tensor([4, 5]), 0, rounding_mode="floor"),
    "div trunc int by zero": lambda: torch.div(torch.tensor([4, 5]), torch.tensor([0, 1]), rounding_mode="trunc"),
    "uint8 // 0": lambda: torch.tensor([4, 5], dtype=torch.uint8) // 0,
    "in-place //= 0 leaves the tensor": lambda: torch.tensor([4, 5, 6]).__ifloordiv__(0),
    "where float condition": lambda: torch.where(torch.tensor([1.0, 0.0]), 1.0, 2.0),
    "where int condition": lambda: torch.where(torch.tensor([1, 0]), torch.ones(2), torch.zeros(2)),
    "bitwise and of floats": lambda: torch.ones(2) & torch.ones(2),
    "add string alpha": lambda: torch.add(torch.ones(2), torch.ones(2), alpha="a"),
    "clamp string bound": lambda: torch.clamp(torch.ones(2), min="a"),
    "relu of bool": lambda: torch.relu(torch.tensor([True])),
    "type_as a number": lambda: torch.ones(2).type_as(3),
    "expand_as a list": lambda: torch.ones(2).expand_as([1, 2]),
    "reshape_as a list": lambda: torch.ones(2).reshape_as([1, 2]),
    "view_as a list": lambda: torch.ones(2).view_as([1, 2]),
    "pad odd length": lambda: torch.nn.functional.pad(torch.ones(2, 3), (1,)),
    "pad too long": lambda: torch.nn.functional.pad(torch.ones(3), (1, 1, 1, 1)),
    "pad float width": lambda: torch.nn.functional.pad(torch.ones(3), (1.5, 1)),
    "div unknown rounding mode": lambda: torch.div(torch.tensor([4, 5]), 2, rounding_mode="round"),
}
test_same_exception_type_as_pytorch = same_exception_as_torch_test(CASES, TORCH)


def test_integer_division_still_exact_where_the_divisor_has_no_zero():
    a = np.array([-7, 7, -8, 8, 0, 5, -5, 2**62 + 1])
    b = np.array([2, -2, 2, -2, 3, -3, -3, 3])
    for mode in ("trunc", "floor"):
        expected = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode).numpy()
        got = gn.div(gn.tensor(a), gn.tensor(b), rounding_mode=mode)
        assert got.dtype == gn.int64 and got.numpy().tolist() == expected.tolist()
    expected = torch.div(torch.tensor(a * 1.0), 2.5, rounding_mode="trunc").numpy()
    np.testing.assert_array_equal(gn.div(gn.tensor(a * 1.0), 2.5, rounding_mode="trunc").numpy(),
                                  expected.astype(np.float32))
    # Float division by zero is not an error (inf / nan, as in PyTorch).
    assert gn.floor_divide(gn.tensor([1.0]), 0.0).numpy().tolist() == [float("inf")]


def test_equality_with_none_or_a_string_is_false_not_an_error():
    # As in PyTorch and Python: `x == None` is False, so `x in [None, y]` and `x != None` work.
    x = gn.ones(2)
    assert (x == None) is False and (x != None) is True  # noqa: E711
    assert (x == "a") is False and x not in [None, "a"]
    assert (torch.ones(2) == None) is False  # noqa: E711  (the oracle agrees)


def test_valid_calls_next_to_the_refused_ones_still_work():
    assert gn.arange(5, 5).shape == (0,) and gn.arange(5, 0, -1).numpy().tolist() == [5, 4, 3, 2, 1]
    assert gn.linspace(0, 1, 0).shape == (0,)
    assert gn.zeros(np.int64(2), 3).shape == (2, 3) and gn.zeros((0,)).shape == (0,)
    assert gn.full(2, gn.tensor(3.0)).numpy().tolist() == [3.0, 3.0]
    assert gn.eye(2, 0).shape == (2, 0) and gn.randperm(0).shape == (0,)
    assert gn.ones(0).split(0)[0].shape == (0,)
    assert gn.ones(6).reshape(np.int64(2), -1).shape == (2, 3)
    target = gn.ones(2, 3)
    target.copy_(gn.tensor([1.0, 2.0, 3.0]))
    assert target.numpy().tolist() == [[1, 2, 3], [1, 2, 3]]
    assert gn.tensor([gn.ones(2), gn.zeros(2)]).numpy().tolist() == [[1, 1], [0, 0]]
