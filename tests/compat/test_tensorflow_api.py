"""ganglion.compat.tensorflow (TF1's graph API) against hand-computed, NumPy and PyTorch values:
sessions and fetch structures, variables and scopes, initializers, math ops, losses, NHWC
convolution and pooling with TF's SAME padding, tf.layers, optimizers and clipping, the LSTM cell
with dynamic_rnn, Saver checkpoints and summaries."""
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as TF_torch

import ganglion.compat.tensorflow as tf
from bad_inputs import BadInput, bad_input_test


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


def _rng(seed=0):
    return np.random.default_rng(seed)


# ----- sessions ---------------------------------------------------------------------------------
def test_run_returns_the_structure_of_its_fetches_and_none_for_ops():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable(np.array([[1.0], [2.0]]), name="w")
    y = tf.matmul(x, w)
    total = tf.reduce_sum(y)
    step = w.assign(w * 2)
    data = np.array([[1, 1], [2, 0]])  # ints: converted to the placeholder's float32
    with tf.Session() as sess:
        assert sess.run(tf.global_variables_initializer()) is None
        single = sess.run(y, feed_dict={x: data})
        assert single.dtype == np.float32
        np.testing.assert_array_equal(single, [[3.0], [2.0]])
        nested = sess.run({"y": y, "pair": (total, [total, step])}, feed_dict={x: data})
        assert set(nested) == {"y", "pair"} and isinstance(nested["pair"], tuple)
        assert nested["pair"][0] == 5.0 and nested["pair"][1][0] == 5.0
        assert nested["pair"][1][1] is None
        # the assign ran after the values were computed: w doubled once
        np.testing.assert_array_equal(sess.run(w), [[2.0], [4.0]])
        assert sess.run(total, {x: data}) == 10.0


def test_each_signature_is_compiled_once():
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.get_variable("w", [3, 1], initializer=tf.ones_initializer())
    loss = tf.reduce_mean(tf.matmul(x, w))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run([loss, train], {x: np.ones((4, 3))})
        sess.run(loss, {x: np.ones((2, 3))})
        # the initializer, the train step and the loss alone: three signatures
        assert len(sess._cache) == 3
        # each step: w -= 0.1 * d mean(x @ w) / dw = 0.1 * mean of x's rows = 0.1
        np.testing.assert_allclose(sess.run(w), np.full((3, 1), 1 - 3 * 0.1), rtol=1e-6)


def test_uninitialized_variable_is_refused_until_the_initializer_runs():
    w = tf.get_variable("layer/w", [2], initializer=tf.constant_initializer(3.0))
    with tf.Session() as sess:
        with pytest.raises(tf.FailedPreconditionError, match="layer/w"):
            sess.run(w * 2)
        sess.run(w.initializer)
        np.testing.assert_array_equal(sess.run(w * 2), [6.0, 6.0])


def test_feeding_an_intermediate_tensor_replaces_it():
    x = tf.placeholder(tf.float32, [2])
    h = x * 3
    y = h + 1
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1, 2]}), [4, 7])
        np.testing.assert_array_equal(sess.run(y, {h: [10, 20]}), [11, 21])


