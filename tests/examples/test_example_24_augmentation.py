"""Example 24 (data augmentation) in quick mode: the three pipelines train the same CNN from the
same weights and are evaluated on the same test images; the augmentation panel and the curves
are written."""
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from example_runner import load_example, run_example  # noqa: E402

CIFAR = Path(os.environ.get("GANGLION_DATA", "/nonexistent")) / "cifar10-jpg"


@pytest.mark.skipif(not CIFAR.is_dir() and not (CIFAR.parent / "cifar-10-batches-py").is_dir(),
                    reason=f"CIFAR-10 is not under $GANGLION_DATA ({CIFAR.parent})")
def test_data_augmentation_quick(tmp_path):
    results = run_example("24_data_augmentation", tmp_path)
    assert results["train_images"] == 300 and results["test_images"] == 300
    recipes = list(load_example("24_data_augmentation").RECIPES)
    for recipe in recipes:
        assert 0.0 <= results[recipe]["test_accuracy"] <= results[recipe]["best_test_accuracy"]
        assert 0.0 <= results[recipe]["train_accuracy"] <= 1.0
    # Without augmentation two epochs on 300 images already beat chance (10%).
    assert results["none"]["train_accuracy"] > 0.15
    for name in ("augmentations.png", "augmentation_curves.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_pipelines_feed_the_network_normalized_batches():
    """Each recipe's loader gives (N, 3, 32, 32) float32 batches; the plain one is the images
    normalized, the augmented ones differ from it but keep the labels."""
    example = load_example("24_data_augmentation")
    images = (np.random.default_rng(0).random((8, 32, 32, 3)) * 255).astype(np.uint8)
    labels = np.arange(8)
    batches = {recipe: next(iter(example.loader(images, labels, recipe, seed=1, shuffle=False)))
               for recipe in example.RECIPES}
    plain, plain_labels = batches["none"]
    expected = (images.transpose(0, 3, 1, 2) / np.float32(255)
                - np.array(example.CIFAR_MEAN, np.float32)[:, None, None]) \
        / np.array(example.CIFAR_STD, np.float32)[:, None, None]
    np.testing.assert_allclose(plain.numpy(), expected, rtol=1e-5, atol=1e-5)
    for recipe, (x, y) in batches.items():
        assert x.shape == (8, 3, 32, 32) and x.dtype == plain.dtype
        np.testing.assert_array_equal(y.numpy(), plain_labels.numpy())
        if recipe != "none":
            assert not np.array_equal(x.numpy(), plain.numpy())
