"""The Tensor: a value (a backend array) and, when it was computed by a recorded op, its node.

A Tensor is a node of the graph: ``_op`` and ``_inputs`` say how it was made. Ops have exactly
one output, so the node's fields live on the output tensor itself: no separate Node object is
allocated per op, which matters for small-model speed. The value is the backend array in the
private slot ``_data`` (always an array, a 0-d one for a scalar, never a NumPy scalar), ``None`` for
a symbolic value (a placeholder, or anything computed from one), whose dtype and shape then live in
``_type``. The public ``data`` is PyTorch's: a Tensor sharing the memory, cut from the graph, with
its own version counter (see ``Tensor.data``).

Methods and operators are attached in ``ganglion.core.methods`` once the op library is loaded,
so that this file holds only the object itself and the parts of autograd that belong to it.
"""
import numpy as np

from ganglion.core import dtypes
from ganglion.core import tracing as _tracing
from ganglion.core.dtypes import from_numpy_dtype
from ganglion.core.errors import ShapeError

__all__ = ["Tensor", "TensorType", "Constant", "Size", "make_tensor", "is_tensor", "numel"]

_tuple_new = tuple.__new__
# ``Tensor.shape`` of a symbolic tensor: set by core/symbolic_shape.py, which needs the op
# machinery (that imports this module); ``import ganglion`` loads it.
_symbolic_shape = None


