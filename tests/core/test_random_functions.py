"""normal, bernoulli, Tensor.uniform_/normal_/bernoulli_/exponential_ and the nn.init
initializers with ``generator=``, against PyTorch: dtypes, shapes, gradients (zero, as PyTorch's
sampling backward functions give) and errors. The streams are NumPy's, not PyTorch's, so values
are checked statistically (means and frequencies of seeded samples) and for reproducibility.
"""
import inspect

import numpy as np
import pytest
import torch
from bad_inputs import BadInput, bad_input_test, same_exception_as_torch_test

import ganglion as gn
from ganglion.nn import init


def _generator(seed=0):
    return gn.Generator().manual_seed(seed)


def test_normal_statistics_dtype_and_reproducibility():
    sample = gn.normal(2.0, 3.0, (20000,), generator=_generator())
    assert sample.dtype is gn.float32 and str(torch.normal(2.0, 3.0, (2,)).dtype) == "torch.float32"
    assert abs(float(sample.mean()) - 2.0) < 0.1 and abs(float(sample.std()) - 3.0) < 0.1
    assert gn.normal(2.0, 3.0, (5,), generator=_generator()).tolist() == sample[:5].tolist()
    assert gn.normal(0.0, 1.0, (2,), dtype=gn.float64).dtype is gn.float64
    mean, std = np.zeros((3, 1)), np.full((1, 4), 2.0)
    ours = gn.normal(gn.tensor(mean, dtype=gn.float64), gn.tensor(std, dtype=gn.float64))
    theirs = torch.normal(torch.tensor(mean), torch.tensor(std))
    assert tuple(ours.shape) == tuple(theirs.shape) and str(theirs.dtype) == f"torch.{ours.dtype.name}"
    assert tuple(gn.normal(gn.zeros(3), 1.0).shape) == (3,)
    assert tuple(gn.normal(0.0, gn.ones(2, 2)).shape) == (2, 2)
    means = gn.normal(gn.tensor([-100.0, 100.0]), gn.tensor([0.0, 0.0]))
    assert means.tolist() == [-100.0, 100.0]  # std 0: the mean itself


def test_normal_and_bernoulli_have_zero_gradients_as_pytorch():
    values = np.array([0.2, 0.5, 0.9], dtype=np.float32)
    gm, gs = gn.tensor(values, requires_grad=True), gn.tensor(values + 1, requires_grad=True)
    tm, ts = torch.tensor(values, requires_grad=True), torch.tensor(values + 1, requires_grad=True)
    ours, theirs = gn.normal(gm, gs), torch.normal(tm, ts)
    assert ours.requires_grad == theirs.requires_grad is True
    (ours * 3).sum().backward()
    (theirs * 3).sum().backward()
    np.testing.assert_array_equal(gm.grad.numpy(), tm.grad.numpy())
    np.testing.assert_array_equal(gs.grad.numpy(), ts.grad.numpy())
    gp, tp = gn.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours, theirs = gn.bernoulli(gp), torch.bernoulli(tp)
    assert ours.requires_grad == theirs.requires_grad is True
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(gp.grad.numpy(), tp.grad.numpy())
    assert not gn.normal(gn.zeros(2), 1.0).requires_grad


def test_bernoulli_frequencies_and_dtype():
    p = gn.tensor([0.0, 0.25, 1.0], dtype=gn.float64).expand(4000, 3)
    draws = gn.bernoulli(p, generator=_generator(1))
    assert draws.dtype is gn.float64 and str(torch.bernoulli(torch.zeros(1, dtype=torch.float64)).dtype) == "torch.float64"
    frequencies = draws.mean(0).tolist()
    assert frequencies[0] == 0.0 and frequencies[2] == 1.0 and abs(frequencies[1] - 0.25) < 0.03
    assert set(gn.bernoulli(gn.zeros(1000), p=0.5).tolist()) == {0.0, 1.0}
    assert gn.zeros(2).bernoulli(generator=_generator()).tolist() == [0.0, 0.0]
    assert gn.bernoulli(p, generator=_generator(1)).tolist() == draws.tolist()


