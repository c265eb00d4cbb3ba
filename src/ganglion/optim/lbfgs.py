"""L-BFGS with an optional strong-Wolfe line search: ``torch.optim.LBFGS``'s algorithm.

The maths follows PyTorch's (itself a port of minFunc through Lua torch's ``optim``): every
parameter is seen as one flat vector; each ``step(closure)`` runs up to ``max_iter``
iterations, each computing a direction with the L-BFGS two-loop recursion over the last
``history_size`` curvature pairs ``(y, s)`` and moving along it by a fixed step ``lr`` or by
the step that the strong-Wolfe line search (bracketing, then zooming with cubic interpolation)
finds. The state is PyTorch's too, kept for the first parameter: ``func_evals``, ``n_iter``,
``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``,
``prev_loss`` and ``al``.

Scalars (step sizes, dot products) stay NumPy scalars of the parameters' dtype, as they stay
0-d tensors in PyTorch, so that float32 problems round as PyTorch's do and float64 ones agree
with it to the last few bits. The optimizer works eagerly only: its step calls the closure
several times and branches on the values, which a compiled graph cannot do.
"""
from numbers import Integral

from ganglion.backend import current as backend
from ganglion.core.grad_mode import enable_grad
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.core.versions import bump_storage
from ganglion.optim.optimizer import Optimizer, check_nonnegative, check_number

__all__ = ["LBFGS"]

# What holds numbers in the state: the backend's arrays, and the scalars its reductions give.
_ARRAY_TYPES = (backend.ndarray, getattr(backend.xp, "generic", backend.ndarray))

