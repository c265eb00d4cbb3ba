"""ImageFolder: images sorted into one subfolder per class, decoded with Pillow.

``root/cat/0001.jpg``, ``root/dog/0002.png``, ...: class names are the subfolder names, sorted,
and the label is the position in that list. Every file must be an image: anything else is a
ValueError naming the file (hidden files such as ``.DS_Store`` are ignored).

By default images are decoded when a sample is asked for. ``in_memory=True`` decodes them all
at construction, in threads, into one uint8 array (the DataLoader's fast path), and saves that
array with its labels as ``.npy`` files in a cache folder, keyed by the folder's listing (names,
sizes, modification times), so the next construction loads two files instead of decoding
thousands of images. Loading uses ``allow_pickle=False``: a cache file can never run code.
A cache file is trusted only if it matches the folder: the image array must have the dtype the
``mode`` decodes to and the shape (number of files, height, width[, bands]) of the first image's
header, and the labels must equal the folder's. Anything else (a stale, truncated or foreign
file under the same name) is rebuilt from the images with a warning that says why.

Pillow refuses images over ``2 * PIL.Image.MAX_IMAGE_PIXELS`` pixels (decompression bombs);
that is a ValueError naming the file, its size and the limit.
"""
import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ganglion.data.datasets.arrays import ImageArrayDataset
from ganglion.data.paths import cache_root

__all__ = ["ImageFolder", "IMAGE_EXTENSIONS", "decode_image"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                    ".pgm", ".pbm")


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading images needs Pillow: pip install ganglion[data]") from None
    return Image


def _bomb_error(path, error):
    Image = _pillow()
    return ValueError(f"{path}: refused to decode the image: {error} (the limit is "
                      f"2 * PIL.Image.MAX_IMAGE_PIXELS = {2 * Image.MAX_IMAGE_PIXELS} pixels, to "
                      "stop decompression bombs; raise PIL.Image.MAX_IMAGE_PIXELS if the file is "
                      "trusted)")


def decode_image(path, mode="RGB"):
    """The image at ``path`` as a uint8 array (H, W, C), or (H, W) for mode 'L'."""
    Image = _pillow()
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode))
    except Image.DecompressionBombError as error:
        # Not an OSError: without this it escapes as Pillow's own exception type.
        raise _bomb_error(path, error) from None
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow raises UnidentifiedImageError (an OSError) for non-images and OSError for
        # truncated data.
        raise ValueError(f"{path}: not a readable image ({error})") from None


def _expected_array(path, mode, count):
    """(shape, dtype) that ``count`` images like the one at ``path``, decoded in ``mode``, stack
    into; from the file's header and a 1x1 image of that mode, without decoding the file."""
    Image = _pillow()
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Image.DecompressionBombError as error:
        raise _bomb_error(path, error) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{path}: not a readable image ({error})") from None
    probe = np.asarray(Image.new(mode, (1, 1)))
    return (count, height, width) + probe.shape[2:], probe.dtype


