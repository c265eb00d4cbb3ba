"""Oracle tests of the losses (nn/functional/loss.py, cross_entropy_op.py, nn/layers/loss.py):
every loss and option against PyTorch with each reduction, forward and backward (float64 and
float32), float64 gradient checks, second derivatives of the fused cross-entropy, PyTorch's
weighted-mean semantics, BCE's finite gradient at probabilities 0 and 1, symbolic inputs, and
errors that name the layer."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ganglion as gn
import ganglion.nn.functional as F
from ganglion import nn
from tests.oracle import check_op

rng = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def randn(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 1.0}),
    ("smooth_l1_loss", {"beta": 0.3}), ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {"delta": 1.0}), ("huber_loss", {"delta": 0.4})])
def test_regression_losses(name, options, reduction):
    x, y = randn(3, 4), randn(3, 4)
    check_op(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **options),
             lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **options), [x, y])


CLASS_INDEX_OPTIONS = [{}, {"weight": True}, {"ignore_index": 1}, {"label_smoothing": 0.2},
                       {"weight": True, "ignore_index": 2, "label_smoothing": 0.1}]


def _class_index_arrays(input_shape, options):
    x = randn(*input_shape)
    classes = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    target_shape = (input_shape[0],) + input_shape[2:] if len(input_shape) > 1 else ()
    target = rng.integers(0, classes, target_shape)
    # At least one row counts (ignore_index is 1 or 2), so that the loss is not nan.
    if len(input_shape) > 1:
        target.flat[0] = 0
    else:
        target = np.array(3)
    arrays = [x, target]
    if options.get("weight"):
        arrays.append(rng.uniform(0.2, 2.0, classes))
    return arrays


def _loss_fns(gn_fn, torch_fn, options, reduction):
    kwargs = {k: v for k, v in options.items() if k != "weight"}
    if options.get("weight"):
        return (lambda x, t, w: gn_fn(x, t, weight=w, reduction=reduction, **kwargs),
                lambda x, t, w: torch_fn(x, t, weight=w, reduction=reduction, **kwargs))
    return (lambda x, t: gn_fn(x, t, reduction=reduction, **kwargs),
            lambda x, t: torch_fn(x, t, reduction=reduction, **kwargs))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CLASS_INDEX_OPTIONS)
@pytest.mark.parametrize("input_shape", [(5, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_class_indices(input_shape, options, reduction):
    arrays = _class_index_arrays(input_shape, options)
    gn_fn, torch_fn = _loss_fns(F.cross_entropy, TF.cross_entropy, options, reduction)
    check_op(gn_fn, torch_fn, arrays, grad_inputs=[0], second_order=input_shape == (5, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [o for o in CLASS_INDEX_OPTIONS if "label_smoothing" not in o])
@pytest.mark.parametrize("input_shape", [(5, 4), (3, 4, 5)])
def test_nll_loss(input_shape, options, reduction):
    arrays = _class_index_arrays(input_shape, options)
    gn_fn, torch_fn = _loss_fns(F.nll_loss, TF.nll_loss, options, reduction)
    check_op(gn_fn, torch_fn, arrays, grad_inputs=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"label_smoothing": 0.3},
                                     {"weight": True, "label_smoothing": 0.1}])
@pytest.mark.parametrize("input_shape", [(5, 4), (2, 4, 3)])
def test_cross_entropy_probability_targets(input_shape, options, reduction):
    x = randn(*input_shape)
    target = np.asarray(torch.softmax(torch.from_numpy(randn(*input_shape)), dim=1))
    arrays = [x, target]
    if options.get("weight"):
        arrays.append(rng.uniform(0.2, 2.0, input_shape[1]))
    gn_fn, torch_fn = _loss_fns(F.cross_entropy, TF.cross_entropy, options, reduction)
    check_op(gn_fn, torch_fn, arrays, grad_inputs=[0, 1])


def test_cross_entropy_every_row_ignored_is_nan_as_in_torch():
    x, target = gn.from_numpy(randn(3, 4)), gn.tensor([-100, -100, -100])
    assert np.isnan(F.cross_entropy(x, target).item())
    assert F.cross_entropy(x, target, reduction="sum").item() == 0


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(weighted, reduction):
    x, y = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    if weighted:
        w = rng.uniform(0.5, 2, (4,))
        check_op(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
                 lambda a, b, c: TF.binary_cross_entropy(a, b, c, reduction=reduction), [x, y, w],
                 grad_inputs=[0, 1])
    else:
        check_op(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                 lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), [x, y])


def test_binary_cross_entropy_at_zero_and_one_is_finite_like_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    check_op(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
             lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [x, y],
             grad_inputs=[0], gradcheck=False, float32=False, rtol=1e-7)


def test_binary_cross_entropy_rejects_values_outside_zero_one():
    with pytest.raises(ValueError, match="BCELoss: input values must be probabilities"):
        nn.BCELoss()(gn.tensor([0.5, 1.5]), gn.tensor([0.0, 1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, pos_weighted", [(False, False), (True, False), (False, True),
                                                   (True, True)])
def test_binary_cross_entropy_with_logits(weighted, pos_weighted, reduction):
    x, y = 4 * randn(3, 4), rng.uniform(0, 1, (3, 4))
    extras = {}
    if weighted:
        extras["weight"] = rng.uniform(0.5, 2, (4,))
    if pos_weighted:
        extras["pos_weight"] = rng.uniform(0.5, 3, (4,))
    names = list(extras)

    def call(fn, tensor):
        return lambda a, b, *rest: fn(a, b, reduction=reduction,
                                      **{k: v for k, v in zip(names, rest)})
    check_op(call(F.binary_cross_entropy_with_logits, gn.from_numpy),
             call(TF.binary_cross_entropy_with_logits, torch.from_numpy),
             [x, y] + list(extras.values()), grad_inputs=[0, 1])


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    x = np.array([-800.0, 800.0, 30.0])
    y = np.array([1.0, 0.0, 1.0])
    check_op(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
             lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none"), [x, y],
             gradcheck=False)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's note on 'mean'
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(log_target, reduction):
    x = np.asarray(torch.log_softmax(torch.from_numpy(randn(3, 4)), 1))
    target = np.asarray(torch.softmax(torch.from_numpy(randn(3, 4)), 1))
    target[0, 1] = 0.0  # 0 * log 0 counts as 0
    if log_target:
        target = np.log(target + 0.1)
    check_op(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
             lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [x, target],
             grad_inputs=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_embedding_loss(margin, reduction):
    x = rng.choice([-1, 1], (3, 4)) * rng.uniform(0.05, 0.4, (3, 4)) + 0.1
    y = rng.choice([-1.0, 1.0], (3, 4))
    check_op(lambda a, b: F.hinge_embedding_loss(a, b, margin, reduction=reduction),
             lambda a, b: TF.hinge_embedding_loss(a, b, margin, reduction=reduction), [x, y],
             grad_inputs=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_perceptron_loss_is_the_perceptron_criterion(reduction):
    x, y = randn(6) + 0.05, rng.choice([-1.0, 1.0], 6)
    torch_reduce = {"mean": torch.mean, "sum": torch.sum, "none": lambda t: t}[reduction]
    check_op(lambda a, b: nn.PerceptronLoss(reduction)(a, b),
             lambda a, b: torch_reduce(torch.clamp(-a * b, min=0)), [x, y], grad_inputs=[0])


MODULES = [
    (lambda: (nn.MSELoss(), torch.nn.MSELoss()), False),
    (lambda: (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum")), False),
    (lambda: (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5)), False),
    (lambda: (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5)), False),
    (lambda: (nn.CrossEntropyLoss(gn.tensor([1.0, 2.0, 0.5, 1.0], dtype=gn.float64),
                                  ignore_index=3, reduction="mean", label_smoothing=0.1),
              torch.nn.CrossEntropyLoss(torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64),
                                        ignore_index=3, label_smoothing=0.1)), True),
    (lambda: (nn.NLLLoss(ignore_index=0), torch.nn.NLLLoss(ignore_index=0)), True),
    (lambda: (nn.BCEWithLogitsLoss(pos_weight=gn.tensor([2.0, 1.0, 0.5, 3.0], dtype=gn.float64)),
              torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 0.5, 3.0],
                                                                 dtype=torch.float64))), False),
    (lambda: (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean")),
     False),
    (lambda: (nn.HingeEmbeddingLoss(0.5), torch.nn.HingeEmbeddingLoss(0.5)), False),
]


@pytest.mark.parametrize("index", range(len(MODULES)))
def test_loss_modules_against_torch(index):
    make, class_targets = MODULES[index]
    gn_loss, torch_loss = make()
    assert repr(gn_loss) == repr(torch_loss)
    x = randn(5, 4)
    y = rng.integers(0, 4, 5) if class_targets else rng.choice([-1.0, 1.0], (5, 4)) * 0.5 + 0.5
    check_op(gn_loss, torch_loss, [x, y], grad_inputs=[0], gradcheck=False, float32=False)


def test_bce_module_with_weight_buffer():
    weight = rng.uniform(0.5, 2, 4)
    gn_loss = nn.BCELoss(gn.from_numpy(weight), reduction="sum")
    assert "weight" in dict(gn_loss.named_buffers())
    x, y = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))
    check_op(gn_loss, torch.nn.BCELoss(torch.from_numpy(weight), reduction="sum"), [x, y],
             grad_inputs=[0], gradcheck=False, float32=False)


def test_cross_entropy_error_for_target_out_of_range_names_the_layer():
    with pytest.raises(IndexError, match=r"CrossEntropyLoss: target 7 is out of range for 4 "
                                         r"classes"):
        nn.CrossEntropyLoss()(gn.zeros(3, 4), gn.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match=r"nll_loss: target -1 is out of range"):
        F.nll_loss(gn.zeros(3, 4), gn.tensor([0, -1, 1]))


def test_cross_entropy_error_for_mismatched_batch_names_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: input batch size 128 does not match "
                                         r"target batch size 64 \(input \(128, 10\), "
                                         r"target \(64,\)\)"):
        nn.CrossEntropyLoss()(gn.zeros(128, 10), gn.zeros(64, dtype=gn.int64))
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: expected target of shape \(2, 3\)"):
        nn.CrossEntropyLoss()(gn.zeros(2, 5, 3), gn.zeros(2, 4, dtype=gn.int64))
    with pytest.raises(ValueError, match=r"NLLLoss: class-index targets must have one "
                                         r"dimension less"):
        nn.NLLLoss()(gn.zeros(2, 5), gn.zeros(2, 5, dtype=gn.int64))


def test_bad_reduction_names_the_layer():
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: reduction"):
        F.cross_entropy(gn.zeros(2, 3), gn.tensor([0, 1]), reduction="batchmean")


def test_cross_entropy_on_placeholders_compiles_with_its_gradient():
    x = gn.placeholder(gn.float64, (None, 4), name="x")
    target = gn.placeholder(gn.int64, (None,), name="target")
    loss = F.cross_entropy(x, target, label_smoothing=0.1, ignore_index=2)
    run = gn.function([x, target], [loss, gn.grad(loss, [x])[0]])
    xv, tv = randn(6, 4), np.array([0, 1, 2, 3, 1, 2])
    value, grad = run(xv, tv)
    xt = torch.tensor(xv, requires_grad=True)
    expected = TF.cross_entropy(xt, torch.from_numpy(tv), label_smoothing=0.1, ignore_index=2)
    expected.backward()
    np.testing.assert_allclose(value, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_one_hot_is_exported():
    np.testing.assert_array_equal(F.one_hot(gn.tensor([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])


def test_class_index_cross_entropy_is_one_fused_node():
    from ganglion.nn.functional.cross_entropy_op import ClassIndexLoss
    logits = gn.randn(8, 5).requires_grad_()
    loss = F.cross_entropy(logits, gn.randint(0, 5, (8,)))
    assert isinstance(loss._op, ClassIndexLoss) and loss._inputs[0] is logits
