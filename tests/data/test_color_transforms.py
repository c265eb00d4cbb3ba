"""Colour transforms (ColorJitter and its adjustments, RandomGrayscale) and the random
containers (RandomApply, RandomChoice, RandomOrder): tensor results against PyTorch ops and
Python's colorsys, PIL results against the tensor path, arrays against tensors, and the
randomness by seed."""
import colorsys

import numpy as np
import pytest
from PIL import Image

import ganglion as gn
from ganglion.data import transforms as T
from ganglion.vision.transforms import functional as TF

torch = pytest.importorskip("torch")


def _rgb(seed=0, shape=(3, 9, 11)):
    """A float32 RGB image in [0, 1] with some grey pixels (no hue) and some saturated ones."""
    image = np.random.default_rng(seed).random(shape, dtype=np.float32)
    image[..., 0, 3, :] = 1.0                                       # pure red row
    image[..., 1:, 3, :] = 0.0
    image[..., :, :, :3] = image[..., :1, :, :3]                    # grey columns
    return image


def _torch_gray(t):
    gray = 0.2989 * t[..., 0, :, :] + 0.587 * t[..., 1, :, :] + 0.114 * t[..., 2, :, :]
    return gray.to(t.dtype).unsqueeze(-3)


def _torch_blend(t, other, ratio):
    bound = 1.0 if t.is_floating_point() else 255.0
    return (ratio * t + (1.0 - ratio) * other).clamp(0, bound).to(t.dtype)


def _torch_reference(kind, t, factor):
    """torchvision's tensor formulas for brightness, contrast and saturation, in PyTorch ops."""
    if kind == "brightness":
        return _torch_blend(t, torch.zeros_like(t), factor)
    if kind == "contrast":
        dtype = t.dtype if t.is_floating_point() else torch.float32
        mean = _torch_gray(t).to(dtype).mean(dim=(-3, -2, -1), keepdim=True)
        return _torch_blend(t, mean, factor)
    return _torch_blend(t, _torch_gray(t), factor)


ADJUST = {"brightness": TF.adjust_brightness, "contrast": TF.adjust_contrast,
          "saturation": TF.adjust_saturation}


@pytest.mark.parametrize("kind", ["brightness", "contrast", "saturation"])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
@pytest.mark.parametrize("factor", [0.0, 0.4, 1.0, 1.7])
def test_blend_adjustments_match_pytorch_formulas(kind, dtype, factor):
    image = _rgb(1, (2, 3, 9, 11))                                 # a batch of two images
    if dtype == "uint8":
        image = (image * 255).astype(np.uint8)
    out = ADJUST[kind](gn.from_numpy(image), factor)
    expected = _torch_reference(kind, torch.from_numpy(image), factor).numpy()
    assert out.dtype == getattr(gn, dtype) and out.shape == image.shape
    if dtype == "uint8":
        # float32 rounding can put a value on the other side of an integer before truncation.
        assert np.abs(out.numpy().astype(int) - expected).max() <= 1
        assert (out.numpy() == expected).mean() > 0.99
    else:
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


def _colorsys_hue(image, factor):
    """Hue turned by ``factor`` pixel by pixel with Python's colorsys, in float64."""
    out = np.empty(image.shape, np.float64)
    for i in range(image.shape[1]):
        for j in range(image.shape[2]):
            h, s, v = colorsys.rgb_to_hsv(*image[:, i, j].astype(np.float64))
            out[:, i, j] = colorsys.hsv_to_rgb((h + factor) % 1.0, s, v)
    return out


@pytest.mark.parametrize("factor", [-0.5, -0.2, 0.0, 0.13, 0.5])
def test_hue_matches_colorsys(factor):
    image = _rgb(2)
    out = TF.adjust_hue(gn.from_numpy(image), factor).numpy()
    np.testing.assert_allclose(out, _colorsys_hue(image, factor), atol=2e-6)
    np.testing.assert_array_equal(out[:, :, :3], image[:, :, :3])      # grey has no hue
    # uint8: the same turn, converted with torchvision's rule (x * 255.999, truncated).
    image8 = (image * 255).astype(np.uint8)
    out8 = TF.adjust_hue(gn.from_numpy(image8), factor).numpy()
    expected8 = _colorsys_hue(image8 / 255.0, factor) * (256 - 1e-3)
    assert np.abs(out8 - np.floor(expected8)).max() <= 1


def test_one_channel_images_have_no_hue_or_saturation():
    gray = gn.from_numpy(_rgb(3)[:1])
    assert TF.adjust_hue(gray, 0.3) is gray and TF.adjust_saturation(gray, 0.2) is gray
    # contrast of one channel blends with its own mean
    out = TF.adjust_contrast(gray, 0.0).numpy()
    np.testing.assert_allclose(out, np.full(out.shape, gray.numpy().mean()), rtol=1e-6)


@pytest.mark.parametrize("kind, factor, max_diff", [
    ("brightness", 0.6, 1), ("brightness", 1.5, 1), ("saturation", 0.3, 1),
    ("saturation", 1.8, 2), ("contrast", 0.5, 2), ("contrast", 1.6, 3)])
