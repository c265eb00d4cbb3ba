"""History: what ``fit`` returns, one list per logged quantity with one entry per epoch.

    history = fit(...)
    history["loss"], history["val_accuracy"], history.epochs

It is a plain dict of lists (so it saves into a checkpoint and prints as JSON), with ``epochs``
(the epoch numbers, counted from 1) and ``last()`` (the latest epoch's logs) for convenience.
"""

__all__ = ["History"]


class History(dict):
    """{name: [value per epoch]}; an epoch that did not log a name gets None there."""

    @property
    def epochs(self):
        return list(self.get("epoch", []))

    def append(self, logs):
        """Add one epoch's logs, keeping every list as long as the number of epochs."""
        done = len(self.get("epoch", []))
        for name in logs:
            self.setdefault(name, [None] * done)
        for name, values in self.items():
            values.append(logs.get(name))

    def last(self):
        """The latest epoch's logs as {name: value} (empty before the first epoch)."""
        return {name: values[-1] for name, values in self.items() if values}

    def __repr__(self):
        return f"History({dict.__repr__(self)})"
