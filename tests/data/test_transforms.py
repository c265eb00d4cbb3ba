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


def _boxes(before, after):
    """(top, left, height, width) of the changed rectangle of each image, or None; asserts
    that what changed is one rectangle through every channel."""
    boxes = []
    for old, new in zip(before, after):
        changed = (old != new).any(axis=0)
        if not changed.any():
            boxes.append(None)
            continue
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        top, left = rows[0], cols[0]
        height, width = rows[-1] - top + 1, cols[-1] - left + 1
        assert changed.sum() == height * width, "the erased pixels are not one rectangle"
        boxes.append((top, left, height, width))
    return boxes


def _torchvision_box(height, width, scale, ratio, rng):
    """torchvision's ``RandomErasing.get_params``, transcribed loop for loop: up to ten tries,
    the first box strictly inside the image wins."""
    for _ in range(10):
        area = height * width * rng.uniform(*scale)
        aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
        h, w = int(round(np.sqrt(area * aspect))), int(round(np.sqrt(area / aspect)))
        if h < height and w < width:
            return h, w
    return None


@pytest.mark.parametrize("scale, no_box", [((0.1, 0.9), (-0.02, 0.02)),
                                            ((0.6, 0.95), (0.15, 0.25))])
def test_batch_random_erasing_draws_torchvisions_boxes(scale, no_box):
    """The vectorised draw has the distribution of torchvision's loop: erase rate, box sizes
    and the share of images where no box fits (on a wide image, and with large boxes the ten
    tries often fail; swapped height and width would show)."""
    height, width, ratio = 10, 16, (0.3, 3.3)
    images = np.random.default_rng(0).random((20000, 2, height, width)).astype(np.float32)
    gn.manual_seed(3)
    out = T.BatchRandomErasing(p=0.7, scale=scale, ratio=ratio, value=(-1.0, -2.0))(images)
    boxes = _boxes(images, out)
    erased = [b for b in boxes if b is not None]
    for top, left, h, w in erased[:200]:
        assert top + h <= height and left + w <= width
    np.testing.assert_array_equal(out[:, 0][out[:, 0] != images[:, 0]], -1.0)
    np.testing.assert_array_equal(out[:, 1][out[:, 1] != images[:, 1]], -2.0)

    rng = np.random.default_rng(5)
    reference = [_torchvision_box(height, width, scale, ratio, rng) if rng.random() < 0.7
                 else None for _ in range(20000)]
    reference_sizes = np.array([b for b in reference if b is not None])
    sizes = np.array([(h, w) for _, _, h, w in erased])
    assert abs(len(erased) / 20000 - len(reference_sizes) / 20000) < 0.015
    # 0.7 of the images are drawn (give or take 0.005); those where no box fits stay whole.
    assert no_box[0] <= 1 - len(erased) / (0.7 * 20000) <= no_box[1]
    np.testing.assert_allclose(sizes.mean(axis=0), reference_sizes.mean(axis=0), rtol=0.03)
    np.testing.assert_allclose(sizes.std(axis=0), reference_sizes.std(axis=0), rtol=0.05)
    areas = sizes.prod(axis=1) / (height * width)
    assert areas.min() >= 0.05 and areas.max() <= 1.0


def test_random_erasing_per_sample_tensor_noise_inplace_and_seed():
    image = gn.tensor(np.random.default_rng(1).random((3, 32, 32)).astype(np.float32))
    assert T.RandomErasing(p=0)(image) is image
    gn.manual_seed(2)
    first = T.RandomErasing(p=1, value="random")(image)
    gn.manual_seed(2)
    again = T.RandomErasing(p=1, value="random")(image)
    assert isinstance(first, gn.Tensor)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    (top, left, h, w), = _boxes(image.numpy()[None], first.numpy()[None])
    noise = first.numpy()[:, top:top + h, left:left + w]
    assert 0.02 * 1024 - 32 <= h * w <= 0.33 * 1024 + 32
    assert abs(noise.mean()) < 0.3 and 0.7 < noise.std() < 1.3    # standard normal noise

    array = image.numpy().copy()
    kept = array.copy()
    gn.manual_seed(4)
    assert T.RandomErasing(p=1, value=0.5, inplace=True)(array) is array
    (top, left, h, w), = _boxes(kept[None], array[None])
    np.testing.assert_array_equal(array[:, top:top + h, left:left + w], 0.5)
    # A (..., C, H, W) stack erases the same box in every image, as torchvision's.
    stack = np.stack([kept, kept])
    out = T.RandomErasing(p=1, value=(1, 2, 3))(stack)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(np.unique(out[0][out[0] != kept]), [1, 2, 3])


def test_batch_random_erasing_keeps_batch_kinds_and_input():
    images = np.random.default_rng(6).random((8, 3, 12, 12)).astype(np.float32)
    labels = gn.tensor(np.arange(8))
    kept = images.copy()
    out, same_labels = T.BatchRandomErasing(p=1)((gn.tensor(images), labels))
    assert isinstance(out, gn.Tensor) and same_labels is labels
    np.testing.assert_array_equal(images, kept)
    assert all(b is not None for b in _boxes(images, out.numpy()))
    np.testing.assert_array_equal(T.BatchRandomErasing(p=0)(images), images)


def test_functional_erase_sets_the_box_and_copies_unless_in_place():
    from ganglion.vision.transforms import functional as TF
    image = gn.tensor(np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5))
    out = TF.erase(image, 1, 2, 2, 3, gn.tensor(np.array([[[-1.0]], [[-2.0]]], np.float32)))
    expected = image.numpy().copy()
    expected[0, 1:3, 2:5], expected[1, 1:3, 2:5] = -1, -2
    np.testing.assert_array_equal(out.numpy(), expected)
    assert image.numpy()[0, 1, 2] == 7           # the input is kept
    array = image.numpy().copy()
    assert TF.erase(array, 0, 0, 1, 1, 9.0, inplace=True) is array
    assert array[:, 0, 0].tolist() == [9, 9]
