"""Per-sample and batch transforms: values, randomness by seed, layouts, errors."""
import numpy as np
import pytest
from PIL import Image

import ganglion as gn
from ganglion.data import transforms as T


def _image(h=6, w=5, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c)).astype(np.uint8)


def test_to_tensor_from_array_pil_and_grayscale():
    image = _image()
    out = T.ToTensor()(image)
    assert isinstance(out, gn.Tensor) and out.dtype == gn.float32 and out.shape == (3, 6, 5)
    np.testing.assert_allclose(out.numpy(), image.transpose(2, 0, 1) / 255, rtol=1e-6)
    np.testing.assert_allclose(T.ToTensor()(Image.fromarray(image)).numpy(), out.numpy())
    assert T.ToTensor()(image[:, :, 0]).shape == (1, 6, 5)
    assert T.ToTensor()(np.full((2, 2, 1), 3.0)).numpy().max() == 3.0


def test_normalize_and_compose():
    pipeline = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.25, 0.5, 1.0))])
    image = _image()
    out = pipeline(image).numpy()
    expected = (image.transpose(2, 0, 1) / 255 - 0.5) / np.array([0.25, 0.5, 1.0])[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="2 means and 2 stds for 3 channels"):
        T.Normalize((0, 0), (1, 1))(np.zeros((3, 2, 2)))
    assert T.Lambda(lambda x: x + 1)(1) == 2


def test_random_crop_takes_a_window_of_the_padded_image():
    image = _image(8, 8)
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    gn.manual_seed(3)
    crop = T.RandomCrop(8, padding=2)(image)
    rng = np.random.default_rng(3)
    top, left = rng.integers(5), rng.integers(5)
    np.testing.assert_array_equal(crop, padded[top:top + 8, left:left + 8])
    chw = T.RandomCrop((4, 3))(gn.tensor(image.transpose(2, 0, 1)))
    assert chw.shape == (3, 4, 3)
    assert T.RandomCrop(4)(Image.fromarray(image)).size == (4, 4)
    with pytest.raises(ValueError, match=r"crop \(9, 9\) is larger than the \(padded\) image"):
        T.RandomCrop(9)(image)


def test_random_horizontal_flip():
    image = _image()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(image), image[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(image) is image
    tensor = gn.tensor(image.transpose(2, 0, 1))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(tensor).numpy(),
                                  image.transpose(2, 0, 1)[:, :, ::-1])


def test_batch_to_tensor_and_normalize():
    batch = np.stack([_image(seed=i) for i in range(4)])
    out = T.BatchToTensor()(batch)
    np.testing.assert_allclose(out, batch.transpose(0, 3, 1, 2) / 255, rtol=1e-6)
    assert T.BatchToTensor()(batch[..., 0]).shape == (4, 1, 6, 5)
    labels = gn.tensor([0, 1, 2, 3])
    images, same_labels = T.BatchNormalize([0.5] * 3, [0.5] * 3)((gn.tensor(out), labels))
    assert isinstance(images, gn.Tensor) and same_labels is labels
    np.testing.assert_allclose(images.numpy(), (out - 0.5) / 0.5, rtol=1e-5)


def test_batch_random_crop_matches_per_image_windows():
    batch = np.random.default_rng(1).random((16, 3, 8, 8)).astype(np.float32)
    padded = np.pad(batch, ((0, 0), (0, 0), (3, 3), (3, 3)), constant_values=0.5)
    gn.manual_seed(7)
    out = T.BatchRandomCrop(8, padding=3, fill=0.5)(batch)
    rng = np.random.default_rng(7)
    tops, lefts = rng.integers(7, size=16), rng.integers(7, size=16)
    assert out.shape == batch.shape
    for i in range(16):
        np.testing.assert_array_equal(out[i], padded[i, :, tops[i]:tops[i] + 8,
                                                     lefts[i]:lefts[i] + 8])
    with pytest.raises(ValueError, match=r"expected an \(N, C, H, W\) batch, got shape \(8, 8\)"):
        T.BatchRandomCrop(4)(np.zeros((8, 8)))


def test_batch_random_flip_flips_the_drawn_images():
    batch = np.random.default_rng(2).random((32, 3, 4, 5))
    gn.manual_seed(11)
    out = T.BatchRandomHorizontalFlip(p=0.5)(batch)
    flipped = np.random.default_rng(11).random(32) < 0.5
    assert 0 < flipped.sum() < 32
    np.testing.assert_array_equal(out[flipped], batch[flipped][..., ::-1])
    np.testing.assert_array_equal(out[~flipped], batch[~flipped])


def test_random_resized_crop_shapes_kinds_and_seed():
    image = _image(20, 30)
    gn.manual_seed(4)
    first = T.RandomResizedCrop(8)(image)
    gn.manual_seed(4)
    np.testing.assert_array_equal(first, T.RandomResizedCrop(8)(image))
    assert first.shape == (8, 8, 3) and first.dtype == np.uint8
    assert T.RandomResizedCrop((5, 7))(Image.fromarray(image)).size == (7, 5)
    chw = T.RandomResizedCrop(6)(gn.tensor(image.transpose(2, 0, 1).astype(np.float32)))
    assert chw.shape == (3, 6, 6)
    # The whole image at ratio 1 is a plain resize; an impossible ratio falls back to a centre crop.
    square = _image(12, 12)
    whole = T.RandomResizedCrop(12, scale=(1, 1), ratio=(1, 1))(square)
    np.testing.assert_array_equal(whole, square)
    assert T.RandomResizedCrop(4, scale=(1, 1), ratio=(8, 9))(square).shape == (4, 4, 3)


def test_bilinear_resize_matches_pytorch():
    torch = pytest.importorskip("torch")
    from ganglion.data.transforms import _resize_bilinear
    x = np.random.default_rng(0).random((3, 13, 17)).astype(np.float32)
    for size in [(7, 9), (20, 30)]:
        expected = torch.nn.functional.interpolate(torch.tensor(x)[None], size=size,
                                                   mode="bilinear", align_corners=False)[0]
        np.testing.assert_allclose(_resize_bilinear(x, size, -2, -1), expected.numpy(), atol=1e-5)
