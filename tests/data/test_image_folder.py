"""ImageFolder: classes from subfolders, lazy and in-memory decoding, the .npy cache, bad files."""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganglion.data import DataLoader, ImageFolder, transforms

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[3] / "shared" / "datasets")
CIFAR_JPG = SHARED / "cifar10-jpg"


def _make_tree(root, per_class=3, size=(8, 6)):
    for c, name in enumerate(["dog", "cat", "bird"]):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full((*size, 3), c * 50 + i, np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    return root


def test_classes_sorted_labels_and_lazy_decoding(tmp_path):
    ds = ImageFolder(_make_tree(tmp_path / "tree"))
    assert ds.classes == ["bird", "cat", "dog"] and ds.class_to_idx["dog"] == 2
    assert len(ds) == 9 and ds.targets.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    image, label = ds[4]
    assert image.shape == (8, 6, 3) and image.dtype == np.uint8 and label == 1
    assert image[0, 0, 0] == 51  # cat = third written class (c=1), image 1
    assert ImageFolder(tmp_path / "tree", mode="L")[0][0].shape == (8, 6)
    x, y = ImageFolder(tmp_path / "tree", transform=transforms.ToTensor())[0]
    assert x.shape == (3, 8, 6)


def test_in_memory_cache_is_written_and_reused(tmp_path, monkeypatch):
    root = _make_tree(tmp_path / "tree")
    cache = tmp_path / "cache"
    first = ImageFolder(root, in_memory=True, cache_dir=cache)
    assert first.data.shape == (9, 8, 6, 3)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and all(f.endswith(".npy") for f in files)
    # Break the decoder: the second load must come from the cache alone.
    import ganglion.data.datasets.image_folder as module

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(module, "decode_image", no_decoding)
    second = ImageFolder(root, in_memory=True, cache_dir=cache)
    np.testing.assert_array_equal(first.data, second.data)
    images, labels = next(iter(DataLoader(second, batch_size=4)))
    assert images.shape == (4, 8, 6, 3) and labels.tolist() == [0, 0, 0, 1]


def test_a_changed_folder_invalidates_the_cache(tmp_path):
    root = _make_tree(tmp_path / "tree")
    cache = tmp_path / "cache"
    ImageFolder(root, in_memory=True, cache_dir=cache)
    Image.fromarray(np.zeros((8, 6, 3), np.uint8)).save(root / "cat" / "99.png")
    ds = ImageFolder(root, in_memory=True, cache_dir=cache)
    assert len(ds) == 10 and ds.data.shape[0] == 10


def test_corrupt_cache_is_rebuilt(tmp_path):
    root = _make_tree(tmp_path / "tree")
    cache = tmp_path / "cache"
    ImageFolder(root, in_memory=True, cache_dir=cache)
    for f in cache.iterdir():
        f.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="ignoring unreadable cache"):
        ds = ImageFolder(root, in_memory=True, cache_dir=cache)
    assert ds.data.shape == (9, 8, 6, 3)


def test_non_image_file_is_named(tmp_path):
    root = _make_tree(tmp_path / "tree")
    (root / "cat" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"cat/notes\.txt is not an image file"):
        ImageFolder(root)
    (root / "cat" / "notes.txt").unlink()
    (root / "cat" / ".DS_Store").write_bytes(b"\0")
    assert len(ImageFolder(root)) == 9


def test_undecodable_and_truncated_images_are_named(tmp_path):
    root = _make_tree(tmp_path / "tree")
    (root / "dog" / "fake.jpg").write_bytes(b"this is no jpeg")
    with pytest.raises(ValueError, match=r"dog/fake\.jpg: not a readable image"):
        ImageFolder(root, in_memory=True, cache=False)
    (root / "dog" / "fake.jpg").unlink()
    buffer = root / "dog" / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)).save(
        buffer, quality=95)
    buffer.write_bytes(buffer.read_bytes()[:600])
    lazy = ImageFolder(root)
    with pytest.raises(ValueError, match=r"dog/cut\.jpg: not a readable image"):
        lazy[lazy.samples.index((str(buffer), 2))]


def test_mixed_sizes_cannot_be_held_in_one_array(tmp_path):
    root = _make_tree(tmp_path / "tree")
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(root / "cat" / "small.png")
    with pytest.raises(ValueError, match=r"small\.png has shape \(5, 5, 3\).*one size"):
        ImageFolder(root, in_memory=True, cache=False)


def test_structure_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "absent")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="has no class subfolders"):
        ImageFolder(tmp_path / "flat")
    (tmp_path / "flat" / "empty_class").mkdir()
    with pytest.raises(ValueError, match="empty_class has no images"):
        ImageFolder(tmp_path / "flat")


@pytest.mark.skipif(not CIFAR_JPG.is_dir(), reason=f"the shared CIFAR-10 JPEG tree is not at "
                                                   f"{CIFAR_JPG}")
def test_real_cifar10_test_split_lists_and_decodes_a_subset():
    ds = ImageFolder(CIFAR_JPG / "test")
    assert len(ds) == 10000 and ds.classes[0] == "airplane" and ds.classes[-1] == "truck"
    assert np.bincount(ds.targets).tolist() == [1000] * 10
    for index in (0, 4321, 9999):
        image, label = ds[index]
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8
        assert label == index // 1000