# The state entries of one step, in the order PyTorch's state dict lists them.
_STATE_NAMES = ("func_evals", "n_iter", "al", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                "prev_flat_grad", "prev_loss")
_VECTOR_NAMES = ("d", "prev_flat_grad")          # one flat vector each
_VECTOR_LIST_NAMES = ("old_dirs", "old_stps")    # lists of flat vectors
_SCALAR_LIST_NAMES = ("ro", "al")                # lists of scalars (al may hold None)
_SCALAR_NAMES = ("t", "H_diag", "prev_loss")     # one number each
_COUNT_NAMES = ("func_evals", "n_iter")          # Python ints


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clipped
    to ``bounds`` (default: the interval between x1 and x2); its middle if the cubic has none."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = backend.xp.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step ``t`` along ``d`` from ``x`` that satisfies the strong Wolfe conditions
    (sufficient decrease ``c1``, curvature ``c2``), found by bracketing and then zooming.
    ``obj_func(x, t, d)`` gives (loss, flat gradient) at ``x + t d``. Returns
    (loss, flat gradient, t, number of evaluations)."""
    d_norm = backend.xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    # Bracket an interval that contains a point satisfying the Wolfe conditions.
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # Extrapolate: the next trial lies between 1.01 t and 10 t.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:  # no bracket within the evaluations allowed
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # Zoom: shrink the bracket until a point in it satisfies the conditions.
    insufficient_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # A trial too near an end of the bracket, twice in a row or outside it, moves to a
        # tenth of the bracket's width from the nearer end, so that the bracket shrinks.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Not a sufficient decrease, or no lower than the low end: the new high end.
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # The old low end becomes the high end.
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None)``, as ``torch.optim.LBFGS``:
    one parameter group; ``step(closure)`` where ``closure`` clears the gradients, computes
    the loss, calls ``backward()`` and returns the loss. ``max_eval`` defaults to
    ``max_iter * 5 // 4``; ``line_search_fn`` is None (fixed steps of ``lr``) or
    ``'strong_wolfe'``. It keeps ``param_bytes * (history_size + 1)`` bytes of history."""

    counts_steps = False
    scalar_state_names = frozenset(_STATE_NAMES)
    state_names = _STATE_NAMES
    state_starts_empty = True

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_number(self, "lr", lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr} (LBFGS: lr must be >= 0)")
        check_number(self, "max_iter", max_iter)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        self._params = self.param_groups[0]["params"]

    def _check_options(self, group):
        check_nonnegative(self, group, "lr", "max_iter", "max_eval", "tolerance_grad",
                          "tolerance_change")
        history_size = group["history_size"]
        # PyTorch accepts 0 and then fails inside step() popping from an empty history.
        if not isinstance(history_size, Integral) or isinstance(history_size, bool) \
                or history_size < 1:
            raise ValueError(f"LBFGS: invalid history_size {history_size!r}: it must be an "
                             "integer >= 1")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): "
                             "got a second group; pass one list of parameters")
        super().add_param_group(param_group)

    # ----- the flat vector of all parameters ----------------------------------------------
    def _arrays(self):
        return [p._data for p in self._params]

    def _gather_flat_grad(self):
        """Every parameter's gradient as one new flat array (zeros where there is none)."""
        pieces = []
        for p, array in zip(self._params, self._arrays()):
            g = p._grad
            if g is None:
                pieces.append(backend.xp.zeros(array.size, array.dtype))
            else:
                if g._data is None:
                    raise RuntimeError("LBFGS.step: the gradient of a parameter is symbolic; "
                                       "LBFGS runs eagerly only (its closure must compute values)")
                if g._data.shape != array.shape:
                    raise RuntimeError(f"LBFGS.step: a gradient has shape {g._data.shape}, but "
                                       f"its parameter has shape {array.shape}")
                pieces.append(g._data.reshape(-1))
        return backend.xp.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy()

    def _add_grad(self, step_size, update):
        """Move every parameter by ``step_size * update`` (its slice of the flat vector)."""
        offset = 0
        for array in self._arrays():
            size = array.size
            array += step_size * update[offset:offset + size].reshape(array.shape)
            bump_storage(array)
            offset += size

    def _clone_param(self):
        return [array.copy() for array in self._arrays()]

    def _set_param(self, saved):
        for array, values in zip(self._arrays(), saved):
            array[...] = values
            bump_storage(array)

    def _directional_evaluate(self, closure, x, t, d):
        """(loss, flat gradient) at ``x + t d``; the parameters are back at ``x`` afterwards."""
        self._add_grad(t, d)
        loss = _loss_number(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ----- the step -------------------------------------------------------------------------
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; ``closure()`` recomputes the loss and its
        gradients (it runs with gradients enabled). Returns the loss that the first call of
        ``closure`` gave."""
        if not callable(closure):
            raise TypeError(f"LBFGS.step: closure must be a function that recomputes the loss "
                            f"and calls backward(), got {type(closure).__name__}")
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS: expected exactly one parameter group, but got "
                             f"{len(self.param_groups)}")
        group = self.param_groups[0]
        self._check_options(group)
        line_search_fn = group["line_search_fn"]
        if line_search_fn is not None and line_search_fn != "strong_wolfe":
            raise RuntimeError(f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, got "
                               f"{line_search_fn!r}")
        if any(p._data is None for p in self._params):
            raise RuntimeError("LBFGS.step: a parameter is symbolic; LBFGS runs eagerly only")
        # A closure that fails (or returns no loss) part way through would leave the
        # parameters at a line-search trial point and the history half updated: put both back.
        snapshot = self._snapshot()
        try:
            return self._iterate(closure, group)
        except BaseException:
            self._restore(snapshot)
            raise

    def _snapshot(self):
        """Copies of the parameters and of the state, enough for ``_restore``."""
        state = self.state.get(self._params[0])
        if state is not None:
            # Lists are appended to and popped, prev_flat_grad is overwritten, in place.
            state = {name: (list(value) if isinstance(value, list) else
                            value.copy() if isinstance(value, backend.ndarray) else value)
                     for name, value in state.items()}
        return self._clone_param(), state

    def _restore(self, snapshot):
        params, state = snapshot
        self._set_param(params)
        if state is None:
            self.state.pop(self._params[0], None)
        else:
            self.state[self._params[0]] = state

    def _iterate(self, closure, group):
        """The body of ``step``: PyTorch's algorithm."""
        def evaluate():
            with enable_grad():
                return closure()

        lr = group["lr"]
        line_search_fn = group["line_search_fn"]
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        history_size = group["history_size"]

        # The state is global; it lives under the first parameter, as in PyTorch.
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = _loss_number(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        opt_cond = backend.xp.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:  # already optimal
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # The direction: steepest descent first, then the two-loop recursion.
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep only pairs of positive curvature
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)  # the scale of the initial inverse Hessian
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # The step length: the first iteration ever scales it by the gradient's size.
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / backend.xp.abs(flat_grad).sum()) * lr
            else:
                t = lr

            gtd = flat_grad.dot(d)  # the directional derivative
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, step_size, direction):
                    return self._directional_evaluate(evaluate, x, step_size, direction)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = backend.xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # Not after the last iteration: with a stochastic loss that evaluation
                    # would be wasted.
                    loss = _loss_number(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = backend.xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if backend.xp.abs(d * t).max() <= tolerance_change:  # no progress in the parameters
                break
            if abs(loss - prev_loss) < tolerance_change:  # nor in the loss
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss

    def updates(self, cost):
        raise TypeError("LBFGS.updates: LBFGS cannot be compiled into a function's updates (each "
                        "step calls its closure several times and branches on the values); call "
                        "optimizer.step(closure) eagerly")

    # ----- checkpoints ------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {0: {name: value}}, 'param_groups': [options and 'params']}, as PyTorch's:
        vectors as Tensors (copies), lists of vectors as lists of Tensors, scalars that are
        arrays' numbers (``t``, ``H_diag``, ``ro``, ``al``) as 0-d Tensors, counts as ints."""
        packed = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        packed["params"] = list(range(len(self._params)))
        state = {}
        for p, entries in self.state.items():
            index = next(k for k, q in enumerate(self._params) if q is p)
            state[index] = {name: _pack(value) for name, value in entries.items()}
        return {"state": state, "param_groups": [packed]}

    def load_state_dict(self, state_dict):
        """Load what ``state_dict()`` returned (checked first; nothing changes unless it fits:
        ValueError naming what does not)."""
        where = "LBFGS.load_state_dict"
        if (not isinstance(state_dict, dict) or not isinstance(state_dict.get("param_groups"), list)
                or not isinstance(state_dict.get("state"), dict)):
            raise ValueError(f"{where}: expected what state_dict() returns (a dict with a 'state' "
                             f"dict and a 'param_groups' list), got a {type(state_dict).__name__}")
        groups = state_dict["param_groups"]
        if len(groups) != 1:
            raise ValueError(f"{where}: the state dict has {len(groups)} parameter groups, LBFGS "
                             "has one")
        saved = groups[0]
        if not isinstance(saved, dict) or not isinstance(saved.get("params"), list) \
                or len(saved["params"]) != len(self._params):
            raise ValueError(f"{where}: the state dict's parameter group does not list "
                             f"{len(self._params)} parameters")
        group = {**{k: (tuple(v) if isinstance(v, list) else v)
                    for k, v in saved.items() if k != "params"}, "params": self._params}
        missing = [option for option in self.defaults if option not in group]
        if missing:
            raise ValueError(f"{where}: the parameter group lacks the options {missing} (was it "
                             "saved by another optimizer?)")
        try:
            self._check_options(group)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{where}: {error}") from None
        first = self._params[0]._data
        size = sum(p._data.size for p in self._params)
        state = {}
        for key, entries in state_dict["state"].items():
            if str(key) != "0":
                raise ValueError(f"{where}: LBFGS keeps its state under parameter 0, but the "
                                 f"state dict has an entry for parameter {key!r}")
            if not isinstance(entries, dict):
                raise ValueError(f"{where}: the state for parameter 0 is a "
                                 f"{type(entries).__name__}, expected a dict")
            unknown = sorted(set(entries) - set(_STATE_NAMES))
            if unknown:
                raise ValueError(f"{where}: the state has keys {unknown} that LBFGS does not keep "
                                 "(was it saved by another optimizer?)")
            state[self._params[0]] = {name: _unpack(where, name, value, first.dtype, size)
                                      for name, value in entries.items()}
        self.state = state
        self.param_groups = [group]


def _loss_number(loss):
    """The closure's loss as a Python float; an error naming the closure if it is not one
    number (RuntimeError for a tensor of several, as PyTorch's float() of one)."""
    if isinstance(loss, Tensor):
        if loss._data is None:
            raise TypeError("LBFGS.step: the closure returned a symbolic tensor; it must compute "
                            "the loss's value")
        if loss._data.size != 1:
            raise RuntimeError(f"LBFGS.step: the closure returned a tensor of shape "
                               f"{tuple(loss.shape)}; it must return the loss, a single number")
        return float(loss._data.reshape(-1)[0])
    try:
        return float(loss)
    except (TypeError, ValueError):
        raise TypeError(f"LBFGS.step: the closure returned {type(loss).__name__}, not the loss "
                        "(did it forget `return loss`?)") from None


def _pack(value):
    """A state entry as the state dict holds it (copies: the state dict outlives the step)."""
    if isinstance(value, list):
        return [_pack(v) for v in value]
    if isinstance(value, _ARRAY_TYPES):
        return make_tensor(backend.xp.array(value, copy=True))
    return value


def _unpack(where, name, value, dtype, size):
    """A state-dict entry as the optimizer keeps it, or ValueError naming what is wrong."""
    def array(v, shape):
        if isinstance(v, Tensor):
            v = v._data
        try:
            a = backend.xp.array(v, dtype=dtype)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: state {name!r} holds a {type(v).__name__}, not numbers") \
                from None
        if a.shape != shape:
            raise ValueError(f"{where}: state {name!r} has shape {a.shape}, expected {shape} "
                             f"(the parameters have {size} numbers in all)")
        return a

    if name in _COUNT_NAMES:
        if not isinstance(value, Integral) or isinstance(value, bool):
            raise ValueError(f"{where}: state {name!r} must be an int, got {value!r}")
        return int(value)
    if name in _VECTOR_NAMES:
        return array(value, (size,))
    if name in _VECTOR_LIST_NAMES or name in _SCALAR_LIST_NAMES:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: state {name!r} must be a list, got "
                             f"{type(value).__name__}")
        if name in _VECTOR_LIST_NAMES:
            return [array(v, (size,)) for v in value]
        return [None if v is None else array(v, ())[()] for v in value]
    if name == "prev_loss":  # a Python float, as float(loss) gave it
        return float(array(value, ()))
    # t and H_diag: a number of the parameters' dtype, or the Python number it started as.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return array(value, ())[()]
