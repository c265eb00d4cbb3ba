"""``torch.utils.data.dataloader``: DataLoader, default_collate, default_convert and
get_worker_info of ``ganglion.data`` under their module path."""
from ganglion.data.collate import default_collate, default_convert
from ganglion.data.loader import DataLoader, get_worker_info

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
