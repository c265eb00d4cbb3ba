"""Oracle tests of linear algebra: matmul under NumPy's 1-D and batch-broadcasting rules, dot,
outer and einsum (implicit and explicit outputs, ellipses, several operands, letters summed
within one operand), forward and backward against PyTorch, plus the errors for shapes and dtypes
that matmul cannot take."""
import re

import numpy as np
import pytest
import torch

import ganglion as gn
from tests.oracle import check_forward, check_op

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


# ----- matmul -------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((4,), (4,)),                  # 1-D . 1-D: a scalar
    ((4,), (4, 3)),                # 1-D . 2-D: the vector acts as a row
    ((3, 4), (4,)),                # 2-D . 1-D: the vector acts as a column
    ((3, 4), (4, 2)),
    ((5, 3, 4), (5, 4, 2)),        # batched
    ((2, 1, 3, 4), (5, 4, 2)),     # batch dims broadcast to (2, 5)
    ((4,), (2, 4, 3)),             # 1-D with batched 3-D
    ((2, 3, 4), (4,)),
    ((3, 4), (2, 4, 5)),           # a matrix against a batch
    ((1, 3, 4), (6, 4, 2)),
]


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES, ids=str)
def test_matmul(a_shape, b_shape):
    a, b = randn(*a_shape), randn(*b_shape)
    check_op(lambda s, t: s @ t, lambda s, t: s @ t, [a, b])
    check_op(lambda s, t: gn.matmul(s, t), lambda s, t: torch.matmul(s, t), [a, b])


@pytest.mark.parametrize("a_shape, b_shape", [((4,), (4, 3)), ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (4,))],
                         ids=str)
def test_matmul_second_order(a_shape, b_shape):
    a, b = randn(*a_shape), randn(*b_shape)
    # (a @ b) squared makes the second derivative depend on both inputs.
    check_op(lambda s, t: (s @ t) ** 2, lambda s, t: (s @ t) ** 2, [a, b], second_order=True)


def test_matmul_gradient_of_one_input_only():
    a, b = randn(3, 4), randn(4, 2)
    check_op(lambda s, t: s.matmul(t), lambda s, t: s.matmul(t), [a, b], grad_inputs=[1])
    check_op(lambda s, t: s.matmul(t), lambda s, t: s.matmul(t), [a, b], grad_inputs=[0])


def test_matmul_with_a_numpy_operand():
    a, b = randn(3, 4), randn(4, 2)
    out = gn.from_numpy(a) @ b
    np.testing.assert_allclose(out.numpy(), a @ b)
    np.testing.assert_allclose((a @ gn.from_numpy(b)).numpy(), a @ b)


def test_matmul_of_integers():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    b = np.arange(12, dtype=np.int64).reshape(3, 4)
    check_forward(lambda s, t: s @ t, lambda s, t: s @ t, [a, b])


def test_matmul_of_mixed_dtypes_promotes_like_addition():
    a = gn.tensor([[1, 2]])
    b = gn.ones(2, 1)
    out = a @ b
    assert out.dtype is (a + b[:, 0]).dtype is gn.float32
    np.testing.assert_array_equal(out.numpy(), [[3.0]])
    assert (gn.ones(2, 2) @ gn.ones(2, dtype=gn.float64)).dtype is gn.float64


def test_matmul_shape_error_message():
    with pytest.raises(ValueError, match=re.escape(
            "matmul: shapes (128, 784) and (512, 10) do not align: 784 != 512")):
        gn.zeros(128, 784) @ gn.zeros(512, 10)


@pytest.mark.parametrize("a_shape, b_shape", [((3,), (4,)), ((2, 3), (2,)), ((4,), (2, 3, 5)),
                                              ((2, 3, 4), (3, 4, 5))])
def test_matmul_other_shape_errors_name_the_op_and_shapes(a_shape, b_shape):
    with pytest.raises(ValueError, match=re.escape(f"matmul: shapes ")):
        gn.zeros(*a_shape) @ gn.zeros(*b_shape)


def test_matmul_of_0d_raises():
    with pytest.raises(ValueError, match="matmul: both arguments need at least one dimension"):
        gn.matmul(gn.tensor(2.0), gn.zeros(2))


def test_matmul_of_bool_raises_type_error():
    a = gn.tensor([[True, False], [True, True]])
    with pytest.raises(TypeError, match="matmul: bool"):
        a @ a
    with pytest.raises(TypeError, match="matmul"):
        gn.matmul(gn.ones(2, 2), a)


# ----- dot / outer --------------------------------------------------------------------------

def test_dot():
    a, b = randn(5), randn(5)
    check_op(lambda s, t: gn.dot(s, t), lambda s, t: torch.dot(s, t), [a, b], second_order=True)
    check_op(lambda s, t: s.dot(t), lambda s, t: s.dot(t), [a, b])