def _image_files(folder):
    """[(path, stat)] of the files under ``folder``, sorted by path, each checked to be an image."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                found += _image_files(entry.path)
            elif not entry.name.lower().endswith(IMAGE_EXTENSIONS):
                raise ValueError(f"ImageFolder: {entry.path} is not an image file (expected one "
                                 f"of {', '.join(IMAGE_EXTENSIONS)})")
            else:
                found.append((entry.path, entry.stat()))
    return sorted(found)


def _scan(root):
    """(sorted class names, [path], [label], listing key). The key digests every file's name,
    size and modification time, so that any change to the folder invalidates the cache."""
    if not root.is_dir():
        raise FileNotFoundError(f"ImageFolder: {root} is not a folder")
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"ImageFolder: {root} has no class subfolders")
    paths, labels = [], []
    digest = hashlib.sha256(f"{root.resolve()}\n".encode())
    for label, name in enumerate(classes):
        files = _image_files(os.path.join(root, name))
        if not files:
            raise ValueError(f"ImageFolder: class folder {root / name} has no images")
        for path, stat in files:
            paths.append(path)
            labels.append(label)
            digest.update(f"{path}\t{label}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return classes, paths, labels, digest.hexdigest()[:24]


class ImageFolder(ImageArrayDataset):
    """Images in one subfolder per class; see the module docstring.

    ``mode`` is the Pillow mode images are converted to ('RGB', 'L', ...). With
    ``in_memory=True``, ``data`` is the (N, H, W, C) uint8 array (all images must share a size)
    and ``cache=False`` turns the ``.npy`` cache off; ``cache_dir`` defaults to
    ``ganglion.config.dataset_cache_dir`` (``$GANGLION_DATASET_CACHE_DIR``) or
    ``~/.cache/ganglion/cache``.
    """

    def __init__(self, root, transform=None, target_transform=None, mode="RGB", in_memory=False,
                 cache=True, cache_dir=None, num_threads=None):
        self.root = Path(root).expanduser()
        try:
            _pillow().new(mode, (1, 1))
        except (ValueError, TypeError, KeyError):
            # Checked here: at decode time Pillow's error would read as a broken image file.
            raise ValueError(f"ImageFolder: unknown Pillow mode {mode!r}; expected one such as "
                             "'RGB', 'L', 'RGBA', '1', 'I' or 'F'") from None
        self.mode = mode
        classes, paths, labels, self._listing_key = _scan(self.root)
        self.samples = list(zip(paths, labels))
        self.class_to_idx = {name: i for i, name in enumerate(classes)}
        super().__init__(None, labels, classes, transform, target_transform)
        if in_memory:
            cache_dir = Path(cache_dir).expanduser() if cache_dir else cache_root()
            self.data = self._load_all(cache, cache_dir, num_threads)

    def _image(self, index):
        if self.data is not None:
            return self.data[index]
        return decode_image(self.samples[index][0], self.mode)

    def _load_all(self, cache, cache_dir, num_threads):
        key = f"{self._listing_key}-{self.mode}"
        images_file = cache_dir / f"imagefolder-{key}-images.npy"
        labels_file = cache_dir / f"imagefolder-{key}-labels.npy"
        if cache and images_file.is_file() and labels_file.is_file():
            try:
                images = np.load(images_file, allow_pickle=False)
                labels = np.load(labels_file, allow_pickle=False)
            except (OSError, ValueError) as error:
                warnings.warn(f"ImageFolder: ignoring unreadable cache {images_file} ({error})",
                              stacklevel=3)
            else:
                problem = self._cache_mismatch(images, labels)
                if problem is None:
                    return images
                warnings.warn(f"ImageFolder: ignoring cache {images_file}: {problem}; rebuilding "
                              "it from the images", stacklevel=3)
        images = self._decode_all(num_threads)
        if cache:
            cache_dir.mkdir(parents=True, exist_ok=True)
            _save_atomically(labels_file, self.targets)
            _save_atomically(images_file, images)
        return images

    def _cache_mismatch(self, images, labels):
        """Why cached arrays do not belong to this folder, or None if they do."""
        shape, dtype = _expected_array(self.samples[0][0], self.mode, len(self.samples))
        if images.dtype != dtype or images.shape != shape:
            return (f"it holds a {images.dtype} array of shape {images.shape}, but the folder's "
                    f"{len(self.samples)} images decode to {dtype} {shape}")
        if labels.dtype != np.int64 or labels.shape != self.targets.shape \
                or not np.array_equal(labels, self.targets):
            return (f"its labels ({labels.dtype} {labels.shape}) differ from the folder's "
                    f"{len(self.targets)} labels")
        return None

    def _decode_all(self, num_threads):
        paths = [path for path, _ in self.samples]
        # Pillow's decoders release the GIL, so threads decode in parallel.
        with ThreadPoolExecutor(num_threads or min(16, os.cpu_count() or 1)) as pool:
            images = list(pool.map(lambda p: decode_image(p, self.mode), paths))
        shape = images[0].shape
        for path, image in zip(paths, images):
            if image.shape != shape:
                raise ValueError(f"ImageFolder: {path} has shape {image.shape}, but {paths[0]} has "
                                 f"{shape}; in_memory=True needs images of one size")
        return np.stack(images)

    def __repr__(self):
        where = "in memory" if self.data is not None else "decoded on access"
        return f"ImageFolder({self.root}, {len(self)} images, {len(self.classes)} classes, {where})"


def _save_atomically(path, array):
    # Written beside the target and renamed, so a crash never leaves a half-written cache
    # that a later run would trust.
    partial = path.with_name(path.name + f".{os.getpid()}.part")
    with open(partial, "wb") as f:
        np.save(f, array, allow_pickle=False)
    os.replace(partial, path)