# ----- variables and scopes ---------------------------------------------------------------------
def test_variable_scope_names_and_reuse():
    with tf.variable_scope("model"):
        w = tf.get_variable("w", [2, 3])
        with tf.variable_scope("inner"):
            b = tf.get_variable("b", [3], initializer=tf.zeros_initializer())
    assert w.name == "model/w:0" and w.op.name == "model/w" and b.name == "model/inner/b:0"
    with tf.variable_scope("model", reuse=True):
        assert tf.get_variable("w", [2, 3]) is w
        with tf.variable_scope("inner"):  # reuse is inherited
            assert tf.get_variable("b") is b
    with tf.variable_scope("model", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("w") is w
        fresh = tf.get_variable("v", [1])
    assert fresh.name == "model/v:0"
    assert [v.op.name for v in tf.trainable_variables()] == ["model/w", "model/inner/b", "model/v"]
    assert w.get_shape().as_list() == [2, 3]


def test_variable_scope_reuse_variables_and_trainable_flag():
    with tf.variable_scope("s") as scope:
        a = tf.get_variable("a", [1])
        scope.reuse_variables()
        assert tf.get_variable("a") is a
    counter = tf.Variable(0, trainable=False, name="counter")
    assert counter.dtype is tf.int32
    assert all(v is not counter for v in tf.trainable_variables())
    assert any(v is counter for v in tf.global_variables())


def test_initializers_give_their_distributions():
    tf.set_random_seed(1)
    normal = tf.get_variable("n", [200, 100], initializer=tf.random_normal_initializer(2.0, 0.5))
    truncated = tf.get_variable("t", [200, 100],
                                initializer=tf.truncated_normal_initializer(stddev=0.1))
    glorot = tf.get_variable("g", [300, 100])  # the default: Glorot uniform
    uniform = tf.get_variable("u", [1000], initializer=tf.random_uniform_initializer(-1, 3))
    const = tf.get_variable("c", [2, 2], initializer=tf.constant_initializer([1, 2, 3, 4]))
    he = tf.get_variable("he", [3, 3, 64, 32], initializer=tf.variance_scaling_initializer(
        2.0, distribution="untruncated_normal"))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        n, t, g, u, c, h = sess.run([normal, truncated, glorot, uniform, const, he])
    assert n.dtype == np.float32
    assert abs(n.mean() - 2.0) < 0.02 and abs(n.std() - 0.5) < 0.02
    assert np.abs(t).max() <= 0.2 and 0.07 < t.std() < 0.095  # cut at 2 sigma
    limit = np.sqrt(6 / (300 + 100))
    assert np.abs(g).max() <= limit and g.max() > 0.95 * limit
    assert -1 <= u.min() and u.max() < 3 and abs(u.mean() - 1) < 0.15
    np.testing.assert_array_equal(c, [[1, 2], [3, 4]])
    assert abs(h.std() - np.sqrt(2 / (3 * 3 * 64))) < 0.005  # fan_in = 3 * 3 * 64


def test_seeded_initializer_is_reproducible_and_initializer_reruns_draw_again():
    a = tf.get_variable("a", [5], initializer=tf.random_normal_initializer(seed=7))
    b = tf.get_variable("b", [5], initializer=tf.random_normal_initializer(seed=7))
    c = tf.Variable(tf.random_normal([5]), name="c")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first_a, first_b, first_c = sess.run([a, b, c])
        np.testing.assert_array_equal(first_a, first_b)
        sess.run(c.initializer)
        assert not np.array_equal(sess.run(c), first_c)


# ----- math and array ops -----------------------------------------------------------------------
def test_math_ops_against_numpy():
    rng = _rng()
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    pa, pb = tf.placeholder(tf.float32, [None, 4]), tf.placeholder(tf.float32, [5, 4])
    fetches = {
        "matmul_tb": tf.matmul(pa, pb, transpose_b=True),
        "mean_all": tf.reduce_mean(pa),
        "sum_axis0_keep": tf.reduce_sum(pa, axis=0, keepdims=True),
        "max_axis1": tf.reduce_max(pa, reduction_indices=[1]),
        "min": tf.reduce_min(pa, 1),
        "argmax_default": tf.argmax(pa),  # TF1's default axis is 0
        "argmax1": tf.argmax(pa, 1),
        "square": tf.square(pa),
        "sigmoid": tf.nn.sigmoid(pa),
        "relu": tf.nn.relu(pa),
        "softmax": tf.nn.softmax(pa),
        "reshape": tf.reshape(pa, [-1, 2, 2]),
        "transpose": tf.transpose(pa),
        "concat": tf.concat([pa, pa * 2], 1),
        "stack": tf.stack([pa, pa], axis=1),
        "equal": tf.equal(tf.argmax(pa, 1), tf.argmax(pa, 1)),
        "cast": tf.cast(pa > 0, tf.float32),
        "logsumexp": tf.reduce_logsumexp(pa, axis=1),
        "clip": tf.clip_by_value(pa, -0.5, 0.5),
        "expand": tf.expand_dims(pa, 1),
    }
    out = tf.Session().run(fetches, {pa: a, pb: b})
    np.testing.assert_allclose(out["matmul_tb"], a @ b.T, rtol=1e-5)
    np.testing.assert_allclose(out["mean_all"], a.mean(), rtol=1e-5)
    np.testing.assert_allclose(out["sum_axis0_keep"], a.sum(0, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(out["max_axis1"], a.max(1))
    np.testing.assert_array_equal(out["min"], a.min(1))
    np.testing.assert_array_equal(out["argmax_default"], a.argmax(0))
    assert out["argmax1"].dtype == np.int64
    np.testing.assert_array_equal(out["argmax1"], a.argmax(1))
    np.testing.assert_allclose(out["square"], a * a, rtol=1e-6)
    np.testing.assert_allclose(out["sigmoid"], 1 / (1 + np.exp(-a)), rtol=1e-6)
    np.testing.assert_array_equal(out["relu"], np.maximum(a, 0))
    e = np.exp(a - a.max(1, keepdims=True))
    np.testing.assert_allclose(out["softmax"], e / e.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(out["reshape"], a.reshape(-1, 2, 2))
    np.testing.assert_array_equal(out["transpose"], a.T)
    np.testing.assert_allclose(out["concat"], np.concatenate([a, 2 * a], 1))
    np.testing.assert_array_equal(out["stack"], np.stack([a, a], 1))
    assert out["equal"].dtype == np.bool_ and out["equal"].all()
    np.testing.assert_array_equal(out["cast"], (a > 0).astype(np.float32))
    np.testing.assert_allclose(out["logsumexp"], np.log(np.exp(a).sum(1)), rtol=1e-5)
    np.testing.assert_array_equal(out["clip"], np.clip(a, -0.5, 0.5))
    assert out["expand"].shape == (3, 1, 4)


def test_one_hot_constant_and_integer_mean():
    labels = tf.placeholder(tf.int64, [None])
    hot = tf.one_hot(labels, 4)
    custom = tf.one_hot(labels, 3, on_value=5.0, off_value=-1.0)
    ints = tf.constant([1, 2, 4])
    assert ints.dtype is tf.int32 and tf.constant(1.5).dtype is tf.float32
    with tf.Session() as sess:
        h, c, m = sess.run([hot, custom, tf.reduce_mean(ints)], {labels: [0, 3, 7]})
    np.testing.assert_array_equal(h, [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]])  # 7: no hot
    np.testing.assert_array_equal(c, [[5, -1, -1], [-1, -1, -1], [-1, -1, -1]])
    assert m == 2 and m.dtype == np.int32  # TF's integer mean truncates 7 / 3


def test_gradients_and_clip_by_value_gradient():
    x = tf.placeholder(tf.float32, [3])
    y = tf.reduce_sum(tf.clip_by_value(x, -1.0, 1.0) * tf.constant([1.0, 2.0, 3.0]))
    (gx,) = tf.gradients(y, [x])
    np.testing.assert_array_equal(tf.Session().run(gx, {x: [0.5, 2.0, -0.2]}), [1.0, 0.0, 3.0])


# ----- losses -----------------------------------------------------------------------------------
def test_losses_against_pytorch():
    rng = _rng(1)
    logits = rng.standard_normal((6, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 6)
    probs = rng.dirichlet(np.ones(5), 6).astype(np.float32)
    pred, target = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal((6, 3)).astype(np.float32)
    zlabels = rng.integers(0, 2, (6, 5)).astype(np.float32)
    weights = np.array([1, 0, 2, 1, 0, 1], np.float32)
    pl, py = tf.placeholder(tf.float32, [None, 5]), tf.placeholder(tf.int64, [None])
    pp, pw = tf.placeholder(tf.float32, [None, 5]), tf.placeholder(tf.float32, [None])
    pr, pt = tf.placeholder(tf.float32, [None, 3]), tf.placeholder(tf.float32, [None, 3])
    pz = tf.placeholder(tf.float32, [None, 5])
    out = tf.Session().run({
        "sparse": tf.losses.sparse_softmax_cross_entropy(labels=py, logits=pl),
        "sparse_w": tf.losses.sparse_softmax_cross_entropy(py, pl, weights=pw),
        "mse": tf.losses.mean_squared_error(pt, pr),
        "v2": tf.nn.softmax_cross_entropy_with_logits_v2(labels=pp, logits=pl),
        "sparse_each": tf.nn.sparse_softmax_cross_entropy_with_logits(labels=py, logits=pl),
        "sigmoid": tf.nn.sigmoid_cross_entropy_with_logits(labels=pz, logits=pl),
        "onehot": tf.losses.softmax_cross_entropy(tf.one_hot(py, 5), pl),
        "l2": tf.nn.l2_loss(pr),
    }, {pl: logits, py: labels, pp: probs, pw: weights, pr: pred, pt: target, pz: zlabels})
    tl, ty = torch.from_numpy(logits), torch.from_numpy(labels)
    each = TF_torch.cross_entropy(tl, ty, reduction="none").numpy()
    np.testing.assert_allclose(out["sparse"], each.mean(), rtol=1e-5)
    np.testing.assert_allclose(out["sparse_each"], each, rtol=1e-5)
    np.testing.assert_allclose(out["onehot"], each.mean(), rtol=1e-5)
    # SUM_BY_NONZERO_WEIGHTS: the weighted sum over the 4 examples with non-zero weight
    np.testing.assert_allclose(out["sparse_w"], (each * weights).sum() / 4, rtol=1e-5)
    np.testing.assert_allclose(out["mse"], TF_torch.mse_loss(torch.from_numpy(pred),
                                                             torch.from_numpy(target)), rtol=1e-5)
    np.testing.assert_allclose(out["v2"], TF_torch.cross_entropy(tl, torch.from_numpy(probs),
                                                                 reduction="none"), rtol=1e-5)
    np.testing.assert_allclose(out["sigmoid"], TF_torch.binary_cross_entropy_with_logits(
        tl, torch.from_numpy(zlabels), reduction="none"), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["l2"], (pred ** 2).sum() / 2, rtol=1e-5)


# ----- convolution and pooling --------------------------------------------------------------------
@pytest.mark.parametrize("kernel,stride,size", [(3, 1, 7), (2, 2, 7), (4, 2, 8), (3, 2, 6),
                                                (1, 3, 7)])
def test_conv2d_same_and_valid_against_pytorch_with_explicit_padding(kernel, stride, size):
    rng = _rng(2)
    image = rng.standard_normal((2, size, size + 1, 3)).astype(np.float32)
    filt = rng.standard_normal((kernel, kernel, 3, 4)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, size, size + 1, 3])
    f = tf.constant(filt)
    same = tf.nn.conv2d(x, f, strides=[1, stride, stride, 1], padding="SAME")
    valid = tf.nn.conv2d(x, f, strides=[1, stride, stride, 1], padding="VALID")
    got_same, got_valid = tf.Session().run([same, valid], {x: image})
    # TF's SAME: out = ceil(n / s); total = max((out - 1) s + k - n, 0); the odd pixel at the end
    pads = []
    for n in (size + 1, size):  # F.pad wants the last dim (width) first
        out = -(-n // stride)
        total = max((out - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    nchw = torch.from_numpy(image).permute(0, 3, 1, 2)
    weight = torch.from_numpy(filt).permute(3, 2, 0, 1)
    expected_same = TF_torch.conv2d(TF_torch.pad(nchw, pads), weight, stride=stride)
    expected_valid = TF_torch.conv2d(nchw, weight, stride=stride)
    assert got_same.shape == (2, -(-size // stride), -(-(size + 1) // stride), 4)
    np.testing.assert_allclose(got_same, expected_same.permute(0, 2, 3, 1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_valid, expected_valid.permute(0, 2, 3, 1), rtol=1e-4, atol=1e-5)


def test_same_pooling_ignores_the_padding():
    image = np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5, 1)
    x = tf.placeholder(tf.float32, [None, 5, 5, 1])
    mx = tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    avg = tf.nn.avg_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    valid = tf.layers.average_pooling2d(x, 2, 2)
    neg_max = tf.layers.max_pooling2d(-x, 2, 2, padding="same")
    m, a, v, n = tf.Session().run([mx, avg, valid, neg_max], {x: image})
    grid = image[0, :, :, 0]
    # 5 -> 3 windows; the last row / column window holds one real row / column (padding after)
    np.testing.assert_array_equal(m[0, :, :, 0], [[7, 9, 10], [17, 19, 20], [22, 24, 25]])
    expected = [[grid[r:r + 2, c:c + 2].mean() for c in (0, 2, 4)] for r in (0, 2, 4)]
    np.testing.assert_allclose(a[0, :, :, 0], expected, rtol=1e-6)  # divides by real elements
    np.testing.assert_allclose(v[0, :, :, 0], [[4, 6], [14, 16]])
    # the padded -inf never wins, even where every real value is negative
    np.testing.assert_array_equal(n[0, :, :, 0], [[-1, -3, -5], [-11, -13, -15], [-21, -23, -25]])


# ----- tf.layers --------------------------------------------------------------------------------
def test_dense_and_conv_layers_name_their_variables_and_compute_like_pytorch():
    rng = _rng(3)
    image = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 6, 6, 3])
    conv = tf.layers.conv2d(x, 4, 3, strides=2, padding="same", activation=tf.nn.relu,
                            bias_initializer=tf.constant_initializer(0.1))
    flat = tf.layers.flatten(conv)
    out = tf.layers.dense(flat, 5, activation=tf.nn.sigmoid)
    out2 = tf.layers.dense(out, 2, name="head")
    names = [v.op.name for v in tf.trainable_variables()]
    assert names == ["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias", "head/kernel",
                     "head/bias"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_conv, got_flat, got = sess.run([conv, flat, out2], {x: image})
        kernel, bias, w1, b1, w2, b2 = sess.run(tf.trainable_variables())
    assert kernel.shape == (3, 3, 3, 4) and w1.shape == (3 * 3 * 4, 5)
    np.testing.assert_array_equal(bias, np.full(4, 0.1, np.float32))
    nchw = torch.from_numpy(image).permute(0, 3, 1, 2)
    expected = TF_torch.relu(TF_torch.conv2d(TF_torch.pad(nchw, [0, 1, 0, 1]),
                                             torch.from_numpy(kernel).permute(3, 2, 0, 1),
                                             torch.from_numpy(bias), stride=2))
    expected = expected.permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(got_conv, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got_flat, got_conv.reshape(2, -1))  # NHWC order
    hidden = 1 / (1 + np.exp(-(expected.reshape(2, -1) @ w1 + b1)))
    np.testing.assert_allclose(got, hidden @ w2 + b2, rtol=1e-4, atol=1e-5)


def test_conv_layer_with_a_softmax_activation_normalizes_over_the_channels():
    x = tf.placeholder(tf.float32, [None, 4, 4, 2])
    probabilities = tf.layers.conv2d(x, 3, 1, activation=tf.nn.softmax)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        p = sess.run(probabilities, {x: _rng(7).standard_normal((2, 4, 4, 2))})
    np.testing.assert_allclose(p.sum(-1), np.ones((2, 4, 4)), rtol=1e-5)


def test_dropout_applies_only_when_training():
    x = tf.placeholder(tf.float32, [None, 1000])
    training = tf.placeholder(tf.bool, [])
    dropped = tf.layers.dropout(x, rate=0.25, training=training)
    fixed = tf.layers.dropout(x, rate=0.25)  # training=False by default: the identity
    keep = tf.placeholder(tf.float32)
    nn_dropped = tf.nn.dropout(x, keep_prob=keep)
    ones = np.ones((4, 1000), np.float32)
    with tf.Session() as sess:
        train_out = sess.run(dropped, {x: ones, training: True})
        again = sess.run(dropped, {x: ones, training: True})
        test_out, same = sess.run([dropped, fixed], {x: ones, training: False})
        half = sess.run(nn_dropped, {x: ones, keep: 0.5})
    assert set(np.unique(train_out)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((train_out == 0).mean() - 0.25) < 0.03
    assert not np.array_equal(train_out, again)  # a new mask at each run
    np.testing.assert_array_equal(test_out, ones)
    np.testing.assert_array_equal(same, ones)
    assert set(np.unique(half)) <= {0.0, 2.0} and abs((half == 0).mean() - 0.5) < 0.03


def test_batch_normalization_against_pytorch_and_its_moving_averages():
    rng = _rng(4)
    images = (rng.standard_normal((8, 3, 3, 2)) * 2 + 1).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 3, 3, 2])
    training = tf.placeholder(tf.bool, [])
    y = tf.layers.batch_normalization(x, training=training, momentum=0.9)
    loss = tf.reduce_sum(y * tf.constant([1.0, -1.0]))
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 1
    with tf.control_dependencies(update_ops):
        train = tf.train.GradientDescentOptimizer(0.0).minimize(loss)
    moving_mean, moving_var = (tf.global_variables()[2], tf.global_variables()[3])
    assert moving_mean.op.name == "batch_normalization/moving_mean"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        train_y, _ = sess.run([y, train], {x: images, training: True})
        mean, var = sess.run([moving_mean, moving_var])
        test_y = sess.run(y, {x: images, training: False})
        sess.run(train, {x: images, training: False})  # not training: the averages stay
        np.testing.assert_array_equal(sess.run(moving_mean), mean)
    t = torch.from_numpy(images).permute(0, 3, 1, 2)
    run_mean, run_var = torch.zeros(2), torch.ones(2)
    expected = TF_torch.batch_norm(t, run_mean, run_var, training=True, momentum=0.1, eps=1e-3)
    np.testing.assert_allclose(train_y, expected.permute(0, 2, 3, 1), rtol=1e-4, atol=1e-5)
    # PyTorch's running variance also takes the unbiased batch variance (TF's fused kernel)
    np.testing.assert_allclose(mean, run_mean, rtol=1e-5)
    np.testing.assert_allclose(var, run_var, rtol=1e-5)
    expected_test = (images - mean) / np.sqrt(var + 1e-3)
    np.testing.assert_allclose(test_y, expected_test, rtol=1e-4, atol=1e-5)


# ----- optimizers and clipping ------------------------------------------------------------------
def _quadratic_problem():
    """loss = sum((w - target) ** 2 * scale): gradient 2 * scale * (w - target)."""
    w = tf.get_variable("w", [3], initializer=tf.constant_initializer([1.0, -2.0, 0.5]))
    target = tf.constant([0.0, 1.0, 2.0])
    scale = tf.constant([1.0, 3.0, 0.5])
    return w, tf.reduce_sum(tf.square(w - target) * scale)


def _numpy_gradient(w):
    return 2 * np.array([1.0, 3.0, 0.5]) * (w - np.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"])
def test_optimizers_follow_tf_update_rules(name):
    w, loss = _quadratic_problem()
    lr = 0.05
    optimizer = {"sgd": lambda: tf.train.GradientDescentOptimizer(lr),
                 "momentum": lambda: tf.train.MomentumOptimizer(lr, 0.9),
                 "nesterov": lambda: tf.train.MomentumOptimizer(lr, 0.9, use_nesterov=True),
                 "adam": lambda: tf.train.AdamOptimizer(lr),
                 "rmsprop": lambda: tf.train.RMSPropOptimizer(lr, momentum=0.5),
                 "adagrad": lambda: tf.train.AdagradOptimizer(lr)}[name]()
    global_step = tf.train.get_or_create_global_step()
    train = optimizer.minimize(loss, global_step=global_step)
    value = np.array([1.0, -2.0, 0.5])
    state = [np.zeros(3), np.zeros(3)]
    if name == "rmsprop":
        state[0] = np.ones(3)
    if name == "adagrad":
        state[0] = np.full(3, 0.1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for t in range(1, 4):
            assert sess.run(train) is None
            g = _numpy_gradient(value)
            if name == "sgd":
                value = value - lr * g
            elif name in ("momentum", "nesterov"):
                state[0] = 0.9 * state[0] + g
                value = value - lr * (g + 0.9 * state[0] if name == "nesterov" else state[0])
            elif name == "adam":
                state[0] = 0.9 * state[0] + 0.1 * g
                state[1] = 0.999 * state[1] + 0.001 * g * g
                lr_t = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
                value = value - lr_t * state[0] / (np.sqrt(state[1]) + 1e-8)
            elif name == "rmsprop":
                state[0] = 0.9 * state[0] + 0.1 * g * g
                state[1] = 0.5 * state[1] + lr * g / np.sqrt(state[0] + 1e-10)
                value = value - state[1]
            else:
                state[0] = state[0] + g * g
                value = value - lr * g / np.sqrt(state[0])
            np.testing.assert_allclose(sess.run(w), value, rtol=1e-5)
        assert sess.run(global_step) == 3


def test_compute_and_apply_gradients_with_global_norm_clipping():
    w, loss = _quadratic_problem()
    unused = tf.get_variable("unused", [2])
    optimizer = tf.train.GradientDescentOptimizer(0.1)
    grads_and_vars = optimizer.compute_gradients(loss)
    assert [v for _, v in grads_and_vars] == [w, unused] and grads_and_vars[1][0] is None
    grads, variables = zip(*grads_and_vars)
    clipped, norm = tf.clip_by_global_norm(list(grads), 5.0)
    assert clipped[1] is None
    train = optimizer.apply_gradients(zip(clipped, variables))
    value_clipped = [tf.clip_by_value(g, -1.0, 1.0) for g in grads if g is not None]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        g = _numpy_gradient(np.array([1.0, -2.0, 0.5]))
        got_norm, got_clipped = sess.run([norm, value_clipped])
        np.testing.assert_allclose(got_norm, np.linalg.norm(g), rtol=1e-6)
        np.testing.assert_allclose(got_clipped[0], np.clip(g, -1, 1))
        sess.run(train)
        expected = np.array([1.0, -2.0, 0.5]) - 0.1 * g * 5.0 / np.linalg.norm(g)
        np.testing.assert_allclose(sess.run(w), expected, rtol=1e-6)


def test_minimize_skips_integer_variables():
    counter = tf.Variable(0, name="counter")  # trainable by default, but integer
    w = tf.Variable(1.0, name="w")
    train = tf.train.GradientDescentOptimizer(0.1).minimize(w * w + tf.cast(counter, tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        assert sess.run(w) == np.float32(0.8) and sess.run(counter) == 0


def test_exponential_decay_of_the_learning_rate():
    step = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(0.1, step, 10, 0.5, staircase=True)
    smooth = tf.train.exponential_decay(0.1, step, 10, 0.5)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        step.load(15, sess)
        got, got_smooth = sess.run([lr, smooth])
    np.testing.assert_allclose(got, 0.05, rtol=1e-6)
    np.testing.assert_allclose(got_smooth, 0.1 * 0.5 ** 1.5, rtol=1e-6)


# ----- recurrent --------------------------------------------------------------------------------
def test_basic_lstm_cell_with_dynamic_rnn_against_pytorch():
    rng = _rng(5)
    batch, steps, depth, units = 3, 4, 5, 6
    inputs = rng.standard_normal((batch, steps, depth)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, steps, depth])
    cell = tf.nn.rnn_cell.BasicLSTMCell(units)
    outputs, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    lengths = tf.placeholder(tf.int32, [None])
    with tf.variable_scope("masked"):
        masked, masked_state = tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicLSTMCell(units), x,
                                                 sequence_length=lengths, dtype=tf.float32)
    kernel, bias = tf.trainable_variables()[:2]
    assert kernel.op.name == "rnn/basic_lstm_cell/kernel"
    assert kernel.get_shape().as_list() == [depth + units, 4 * units]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        bias.load(rng.standard_normal(4 * units) * 0.1, sess)
        got, (c, h), k, b = sess.run([outputs, state, kernel, bias], {x: inputs})
        got_masked, state_masked = sess.run([masked, masked_state],
                                            {x: inputs, lengths: [4, 2, 0]})
    # TF's gates are i, j (cell input), f, o with forget_bias 1; PyTorch's are i, f, g, o.
    i, j, f, o = np.split(k, 4, axis=1)
    bi, bj, bf, bo = np.split(b, 4)
    lstm = torch.nn.LSTM(depth, units, batch_first=True)
    with torch.no_grad():
        weights = np.concatenate([i, f, j, o], axis=1).T  # (4 units, depth + units)
        lstm.weight_ih_l0.copy_(torch.from_numpy(weights[:, :depth]))
        lstm.weight_hh_l0.copy_(torch.from_numpy(weights[:, depth:]))
        lstm.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([bi, bf + 1.0, bj, bo])))
        lstm.bias_hh_l0.zero_()
        expected, (h_t, c_t) = lstm(torch.from_numpy(inputs))
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h, h_t[0].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c, c_t[0].numpy(), rtol=1e-4, atol=1e-5)
    # past its length an example's outputs are zero and its state stays
    assert np.all(got_masked[1, 2:] == 0) and np.all(got_masked[2] == 0)
    np.testing.assert_array_equal(state_masked.h[1], got_masked[1, 1])
    np.testing.assert_array_equal(state_masked.c[2], np.zeros(units))


def test_dynamic_rnn_over_an_unknown_number_of_steps_loops_like_the_unrolled_graph():
    rng = _rng(6)
    inputs = rng.standard_normal((3, 5, 2)).astype(np.float32)
    known = tf.placeholder(tf.float32, [None, 5, 2])
    unknown = tf.placeholder(tf.float32, [None, None, 2])
    lengths = tf.placeholder(tf.int64, [None])
    cell = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(3), tf.nn.rnn_cell.BasicLSTMCell(4)])
    unrolled, unrolled_state = tf.nn.dynamic_rnn(cell, known, lengths, dtype=tf.float32)
    looped, looped_state = tf.nn.dynamic_rnn(cell, unknown, lengths, dtype=tf.float32)  # same cell
    names = [v.op.name for v in tf.trainable_variables()]
    assert names[:2] == ["rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel",
                         "rnn/multi_rnn_cell/cell_0/gru_cell/gates/bias"]
    assert len(names) == 6  # the second call reused the built cell's variables
    grads = [tf.gradients(tf.reduce_sum(out ** 2), tf.trainable_variables()) for out in
             (unrolled, looped)]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        feed = {known: inputs, unknown: inputs, lengths: [5, 3, 1]}
        a, a_state, b, b_state, ga, gb = sess.run([unrolled, unrolled_state, looped,
                                                   looped_state] + grads, feed)
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert np.all(a[2, 1:] == 0)
    np.testing.assert_allclose(b_state[1].h, a_state[1].h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b_state[0], a_state[0], rtol=1e-5, atol=1e-6)
    for x, y in zip(ga, gb):
        np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-5)


# ----- checkpoints and summaries ----------------------------------------------------------------
def test_saver_round_trip_through_a_safetensors_checkpoint(tmp_path):
    w = tf.get_variable("net/w", [2, 3])
    step = tf.train.get_or_create_global_step()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        step.load(7, sess)
        saved = sess.run(w)
        prefix = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step)
    assert prefix.endswith("model.ckpt-7") and (tmp_path / "model.ckpt-7.safetensors").exists()
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix
    import ganglion as gn
    state = gn.load(tmp_path / "model.ckpt-7.safetensors")
    assert set(state) == {"net/w", "global_step"}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())  # new values, then the saved ones again
        saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(w), saved)
        assert sess.run(step) == 7


