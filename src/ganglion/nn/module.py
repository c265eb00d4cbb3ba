"""``Module`` and ``Parameter``: PyTorch's conventions for building models from parts.

A Module registers the Parameters, sub-modules and buffers assigned to its attributes, in
order, so that ``parameters()``, ``state_dict()`` and friends find them and name them as PyTorch
does (``features.3.bias``, ``bn1.running_mean``). Registered values are also kept in the
instance ``__dict__``, so reading ``self.weight`` in ``forward`` is a plain attribute lookup and
costs nothing per call; all changes go through ``__setattr__`` / ``__delattr__`` / ``register_*``,
which keep the two in step.
"""
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ganglion.backend import current as backend
from ganglion.core.device import check_available as make_device
from ganglion.core.dtypes import DType, as_dtype, float16, float32, float64
from ganglion.core.grad_mode import no_grad
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.core.versions import bump_storage

__all__ = ["Module", "Parameter", "IncompatibleKeys"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as one of its parameters (requires grad by default)."""

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            array = backend.xp.empty((0,), backend.xp.float32)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            array = backend.asarray(data)
        param = make_tensor(array, cls=cls)
        if requires_grad:
            param.requires_grad_(True)
        return param

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _Handle:
    """Returned by register_*_hook: ``remove()`` takes the hook out again."""

    __slots__ = ("hooks", "key")
    _next = [0]

    def __init__(self, hooks):
        self.hooks = hooks
        self.key = _Handle._next[0]
        _Handle._next[0] += 1

    def remove(self):
        self.hooks.pop(self.key, None)


class Module:
    """Base class of every layer and model: subclass it, assign parts in ``__init__``, write
    ``forward``, and call the module like a function."""

    training = True

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define it in the subclass")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    # ----- registration -------------------------------------------------------------------
    def _check_initialized(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called: "
                                 "call super().__init__() first in your module's __init__")

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._check_initialized(name)
            self._forget(name, keep=self._parameters)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_initialized(name)
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r} "
                                "(expected a ganglion.nn.Parameter or None)")
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                "(expected a Tensor or None)")
            self._buffers[name] = value
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to sub-module {name!r} "
                                "(expected a ganglion.nn.Module or None)")
            self._modules[name] = None
        object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Unregister ``name`` from every store but ``keep``: a name assigned again keeps its
        place in ``keep``, so the state dict order stays PyTorch's."""
        for store in (self._parameters, self._modules, self._buffers):
            if store is not keep:
                store.pop(name, None)
        self._non_persistent.discard(name)

    def __delattr__(self, name):
        if "_parameters" in self.__dict__:
            self._forget(name)
        object.__delattr__(self, name)

    def _check_name(self, what, name, store):
        """PyTorch's rules: a state_dict key part cannot be empty or hold a dot, and a name
        cannot hide an attribute (a method such as ``train``) that is not of the same kind."""
        self._check_initialized(name)
        if not isinstance(name, str):
            raise TypeError(f"{what}: the name must be a str, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{what}: the name {name!r} must be non-empty and contain no '.'")
        if hasattr(self, name) and name not in store:
            raise KeyError(f"{what}: {type(self).__name__} already has an attribute {name!r}")

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._check_name("register_parameter", name, self._parameters)
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is part of the module's state but not a parameter (running means)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._check_name("register_buffer", name, self._buffers)
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._check_name("add_module", name, self._modules)
        self._forget(name, keep=self._modules)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def register_forward_hook(self, hook):
        """``hook(module, inputs, output)`` after each forward; a non-None result replaces the output."""
        handle = _Handle(self._forward_hooks)
        self._forward_hooks[handle.key] = hook
        return handle

    def register_forward_pre_hook(self, hook):
        """``hook(module, inputs)`` before each forward; a non-None result replaces the inputs."""
        handle = _Handle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.key] = hook
        return handle

    # ----- traversal ----------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, store_name, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                   else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, store_name).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target):
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (in {target!r})")
            module = module._modules[part]
        return module

    # ----- modes and bulk changes ---------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        # Through each child's train(), as PyTorch does, so that a subclass may override it
        # (a model that keeps its batch-norm layers frozen while training).
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                grad = param.grad.detach_()
                grad._data[...] = 0
                bump_storage(grad._data)

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and on self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, convert):
        """Replace every parameter's and buffer's array by ``convert(array)``, in place."""
        with no_grad():
            for module in self.modules():
                for store in (module._parameters, module._buffers):
                    for tensor in store.values():
                        if tensor is not None:
                            tensor._data = convert(tensor._data)
                            if tensor.grad is not None:
                                tensor.grad._data = convert(tensor.grad._data)
        return self

    def to(self, *args, **kwargs):
        """``to(dtype)`` converts floating parameters and buffers; ``to('cpu')`` is accepted."""
        dtype = kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, DType) or arg is float:
                dtype = arg
            else:
                make_device(arg, "Module.to")
        if kwargs.get("device") is not None:
            make_device(kwargs["device"], "Module.to")
        if dtype is None:
            return self
        target = as_dtype(dtype).np
        return self._apply_to_tensors(lambda a: a.astype(target) if a.dtype.kind == "f" else a)

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def half(self):
        return self.to(float16)

    def cpu(self):
        return self

    def cuda(self, device=None):
        """Move to a GPU: refused with the devices this build has (it has no GPU backend)."""
        make_device("cuda" if device is None else f"cuda:{device}" if isinstance(device, int)
                    else device, "Module.cuda")
        return self

    # ----- state ----------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by their dotted names, in registration order.
        Values are detached tensors sharing memory with the module (as in PyTorch)."""
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy values in by name. With ``strict``, missing or unexpected keys are an error;
        a shape mismatch or a value that is not a tensor is always an error naming the key.
        Every problem is listed in one RuntimeError (PyTorch's type), and nothing is changed
        unless every value fits: all values are checked and converted before any is copied."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected state_dict to be "
                            f"dict-like ({{name: tensor}}), got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and (missing or unexpected):
            if missing:
                problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        arrays = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key])
            if value is None:
                given = state_dict[key]
                what = ("a symbolic Tensor with no value" if isinstance(given, Tensor)
                        else f"a {type(given).__name__}")
                problems.append(f"{key!r} is {what}, expected a tensor or an array of numbers")
                continue
            if tuple(value.shape) != tuple(target.shape):
                problems.append(f"size mismatch for {key!r}: the checkpoint has shape "
                                f"{tuple(value.shape)}, the model has shape {tuple(target.shape)}")
                continue
            # Converted before anything is written, so that a failure leaves the model unchanged.
            arrays[key] = value.astype(target._data.dtype, copy=True)
        if problems:
            raise RuntimeError(f"error loading the state dict into {type(self).__name__}:\n  "
                               + "\n  ".join(problems))
        for key, value in arrays.items():
            target = own[key]._data
            target[...] = value
            bump_storage(target)
        return IncompatibleKeys(missing, unexpected)

    # ----- printing -------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        # PyTorch's layout: extra_repr on the head line when it is a single line and there are
        # no children, otherwise its lines first in the body, then one line per child.
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(module).replace("\n", "\n  ")
                    for name, module in self._modules.items()]
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines + children) + "\n)"

    def __dir__(self):
        registered = set(self._parameters) | set(self._modules) | set(self._buffers)
        return sorted(set(super().__dir__()) | registered)


def _as_array(value):
    """The array of numbers in ``value`` (a Tensor with a value, a PyTorch tensor, an array or
    nested lists), or None when it holds none (a symbolic tensor, a string, an object)."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        # A PyTorch tensor (perhaps a Parameter that requires grad), read without importing torch.
        value = value.detach().cpu().numpy()
    try:
        array = backend.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biuf" else None
