"""``tf.summary``: scalar / histogram summaries and ``FileWriter``, written through tensorboardX
(the optional extra ``tensorboard``: ``pip install ganglion[tensorboard]``).

Reference: TF 1.15 ``tf.summary``: ``tf.summary.scalar(name, tensor)`` makes a summary tensor
(added to ``tf.GraphKeys.SUMMARIES``), ``tf.summary.merge_all()`` one fetching them all;
``sess.run`` gives a ``Summary`` (TF gives its serialized protocol buffer), which
``FileWriter.add_summary(summary, global_step)`` writes as TensorBoard events.
"""
import numpy as np

from ganglion.compat.tensorflow.graph import GraphKeys, add_to_collection, get_collection, static_shape

__all__ = ["scalar", "histogram", "merge", "merge_all", "FileWriter", "Summary"]


class Summary:
    """What running a summary gives: [(kind, tag, value)] items."""

    def __init__(self, values):
        self.values = list(values)

    def __repr__(self):
        return f"Summary({self.values!r})"


class _SummaryTensor:
    """A fetchable summary: its tensors are computed by the run, then assembled into a Summary."""

    def __init__(self, items):
        self.items = list(items)  # [(kind, tag, tensor)]

    def _fetch_tensors(self):
        return [t for _, _, t in self.items]

    def _assemble(self, values):
        return Summary((kind, tag, np.asarray(v)) for (kind, tag, _), v in zip(self.items, values))


def _add(kind, name, tensor, collections):
    summary = _SummaryTensor([(kind, name, tensor)])
    for key in collections or [GraphKeys.SUMMARIES]:
        add_to_collection(key, summary)
    return summary


def scalar(name, tensor, collections=None, family=None):
    """A summary of the scalar ``tensor``'s value under the tag ``name``."""
    if tensor.ndim != 0:
        raise ValueError(f"summary.scalar: {name!r} must be a scalar, got shape {static_shape(tensor)}")
    return _add("scalar", name, tensor, collections)


def histogram(name, values, collections=None, family=None):
    return _add("histogram", name, values, collections)


def merge(inputs, collections=None, name=None):
    return _SummaryTensor([item for summary in inputs for item in summary.items])


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """One summary of every summary made so far (None when there are none, as TF)."""
    summaries = get_collection(key)
    return merge(summaries) if summaries else None


def _summary_writer(logdir):
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError("tf.summary.FileWriter needs tensorboardX: pip install "
                          "ganglion[tensorboard]") from error
    return SummaryWriter(logdir)


class FileWriter:
    """Writes summaries as TensorBoard event files in ``logdir``."""

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, **unused):
        self.logdir = str(logdir)
        self.writer = _summary_writer(self.logdir)

    def add_summary(self, summary, global_step=None):
        if not isinstance(summary, Summary):
            raise TypeError("FileWriter.add_summary: expected the value of a summary fetched "
                            f"with sess.run, got {type(summary).__name__}")
        step = None if global_step is None else int(np.asarray(global_step))
        for kind, tag, value in summary.values:
            if kind == "scalar":
                self.writer.add_scalar(tag, float(value), step)
            else:
                self.writer.add_histogram(tag, value, step)

    def add_graph(self, graph, global_step=None):
        pass  # the graph is ganglion's; TensorBoard's graph view is not written

    def flush(self):
        self.writer.flush()

    def close(self):
        self.writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