def test_summaries_are_written_through_tensorboardx(tmp_path, monkeypatch):
    calls = []

    class FakeWriter:
        def __init__(self, logdir):
            calls.append(("open", logdir))

        def add_scalar(self, tag, value, step):
            calls.append((tag, value, step))

        def flush(self):
            pass

        def close(self):
            calls.append(("close",))

    monkeypatch.setitem(sys.modules, "tensorboardX", types.SimpleNamespace(SummaryWriter=FakeWriter))
    x = tf.placeholder(tf.float32, [None])
    tf.summary.scalar("mean", tf.reduce_mean(x))
    tf.summary.scalar("max", tf.reduce_max(x))
    merged = tf.summary.merge_all()
    with tf.Session() as sess:
        writer = tf.summary.FileWriter(str(tmp_path), sess.graph)
        writer.add_summary(sess.run(merged, {x: [1.0, 3.0]}), 4)
        writer.close()
    assert calls == [("open", str(tmp_path)), ("mean", 2.0, 4), ("max", 3.0, 4), ("close",)]


def test_file_writer_without_tensorboardx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails
    with pytest.raises(ImportError, match=r"ganglion\[tensorboard\]"):
        tf.summary.FileWriter(str(tmp_path))


# ----- bad input --------------------------------------------------------------------------------
def _feed_wrong_shape():
    x = tf.placeholder(tf.float32, [None, 3], name="images")
    tf.Session().run(x * 2, {x: np.ones((2, 4))})