def test_pil_images_agree_with_the_tensor_path(kind, factor, max_diff):
    """Pillow's ImageEnhance rounds where the tensor path truncates, and Contrast rounds its
    mean: the results differ by a level or two, as torchvision's own tests allow."""
    array = (_rgb(4, (3, 16, 16)) * 255).astype(np.uint8)
    pil = Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)))
    from_pil = np.asarray(ADJUST[kind](pil, factor)).transpose(2, 0, 1).astype(int)
    from_tensor = ADJUST[kind](gn.from_numpy(array), factor).numpy().astype(int)
    assert np.abs(from_pil - from_tensor).max() <= max_diff


def test_pil_hue_turns_pillows_8_bit_hue():
    array = (_rgb(5, (3, 16, 16)) * 255).astype(np.uint8)
    pil = Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)))
    out = TF.adjust_hue(pil, 0.25)
    assert out.mode == "RGB" and out.size == pil.size
    hue_before = np.asarray(pil.convert("HSV"))[..., 0].astype(int)
    hue_after = np.asarray(out.convert("HSV"))[..., 0].astype(int)
    saturated = np.asarray(pil.convert("HSV"))[..., 1] > 64
    turned = (hue_after - hue_before) % 256
    assert np.abs(turned[saturated] - 63).max() <= 3          # int(0.25 * 255) = 63 levels
    from_tensor = TF.adjust_hue(gn.from_numpy(array), 0.25).numpy().transpose(1, 2, 0)
    assert np.abs(np.asarray(out).astype(int) - from_tensor).mean() < 2
    assert TF.adjust_hue(pil.convert("L"), 0.25).mode == "L"


def test_hwc_arrays_match_tensors():
    image = (_rgb(6) * 255).astype(np.uint8)
    hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
    for adjust, factor in ((TF.adjust_brightness, 0.7), (TF.adjust_contrast, 1.3),
                           (TF.adjust_saturation, 0.2), (TF.adjust_hue, -0.3)):
        out = adjust(hwc, factor)
        assert isinstance(out, np.ndarray) and out.shape == hwc.shape
        np.testing.assert_array_equal(out, adjust(gn.from_numpy(image), factor).numpy()
                                      .transpose(1, 2, 0))


def test_color_jitter_draws_factors_in_its_ranges_and_order():
    jitter = T.ColorJitter(brightness=0.4, contrast=(0.5, 0.6), saturation=0, hue=0.1)
    assert jitter.brightness == (0.6, 1.4) and jitter.contrast == (0.5, 0.6)
    assert jitter.saturation is None and jitter.hue == (-0.1, 0.1)
    orders = set()
    for seed in range(40):
        order, b, c, s, h = jitter.get_params(np.random.default_rng(seed))
        assert sorted(order) == [0, 1, 2, 3] and s is None
        assert 0.6 <= b <= 1.4 and 0.5 <= c <= 0.6 and -0.1 <= h <= 0.1
        orders.add(tuple(order))
    assert len(orders) > 10

    image = gn.from_numpy(_rgb(7))
    gn.manual_seed(3)
    first = T.ColorJitter(0.5, 0.5, 0.5, 0.2)(image)
    gn.manual_seed(3)
    np.testing.assert_array_equal(first.numpy(), T.ColorJitter(0.5, 0.5, 0.5, 0.2)(image).numpy())
    assert T.ColorJitter()(image) is image                     # nothing to change


def test_color_jitter_applies_the_drawn_factors_in_the_drawn_order():
    image = gn.from_numpy(_rgb(8))
    jitter = T.ColorJitter(brightness=(1.6, 1.6), contrast=(0.3, 0.3))
    outcomes = set()
    for seed in range(8):
        gn.manual_seed(seed)
        out = jitter(image).numpy()
        bright_first = TF.adjust_contrast(TF.adjust_brightness(image, 1.6), 0.3).numpy()
        contrast_first = TF.adjust_brightness(TF.adjust_contrast(image, 0.3), 1.6).numpy()
        if np.array_equal(out, bright_first):
            outcomes.add("brightness first")
        else:
            np.testing.assert_array_equal(out, contrast_first)
            outcomes.add("contrast first")
    assert outcomes == {"brightness first", "contrast first"}


def test_random_grayscale_keeps_the_channel_count():
    image = gn.from_numpy(_rgb(9))
    out = T.RandomGrayscale(p=1)(image).numpy()
    assert out.shape == (3, 9, 11)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_allclose(out[0], 0.2989 * image.numpy()[0] + 0.587 * image.numpy()[1]
                               + 0.114 * image.numpy()[2], rtol=1e-6)
    assert T.RandomGrayscale(p=0)(image) is image
    pil = Image.fromarray((_rgb(9).transpose(1, 2, 0) * 255).astype(np.uint8))
    assert T.RandomGrayscale(p=1)(pil).mode == "RGB"


def test_random_apply_choice_and_order():
    add_one, double = (lambda x: x + 1), (lambda x: x * 2)
    assert T.RandomApply([add_one, double], p=1)(3) == 8
    assert T.RandomApply([add_one, double], p=0)(3) == 3
    gn.manual_seed(0)
    applied = sum(T.RandomApply([add_one], p=0.3)(0) for _ in range(2000))
    assert 500 < applied < 700
    assert {T.RandomChoice([add_one, double], p=[0, 1])(5) for _ in range(20)} == {10}
    assert {T.RandomChoice([add_one, double])(5) for _ in range(50)} == {6, 10}
    assert {T.RandomOrder([add_one, double])(5) for _ in range(50)} == {11, 12}