class Size(tuple):
    """A tensor's shape, as PyTorch's ``torch.Size``: a tuple of ints (equal to the plain tuple)
    with ``numel()``. A symbolic tensor's shape holds None for a dimension not known yet."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        dims = tuple(sizes)
        for k, d in enumerate(dims):
            if type(d) is not int and (isinstance(d, bool) or not hasattr(type(d), "__index__")):
                raise TypeError(f"Size() takes an iterable of 'int' (item {k} is "
                                f"'{type(d).__name__}')")
        return _tuple_new(cls, (d if type(d) is int else d.__index__() for d in dims))

    def numel(self):
        """The number of elements of a tensor of this shape (1 for ``Size([])``)."""
        n = 1
        for d in self:
            if type(d) is not int:
                raise TypeError(f"numel(): shape {self!r} has dimensions that are not known yet "
                                "(a symbolic tensor's)")
            n *= d
        return n

    def prod(self):
        """The product of the dims (Theano's ``x.shape.prod()``): ``numel()`` here; a symbolic
        tensor's shape gives a symbolic scalar when a dim is unknown."""
        return self.numel()

    def __repr__(self):
        # An unknown dim (None in a type, a SymbolicDim in a symbolic tensor's shape) shows as None.
        dims = ", ".join(str(d) if type(d) is int else "None" for d in self)
        return f"ganglion.Size([{dims}])"

    __str__ = __repr__


class TensorType:
    """What is known of a value without computing it: a dtype and a shape (None = unknown)."""

    __slots__ = ("dtype", "shape")

    def __init__(self, dtype, shape):
        self.dtype = dtype
        shape = tuple(shape)
        if None in shape:  # a symbolic shape's unknown dims (SymbolicDim == None) are None here
            shape = tuple(None if isinstance(d, Tensor) else d for d in shape)
        self.shape = shape

    @property
    def ndim(self):
        return len(self.shape)

    def __eq__(self, other):
        return isinstance(other, TensorType) and self.dtype is other.dtype and self.shape == other.shape

    def __hash__(self):
        return hash((self.dtype.name, self.shape))

    def __repr__(self):
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"TensorType({self.dtype.name}, ({dims}{',' if len(self.shape) == 1 else ''}))"


class GradFn:
    """What ``Tensor.grad_fn`` shows: the op that made a tensor, printed as PyTorch prints it."""

    __slots__ = ("op", "tensor")

    def __init__(self, op, tensor):
        self.op = op
        self.tensor = tensor

    def name(self):
        return f"{type(self.op).__name__}Backward"

    @property
    def next_functions(self):
        inputs = self.tensor._inputs or ()
        return tuple((GradFn(i._op, i) if i._op is not None else None, 0) for i in inputs)

    def __repr__(self):
        return f"<{self.name()}>"


class Tensor:
    """An n-dimensional array that can record how it was computed, for gradients."""

    # _born: how many in-place rebinds had happened when the node was recorded (core/rebinds.py).
    __slots__ = ("_data", "requires_grad", "_grad", "_op", "_inputs", "_own_version", "_saved_versions",
                 "_type", "_hooks", "_retains_grad", "name", "_born", "__weakref__")

    # NumPy must defer to Tensor's reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_priority__ = 1000

    def __init__(self, *data, requires_grad=False, name=None):
        """``Tensor(array)`` wraps a backend array (None for a symbolic value). PyTorch's legacy
        constructors work too, in the default float dtype: ``Tensor(2, 3)`` (zeros of that
        shape, where PyTorch leaves the memory uninitialised), ``Tensor(Size([2, 3]))``,
        ``Tensor([1., 2.])`` (the data), ``Tensor()`` (empty)."""
        if len(data) == 1 and (type(data[0]) is _ndarray or data[0] is None):
            data = data[0]  # the engine's own use: a backend array
        else:
            data = _legacy_array(data)
        self._data = data
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self._op = None
        self._inputs = None
        self._own_version = 0
        self._saved_versions = None
        self._type = None
        self._hooks = None
        self._retains_grad = False
        self.name = name

    # ----- what the tensor is -------------------------------------------------------------
    @property
    def dtype(self):
        data = self._data
        if data is None:
            return self._type.dtype
        return from_numpy_dtype(data.dtype)

    @property
    def shape(self):
        """The dims as a ``Size`` of ints; for a symbolic tensor a ``SymbolicShape``, whose
        unknown dims are symbolic int64 scalars (``core/symbolic_shape.py`` states the rule)."""
        data = self._data
        if data is None:
            return _symbolic_shape(self)
        return _tuple_new(Size, data.shape)

    @property
    def ndim(self):
        data = self._data
        return len(self._type.shape) if data is None else data.ndim

    @property
    def tensor_type(self):
        """The TensorType: dtype and (for symbolic values, partly unknown) shape. (Not ``type``,
        which is PyTorch's method giving or converting to a legacy type name.)"""
        if self._data is None:
            return self._type
        return TensorType(from_numpy_dtype(self._data.dtype), self._data.shape)

    @property
    def device(self):
        from ganglion.core.device import cpu
        return cpu

    @property
    def is_symbolic(self):
        return self._data is None

    @property
    def _version(self):
        """How often the value was changed in place (shared with views, as in PyTorch)."""
        from ganglion.core.versions import version_of
        return version_of(self)

    @_version.setter
    def _version(self, value):
        from ganglion.core.versions import version_of
        self._own_version += value - version_of(self)

    @property
    def is_leaf(self):
        return self._op is None

    @property
    def grad_fn(self):
        return None if self._op is None else GradFn(self._op, self)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def size(self, dim=None):
        if dim is None:
            return self.shape
        shape = self.shape if self._data is None else self._data.shape
        ndim = len(shape)
        if type(dim) is not int and (isinstance(dim, bool) or not hasattr(type(dim), "__index__")):
            raise TypeError(f"size(): dim must be an integer, got {dim!r} of type "
                            f"{type(dim).__name__}")
        if not -ndim <= dim < ndim:
            raise IndexError(f"size(): dimension {dim} is out of range for a tensor of {ndim} "
                             "dimensions")
        return shape[dim]

    def numel(self):
        """The number of elements (TypeError for a symbolic shape with unknown dimensions)."""
        data = self._data
        if data is not None:
            return data.size
        return self.shape.numel()

    nelement = numel

    # ----- memory, as PyTorch describes it (ganglion runs on the CPU only) -------------------
    @property
    def is_cuda(self):
        return False

    @property
    def itemsize(self):
        """Bytes per element."""
        return self.dtype.itemsize

    def element_size(self):
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def nbytes(self):
        """Bytes of the elements (the tensor's shape times its element size)."""
        return self.numel() * self.dtype.itemsize

    def is_contiguous(self, memory_format=None):
        """Always True: every ganglion op accepts any memory layout, so ``view()`` never needs
        ``contiguous()`` first (PyTorch says False for a transposed view)."""
        return True

    def data_ptr(self):
        """The address of the first element (tensors that share memory share addresses)."""
        return self._value("data_ptr()").__array_interface__["data"][0]

    def storage_offset(self):
        """How many elements into the memory it shares (a view's offset in its base)."""
        data = self._value("storage_offset()")
        root = data
        while True:  # up the chain of views, and through a .data alias to the memory it aliases
            base = root.base
            if isinstance(base, memoryview):
                base = base.obj
            if not isinstance(base, np.ndarray):
                break
            root = base
        offset = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return offset // data.itemsize

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """Without ``dtype``: PyTorch's legacy type name (``'torch.FloatTensor'`` for float32,
        kept verbatim so that ported code comparing it works). With one (a dtype, or a legacy
        name such as ``'torch.DoubleTensor'``): the tensor converted to it, itself if it has it."""
        if dtype is None:
            return self.dtype.legacy_name
        if isinstance(dtype, str) and "Tensor" in dtype:
            if ".cuda." in dtype:
                raise RuntimeError(f"type(): {dtype!r} is a CUDA type; this build of ganglion "
                                   "runs on the CPU only")
            target = dtypes.from_legacy_name(dtype)
        elif isinstance(dtype, (dtypes.DType, str)):
            target = dtypes.as_dtype(dtype)
        elif isinstance(getattr(dtype, "dtype", None), dtypes.DType):  # ganglion.FloatTensor and co.
            target = dtype.dtype
        else:
            try:
                target = dtypes.as_dtype(dtype)
            except (TypeError, KeyError, ValueError):
                raise TypeError(f"type(): dtype must be a dtype or a legacy type name such as "
                                f"'torch.FloatTensor', got {dtype!r} of type "
                                f"{type(dtype).__name__}") from None
        if target is self.dtype:
            return self
        from ganglion.core.ops.elementwise import cast
        return cast(self, target)

    def dim(self):
        return self.ndim

    def __len__(self):
        data = self._data
        if data is not None and data.ndim:
            return data.shape[0]
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._first_dim("len()")

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._first_dim("iteration")))

    def _first_dim(self, what):
        n = self.shape[0]
        if type(n) is not int:
            raise TypeError(f"{what}: {self._describe()} is symbolic and its first dimension is "
                            "known only when a compiled function runs; use x.shape[0], a "
                            "symbolic size")
        return n

    @property
    def data(self):
        """PyTorch's ``.data``: a Tensor sharing this tensor's memory, with no history (a leaf
        that does not require grad). Writes through it (``p.data.add_(u)``, ``p.data[0] = 5``,
        ``p.data.copy_(q)``) change this tensor but not its version, as in PyTorch: its memory is
        reached through an alias with a version counter of its own, so a backward that saved this
        tensor silently uses the new values instead of refusing them. (Internal code reads the
        array in ``_data``.) A symbolic tensor has no memory: its ``data`` is ``detach()``, whose
        values follow it; an in-place change of that does not reach the tensor.

        While ``ganglion.jit`` traces, ``data`` is a symbolic detach that the trace knows
        (``Trace.data_view``): the compiled function reads the tensor when it runs, and an
        in-place op on the view (``p.data.add_(u)``, not ``p.data[i] = v``) updates the tensor."""
        if _tracing.active:
            return _tracing.active[-1].data_view(self)
        data = self._data
        if data is None:
            return self.detach()
        return make_tensor(_asarray(memoryview(data)))  # versions.detached_alias, inlined

    @data.setter
    def data(self, value):
        """``t.data = other``: t now holds ``other``'s memory (any shape or dtype, as in PyTorch;
        a tensor that requires grad must stay floating-point). Its version is unchanged."""
        if not isinstance(value, Tensor):
            hint = (": wrap a NumPy array with ganglion.from_numpy(array) (shares memory) or "
                    "ganglion.tensor(array) (copies)" if isinstance(value, np.ndarray) else "")
            raise TypeError(f"Tensor.data: data has to be a Tensor, but got "
                            f"{type(value).__module__}.{type(value).__name__}{hint}")
        if (self._data is None) != (value._data is None):
            raise RuntimeError(
                "Tensor.data: cannot give " + ("a symbolic tensor a value" if self._data is None
                                               else "a tensor holding a value a symbolic value")
                + " through .data; compile changes of values as updates of ganglion.function")
        if value._data is None:
            self._type = value.tensor_type
            return
        if self.requires_grad and not value.dtype.is_floating_point:
            raise RuntimeError(f"Tensor.data: data set to a tensor that requires gradients must be "
                               f"floating point, got {value.dtype}")
        from ganglion.core.versions import version_of
        version = version_of(self)
        self._data = value._data
        self._own_version += version - version_of(self)

    # ----- autograd -----------------------------------------------------------------------
    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (None until then), or one assigned."""
        return self._grad

    @grad.setter
    def grad(self, value):
        # Checked here, as in PyTorch, so that a wrong gradient is refused where it is made, not
        # broadcast into the parameter by an optimizer step later. The autograd engine writes
        # ``_grad`` itself where the shape and dtype are known to fit.
        if value is not None:
            _check_grad(self, value)
        self._grad = value

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see autograd.backward)."""
        from ganglion.core import autograd
        autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def requires_grad_(self, requires_grad=True):
        if not requires_grad and self._op is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """The same values, cut from the graph (shares memory, as in PyTorch)."""
        if self._data is None:
            from ganglion.core.op import apply
            from ganglion.core.ops.unary import StopGradient
            return apply(StopGradient(), self)
        return Tensor(self._data)

    def detach_(self):
        self._op = None
        self._inputs = None
        self.requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._op is not None:
            self._retains_grad = True

    @property
    def retains_grad(self):
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return
        value replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` in backward() once this leaf's ``.grad`` is complete for the pass
        (see autograd.register_post_accumulate_grad_hook). Returns a handle with ``remove()``."""
        from ganglion.core import autograd
        return autograd.register_post_accumulate_grad_hook(self, hook)

    # ----- conversion ---------------------------------------------------------------------
    def numpy(self, *, force=False):
        """The values as a NumPy array sharing this tensor's memory, as in PyTorch: writes through
        either are seen through the other, and a read-only source (``from_numpy`` of a read-only
        array) gives a read-only array. Refused for a tensor that requires grad unless
        ``force=True`` (PyTorch's ``t.detach().numpy()``, still sharing memory on the CPU)."""
        if self._data is None:
            raise RuntimeError(f"numpy(): {self._describe()} is symbolic and has no value; "
                               "compile it with ganglion.function to compute it")
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        from ganglion.backend import current
        return current.to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        # NumPy 2's protocol: np.array(t) passes copy=True and trusts the result to be a copy;
        # np.asarray(t) shares memory, as with PyTorch. (Unlike PyTorch, a tensor that requires
        # grad is converted too, so np.testing and NumPy functions take parameters directly.)
        from ganglion.backend import current
        array = current.to_numpy(self._value("__array__"))
        if dtype is not None and array.dtype != dtype:
            if copy is False:
                raise ValueError(f"__array__: converting {self.dtype} to NumPy dtype {dtype} needs a "
                                 "copy, but copy=False was given")
            return array.astype(dtype)
        return array.copy() if copy else array

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """The DLPack capsule of this tensor's memory (the array API standard's protocol, as
        PyTorch's ``Tensor.__dlpack__``): ``torch.from_dlpack(t)`` and ``numpy.from_dlpack(t)``
        share memory with ``t``. NumPy makes the capsule (see ``ganglion.core.dlpack``). Refused
        (BufferError, as in PyTorch) for a tensor that requires grad or a symbolic one."""
        data = self._data
        if data is None:
            raise BufferError(f"__dlpack__: {self._describe()} is symbolic and has no memory to "
                              "share; compile it with ganglion.function")
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        if data.ndim and min(data.strides) < 0:  # flip's view: exported as a copy, see there
            from ganglion.core.dlpack import export_negative_strides
            return export_negative_strides(data, stream, max_version, dl_device, copy)
        return data.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device,
                               copy=copy)

    def __dlpack_device__(self):
        """(device type, device id) as DLPack counts them: (1, 0), the CPU (kDLCPU)."""
        return (1, 0)

    def item(self):
        data = self._value("item")
        if data.size != 1:
            raise RuntimeError(f"item(): only a tensor with one element can be converted to a "
                               f"Python number, got shape {tuple(data.shape)} ({data.size} elements)")
        return data.item()

    def tolist(self):
        return self._value("tolist").tolist()

    def _scalar(self, what):
        # float(t) and int(t) raise ValueError for several elements, as in PyTorch (item() raises
        # RuntimeError).
        data = self._value(what)
        if data.size != 1:
            raise ValueError(f"{what}: only a tensor with one element can be converted to a Python "
                             f"number, got shape {tuple(data.shape)}")
        return data.item()

    def __float__(self):
        return float(self._scalar("float()"))

    def __int__(self):
        return int(self._scalar("int()"))

    def __index__(self):
        if self.dtype.category == 2 or self._value("index").size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def __bool__(self):
        data = self._value("bool()")
        if data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {data.size} elements is "
                               "ambiguous: use .any() or .all()")
        return bool(data)

    def _value(self, what):
        if self._data is None:
            raise RuntimeError(f"{what}: {self._describe()} is symbolic and has no value yet; "
                               "compile it with ganglion.function")
        return self._data

    def _describe(self):
        return f"tensor {self.name!r}" if self.name else "this tensor"

    def __repr__(self):
        from ganglion.core.printing import tensor_repr
        return tensor_repr(self)

    def __format__(self, spec):
        # As PyTorch: a 0-d tensor formats as its number (f"{loss:.4f}", and f"{loss}" gives the
        # number too); other tensors only without a spec, as str().
        data = self._data
        if data is not None and data.ndim == 0:
            return data.item().__format__(spec)
        if spec:
            raise TypeError(f"unsupported format string passed to {type(self).__name__}.__format__: "
                            f"{spec!r} formats a 0-d tensor (a number), but this one has shape "
                            f"{tuple(self.shape)}; format t.item() or t.tolist()")
        return str(self)

    def __hash__(self):
        return id(self)

    def __deepcopy__(self, memo):
        """A copy with its own memory, of the same class (a Parameter stays a Parameter). The
        memo keeps a tensor shared by two owners shared in the copy (tied weights)."""
        if id(self) in memo:
            return memo[id(self)]
        if self._op is not None:
            raise RuntimeError("deepcopy: only leaf tensors can be copied; this one was computed "
                               "by an op: detach() it first")
        copy = make_tensor(None if self._data is None else self._data.copy(), cls=type(self))
        copy.requires_grad = self.requires_grad
        copy._type = self._type
        copy.name = self.name
        if self._grad is not None:
            copy._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = copy
        return copy

    def __reduce__(self):
        raise TypeError("ganglion tensors are not pickled: save them with ganglion's safetensors "
                        "checkpoints")


def _known_shape(t):
    """``t``'s shape (None for a dimension that is not known yet), or None if nothing is known."""
    data = t._data
    if data is not None:
        return data.shape
    return None if t._type is None else t._type.shape


def _check_grad(tensor, grad):
    """Raise unless ``grad`` can be ``tensor``'s gradient: a Tensor (not ``tensor`` itself) of
    its shape and dtype. A symbolic shape's unknown dimensions (None) fit any size."""
    if not isinstance(grad, Tensor):
        raise TypeError("Tensor.grad: assigned grad expected to be a Tensor or None but got grad "
                        f"of type {type(grad).__name__}")
    if grad is tensor:
        raise RuntimeError("Tensor.grad: can't assign a tensor as its own grad")
    grad_shape, shape = _known_shape(grad), _known_shape(tensor)
    if grad_shape != shape and grad_shape is not None and shape is not None and (
            len(grad_shape) != len(shape)
            or any(g != s and g is not None and s is not None for g, s in zip(grad_shape, shape))):
        raise RuntimeError(f"Tensor.grad: attempting to assign a gradient of shape "
                           f"{_shape_text(grad_shape)} to a tensor of shape {_shape_text(shape)}: "
                           "the gradient must have the tensor's shape")
    if grad_shape is not None and shape is not None and grad.dtype is not tensor.dtype:
        raise RuntimeError(f"Tensor.grad: attempting to assign a gradient with dtype "
                           f"{grad.dtype.name} to a tensor with dtype {tensor.dtype.name}: the "
                           "gradient must have the tensor's dtype (convert it with .to())")


def _shape_text(shape):
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


class _HookHandle:
    __slots__ = ("hooks", "hook")

    def __init__(self, hooks, hook):
        self.hooks = hooks
        self.hook = hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


class Constant(Tensor):
    """A value fixed when the graph is built (a Python number in an expression). The symbolic
    compiler may fold it; every other tensor with a value is read when a compiled function runs."""

    __slots__ = ()


def is_tensor(obj):
    """Whether ``obj`` is a ganglion Tensor (a Parameter is one), as ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def numel(input):
    """The number of elements of a tensor, as ``torch.numel``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input.numel()


_new = object.__new__
_ndarray = np.ndarray


def _legacy_array(args):
    """The array of PyTorch's legacy ``torch.Tensor(...)`` call with positional ``args``."""
    float_dtype = dtypes.get_default_dtype().np
    if not args:
        return np.empty((0,), float_dtype)
    if isinstance(args[0], Size) or all(type(a) is int or isinstance(a, np.integer) for a in args):
        sizes = tuple(args[0]) if isinstance(args[0], Size) else tuple(int(a) for a in args)
        if len(args) > 1 and isinstance(args[0], Size):
            raise TypeError("Tensor(): takes one Size or several ints, got a Size and more")
        negative = [s for s in sizes if s is None or s < 0]
        if negative:
            raise ShapeError(f"Tensor(): trying to create a tensor with a negative dimension: "
                             f"sizes {sizes}")
        return np.zeros(sizes, float_dtype)
    if len(args) > 1:
        raise TypeError(f"Tensor(): takes sizes (ints) or one sequence of data, got "
                        f"{', '.join(type(a).__name__ for a in args)}")
    (data,) = args
    if isinstance(data, _np_scalar):
        return _asarray(data)  # a 0-d array, never a NumPy scalar (see make_tensor)
    if isinstance(data, Tensor):  # shares the memory and keeps the dtype, as PyTorch's does
        return data._data
    if isinstance(data, (list, tuple, np.ndarray)):
        from ganglion.core.creation import tensor  # creation imports this module
        return tensor(data, dtype=dtypes.get_default_dtype())._data
    raise TypeError(f"Tensor(): new(): data must be a sequence (got {type(data).__name__}); for a "
                    "number use ganglion.tensor(value)")
_np_scalar = np.generic
_asarray = np.asarray


def make_tensor(data, requires_grad=False, cls=Tensor):
    """A Tensor around a backend array, without the checks of the public constructors.

    Every op's result comes through here: a NumPy scalar (what NumPy gives for a full reduction
    or for indexing one element) becomes a 0-d array, so that every Tensor holds an array and
    in-place ops (``x[...] = v``) work on 0-d results too."""
    if type(data) is not _ndarray and isinstance(data, _np_scalar):
        data = _asarray(data)
    t = _new(cls)
    t._data = data
    t.requires_grad = requires_grad
    t._grad = None
    t._op = None
    t._inputs = None
    t._own_version = 0
    t._saved_versions = None
    t._type = None
    t._hooks = None
    t._retains_grad = False
    t.name = None
    return t