def _feed_shapeless_placeholder():
    rate = tf.placeholder(tf.float32)
    tf.Session().run(rate * 2, {rate: [0.1, 0.2]})


def _duplicate_variable():
    tf.get_variable("w", [1])
    tf.get_variable("w", [1])


def _reuse_missing():
    with tf.variable_scope("scope", reuse=True):
        tf.get_variable("missing", [1])


def _reuse_other_shape():
    tf.get_variable("w", [2])
    with tf.variable_scope("", reuse=True):
        tf.get_variable("w", [3])


CASES = [
    BadInput("feed shape", _feed_wrong_shape, ValueError, ["images", "(2, 4)", "(?, 3)"]),
    BadInput("shapeless placeholder", _feed_shapeless_placeholder, ValueError,
             ["(2,)", "no shape", "scalar"]),
    BadInput("fetch type", lambda: tf.Session().run(3), TypeError, ["fetch", "int"]),
    BadInput("variable exists", _duplicate_variable, ValueError, ["w", "already exists", "reuse"]),
    BadInput("reuse missing", _reuse_missing, ValueError, ["scope/missing", "does not exist"]),
    BadInput("reuse shape", _reuse_other_shape, ValueError, ["w", "(3,)", "(2,)"]),
    BadInput("conv padding", lambda: tf.nn.conv2d(tf.placeholder(tf.float32, [1, 4, 4, 1]),
                                                  tf.ones([2, 2, 1, 1]), [1, 1, 1, 1], "FULL"),
             ValueError, ["conv2d", "SAME", "VALID", "FULL"]),
    BadInput("conv channels", lambda: tf.nn.conv2d(tf.placeholder(tf.float32, [1, 4, 4, 2]),
                                                   tf.ones([2, 2, 1, 1]), [1, 1, 1, 1], "SAME"),
             ValueError, ["conv2d", "2 channels", "expects 1"]),
    BadInput("sparse labels float", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.placeholder(tf.float32, [None]), logits=tf.placeholder(tf.float32, [None, 3])),
        TypeError, ["sparse_softmax_cross_entropy_with_logits", "integer", "float32"]),
    BadInput("minimize nothing", lambda: tf.train.AdamOptimizer().minimize(
        tf.reduce_sum(tf.placeholder(tf.float32, [2]))), ValueError, ["no variables"]),
    BadInput("dynamic_rnn rank", lambda: tf.nn.dynamic_rnn(
        tf.nn.rnn_cell.BasicLSTMCell(2), tf.placeholder(tf.float32, [None, 3]),
        dtype=tf.float32), ValueError, ["dynamic_rnn", "3-D", "(None, 3)"]),
    BadInput("dynamic_rnn no dtype", lambda: tf.nn.dynamic_rnn(
        tf.nn.rnn_cell.BasicLSTMCell(2), tf.placeholder(tf.float32, [None, 4, 3])),
        ValueError, ["dynamic_rnn", "initial_state", "dtype"]),
    BadInput("layer dropout rate", lambda: tf.layers.dropout(tf.ones([2]), rate=1.5),
             ValueError, ["dropout", "1.5"]),
]
test_bad_input = bad_input_test(CASES)
