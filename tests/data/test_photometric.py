"""Photometric transforms (invert, posterize, solarize, sharpness, autocontrast, equalize,
Gaussian blur and their Random* forms): tensor results against PyTorch ops, PIL results
against the tensor path, and the random draws."""
import numpy as np
import pytest
from PIL import Image, ImageOps

import ganglion as gn
from ganglion.data import transforms as T
from ganglion.vision.transforms import functional as TF

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _image(dtype="uint8", shape=(3, 12, 14), seed=0):
    values = np.random.default_rng(seed).random(shape, dtype=np.float32)
    values[..., :2, :] *= 0.5                        # not the whole range: autocontrast acts
    return (values * 200 + 20).astype(np.uint8) if dtype == "uint8" else values


def _pil(array):
    return Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)))


def _from_pil(image):
    return np.asarray(image).transpose(2, 0, 1)


def _torch_smooth(t):
    """torchvision's degenerate image for sharpness: the interior smoothed, rounded."""
    work = t.float()
    kernel = torch.ones(3, 3)
    kernel[1, 1] = 5
    kernel = (kernel / kernel.sum()).expand(t.shape[-3], 1, 3, 3)
    inner = F.conv2d(work.reshape(-1, *t.shape[-3:]), kernel, groups=t.shape[-3])
    if not t.is_floating_point():
        inner = inner.round()
    out = t.clone()
    out[..., 1:-1, 1:-1] = inner.reshape(*t.shape[:-2], *inner.shape[-2:]).to(t.dtype)
    return out


def _torch_reference(name, t):
    bound = 1.0 if t.is_floating_point() else 255
    if name == "invert":
        return bound - t
    if name == "posterize":
        return t & 0b11100000
    if name == "solarize":
        threshold = 0.6 if t.is_floating_point() else 150
        return torch.where(t >= threshold, bound - t, t)
    if name == "sharpness":
        mixed = 1.8 * t.float() + (1 - 1.8) * _torch_smooth(t).float()
        return mixed.clamp(0, bound).to(t.dtype)
    low = t.float().amin(dim=(-2, -1), keepdim=True)
    high = t.float().amax(dim=(-2, -1), keepdim=True)
    return ((t.float() - low) * (bound / (high - low))).clamp(0, bound).to(t.dtype)


OPS = {"invert": TF.invert, "posterize": lambda x: TF.posterize(x, 3),
       "solarize": lambda x: TF.solarize(x, 0.6 if isinstance(x, gn.Tensor)
                                         and x.is_floating_point() else 150),
       "sharpness": lambda x: TF.adjust_sharpness(x, 1.8), "autocontrast": TF.autocontrast}


@pytest.mark.parametrize("name, dtype", [(name, dtype) for name in OPS for dtype in
                                         ("uint8", "float32")
                                         if (name, dtype) != ("posterize", "float32")])
def test_tensor_ops_match_pytorch(name, dtype):
    image = _image(dtype, (2, 3, 12, 14))                      # a batch of two
    out = OPS[name](gn.from_numpy(image)).numpy()
    expected = _torch_reference(name, torch.from_numpy(image)).numpy()
    assert out.dtype == image.dtype and out.shape == image.shape
    if dtype == "uint8":
        # float32 rounding may put a blend on the other side of an integer before truncation
        assert np.abs(out.astype(int) - expected).max() <= 1
        assert (out == expected).mean() > 0.98
    else:
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, max_diff", [("invert", 0), ("posterize", 0), ("solarize", 0),
                                            ("sharpness", 1), ("autocontrast", 1)])
def test_pil_images_agree_with_the_tensor_path(name, max_diff):
    image = _image()
    from_pil = _from_pil(OPS[name](_pil(image))).astype(int)
    from_tensor = OPS[name](gn.from_numpy(image)).numpy().astype(int)
    assert np.abs(from_pil - from_tensor).max() <= max_diff


def test_equalize_matches_pillow():
    for seed in range(3):
        # Enough pixels for a step of several counts (below 255 pixels nothing changes).
        image = _image(shape=(3, 48, 40), seed=seed)
        image[1] = (image[1] // 40) * 40                     # a sparse histogram too
        out = TF.equalize(gn.from_numpy(image)).numpy()
        assert not np.array_equal(out, image)
        np.testing.assert_array_equal(out, _from_pil(ImageOps.equalize(_pil(image))))
    flat = np.full((3, 5, 5), 77, np.uint8)                  # one level: nothing to spread
    np.testing.assert_array_equal(TF.equalize(gn.from_numpy(flat)).numpy(), flat)


@pytest.mark.parametrize("kernel, sigma", [(3, None), ((5, 3), (1.5, 0.7)), (7, 2.0)])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_gaussian_blur_matches_a_pytorch_convolution(kernel, sigma, dtype):
    image = _image(dtype)
    out = TF.gaussian_blur(gn.from_numpy(image), kernel, sigma).numpy()
    kx, ky = (kernel, kernel) if isinstance(kernel, int) else kernel
    if sigma is None:
        sx, sy = (0.3 * ((k - 1) * 0.5 - 1) + 0.8 for k in (kx, ky))
    else:
        sx, sy = (sigma, sigma) if isinstance(sigma, float) else sigma

    def kernel1d(size, s):
        x = torch.linspace(-(size - 1) / 2, (size - 1) / 2, size)
        pdf = torch.exp(-0.5 * (x / s) ** 2)
        return pdf / pdf.sum()
    weights = torch.outer(kernel1d(ky, sy), kernel1d(kx, sx)).expand(3, 1, ky, kx)
    padded = F.pad(torch.from_numpy(image).float()[None], (kx // 2, kx // 2, ky // 2, ky // 2),
                   mode="reflect")
    expected = F.conv2d(padded, weights, groups=3)[0]
    if dtype == "uint8":
        assert np.abs(out.astype(int) - expected.round().numpy()).max() <= 1
    else:
        np.testing.assert_allclose(out, expected.numpy(), atol=2e-6)
    # a PIL image is blurred as its array
    if dtype == "uint8":
        np.testing.assert_array_equal(_from_pil(TF.gaussian_blur(_pil(image), kernel, sigma)),
                                      out)


def test_random_photometric_transforms_draw_p_and_sigma():
    image = gn.from_numpy(_image())
    for transform, adjust in ((T.RandomInvert, TF.invert),
                              (T.RandomAutocontrast, TF.autocontrast),
                              (T.RandomEqualize, TF.equalize)):
        assert transform(p=0)(image) is image
        np.testing.assert_array_equal(transform(p=1)(image).numpy(), adjust(image).numpy())
    np.testing.assert_array_equal(T.RandomPosterize(2, p=1)(image).numpy(),
                                  TF.posterize(image, 2).numpy())
    np.testing.assert_array_equal(T.RandomSolarize(99, p=1)(image).numpy(),
                                  TF.solarize(image, 99).numpy())
    np.testing.assert_array_equal(T.RandomAdjustSharpness(0.3, p=1)(image).numpy(),
                                  TF.adjust_sharpness(image, 0.3).numpy())
    gn.manual_seed(0)
    changed = sum(not np.array_equal(T.RandomInvert(p=0.25)(image).numpy(), image.numpy())
                  for _ in range(400))
    assert 70 < changed < 130
    gn.manual_seed(4)
    blurred = T.GaussianBlur(5, sigma=(0.5, 1.5))(image)
    sigma = np.random.default_rng(4).uniform(0.5, 1.5)
    np.testing.assert_array_equal(blurred.numpy(), TF.gaussian_blur(image, 5, sigma).numpy())
