"""AutoAugment, RandAugment and TrivialAugmentWide: magnitude tables against PyTorch's
linspace, each operation against Pillow, the random draws replayed from the seed, and errors."""
import math

import numpy as np
import pytest
from PIL import Image, ImageOps

import ganglion as gn
from ganglion.data import autoaugment as A
from ganglion.data import transforms as T
from ganglion.vision.transforms import functional as TF

torch = pytest.importorskip("torch")


def _array(seed=0, shape=(20, 24, 3)):
    return (np.random.default_rng(seed).random(shape) * 230 + 10).astype(np.uint8)


@pytest.mark.parametrize("start, end, steps", [(0.0, 0.3, 10), (0.0, 0.99, 31), (0.0, 32.0, 31),
                                               (0.0, 150.0 / 331.0 * 32, 10),
                                               (0.0, 150.0 / 331.0 * 24, 31), (255.0, 0.0, 31),
                                               (0.0, 135.0, 31), (0.0, 30.0, 10)])
def test_magnitude_tables_are_pytorchs_linspace(start, end, steps):
    np.testing.assert_array_equal(A.linspace32(start, end, steps),
                                  torch.linspace(start, end, steps).numpy())


@pytest.mark.parametrize("bins, levels", [(10, 4), (31, 4), (31, 6)])
def test_posterize_bits_as_torchvision(bins, levels):
    expected = 8 - (torch.arange(bins) / ((bins - 1) / levels)).round().int()
    np.testing.assert_array_equal(A._posterize_bits(bins, levels), expected.numpy())


def test_policies_have_25_pairs_of_known_operations():
    space = A._space(10, 32, 32, identity=False, invert=True)
    for policy in T.AutoAugmentPolicy:
        pairs = A._POLICIES[policy]
        assert len(pairs) == 25 and all(len(pair) == 2 for pair in pairs)
        for name, probability, bin_ in (op for pair in pairs for op in pair):
            assert name in space and 0 <= probability <= 1
            assert (bin_ is None) == (space[name][0] is None)
            assert bin_ is None or 0 <= bin_ < 10


PIL_EXPECTED = {
    # AutoAugment's own definitions on PIL images (shear by the level, about the corner).
    "ShearX": lambda im, m: im.transform(im.size, Image.Transform.AFFINE, (1, m, 0, 0, 1, 0)),
    "ShearY": lambda im, m: im.transform(im.size, Image.Transform.AFFINE, (1, 0, 0, m, 1, 0)),
    "TranslateX": lambda im, m: im.transform(im.size, Image.Transform.AFFINE,
                                             (1, 0, -int(m), 0, 1, 0)),
    "TranslateY": lambda im, m: im.transform(im.size, Image.Transform.AFFINE,
                                             (1, 0, 0, 0, 1, -int(m))),
    "Rotate": lambda im, m: im.rotate(m),
    "Posterize": lambda im, m: ImageOps.posterize(im, int(m)),
    "Solarize": lambda im, m: ImageOps.solarize(im, m),
    "AutoContrast": lambda im, m: ImageOps.autocontrast(im),
    "Equalize": lambda im, m: ImageOps.equalize(im),
    "Invert": lambda im, m: ImageOps.invert(im),
    "Identity": lambda im, m: im,
}


@pytest.mark.parametrize("name, magnitude", [
    ("ShearX", 0.3), ("ShearX", -0.2), ("ShearY", 0.25), ("TranslateX", 7.9),
    ("TranslateY", -5.2), ("Rotate", 20.0), ("Posterize", 3.0), ("Solarize", 140.5),
    ("AutoContrast", 0.0), ("Equalize", 0.0), ("Invert", 0.0), ("Identity", 0.0)])
def test_operations_on_pil_images_are_pillows(name, magnitude):
    image = Image.fromarray(_array(1, (40, 36, 3)))
    got = A.apply_op(image, name, magnitude)
    assert got.mode == "RGB" and got.size == image.size
    np.testing.assert_array_equal(np.asarray(got), np.asarray(PIL_EXPECTED[name](image, magnitude)))


@pytest.mark.parametrize("name, magnitude, max_diff", [
    ("ShearX", 0.3, 0), ("ShearY", -0.25, 0), ("TranslateX", 7.9, 0), ("TranslateY", -5.2, 0),
    ("Rotate", 20.0, 0), ("Brightness", 0.5, 1), ("Color", -0.4, 1), ("Contrast", 0.6, 3),
    ("Sharpness", 0.7, 1), ("Posterize", 3.0, 0), ("Solarize", 140.5, 0),
    ("AutoContrast", 0.0, 1), ("Equalize", 0.0, 0), ("Invert", 0.0, 0)])
