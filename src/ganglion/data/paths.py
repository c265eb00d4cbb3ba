"""Where datasets live: ``root=``, else ``$GANGLION_DATA``, else ``~/.cache/ganglion/datasets``.

Every dataset class resolves its folder through ``data_root`` so that one environment variable
points the whole library (tests, examples, the command line) at a shared data folder.
"""
import os
from pathlib import Path

from ganglion import config

__all__ = ["data_root", "cache_root", "DEFAULT_DATA_ROOT", "DEFAULT_CACHE_ROOT"]

DEFAULT_DATA_ROOT = Path("~/.cache/ganglion/datasets")
DEFAULT_CACHE_ROOT = Path("~/.cache/ganglion/cache")


def data_root(root=None):
    """The folder that holds the datasets: ``root``, else ``$GANGLION_DATA``, else the default."""
    if root is None:
        root = os.environ.get("GANGLION_DATA") or DEFAULT_DATA_ROOT
    return Path(root).expanduser()


def cache_root():
    """Where derived files (decoded-image caches) go, since the data folder itself may be
    read-only: ``ganglion.config.dataset_cache_dir`` (``GANGLION_DATASET_CACHE_DIR``), else
    ``~/.cache/ganglion/cache``."""
    return Path(config.settings.dataset_cache_dir or DEFAULT_CACHE_ROOT).expanduser()
