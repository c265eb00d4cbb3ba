"""Progress display for ``fit``: a tqdm bar per epoch and a one-line summary after it.

The bar shows the running mean of the loss and metrics. It is drawn only when ``verbose > 0``
and stderr is a terminal (logs and CI output stay free of carriage-return noise) and when tqdm
is installed (``pip install ganglion[train]``). The summary line is printed whenever
``verbose > 0``.
"""
import sys
import time

__all__ = ["EpochProgress", "format_logs"]

# Redrawing the postfix costs string formatting; a few times a second is enough to read it.
_POSTFIX_EVERY_SECONDS = 0.25


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def format_logs(logs):
    """'loss 0.1234  accuracy 0.9712 ...' for the numbers in ``logs`` (lr in scientific form)."""
    parts = []
    for name, value in logs.items():
        if not isinstance(value, (int, float)) or name == "epoch":
            continue
        parts.append(f"{name} {value:.3g}" if name == "lr" else f"{name} {value:.4f}")
    return "  ".join(parts)


class EpochProgress:
    """Use as ``with EpochProgress(epoch, epochs, steps, verbose) as bar: bar.update(logs)``,
    then ``bar.summary(logs)`` after the epoch."""

    def __init__(self, epoch, epochs, steps, verbose=1, stream=None):
        self.label = f"epoch {epoch + 1}/{epochs}"
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.bar = None
        self._last_postfix = 0.0
        tqdm = _tqdm() if verbose > 0 and _is_terminal(self.stream) else None
        if tqdm is not None:
            self.bar = tqdm(total=steps, desc=self.label, unit="batch", leave=False,
                            file=self.stream, dynamic_ncols=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()

    def update(self, running_logs):
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.perf_counter()
        if now - self._last_postfix >= _POSTFIX_EVERY_SECONDS:
            self._last_postfix = now
            self.bar.set_postfix_str(format_logs(running_logs), refresh=False)

    def summary(self, logs):
        """Print '<epoch i/n>  loss ...  val_loss ...  (12.3 s)' when verbose."""
        if self.verbose > 0:
            seconds = time.perf_counter() - self.start
            print(f"{self.label}  {format_logs(logs)}  ({seconds:.1f} s)", flush=True)


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
