"""``ganglion.vision.transforms.v2``: torchvision's v2 names (the v1 objects, MixUp, CutMix) and
its conversions ToImage and ToDtype, checked against PyTorch's arithmetic."""
import numpy as np
import pytest
from PIL import Image

import ganglion as gn
import ganglion.vision as torchvision
from ganglion.data import transforms as data_transforms
from ganglion.vision.transforms import v2

torch = pytest.importorskip("torch")


def test_v2_names_are_the_v1_objects_plus_the_mixers():
    assert torchvision.transforms.v2 is v2
    assert v2.RandomCrop is torchvision.transforms.RandomCrop
    assert v2.MixUp is data_transforms.MixUp and v2.CutMix is data_transforms.CutMix
    assert set(torchvision.transforms.__all__) < set(v2.__all__)


def test_to_image_keeps_dtype_and_moves_channels_first():
    array = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 3).astype(np.uint8)
    for source in (Image.fromarray(array), array):
        image = v2.ToImage()(source)
        assert image.dtype == gn.uint8 and image.shape == (3, 4, 5)
        np.testing.assert_array_equal(image.numpy(), array.transpose(2, 0, 1))
    assert v2.ToImage()(array[:, :, 0]).shape == (1, 4, 5)
    tensor = gn.zeros(3, 2, 2)
    assert v2.ToImage()(tensor) is tensor
    with pytest.raises(TypeError, match=r"ToImage: expected a PIL image or an \(H, W\[, C\]\)"):
        v2.ToImage()(np.zeros(4))


@pytest.mark.parametrize("source, target", [("uint8", "float32"), ("uint8", "float64"),
                                            ("float32", "uint8"), ("uint8", "int8"),
                                            ("int8", "int16"), ("float32", "float64")])
def test_to_dtype_scales_as_torchvision(source, target):
    rng = np.random.default_rng(0)
    if source == "float32":
        values = rng.random(50, dtype=np.float32)
        values[:2] = (0.0, 1.0)
    else:
        info = np.iinfo(source)
        values = rng.integers(max(info.min, 0), info.max + 1, 50).astype(source)
        values[:2] = (max(info.min, 0), info.max)
    out = v2.ToDtype(getattr(gn, target), scale=True)(gn.from_numpy(values)).numpy()
    t = torch.from_numpy(values)
    bits = {"uint8": 8, "int8": 7, "int16": 15}
    if source == target or (source.startswith("float") and target.startswith("float")):
        expected = t.to(getattr(torch, target))
    elif target.startswith("float"):
        expected = t.to(getattr(torch, target)).mul_(1.0 / 255)
    elif source.startswith("float"):
        expected = t.mul(255 + 1.0 - 1e-3).to(getattr(torch, target))
    elif bits[source] > bits[target]:
        expected = t.bitwise_right_shift(bits[source] - bits[target]).to(getattr(torch, target))
    else:
        expected = t.to(getattr(torch, target)).bitwise_left_shift_(bits[target] - bits[source])
    assert out.dtype == np.dtype(target)
    np.testing.assert_array_equal(out, expected.numpy())
    assert v2.ToDtype(gn.float32)(gn.from_numpy(np.array([3], np.uint8))).numpy()[0] == 3.0


def test_a_v2_pipeline_from_a_tutorial():
    image = Image.fromarray((np.random.default_rng(1).random((40, 36, 3)) * 255).astype(np.uint8))
    pipeline = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(24, antialias=True),
                           v2.RandomHorizontalFlip(), v2.ToDtype(gn.float32, scale=True),
                           v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                           v2.ToPureTensor()])
    gn.manual_seed(0)
    out = pipeline(image)
    assert out.shape == (3, 24, 24) and out.dtype == gn.float32
    assert -2.2 < float(out.min()) < float(out.max()) < 2.7
