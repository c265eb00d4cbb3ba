"""Affine maps (``functional.affine``, ``RandomAffine``): the inverse matrix against one composed
from its factors, tensor sampling against PyTorch's grid_sample, PIL against tensors, and the
random parameters."""
import math

import numpy as np
import pytest
from PIL import Image

import ganglion as gn
from ganglion.data import transforms as T
from ganglion.data.image_ops import inverse_affine_matrix
from ganglion.vision.transforms import functional as TF

torch = pytest.importorskip("torch")

CASES = [  # angle, translate, scale, shear, center
    (0.0, (0, 0), 1.0, (0.0, 0.0), None),
    (25.0, (2, -1), 1.0, (0.0, 0.0), None),
    (-40.0, (0, 3), 0.8, (10.0, 0.0), (3, 4)),
    (90.0, (-2, 2), 1.3, (0.0, -15.0), None),
    (12.5, (1, 1), 1.1, (20.0, 8.0), (6, 2)),
]


def _composed_inverse(center, angle, translate, scale, shear):
    """The inverse of T(center + translate) @ scale * R(angle) SHy SHx @ T(-center), composed
    from 3x3 factors and inverted numerically."""
    a, sx, sy = (math.radians(v) for v in (angle, *shear))

    def shift(x, y):
        return np.array([[1, 0, x], [0, 1, y], [0, 0, 1.0]])
    rotation = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0],
                         [0, 0, 1.0]])
    shear_y = np.array([[1, 0, 0], [-math.tan(sy), 1, 0], [0, 0, 1.0]])
    shear_x = np.array([[1, -math.tan(sx), 0], [0, 1, 0], [0, 0, 1.0]])
    linear = np.diag([scale, scale, 1.0]) @ rotation @ shear_y @ shear_x
    forward = shift(center[0] + translate[0], center[1] + translate[1]) @ linear @ \
        shift(-center[0], -center[1])
    return np.linalg.inv(forward)[:2]


@pytest.mark.parametrize("angle, translate, scale, shear, center", CASES)
def test_inverse_matrix_inverts_the_composed_map(angle, translate, scale, shear, center):
    pivot = center or (1.5, -2.0)
    np.testing.assert_allclose(inverse_affine_matrix(pivot, angle, translate, scale, shear),
                               _composed_inverse(pivot, angle, translate, scale, shear),
                               atol=1e-12)


def _grid_sample(image, inverse, mode, fill):
    """Output pixels (centred coordinates) sample ``inverse @ (x, y, 1)`` with PyTorch's
    grid_sample, fill blended by a sampled mask of ones (torchvision's tensor affine)."""
    c, h, w = image.shape
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5 - h * 0.5, torch.arange(w) + 0.5 - w * 0.5,
                            indexing="ij")
    m = torch.tensor(inverse, dtype=torch.float64)
    grid = torch.stack((m[0, 0] * xs + m[0, 1] * ys + m[0, 2],
                        m[1, 0] * xs + m[1, 1] * ys + m[1, 2]), -1)
    grid = (grid / torch.tensor([w * 0.5, h * 0.5], dtype=torch.float64)).float()
    source = torch.cat((torch.from_numpy(image), torch.ones(1, h, w)))[None]
    out = torch.nn.functional.grid_sample(source, grid[None], mode=mode, align_corners=False)
    mask, out = out[0, -1:], out[0, :-1]
    if mode == "nearest":
        return torch.where(mask < 0.5, torch.tensor(fill), out).numpy()
    return (out * mask + (1 - mask) * fill).numpy()


