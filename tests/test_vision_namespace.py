"""ganglion.vision is torchvision's namespace: the same transform objects as ganglion.data,
datasets with torchvision's samples (the MNIST pipeline on the real files), transforms checked
against Pillow and PyTorch's interpolate / grid_sample (torchvision is not installed: its tensor
formulas are rebuilt here from torch ops), make_grid / save_image pixel layout, read_image."""
import gzip
import io as bytes_io
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bad_inputs import BadInput, bad_input_test
from PIL import Image

import ganglion as gn
import ganglion.data.transforms as data_transforms
import ganglion.models
import ganglion.vision as torchvision
from ganglion.vision import datasets, io, transforms, utils
from ganglion.vision.transforms import functional as TF

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[2] / "shared" / "datasets")


def _rgb(h=13, w=17, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _np(t):
    return np.asarray(t.detach())


# ----- namespace ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Compose", "ToTensor", "Normalize", "Resize", "CenterCrop",
                                  "RandomResizedCrop", "RandomHorizontalFlip", "RandomCrop",
                                  "Lambda", "Grayscale", "Pad", "RandomRotation", "ToPILImage",
                                  "PILToTensor", "RandomVerticalFlip", "InterpolationMode"])
def test_transforms_are_ganglion_data_transforms(name):
    assert getattr(transforms, name) is getattr(data_transforms, name)


def test_import_as_torchvision():
    assert torchvision.datasets is datasets and torchvision.transforms is transforms
    assert torchvision.utils.make_grid is utils.make_grid
    assert torchvision.io.read_image is io.read_image


def test_models_namespace_follows_the_zoo(monkeypatch):
    assert torchvision.models.lenet5 is ganglion.models.lenet5
    assert torchvision.models.get_model is ganglion.models.get_model
    with pytest.raises(AttributeError, match="'densenet121' is not in ganglion's model zoo yet"):
        torchvision.models.densenet121
    with pytest.raises(AttributeError, match="no attribute 'not_a_model'"):
        torchvision.models.not_a_model
    # A model the zoo gains later is found under its name without touching vision.models.
    monkeypatch.setattr(ganglion.models, "densenet121", lambda **kw: "built", raising=False)
    assert torchvision.models.densenet121() == "built"


# ----- datasets -------------------------------------------------------------------------------