def test_dot_of_matrices_is_numpy_dot():
    a, b = randn(3, 4), randn(4, 2)
    np.testing.assert_allclose(gn.dot(gn.from_numpy(a), gn.from_numpy(b)).numpy(), np.dot(a, b))
    with pytest.raises(ValueError, match="dot"):
        gn.dot(gn.zeros(2, 3, 4), gn.zeros(4))


def test_outer():
    a, b = randn(3), randn(4)
    check_op(lambda s, t: gn.outer(s, t), lambda s, t: torch.outer(s, t), [a, b], second_order=True)


# ----- einsum -------------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),              # implicit output: ik
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,)] * 2),
    ("i,i", [(4,)] * 2),                        # implicit output: a scalar
    ("ij->j", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ji", [(3, 4)]),                           # implicit output is alphabetical: a transpose
    ("ij", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("bi,bj->bij", [(2, 3), (2, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),   # the ellipsis dims broadcast
    ("...ij,...jk->...ik", [(3, 4), (4, 2)]),           # an empty ellipsis
    ("...i->...", [(2, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ab,bc,ca->", [(2, 3), (3, 4), (4, 2)]),
    ("ij,k->i", [(3, 4), (5,)]),               # j and k each summed within one operand only
    ("ij,k->ik", [(3, 4), (5,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    (" ij , jk -> ik ", [(3, 4), (4, 2)]),      # spaces are ignored
    ("ij,jk", [(3, 1), (4, 2)]),                # a size-1 dim broadcasts against its partner
    ("...ij,jk->...ik", [(2, 3, 4), (4, 5)]),
    # The operand without the ellipsis: its gradient sums the ellipsis dims, eager and compiled.
    ("...ij,jk->...ik", [(2, 3, 3, 4), (4, 5)]),
    ("ij,...jk->...ik", [(3, 4), (2, 4, 5)]),
    ("...ij,jk,...k->...i", [(2, 3, 4), (4, 5), (1, 5)]),
    ("i...j,jk->i...k", [(3, 2, 2, 4), (4, 5)]),
    ("...ij,ij->...i", [(2, 3, 4), (3, 4)]),
    ("...i,...i->...i", [(2, 3, 4), (4,)]),
    # The output leaves the ellipsis out: PyTorch sums those dims (NumPy alone would refuse).
    ("...i->i", [(2, 3, 4)]),
    ("...ij->j", [(2, 3, 4)]),
    ("i...->i", [(3, 2, 4)]),
    ("...i,...i->i", [(2, 1, 4), (3, 4)]),
    ("...ij,...jk->ik", [(2, 1, 3, 4), (5, 4, 2)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum(equation, shapes):
    arrays = [randn(*s) for s in shapes]
    check_op(lambda *ts: gn.einsum(equation, *ts), lambda *ts: torch.einsum(equation, *ts), arrays)


@pytest.mark.parametrize("equation, shapes", [("ij,jk->ik", [(3, 4), (4, 2)]), ("ij,k->i", [(3, 4), (5,)]),
                                              ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)])])
def test_einsum_second_order(equation, shapes):
    arrays = [randn(*s) for s in shapes]
    check_op(lambda *ts: gn.einsum(equation, *ts) ** 2, lambda *ts: torch.einsum(equation, *ts) ** 2,
             arrays, second_order=True)


def test_einsum_takes_a_list_of_operands():
    a, b = randn(3, 4), randn(4, 2)
    check_op(lambda s, t: gn.einsum("ij,jk->ik", [s, t]), lambda s, t: torch.einsum("ij,jk->ik", [s, t]),
             [a, b])


DIAGONAL_CASES = [("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("bii->b", [(2, 3, 3)]), ("iij->j", [(3, 3, 2)]),
                  ("...ii->...i", [(2, 3, 3)]), ("ij,jj->i", [(2, 3), (3, 3)]), ("iii->", [(2, 2, 2)])]


@pytest.mark.parametrize("equation, shapes", DIAGONAL_CASES, ids=[c[0] for c in DIAGONAL_CASES])
def test_einsum_diagonals_and_traces(equation, shapes):
    arrays = [randn(*s) for s in shapes]
    check_op(lambda *ts: gn.einsum(equation, *ts), lambda *ts: torch.einsum(equation, *ts), arrays,
             second_order=True)


def test_einsum_shape_errors_name_the_equation_and_shapes():
    with pytest.raises(ValueError, match=re.escape("einsum 'ij,jk->ik'") + r".*\(3, 4\), \(5, 2\)"):
        gn.einsum("ij,jk->ik", gn.zeros(3, 4), gn.zeros(5, 2))
