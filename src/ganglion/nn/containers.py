"""Containers: Sequential, ModuleList and ModuleDict, with PyTorch's names and behaviour.

Sequential and ModuleList name their children "0", "1", ... so that state dict keys read
``features.3.weight`` as in PyTorch; deleting or inserting renumbers them, as PyTorch does.
"""
from collections import OrderedDict
from collections.abc import Mapping

from ganglion.nn.module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _add_indent(text):
    return text.replace("\n", "\n  ")


class _Indexed(Module):
    """What Sequential and ModuleList share: children named by position."""

    def _index(self, idx):
        """A position (negative counts from the end) as an index into the children."""
        n = len(self._modules)
        idx = int(idx)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range for {n} modules")
        return idx % n

    def _renumber(self, modules):
        """Make ``modules`` the children, named 0, 1, ... (PyTorch renumbers after a deletion)."""
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx, module):
        self.add_module(list(self._modules)[self._index(idx)], module)

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        del modules[idx if isinstance(idx, slice) else self._index(idx)]
        self._renumber(modules)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)

    def pop(self, idx=-1):
        module = self[idx]
        del self[idx]
        return module

    def __dir__(self):
        return [name for name in super().__dir__() if not name.isdigit()]


class Sequential(_Indexed):
    """Modules applied one after another: ``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``.

    ``Sequential(OrderedDict([('conv', ...), ('relu', ...)]))`` names the children; indexing
    by position still works, and a slice is a Sequential that keeps the names.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential + {type(other).__name__}: only a Sequential can be added")
        return Sequential(*self, *other)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_Indexed):
    """A list of modules, registered so that their parameters belong to the parent. It has no
    forward: the parent decides how to use them."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __repr__(self):
        # PyTorch's compact form: a run of identical children prints once, "(0-2): 3 x Linear(...)".
        reprs = [repr(module) for module in self]
        if not reprs:
            return "ModuleList()"
        lines, start = [], 0
        for i in range(1, len(reprs) + 1):
            if i == len(reprs) or reprs[i] != reprs[start]:
                if i - start == 1:
                    lines.append(f"({start}): {_add_indent(reprs[start])}")
                else:
                    lines.append(f"({start}-{i - 1}): {i - start} x {_add_indent(reprs[start])}")
                start = i
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules by name (insertion-ordered), registered with the parent."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self):
        for key in list(self._modules):
            delattr(self, key)

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def update(self, modules):
        """Add (or replace) modules from a mapping or from an iterable of (name, module) pairs."""
        items = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for entry in items:
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise TypeError(f"ModuleDict.update: expected (name, module) pairs, got {entry!r}")
            self[entry[0]] = entry[1]
