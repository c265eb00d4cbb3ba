"""Error messages: each names the op, the shapes and what was expected, so a user can fix the call
without reading ganglion's source. Where PyTorch raises, ganglion raises too, with the same
exception type; shape errors are ``ganglion.core.op.ShapeError``, both a RuntimeError (PyTorch's
type) and a ValueError (NumPy's). The bad-input tables are in test_bad_inputs_*.py."""
import re

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.core.op import ShapeError


def raises_like_torch(gn_call, torch_call, gn_type=None):
    """Both calls raise; ganglion's exception is of (a subclass of) PyTorch's type, or of
    ``gn_type`` when given. Returns ganglion's message."""
    with pytest.raises(Exception) as torch_info:
        torch_call()
    with pytest.raises(gn_type or torch_info.type) as gn_info:
        gn_call()
    return str(gn_info.value)


def test_add_shape_mismatch_names_op_and_both_shapes():
    message = raises_like_torch(lambda: gn.zeros(2, 3) + gn.zeros(4, 3),
                                lambda: torch.zeros(2, 3) + torch.zeros(4, 3), ShapeError)
    assert message.startswith("add:")
    assert "(2, 3)" in message and "(4, 3)" in message
    with pytest.raises(ValueError, match=r"sub: shapes \(5,\) and \(2,\)"):
        gn.zeros(5) - gn.zeros(2)


def test_matmul_misalignment_message():
    expected = "matmul: shapes (128, 784) and (512, 10) do not align: 784 != 512"
    message = raises_like_torch(lambda: gn.zeros(128, 784) @ gn.zeros(512, 10),
                                lambda: torch.zeros(128, 784) @ torch.zeros(512, 10), ShapeError)
    assert expected in message
    with pytest.raises(ValueError, match=re.escape(expected)):
        gn.matmul(gn.zeros(128, 784), gn.zeros(512, 10))
    with pytest.raises(ValueError, match=re.escape("(3,) and (4,) do not align: 3 != 4")):
        gn.zeros(3) @ gn.zeros(4)


def test_matmul_of_bool_tensors_raises_type_error():
    a = gn.tensor([[True, False]])
    b = gn.tensor([[True], [True]])
    with pytest.raises(TypeError, match="matmul.*bool"):
        a @ b
    with pytest.raises(TypeError, match="bool"):
        gn.matmul(a, b)
    with pytest.raises(RuntimeError):  # PyTorch refuses too (its error is a RuntimeError)
        torch.tensor([[True, False]]) @ torch.tensor([[True], [True]])


def test_backward_on_non_scalar_names_shape_and_remedy():
    x = gn.ones(3, 4, requires_grad=True)
    message = raises_like_torch(lambda: (x * 2).backward(),
                                lambda: (torch.ones(3, 4, requires_grad=True) * 2).backward())
    assert "(3, 4)" in message and "gradient=" in message and "sum()" in message


def test_second_backward_names_retain_graph():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    y, ty = (x * x).sum(), (tx * tx).sum()
    y.backward()
    ty.backward()
    message = raises_like_torch(y.backward, ty.backward)
    assert "second time" in message and "retain_graph=True" in message


def test_grad_of_unused_input_names_input_and_flag():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    unused = gn.tensor([[3.0]], requires_grad=True)
    unused.name = "bias"
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    t_unused = torch.tensor([[3.0]], requires_grad=True)
    message = raises_like_torch(lambda: gn.grad((x * 2).sum(), [x, unused]),
                                lambda: torch.autograd.grad((tx * 2).sum(), [tx, t_unused]))
    assert "input 1 'bias'" in message and "(1, 1)" in message and "allow_unused=True" in message


def test_in_place_modification_of_saved_tensor_names_op_and_shape():
    # Under no_grad the change writes into the array that mul saved. (With grad on, ganglion
    # rebinds h to a new array and y keeps the old one: backward succeeds, see
    # test_autograd.py; PyTorch raises either way.)
    a = gn.tensor([[1.0, 2.0]], requires_grad=True)
    ta = torch.tensor([[1.0, 2.0]], requires_grad=True)

    def gn_call():
        h = a * 1
        y = h * h
        with gn.no_grad():
            h.add_(1)
        y.sum().backward()

    def torch_call():
        h = ta * 1
        y = h * h
        with torch.no_grad():
            h.add_(1)
        y.sum().backward()

    message = raises_like_torch(gn_call, torch_call)
    assert "Mul" in message and "(1, 2)" in message and "in-place" in message
    assert "version 1, expected 0" in message