def test_arrays_and_tensors_agree_with_pil_images(name, magnitude, max_diff):
    array = _array(2, (40, 36, 3))
    from_pil = np.asarray(A.apply_op(Image.fromarray(array), name, magnitude)).astype(int)
    from_array = A.apply_op(array, name, magnitude).astype(int)
    from_tensor = A.apply_op(gn.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))), name,
                             magnitude).numpy().transpose(1, 2, 0)
    np.testing.assert_array_equal(from_array, from_tensor)
    # a rotation's nearest samples may fall on a pixel boundary: allow a few pixels to differ
    close = np.abs(from_pil - from_array) <= max_diff
    assert close.mean() > (0.99 if name == "Rotate" else 1 - 1e-9)


def _replay_auto_augment(image, policy, seed):
    rng = np.random.default_rng(seed)
    pair = A._POLICIES[policy][int(rng.integers(25))]
    draws, signs = rng.random(2), rng.integers(2, size=2)
    height, width = image.shape[:2]
    # the signed operations' largest magnitudes (bins 0-9 run linearly up to them)
    ends = {"ShearX": 0.3, "ShearY": 0.3, "Rotate": 30.0, "TranslateX": 150 / 331 * width,
            "TranslateY": 150 / 331 * height, "Brightness": 0.9, "Color": 0.9, "Contrast": 0.9,
            "Sharpness": 0.9}
    for (name, probability, bin_), draw, sign in zip(pair, draws, signs):
        if draw > probability:
            continue
        magnitude = 0.0
        if name == "Posterize":
            magnitude = float(8 - round(bin_ / (9 / 4)))
        elif name == "Solarize":
            magnitude = float(torch.linspace(255.0, 0.0, 10)[bin_])
        elif name in ends:
            magnitude = float(torch.linspace(0.0, ends[name], 10)[bin_])
            if sign == 0:
                magnitude = -magnitude
        image = A.apply_op(image, name, magnitude)
    return image


@pytest.mark.parametrize("policy", list(T.AutoAugmentPolicy))
def test_auto_augment_replays_its_draws(policy):
    image = _array(3, (32, 32, 3))
    for seed in range(12):
        gn.manual_seed(seed)
        got = T.AutoAugment(policy)(image)
        np.testing.assert_array_equal(got, _replay_auto_augment(image, policy, seed))


def test_rand_augment_and_trivial_augment_replay_their_draws():
    image = _array(4, (32, 32, 3))
    names = list(A._space(31, 32, 32))
    for seed in range(12):
        gn.manual_seed(seed)
        got = T.RandAugment(num_ops=2, magnitude=9)(image)
        rng, expected = np.random.default_rng(seed), image
        for _ in range(2):
            name = names[int(rng.integers(14))]
            magnitudes, signed = A._space(31, 32, 32)[name]
            magnitude = 0.0 if magnitudes is None else float(magnitudes[9])
            if signed and rng.integers(2):
                magnitude = -magnitude
            expected = A.apply_op(expected, name, magnitude)
        np.testing.assert_array_equal(got, expected)

        gn.manual_seed(seed)
        got = T.TrivialAugmentWide()(image)
        rng = np.random.default_rng(seed)
        name = names[int(rng.integers(14))]
        magnitudes, signed = A._space(31, 32, 32, wide=True)[name]
        magnitude = 0.0 if magnitudes is None else float(magnitudes[int(rng.integers(31))])
        if signed and rng.integers(2):
            magnitude = -magnitude
        np.testing.assert_array_equal(got, A.apply_op(image, name, magnitude))


def test_wide_ranges_reach_their_ends():
    space = A._space(31, 32, 32, wide=True)
    assert space["Rotate"][0][-1] == 135.0 and space["TranslateX"][0][-1] == 32.0
    assert list(space["Posterize"][0][[0, -1]]) == [8, 2]
    assert math.isclose(space["ShearX"][0][-1], 0.99, rel_tol=1e-6)


def test_policies_refuse_float_images_and_bad_options():
    with pytest.raises(TypeError, match="AutoAugment: expected a PIL image or a uint8 image.*"
                                        "float32.*before ToTensor"):
        T.AutoAugment()(gn.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="unknown policy 'mnist'; known: imagenet, cifar10, svhn"):
        T.AutoAugment("mnist")
    with pytest.raises(ValueError, match=r"RandAugment: magnitude should be a bin in \[0, 31\)"):
        T.RandAugment(magnitude=31)
    with pytest.raises(ValueError, match="unknown operation 'Blur'"):
        A.apply_op(_array(), "Blur", 1.0)
    assert T.AutoAugment("cifar10").policy is T.AutoAugmentPolicy.CIFAR10
    assert TF.autocontrast is not None
