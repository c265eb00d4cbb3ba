"""Define-and-run: symbolic placeholders, compiled functions, shared variables, jit.

Build an expression from typed placeholders (``dmatrix('x')``) with the ordinary ops, take its
gradient with ``ganglion.grad``, and compile it with ``function`` (DESIGN.md, "symbolic").
"""
from ganglion.symbolic.function import Function, function
from ganglion.symbolic.inputs import In
from ganglion.symbolic.jit import jit
from ganglion.symbolic.placeholders import *  # noqa: F401,F403
from ganglion.symbolic.placeholders import CONSTRUCTORS, tensor
from ganglion.symbolic.printing import debugprint, pp
from ganglion.symbolic.scan import hessian, jacobian, scan, until
from ganglion.symbolic.shared import SharedVariable, shared

placeholder = tensor

#: What ``import ganglion`` exports too (``ganglion.tensor`` stays the eager constructor, so the
#: placeholder constructor is ``ganglion.placeholder`` there).
__all__ = ["Function", "function", "In", "jit", "debugprint", "pp", "SharedVariable", "shared",
           "placeholder", "scan"] + CONSTRUCTORS