def test_in_place_on_saved_output_names_op():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with gn.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"output of Exp \(shape \(2,\)\).*in-place"):
        y.sum().backward()


def test_in_place_on_leaf_requiring_grad_names_the_fix():
    x = gn.tensor([1.0], requires_grad=True)
    tx = torch.tensor([1.0], requires_grad=True)
    message = raises_like_torch(lambda: x.mul_(2), lambda: tx.mul_(2))
    assert "mul_" in message and "leaf" in message and "no_grad" in message


def test_in_place_cannot_broadcast_or_narrow_dtype():
    message = raises_like_torch(lambda: gn.zeros(3).add_(gn.ones(2, 3)),
                                lambda: torch.zeros(3).add_(torch.ones(2, 3)))
    assert "(2, 3)" in message and "(3,)" in message
    message = raises_like_torch(lambda: gn.zeros(2, dtype=gn.int64).add_(1.5),
                                lambda: torch.zeros(2, dtype=torch.int64).add_(1.5))
    assert "float32" in message and "int64" in message


def test_item_on_multi_element_tensor():
    message = raises_like_torch(lambda: gn.tensor([1.0, 2.0]).item(),
                                lambda: torch.tensor([1.0, 2.0]).item())
    assert "item()" in message and "one element" in message and "(2,)" in message
    raises_like_torch(lambda: float(gn.tensor([1.0, 2.0])), lambda: float(torch.tensor([1.0, 2.0])))
    raises_like_torch(lambda: int(gn.zeros(2, 2)), lambda: int(torch.zeros(2, 2)))
    raises_like_torch(lambda: [0, 1][gn.tensor([0, 1])], lambda: [0, 1][torch.tensor([0, 1])])
    raises_like_torch(lambda: [0, 1][gn.tensor(1.0)], lambda: [0, 1][torch.tensor(1.0)])


def test_numpy_on_tensor_requiring_grad_names_detach():
    message = raises_like_torch(lambda: gn.ones(2, requires_grad=True).numpy(),
                                lambda: torch.ones(2, requires_grad=True).numpy())
    assert "requires grad" in message and "detach().numpy()" in message
    np.testing.assert_array_equal(gn.ones(2, requires_grad=True).detach().numpy(), [1.0, 1.0])


def test_requires_grad_on_integer_tensor():
    message = raises_like_torch(lambda: gn.tensor([1, 2], requires_grad=True),
                                lambda: torch.tensor([1, 2], requires_grad=True))
    assert "floating" in message and "int64" in message


def test_backward_gradient_of_wrong_shape():
    x = gn.ones(2, requires_grad=True)
    message = raises_like_torch(lambda: (x * 2).backward(gn.ones(3)),
                                lambda: (torch.ones(2, requires_grad=True) * 2).backward(torch.ones(3)))
    assert "(3,)" in message and "(2,)" in message


def test_grad_outputs_count_must_match():
    x = gn.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="2 outputs but 1 grad_outputs"):
        gn.grad([x * 2, x * 3], x, [gn.ones(2)])


def test_unknown_device_and_dtype():
    with pytest.raises(ValueError, match="'cuda' is not available.*cpu"):
        gn.zeros(2, device="cuda")
    with pytest.raises(TypeError, match="unknown dtype name 'float128'"):
        gn.zeros(2, dtype="float128")
    with pytest.raises(TypeError, match="no dtype for NumPy dtype"):
        gn.from_numpy(np.zeros(2, np.complex64))


def test_hook_and_retain_grad_need_requires_grad():
    raises_like_torch(lambda: gn.ones(2).register_hook(lambda g: g),
                      lambda: torch.ones(2).register_hook(lambda g: g))
    raises_like_torch(lambda: gn.ones(2).retain_grad(), lambda: torch.ones(2).retain_grad())


def test_len_of_zero_dim_tensor():
    message = raises_like_torch(lambda: len(gn.tensor(1.0)), lambda: len(torch.tensor(1.0)))
    assert "0-d" in message