def test_in_place_sampling_methods():
    x = gn.zeros(20000)
    assert x.uniform_(-1, 3, generator=_generator()) is x
    assert -1 <= float(x.min()) and float(x.max()) < 3 and abs(float(x.mean()) - 1.0) < 0.05
    assert x.uniform_(**{"from": 5, "to": 6}).min().item() >= 5  # PyTorch's keyword names
    assert gn.zeros(3).uniform_(2, 2).tolist() == [2.0, 2.0, 2.0]
    x.normal_(1.0, 2.0, generator=_generator())
    assert abs(float(x.mean()) - 1.0) < 0.1 and abs(float(x.std()) - 2.0) < 0.1
    x.exponential_(4.0, generator=_generator())
    assert float(x.min()) >= 0 and abs(float(x.mean()) - 0.25) < 0.02
    ints = gn.zeros(1000, dtype=gn.int64).bernoulli_(0.5)  # any dtype, as PyTorch
    assert ints.dtype is gn.int64 and set(ints.tolist()) == {0, 1}
    assert gn.zeros(2).bernoulli_(gn.tensor([0.0, 1.0])).tolist() == [0.0, 1.0]
    half = gn.zeros(4, dtype=gn.float16).normal_()
    assert half.dtype is gn.float16
    assert (gn.zeros(5).uniform_(generator=_generator(3)).tolist()
            == gn.zeros(5).uniform_(generator=_generator(3)).tolist())
    # Views see the change: the write is in place.
    base = gn.zeros(2, 3)
    base[1].uniform_(1, 2)
    assert float(base[1].min()) >= 1 and base[0].tolist() == [0.0, 0.0, 0.0]


INIT_CALLS = [("uniform_", ()), ("normal_", ()), ("trunc_normal_", ()), ("xavier_uniform_", ()),
              ("xavier_normal_", ()), ("kaiming_uniform_", ()), ("kaiming_normal_", ()),
              ("orthogonal_", ())]


@pytest.mark.parametrize("name,args", INIT_CALLS, ids=[n for n, _ in INIT_CALLS])
def test_init_takes_a_generator_as_pytorch(name, args):
    ours, theirs = getattr(init, name), getattr(torch.nn.init, name)
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)
    first = ours(gn.zeros(4, 5), *args, generator=_generator(2)).tolist()
    gn.manual_seed(0)
    expected = gn.rand(3).tolist()
    gn.manual_seed(0)
    again = ours(gn.zeros(4, 5), *args, generator=_generator(2)).tolist()
    assert again == first and gn.rand(3).tolist() == expected  # the global stream is untouched
    assert ours(gn.zeros(4, 5), *args, generator=_generator(3)).tolist() != first


_leaf = gn.zeros(2, requires_grad=True)

CASES = [
    BadInput("normal negative std", lambda: gn.normal(0.0, -1.0, (2,)), RuntimeError,
             ["normal", "std >= 0", "-1"]),
    BadInput("normal negative std tensor", lambda: gn.normal(gn.zeros(2), gn.tensor([1.0, -1.0])),
             RuntimeError, ["normal", "std >= 0"]),
    BadInput("normal shapes do not broadcast", lambda: gn.normal(gn.zeros(2), gn.ones(3)),
             RuntimeError, ["normal", "(2,)", "(3,)"]),
    BadInput("normal numbers without size", lambda: gn.normal(0.0, 1.0), TypeError,
             ["normal", "size"]),
    BadInput("normal tensor with size", lambda: gn.normal(gn.zeros(2), 1.0, size=(3,)), TypeError,
             ["normal", "size"]),
    BadInput("normal integer mean", lambda: gn.normal(gn.zeros(2, dtype=gn.int64), 1.0),
             NotImplementedError, ["normal", "floating", "int64"]),
    BadInput("normal string std", lambda: gn.normal(0.0, "a", (2,)), TypeError,
             ["normal", "std", "'a'"]),
    BadInput("normal generator int", lambda: gn.normal(0.0, 1.0, (2,), generator=3), TypeError,
             ["normal", "generator", "int"]),
    BadInput("bernoulli probability above 1", lambda: gn.bernoulli(gn.tensor([0.5, 1.5])),
             RuntimeError, ["bernoulli", "[0, 1]", "1.5"]),
    BadInput("bernoulli integer input", lambda: gn.bernoulli(gn.tensor([1])), NotImplementedError,
             ["bernoulli", "floating", "int64"]),
    BadInput("bernoulli p above 1", lambda: gn.bernoulli(gn.zeros(2), 2.0), RuntimeError,
             ["bernoulli", "p=2.0"]),
    BadInput("bernoulli of a list", lambda: gn.bernoulli([0.5]), TypeError,
             ["bernoulli", "Tensor", "list"]),
    BadInput("uniform_ reversed range", lambda: gn.zeros(2).uniform_(1, 0), RuntimeError,
             ["uniform_", "from=1.0", "to=0.0"]),
    BadInput("uniform_ string bound", lambda: gn.zeros(2).uniform_("a"), TypeError,
             ["uniform_", "from", "'a'"]),
    BadInput("uniform_ three bounds", lambda: gn.zeros(2).uniform_(0, 1, 2), TypeError,
             ["uniform_", "3"]),
    BadInput("uniform_ integer tensor", lambda: gn.zeros(2, dtype=gn.int64).uniform_(),
             NotImplementedError, ["uniform_", "floating", "int64"]),
    BadInput("uniform_ leaf requiring grad", lambda: _leaf.uniform_(), RuntimeError,
             ["uniform_", "leaf", "requires grad"], unchanged=lambda: _leaf.detach().numpy()),
    BadInput("normal_ negative std", lambda: gn.zeros(2).normal_(0, -1), RuntimeError,
             ["normal_", "std >= 0", "-1"]),
    BadInput("normal_ integer tensor", lambda: gn.zeros(2, dtype=gn.int64).normal_(),
             NotImplementedError, ["normal_", "int64"]),
    BadInput("bernoulli_ p above 1", lambda: gn.zeros(2).bernoulli_(1.5), RuntimeError,
             ["bernoulli_", "p=1.5"]),
    BadInput("bernoulli_ tensor p above 1", lambda: gn.zeros(2).bernoulli_(gn.tensor([0.5, 2.0])),
             RuntimeError, ["bernoulli_", "[0, 1]", "2.0"]),
    BadInput("exponential_ zero rate", lambda: gn.zeros(2).exponential_(0), RuntimeError,
             ["exponential_", "lambd > 0", "0"]),
    BadInput("init uniform_ generator int", lambda: init.uniform_(gn.zeros(2), generator=3),
             TypeError, ["uniform_", "generator", "int"]),
]
test_bad_input = bad_input_test(CASES)