def _idx(path):
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                    reason=f"the shared MNIST files are not at {SHARED / 'mnist'}")
def test_torchvision_style_mnist_pipeline(tmp_path):
    pipeline = transforms.Compose([transforms.ToTensor(),
                                   transforms.Normalize((0.1307,), (0.3081,))])
    # A root without the files: found in the shared data folder, as a ported script's ../data.
    test_set = datasets.MNIST(tmp_path, train=False, transform=pipeline)
    images = _idx(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = _idx(SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert len(test_set) == 10000
    image, label = test_set[3]
    assert type(label) is int and label == labels[3]
    expected = ((images[3] / np.float32(255)) - np.float32(0.1307)) / np.float32(0.3081)
    assert image.shape == (1, 28, 28) and image.dtype == gn.float32
    np.testing.assert_allclose(_np(image)[0], expected, rtol=1e-5, atol=1e-5)
    raw_image, _ = datasets.MNIST(tmp_path, train=False)[3]
    assert isinstance(raw_image, Image.Image) and raw_image.mode == "L"
    np.testing.assert_array_equal(np.asarray(raw_image), images[3])
    loader = gn.utils.data.DataLoader(test_set, batch_size=64, shuffle=False)
    x, y = next(iter(loader))
    assert x.shape == (64, 1, 28, 28) and y.shape == (64,) and y.dtype == gn.int64
    np.testing.assert_array_equal(_np(y), labels[:64])
    reference = (images[:64, None] / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_allclose(_np(x), reference, rtol=1e-5, atol=1e-5)


def test_missing_dataset_names_every_folder_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("GANGLION_DATA", str(tmp_path / "shared"))
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.MNIST(tmp_path / "data", train=True)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, RuntimeError)
    assert str(tmp_path / "data" / "MNIST" / "raw") in message
    assert str(tmp_path / "shared" / "mnist") in message and "download=True" in message


def test_fake_data():
    fake = datasets.FakeData(size=4, image_size=(3, 6, 5), num_classes=3)
    image, label = fake[2]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (5, 6)
    assert type(label) is int and 0 <= label < 3
    again, same_label = fake[2]
    assert np.array_equal(np.asarray(again), np.asarray(image)) and same_label == label
    assert not np.array_equal(np.asarray(fake[1][0]), np.asarray(image))
    gray = datasets.FakeData(2, (1, 4, 4), transform=transforms.ToTensor())[0][0]
    assert gray.shape == (1, 4, 4) and 0 <= float(gray.min()) <= float(gray.max()) <= 1
    x, y = next(iter(gn.utils.data.DataLoader(
        datasets.FakeData(6, (3, 4, 4), transform=transforms.ToTensor()), batch_size=4)))
    assert x.shape == (4, 3, 4, 4) and y.dtype == gn.int64


def test_image_folder_gives_pil_images(tmp_path):
    for cls, color in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        (tmp_path / cls).mkdir()
        Image.new("RGB", (4, 3), color).save(tmp_path / cls / "a.png")
    folder = datasets.ImageFolder(tmp_path)
    assert folder.classes == ["cat", "dog"] and folder.class_to_idx == {"cat": 0, "dog": 1}
    image, label = folder[1]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and label == 1
    assert image.getpixel((0, 0)) == (0, 0, 255)
    assert folder.imgs == folder.samples and folder.samples[0][0].endswith("a.png")
    gray = datasets.ImageFolder(tmp_path, loader=lambda p: Image.open(p).convert("L"),
                                transform=transforms.PILToTensor())
    assert gray[0][0].shape == (1, 3, 4) and int(gray[0][0][0, 0, 0]) == 76  # Pillow's luma


# ----- transforms -----------------------------------------------------------------------------

def test_resize_pil_is_pillows_resize():
    image = Image.fromarray(_rgb())  # 17 wide, 13 high
    out = transforms.Resize(8)(image)
    assert out.size == (int(8 * 17 / 13), 8)
    assert np.array_equal(np.asarray(out), np.asarray(image.resize((10, 8), Image.BILINEAR)))
    nearest = transforms.Resize((5, 6), interpolation=transforms.InterpolationMode.NEAREST)(image)
    assert np.array_equal(np.asarray(nearest), np.asarray(image.resize((6, 5), Image.NEAREST)))
    assert transforms.Resize(8, max_size=9)(image).size == (9, int(9 * 8 / 10))
    assert transforms.Resize(13)(image) is image  # already that size: returned as it is


@pytest.mark.parametrize("size", [(5, 7), (20, 30), (13, 9), (6, 40)])
@pytest.mark.parametrize("mode,antialias", [("bilinear", True), ("bilinear", False),
                                            ("nearest", False), ("nearest-exact", False)])
def test_resize_tensor_matches_interpolate(size, mode, antialias):
    x = np.random.default_rng(1).random((3, 13, 17)).astype(np.float32)
    kwargs = {"align_corners": False, "antialias": antialias} if mode == "bilinear" else {}
    expected = F.interpolate(torch.tensor(x)[None], size=size, mode=mode, **kwargs)[0].numpy()
    got = transforms.Resize(size, interpolation=mode, antialias=antialias)(gn.tensor(x))
    np.testing.assert_allclose(_np(got), expected, atol=2e-6)


def test_center_crop():
    x = np.arange(2 * 7 * 8, dtype=np.float32).reshape(2, 7, 8)
    # Margins 2.5 and 2.0: Python's round gives top 2 (half to even) and left 2.
    np.testing.assert_array_equal(_np(transforms.CenterCrop((2, 4))(gn.tensor(x))),
                                  x[:, 2:4, 2:6])
    np.testing.assert_array_equal(_np(transforms.CenterCrop(3)(gn.tensor(x))), x[:, 2:5, 2:5])
    image = Image.fromarray(_rgb())
    assert np.array_equal(np.asarray(transforms.CenterCrop(5)(image)),
                          np.asarray(image)[4:9, 6:11])
    # Larger than the image: zero-padded, (extra // 2) before and the rest after.
    padded = _np(transforms.CenterCrop((10, 11))(gn.tensor(x)))
    assert padded.shape == (2, 10, 11)
    np.testing.assert_array_equal(padded[:, 1:8, 1:9], x)
    assert padded[:, 0].sum() == padded[:, 8:].sum() == padded[:, :, 0].sum() == 0


@pytest.mark.parametrize("mode,torch_mode", [("reflect", "reflect"), ("edge", "replicate"),
                                             ("constant", "constant")])
def test_pad_tensor_modes_match_torch(mode, torch_mode):
    x = np.random.default_rng(2).random((2, 5, 6)).astype(np.float32)
    got = transforms.Pad((1, 2, 3, 2), fill=0.5, padding_mode=mode)(gn.tensor(x))
    kwargs = {"value": 0.5} if mode == "constant" else {}
    expected = F.pad(torch.tensor(x)[None], (1, 3, 2, 2), mode=torch_mode, **kwargs)[0]
    np.testing.assert_array_equal(_np(got), expected.numpy())
    symmetric = transforms.Pad(2, padding_mode="symmetric")(gn.tensor(x))
    np.testing.assert_array_equal(_np(symmetric), np.pad(x, ((0, 0), (2, 2), (2, 2)), "symmetric"))


def test_pad_pil_keeps_mode_and_fills_per_channel():
    image = Image.fromarray(_rgb(4, 5))
    out = transforms.Pad((1, 2), fill=(10, 20, 30))(image)
    assert out.size == (7, 8) and out.mode == "RGB"
    assert out.getpixel((0, 0)) == (10, 20, 30)
    np.testing.assert_array_equal(np.asarray(out)[2:6, 1:6], np.asarray(image))
    palette = image.convert("P")
    edged = transforms.Pad(1, padding_mode="edge")(palette)
    assert edged.mode == "P" and edged.getpalette() == palette.getpalette()
    np.testing.assert_array_equal(np.asarray(edged), np.pad(np.asarray(palette), 1, "edge"))


def test_grayscale():
    rgb = _rgb()
    image = Image.fromarray(rgb)
    assert np.array_equal(np.asarray(transforms.Grayscale()(image)), np.asarray(image.convert("L")))
    three = transforms.Grayscale(num_output_channels=3)(image)
    assert three.mode == "RGB" and np.array_equal(np.asarray(three)[:, :, 1],
                                                  np.asarray(image.convert("L")))
    x = torch.tensor(rgb.transpose(2, 0, 1) / 255.0, dtype=torch.float32)
    r, g, b = x.unbind(0)
    expected = (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(0)  # torchvision's formula
    got = transforms.Grayscale()(gn.tensor(x.numpy()))
    np.testing.assert_allclose(_np(got), expected.numpy(), atol=1e-6)
    as_uint8 = torch.tensor(rgb.transpose(2, 0, 1))
    r, g, b = as_uint8.unbind(0)
    expected = (0.2989 * r + 0.587 * g + 0.114 * b).to(torch.uint8)  # truncated, as there
    got = transforms.Grayscale(3)(gn.tensor(rgb.transpose(2, 0, 1)))
    assert got.shape == (3, 13, 17) and got.dtype == gn.uint8
    assert np.abs(_np(got)[2].astype(int) - expected.numpy().astype(int)).max() <= 1


def test_to_pil_image_and_back():
    x = np.array([[[0.0, 0.5], [0.999, 1.0]]], np.float32)
    image = transforms.ToPILImage()(gn.tensor(x))
    assert image.mode == "L"
    np.testing.assert_array_equal(np.asarray(image), [[0, 127], [254, 255]])  # x * 255, truncated
    rgb = _rgb(3, 4)
    as_pil = transforms.ToPILImage()(transforms.PILToTensor()(Image.fromarray(rgb)))
    assert as_pil.mode == "RGB" and np.array_equal(np.asarray(as_pil), rgb)
    rgba = transforms.ToPILImage()(np.dstack([rgb, rgb[:, :, :1]]))
    assert rgba.mode == "RGBA"
    f = transforms.ToPILImage()(gn.tensor(x * 7))
    assert transforms.ToPILImage(mode="F")(gn.tensor(x * 7)).mode == "F" and f.mode == "L"
    assert transforms.ToPILImage()(np.zeros((2, 2), np.int32)).mode == "I"


def _torchvision_rotate(img, angle, mode, expand, fill, center):
    """torchvision's tensor rotate, rebuilt from its source with torch ops (not installed)."""
    c, h, w = img.shape
    cx, cy = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    rot = math.radians(-angle)
    m = [math.cos(rot), math.sin(rot), 0.0, -math.sin(rot), math.cos(rot), 0.0]
    m[2] += m[0] * (-cx) + m[1] * (-cy) + cx
    m[5] += m[3] * (-cx) + m[4] * (-cy) + cy
    ow, oh = w, h
    if expand:
        pts = torch.tensor([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                            [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]])
        new = pts @ torch.tensor(m, dtype=torch.float).view(2, 3).T
        half = torch.tensor((w * 0.5, h * 0.5))
        high = torch.ceil(((new.max(0)[0] + half) / 1e-4).trunc_() * 1e-4)
        low = torch.floor(((new.min(0)[0] + half) / 1e-4).trunc_() * 1e-4)
        ow, oh = (int(v) for v in high - low)
    base = torch.empty(1, oh, ow, 3)
    base[..., 0].copy_(torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, steps=ow))
    base[..., 1].copy_(torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, steps=oh).unsqueeze_(-1))
    base[..., 2].fill_(1)
    theta = torch.tensor(m, dtype=torch.float32).reshape(1, 2, 3).transpose(1, 2)
    grid = base.view(1, oh * ow, 3).bmm(theta / torch.tensor([0.5 * w, 0.5 * h]))
    image = torch.cat((torch.tensor(img)[None], torch.ones(1, 1, h, w)), 1)
    out = F.grid_sample(image, grid.view(1, oh, ow, 2), mode=mode, padding_mode="zeros",
                        align_corners=False)
    mask, out = out[:, -1:].expand_as(out[:, :-1]), out[:, :-1]
    if mode == "nearest":
        out[mask < 0.5] = fill
    else:
        out = out * mask + (1.0 - mask) * fill
    return out[0].numpy()


@pytest.mark.parametrize("angle,center", [(30.0, (4, 5)), (-75.5, None), (90.0, None),
                                          (180.0, None)])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("expand", [False, True])
def test_rotate_tensor_matches_torchvision_formula(angle, center, mode, expand):
    x = np.random.default_rng(3).random((3, 13, 17)).astype(np.float32)
    expected = _torchvision_rotate(x, angle, mode, expand, 0.25, center)
    got = TF.rotate(gn.tensor(x), angle, interpolation=mode, expand=expand, center=center,
                    fill=0.25)
    assert got.shape == expected.shape
    np.testing.assert_allclose(_np(got), expected, atol=5e-6)


def test_random_rotation_pil_and_seed():
    image = Image.fromarray(_rgb())
    gn.manual_seed(7)
    rotated = transforms.RandomRotation((10, 40), expand=True, fill=9)(image)
    angle = np.random.default_rng(7).uniform(10, 40)
    expected = image.rotate(angle, Image.NEAREST, True, None, fillcolor=(9, 9, 9))
    assert np.array_equal(np.asarray(rotated), np.asarray(expected))


def test_random_crop_torchvision_arguments():
    x = gn.tensor(np.arange(12, dtype=np.float32).reshape(1, 3, 4))
    out = _np(transforms.RandomCrop((5, 6), pad_if_needed=True, padding_mode="edge")(x))
    assert out.shape == (1, 5, 6)
    edged = np.pad(_np(x), ((0, 0), (2, 2), (2, 2)), "edge")  # shortfall on both sides
    windows = [edged[:, i:i + 5, j:j + 6] for i in range(3) for j in range(3)]
    assert any(np.array_equal(out, w) for w in windows)
    image = Image.fromarray(_rgb(6, 6)).convert("P")
    cropped = transforms.RandomCrop(4, padding=(1, 2))(image)
    assert cropped.size == (4, 4) and cropped.mode == "P"


def test_random_resized_crop_whole_square_is_a_resize():
    image = Image.fromarray(_rgb(12, 12))
    out = transforms.RandomResizedCrop(5, scale=(1, 1), ratio=(1, 1))(image)
    assert np.array_equal(np.asarray(out), np.asarray(image.resize((5, 5), Image.BILINEAR)))
    x = np.random.default_rng(4).random((3, 12, 12)).astype(np.float32)
    got = transforms.RandomResizedCrop(5, scale=(1, 1), ratio=(1, 1))(gn.tensor(x))
    expected = F.interpolate(torch.tensor(x)[None], size=(5, 5), mode="bilinear",
                             align_corners=False, antialias=True)[0]
    np.testing.assert_allclose(_np(got), expected.numpy(), atol=2e-6)


def test_flips_keep_pil_mode():
    image = Image.fromarray(_rgb(3, 4)).convert("P")
    flipped = transforms.RandomHorizontalFlip(p=1.0)(image)
    assert flipped.mode == "P" and np.array_equal(np.asarray(flipped), np.asarray(image)[:, ::-1])
    flipped = transforms.RandomVerticalFlip(p=1.0)(image)
    assert np.array_equal(np.asarray(flipped), np.asarray(image)[::-1])


def test_normalize_inplace_and_gradient():
    x = np.random.default_rng(5).random((3, 4, 4)).astype(np.float32)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    t = gn.tensor(x)
    out = transforms.Normalize(mean, std, inplace=True)(t)
    expected = ((x - np.array(mean, np.float32)[:, None, None])
                / np.array(std, np.float32)[:, None, None])
    assert out is t
    np.testing.assert_allclose(_np(t), expected, rtol=1e-6)
    leaf = gn.tensor(x, requires_grad=True)
    (transforms.Normalize(mean, std)(leaf) * gn.tensor(x)).sum().backward()
    torch_leaf = torch.tensor(x, requires_grad=True)
    ((torch_leaf - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
     * torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(_np(leaf.grad), torch_leaf.grad.numpy(), rtol=1e-6)


def test_functional_crop_outside_pads_with_zeros():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4) + 1
    out = _np(TF.crop(gn.tensor(x), -1, 2, 3, 4))
    expected = np.zeros((1, 3, 4), np.float32)
    expected[:, 1:, :2] = x[:, :2, 2:]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(_np(TF.hflip(gn.tensor(x))), x[:, :, ::-1])
    np.testing.assert_array_equal(_np(TF.vflip(gn.tensor(x))), x[:, ::-1])


# ----- utils: make_grid and save_image --------------------------------------------------------

def test_make_grid_layout_on_a_tiny_input():
    images = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 1, 2, 2) / 10
    grid = _np(utils.make_grid(gn.tensor(images), nrow=2, padding=1, pad_value=0.5))
    # 2 images a row, 2 rows; cells of 2 + 1 pixels plus a last padding line: (3, 7, 7).
    assert grid.shape == (3, 7, 7)
    expected = np.full((7, 7), 0.5, np.float32)
    expected[1:3, 1:3] = images[0, 0]
    expected[1:3, 4:6] = images[1, 0]
    expected[4:6, 1:3] = images[2, 0]
    for channel in grid:  # one channel repeated into three
        np.testing.assert_array_equal(channel, expected)
    single = utils.make_grid(gn.tensor(images[:1]))
    np.testing.assert_array_equal(_np(single), np.repeat(images[0], 3, axis=0))  # no padding
    listed = utils.make_grid([gn.tensor(images[i]) for i in range(3)], nrow=2, padding=1,
                             pad_value=0.5)
    np.testing.assert_array_equal(_np(listed), grid)


def test_make_grid_normalize():
    images = np.array([[[[0.0, 2.0]]], [[[4.0, 8.0]]]], np.float32)  # (2, 1, 1, 2)
    whole = _np(utils.make_grid(gn.tensor(images), padding=0, normalize=True))[0]
    np.testing.assert_allclose(whole, [[0, 0.25, 0.5, 1.0]])
    each = _np(utils.make_grid(gn.tensor(images), padding=0, normalize=True, scale_each=True))[0]
    np.testing.assert_allclose(each, [[0, 1, 0, 1]])
    ranged = _np(utils.make_grid(gn.tensor(images), padding=0, normalize=True,
                                 value_range=(2.0, 6.0)))[0]
    np.testing.assert_allclose(ranged, [[0, 0, 0.5, 1]])


def test_save_image_png_read_back(tmp_path):
    images = np.array([[[[0.0, 0.5], [1.0, 0.2]]], [[[0.998, 0.002], [0.7, -1.0]]]], np.float32)
    path = tmp_path / "grid.png"
    utils.save_image(gn.tensor(images), path, nrow=1, padding=1, pad_value=1.0)
    with Image.open(path) as png:
        assert png.format == "PNG" and png.mode == "RGB" and png.size == (4, 7)
        pixels = np.asarray(png)
    expected = np.full((7, 4), 255, np.uint8)
    expected[1:3, 1:3] = [[0, 128], [255, 51]]     # floor(x * 255 + 0.5), clamped
    expected[4:6, 1:3] = [[254, 1], [179, 0]]
    np.testing.assert_array_equal(pixels[:, :, 0], expected)
    np.testing.assert_array_equal(_np(io.read_image(str(path))), np.repeat(expected[None], 3, 0))
    buffer = bytes_io.BytesIO()
    utils.save_image(gn.tensor(images), buffer, format="PNG", nrow=1, padding=1, pad_value=1.0)
    assert buffer.getvalue() == path.read_bytes()


# ----- io -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode,channels", [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)])
def test_read_image_round_trip(tmp_path, mode, channels):
    pixels = np.random.default_rng(6).integers(0, 256, (5, 4, channels), dtype=np.uint8)
    path = tmp_path / "image.png"
    Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(path)
    image = io.read_image(str(path))
    assert image.dtype == gn.uint8 and image.shape == (channels, 5, 4)
    np.testing.assert_array_equal(_np(image), pixels.transpose(2, 0, 1))
    as_rgb = io.read_image(str(path), mode=io.ImageReadMode.RGB)
    with Image.open(path) as opened:
        expected = np.asarray(opened.convert("RGB")).transpose(2, 0, 1)
    np.testing.assert_array_equal(_np(as_rgb), expected)
    assert io.read_image(str(path), mode="GRAY").shape == (1, 5, 4)
    io.write_png(image, str(tmp_path / "again.png"))
    np.testing.assert_array_equal(_np(io.read_image(str(tmp_path / "again.png"))), _np(image))


def test_read_image_palette_is_expanded(tmp_path):
    path = tmp_path / "palette.png"
    Image.fromarray(_rgb(3, 4)).convert("P").save(path)
    with Image.open(path) as opened:
        expected = np.asarray(opened.convert("RGB")).transpose(2, 0, 1)
    np.testing.assert_array_equal(_np(io.read_image(str(path))), expected)


# ----- bad inputs -----------------------------------------------------------------------------

_IMAGE = Image.fromarray(_rgb(4, 4))
_TENSOR = gn.tensor(np.zeros((3, 4, 4), np.float32))


def _not_an_image(tmp_dir=Path(os.environ.get("TMPDIR", "/tmp"))):
    path = tmp_dir / f"ganglion-not-an-image-{os.getpid()}.png"
    path.write_bytes(b"this is text")
    try:
        return io.read_image(str(path))
    finally:
        path.unlink()


def _cifar100_nowhere():
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        return datasets.CIFAR100(Path(root) / "data")


CASES = [
    BadInput("resize size string", lambda: transforms.Resize("big"), TypeError,
             ["Resize", "size", "'big'"]),
    BadInput("resize three sizes", lambda: transforms.Resize((1, 2, 3)), ValueError,
             ["Resize", "1 or 2 values", "(1, 2, 3)"]),
    BadInput("resize zero", lambda: transforms.Resize(0), ValueError, ["Resize", "positive"]),
    BadInput("resize max_size with a pair", lambda: transforms.Resize((4, 4), max_size=8),
             ValueError, ["Resize", "max_size", "smaller edge"]),
    BadInput("resize max_size not above size", lambda: transforms.Resize(8, max_size=8)(_IMAGE),
             ValueError, ["Resize", "max_size = 8", "strictly greater", "size = 8"]),
    BadInput("resize bicubic tensor",
             lambda: transforms.Resize(2, interpolation="bicubic")(_TENSOR),
             NotImplementedError, ["Resize", "bicubic", "PIL images only"]),
    BadInput("resize unknown interpolation", lambda: transforms.Resize(2, interpolation="cubic"),
             TypeError, ["Resize", "interpolation", "'cubic'", "BILINEAR"]),
    BadInput("pad three values", lambda: transforms.Pad((1, 2, 3)), ValueError,
             ["Pad", "1, 2, or 4 element", "3 element"]),
    BadInput("pad negative", lambda: transforms.Pad(-1), ValueError, ["Pad", "non-negative", "-1"]),
    BadInput("pad unknown mode", lambda: transforms.Pad(1, padding_mode="wrap"), ValueError,
             ["Pad", "padding_mode", "'wrap'", "symmetric"]),
    BadInput("pad fill per channel mismatch", lambda: transforms.Pad(1, fill=(1, 2))(_IMAGE),
             ValueError, ["Pad", "fill (2)", "channels of the image (3)"]),
    BadInput("pad fill string", lambda: transforms.Pad(1, fill="red")(_TENSOR), TypeError,
             ["Pad", "fill", "number"]),
    BadInput("random crop bad padding mode",
             lambda: transforms.RandomCrop(2, padding=1, padding_mode="wrap"), ValueError,
             ["RandomCrop", "padding_mode", "'wrap'"]),
    BadInput("random crop too large", lambda: transforms.RandomCrop(9)(_TENSOR), ValueError,
             ["RandomCrop", "(9, 9)", "larger", "(4, 4)"]),
    BadInput("grayscale 2 channels", lambda: transforms.Grayscale(2), ValueError,
             ["Grayscale", "1 or 3", "2"]),
    BadInput("grayscale 4-channel tensor",
             lambda: transforms.Grayscale()(gn.zeros(4, 2, 2)), TypeError,
             ["Grayscale", "1 or 3 channels", "(4, 2, 2)"]),
    BadInput("to_pil_image 4-d", lambda: transforms.ToPILImage()(gn.zeros(1, 1, 2, 2)),
             ValueError, ["ToPILImage", "2/3 dimensional", "4 dimensions"]),
    BadInput("to_pil_image list", lambda: transforms.ToPILImage()([[0]]), TypeError,
             ["ToPILImage", "Tensor or ndarray", "list"]),
    BadInput("to_pil_image float64 array",
             lambda: transforms.ToPILImage(mode="F")(np.zeros((2, 2, 1))), ValueError,
             ["ToPILImage", "incorrect mode (F)", "float64"]),
    BadInput("to_pil_image int64 rgb", lambda: transforms.ToPILImage()(np.zeros((2, 2, 3), int)),
             TypeError, ["ToPILImage", "int64", "not supported"]),
    BadInput("to_pil_image rgb mode for 2 channels",
             lambda: transforms.ToPILImage(mode="RGB")(np.zeros((2, 2, 2), np.uint8)),
             ValueError, ["ToPILImage", "['LA']", "'RGB'"]),
    BadInput("to_pil_image 5 channels",
             lambda: transforms.ToPILImage()(np.zeros((2, 2, 5), np.uint8)), ValueError,
             ["ToPILImage", "more than 4 channels", "5"]),
    BadInput("pil_to_tensor of a tensor", lambda: transforms.PILToTensor()(_TENSOR), TypeError,
             ["PILToTensor", "PIL Image", "Tensor"]),
    BadInput("rotation negative degrees", lambda: transforms.RandomRotation(-5), ValueError,
             ["RandomRotation", "single number", "positive", "-5"]),
    BadInput("rotation degrees string", lambda: transforms.RandomRotation("x"), TypeError,
             ["RandomRotation", "degrees", "'x'"]),
    BadInput("rotation bad center", lambda: transforms.RandomRotation(5, center=(1,)),
             ValueError, ["RandomRotation", "center", "length 2"]),
    BadInput("rotation fill mismatch",
             lambda: TF.rotate(_TENSOR, 10, fill=(1, 2)), ValueError,
             ["RandomRotation", "fill (2)", "channels of the image (3)"]),
    BadInput("normalize pil image", lambda: transforms.Normalize((0.5,), (0.5,))(_IMAGE),
             TypeError, ["Normalize", "PIL image", "ToTensor"]),
    BadInput("normalize uint8 tensor",
             lambda: transforms.Normalize((0.5,), (0.5,))(gn.zeros(1, 2, 2, dtype=gn.uint8)),
             TypeError, ["Normalize", "float tensor", "uint8"]),
    BadInput("to_grayscale of a tensor", lambda: TF.to_grayscale(_TENSOR), TypeError,
             ["to_grayscale", "PIL Image", "Tensor"]),
    BadInput("make_grid of an array", lambda: utils.make_grid(np.zeros((2, 3, 4, 4))),
             TypeError, ["make_grid", "tensor or list of tensors", "ndarray"]),
    BadInput("make_grid 5-d", lambda: utils.make_grid(gn.zeros(2, 1, 3, 4, 4)), ValueError,
             ["make_grid", "(N, C, H, W)", "(2, 1, 3, 4, 4)"]),
    BadInput("make_grid list value_range",
             lambda: utils.make_grid(gn.zeros(2, 3, 4, 4), normalize=True, value_range=[0, 1]),
             TypeError, ["make_grid", "value_range", "tuple", "[0, 1]"]),
    BadInput("make_grid nrow 0", lambda: utils.make_grid(gn.zeros(2, 3, 4, 4), nrow=0),
             ValueError, ["make_grid", "nrow", "positive", "0"]),
    BadInput("make_grid ragged list",
             lambda: utils.make_grid([gn.zeros(3, 4, 4), gn.zeros(3, 5, 4)]), ValueError,
             ["make_grid", "one shape", "(3, 4, 4)", "(3, 5, 4)"]),
    BadInput("read_image missing file", lambda: io.read_image("/nonexistent/x.png"),
             FileNotFoundError, ["read_image", "/nonexistent/x.png"]),
    BadInput("read_image not an image", _not_an_image, ValueError,
             ["read_image", "not-an-image", "not a readable image"]),
    BadInput("read_image bad mode", lambda: io.read_image(__file__, mode="CMYK"), TypeError,
             ["read_image", "ImageReadMode", "'CMYK'"]),
    BadInput("write_png float tensor", lambda: io.write_png(_TENSOR, "/tmp/never.png"),
             ValueError, ["write_png", "uint8", "float32", "(3, 4, 4)"]),
    BadInput("write_png compression 10",
             lambda: io.write_png(gn.zeros(1, 2, 2, dtype=gn.uint8), "/tmp/never.png", 10),
             ValueError, ["write_png", "compression_level", "10"]),
    BadInput("fake data index out of range", lambda: datasets.FakeData(3)[3], IndexError,
             ["FakeData", "index 3", "3 samples"]),
    BadInput("fake data 2 channels", lambda: datasets.FakeData(3, (2, 4, 4)), ValueError,
             ["FakeData", "image_size", "(2, 4, 4)"]),
    BadInput("fake data zero classes", lambda: datasets.FakeData(3, num_classes=0), ValueError,
             ["FakeData", "num_classes", "0"]),
    BadInput("loader over PIL samples without ToTensor",
             lambda: next(iter(gn.utils.data.DataLoader(
                 datasets.FakeData(4, (3, 2, 2), transform=transforms.Resize(3)), batch_size=2))),
             TypeError, ["default_collate", "Image", "transforms.ToTensor()"]),
    BadInput("cifar100 not found", _cifar100_nowhere, RuntimeError,
             ["dataset not found", "cifar-100-python", "download=True"]),
]
test_bad_input = bad_input_test(CASES)
