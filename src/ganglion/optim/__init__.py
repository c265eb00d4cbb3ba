"""Optimizers and learning-rate schedules, with PyTorch's names and behaviour.

Every optimizer runs eagerly (``loss.backward(); opt.step()``, in place on the raw arrays) and
symbolically (``function([x, y], cost, updates=opt.updates(cost))``) from one update rule; see
``optimizer`` and ``update_ops``.
"""
from ganglion.optim import lr_scheduler
from ganglion.optim.adadelta import Adadelta
from ganglion.optim.adagrad import Adagrad
from ganglion.optim.adam import Adam, AdamW
from ganglion.optim.lbfgs import LBFGS
from ganglion.optim.optimizer import Optimizer
from ganglion.optim.rmsprop import RMSprop
from ganglion.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS",
           "lr_scheduler"]