_torch_leaf = torch.zeros(2, requires_grad=True)
TORCH = {
    "normal negative std": lambda: torch.normal(0.0, -1.0, (2,)),
    "normal negative std tensor": lambda: torch.normal(torch.zeros(2), torch.tensor([1.0, -1.0])),
    "normal shapes do not broadcast": lambda: torch.normal(torch.zeros(2), torch.ones(3)),
    "normal numbers without size": lambda: torch.normal(0.0, 1.0),
    "normal tensor with size": lambda: torch.normal(torch.zeros(2), 1.0, size=(3,)),
    "normal integer mean": lambda: torch.normal(torch.zeros(2, dtype=torch.int64), 1.0),
    "normal string std": lambda: torch.normal(0.0, "a", (2,)),
    "normal generator int": lambda: torch.normal(0.0, 1.0, (2,), generator=3),
    "bernoulli probability above 1": lambda: torch.bernoulli(torch.tensor([0.5, 1.5])),
    "bernoulli integer input": lambda: torch.bernoulli(torch.tensor([1])),
    "bernoulli p above 1": lambda: torch.bernoulli(torch.zeros(2), 2.0),
    "bernoulli of a list": lambda: torch.bernoulli([0.5]),
    "uniform_ reversed range": lambda: torch.zeros(2).uniform_(1, 0),
    "uniform_ string bound": lambda: torch.zeros(2).uniform_("a"),
    "uniform_ three bounds": lambda: torch.zeros(2).uniform_(0, 1, 2),
    "uniform_ integer tensor": lambda: torch.zeros(2, dtype=torch.int64).uniform_(),
    "uniform_ leaf requiring grad": lambda: _torch_leaf.uniform_(),
    "normal_ negative std": lambda: torch.zeros(2).normal_(0, -1),
    "normal_ integer tensor": lambda: torch.zeros(2, dtype=torch.int64).normal_(),
    "bernoulli_ p above 1": lambda: torch.zeros(2).bernoulli_(1.5),
    "bernoulli_ tensor p above 1": lambda: torch.zeros(2).bernoulli_(torch.tensor([0.5, 2.0])),
    "exponential_ zero rate": lambda: torch.zeros(2).exponential_(0),
    "init uniform_ generator int": lambda: torch.nn.init.uniform_(torch.zeros(2), generator=3),
}
test_same_exception_type_as_pytorch = same_exception_as_torch_test(CASES, TORCH)
