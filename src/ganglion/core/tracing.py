"""The stack of active traces through which ``ganglion.jit`` watches a function being traced.

While a trace is active the engine reports to the innermost one (``active[-1]``): every symbolic
node it records (``nodes``), every in-place change of a tensor (``inplace``), and every leaf whose
``.grad`` receives a symbolic gradient (``saw_grad``). The trace itself is
``ganglion.symbolic.trace.Trace``; only the stack lives here, so that core never imports the
symbolic layer.
"""

active = []