@pytest.mark.parametrize("angle, translate, scale, shear, center", CASES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_tensor_affine_matches_grid_sample(angle, translate, scale, shear, center, mode):
    image = np.random.default_rng(0).random((3, 11, 13), dtype=np.float32)
    out = TF.affine(gn.from_numpy(image), angle, translate, scale, shear, interpolation=mode,
                    fill=0.3, center=center).numpy()
    pivot = (0.0, 0.0) if center is None else (center[0] - 6.5, center[1] - 5.5)
    expected = _grid_sample(image, _composed_inverse(pivot, angle, translate, scale, shear),
                            mode, 0.3)
    if mode == "bilinear":
        np.testing.assert_allclose(out, expected, atol=2e-5)
    else:
        # A sample exactly between two pixels may round either way in float32.
        assert (np.abs(out - expected) < 1e-6).mean() > 0.99


def test_affine_whole_pixel_shift_and_rotation():
    image = np.arange(2 * 6 * 7, dtype=np.float32).reshape(2, 6, 7)
    shifted = TF.affine(gn.from_numpy(image), 0, (2, 1), 1.0, 0.0, fill=-1).numpy()
    np.testing.assert_array_equal(shifted[:, 1:, 2:], image[:, :-1, :-2])
    assert (shifted[:, 0] == -1).all() and (shifted[:, :, :2] == -1).all()
    # affine's angle turns clockwise, rotate's counter-clockwise.
    x = gn.from_numpy(np.random.default_rng(1).random((3, 9, 9), dtype=np.float32))
    turned = TF.affine(x, -30, (0, 0), 1.0, 0.0, interpolation="bilinear")
    np.testing.assert_allclose(turned.numpy(), TF.rotate(x, 30, interpolation="bilinear").numpy(),
                               atol=1e-6)
    hwc = np.ascontiguousarray((image[:1].transpose(1, 2, 0) * 2).astype(np.uint8))
    np.testing.assert_array_equal(TF.affine(hwc, 0, (2, 1), 1.0, 0.0)[1:, 2:, 0], hwc[:-1, :-2, 0])


@pytest.mark.parametrize("angle, translate, scale, shear, center", CASES[1:])
def test_pil_affine_agrees_with_the_tensor_path(angle, translate, scale, shear, center):
    """Pillow maps the same points (torchvision hands Pillow the matrix about the centre
    (w / 2, h / 2)); nearest sampling could pick the neighbour where a sample falls on a pixel
    boundary, which these cases avoid."""
    yy, xx = np.mgrid[0:24, 0:28]
    array = np.stack([xx * 9, yy * 10, (xx + yy) * 4]).astype(np.uint8)    # smooth ramps
    pil = Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)))
    from_pil = np.asarray(TF.affine(pil, angle, translate, scale, shear, fill=7,
                                    center=center)).transpose(2, 0, 1).astype(int)
    from_tensor = TF.affine(gn.from_numpy(array), angle, translate, scale, shear, fill=7,
                            center=center).numpy().astype(int)
    assert (from_pil == from_tensor).mean() > 0.99


def test_random_affine_parameters_and_seed():
    affine = T.RandomAffine(degrees=20, translate=(0.1, 0.2), scale=(0.8, 1.2),
                            shear=(-5, 5, 1, 3))
    for seed in range(30):
        angle, (tx, ty), scale, (sx, sy) = affine.get_params(40, 30, np.random.default_rng(seed))
        assert -20 <= angle <= 20 and 0.8 <= scale <= 1.2
        assert isinstance(tx, int) and abs(tx) <= 4 and abs(ty) <= 6
        assert -5 <= sx <= 5 and 1 <= sy <= 3
    assert T.RandomAffine(10, shear=7).shear == (-7.0, 7.0)
    assert T.RandomAffine(10).get_params(8, 8, np.random.default_rng(0))[1:] == \
        ((0, 0), 1.0, (0.0, 0.0))
    image = gn.from_numpy(np.random.default_rng(2).random((3, 10, 12), dtype=np.float32))
    gn.manual_seed(5)
    first = affine(image)
    gn.manual_seed(5)
    np.testing.assert_array_equal(first.numpy(), affine(image).numpy())
    assert not np.array_equal(first.numpy(), image.numpy())
