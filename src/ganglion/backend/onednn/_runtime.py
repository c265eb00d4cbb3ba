"""Execution plans over oneDNN primitives: a primitive, the reorders between NumPy's plain
layouts and the layouts the primitive chose, and the memory objects bound to each argument,
built once per (kernel, shapes, options, thread count) and kept in a bounded LRU cache (oneDNN
fixes a primitive's thread count when it is made: ``cached_plan``).

A plan is made from a primitive descriptor whose arguments were mostly described with format
tag ``any`` (oneDNN picks its fastest layout, e.g. channels in blocks of 16 for AVX-512) and
the plain C-contiguous layout of each NumPy array bound to an argument. Where the two layouts
are equal the array is bound directly; otherwise the argument gets a buffer in the primitive's
layout and a reorder primitive that copies into it before the primitive runs (inputs) or out
of it afterwards (outputs). Running a plan only points the memory objects at the arrays' data
(``dnnl_memory_set_data_handle``) and executes the prebuilt steps, under one lock.

The blocked-layout buffers are not owned by the plans: a plan's k-th such buffer is the k-th
shared scratch buffer, grown to the largest size any plan needs, so memory stays at a few
activations' size however many shapes are cached (a plan per layer and pass of ResNet-18 at
batch 128 would otherwise hold gigabytes). Runs are serialized by the lock, which also guards
oneDNN's library-managed scratchpads.

Buffers: the NumPy arrays passed to ``Plan.run`` are referenced by the caller for the whole
call, and oneDNN's CPU primitives run synchronously (the stream is waited on before return),
so no address outlives its array. Handles are destroyed when their Python owner is collected.
"""
import ctypes
import threading
from collections import OrderedDict

import numpy as np

from ganglion.backend.onednn import _capi, library

__all__ = ["MemoryDesc", "PrimitiveDesc", "Plan", "context", "cached_plan", "clear_cache",
           "cache_size", "address", "CACHE_SIZE"]

# Plans kept (least recently used dropped first); each holds its primitives and the buffers
# of its blocked layouts, so the cap bounds memory: a model's layers need a few plans each.
CACHE_SIZE = 256

_lock = threading.RLock()
_cache = OrderedDict()
_context = []
_scratch = []          # the shared blocked-layout buffers (uint8 arrays), by slot
# Buffer addresses are aligned to this many bytes, as oneDNN aligns its own allocations.
_ALIGNMENT = 64


def address(array):
    """The address of a NumPy array's first element. A writable C-contiguous array's goes
    through ctypes' buffer protocol (0.25 us); others through ``ndarray.ctypes`` (0.8 us), which
    builds an object per call: a plan binds its arrays on every run."""
    try:
        return _addressof(_c_char.from_buffer(array))
    except (TypeError, ValueError, BufferError):  # read-only or not C-contiguous
        return array.ctypes.data


_addressof, _c_char = ctypes.addressof, ctypes.c_char


def _scratch_address(slot, size):
    """The 64-byte-aligned address of shared scratch buffer ``slot``, of at least ``size`` bytes
    (grown when needed; called under the lock)."""
    while len(_scratch) <= slot:
        _scratch.append(np.empty(0, np.uint8))
    if _scratch[slot].size < size + _ALIGNMENT:
        _scratch[slot] = np.empty(size + _ALIGNMENT, np.uint8)
    address = _scratch[slot].ctypes.data
    return address + (-address % _ALIGNMENT)


def context():
    """(api, engine, stream): the CPU engine and its in-order stream, made on first use."""
    if not _context:
        with _lock:
            if not _context:
                api = _capi.api()
                engine, stream = ctypes.c_void_p(), ctypes.c_void_p()
                api.dnnl_engine_create(ctypes.byref(engine), _capi.ENGINE_CPU, 0)
                api.dnnl_stream_create(ctypes.byref(stream), engine, _capi.STREAM_DEFAULT_FLAGS)
                _context.append((api, engine, stream))
    return _context[0]


_DATA_TYPES = {np.dtype(np.float32): _capi.F32, np.dtype(np.int32): _capi.S32,
               np.dtype(np.uint8): _capi.U8}


class _OwnedHandle:
    """A oneDNN object this process owns: ``handle`` is released by the C call named ``_destroy``
    when the Python object goes (once; quietly at interpreter exit, when the library may already
    be gone)."""
    __slots__ = ("handle", "_api")
    _destroy = None

    def __del__(self):
        # (no module globals here: at interpreter exit they may already be None)
        handle, self.handle = self.handle, None
        if handle:
            try:
                getattr(self._api, self._destroy)(handle)
            except Exception:
                pass


class MemoryDesc(_OwnedHandle):
    """An owned dnnl_memory_desc_t: plain (C-contiguous, described by strides) or ``any``."""
    __slots__ = ("shape", "dtype")
    _destroy = "dnnl_memory_desc_destroy"

    def __init__(self, shape, dtype=np.float32, any_layout=False, strides=None):
        """``strides`` (in elements) describes a strided view; the default is C-contiguous."""
        api = _capi.api()
        self._api = api
        self.shape, self.dtype = tuple(int(d) for d in shape), np.dtype(dtype)
        self.handle = ctypes.c_void_p()
        data_type = _DATA_TYPES[self.dtype]
        if any_layout:
            api.dnnl_memory_desc_create_with_tag(ctypes.byref(self.handle), len(self.shape),
                                                 _capi.dims(self.shape), data_type,
                                                 _capi.FORMAT_ANY, detail=f"shape {self.shape}")
        else:
            if strides is None:
                reversed_strides, step = [], 1
                for d in reversed(self.shape):
                    reversed_strides.append(step)
                    step *= max(d, 1)
                strides = reversed_strides[::-1]
            api.dnnl_memory_desc_create_with_strides(
                ctypes.byref(self.handle), len(self.shape), _capi.dims(self.shape), data_type,
                _capi.dims(strides), detail=f"shape {self.shape}, strides {tuple(strides)}")


class PrimitiveDesc(_OwnedHandle):
    """An owned dnnl_primitive_desc_t, made by one of the ``*_primitive_desc_create`` calls."""
    __slots__ = ()
    _destroy = "dnnl_primitive_desc_destroy"

    def __init__(self, create, *args, detail=""):
        api, engine, _ = context()
        self._api = api
        self.handle = ctypes.c_void_p()
        getattr(api, create)(ctypes.byref(self.handle), engine, *args, detail=detail)

    @classmethod
    def reorder(cls, source_md, dest_md):
        self = cls.__new__(cls)
        api, engine, _ = context()
        self._api = api
        self.handle = ctypes.c_void_p()
        api.dnnl_reorder_primitive_desc_create(ctypes.byref(self.handle), source_md, engine,
                                               dest_md, engine, None)
        return self

    def md(self, argument):
        """The (pd-owned) memory descriptor the primitive expects for ``argument``, or None."""
        md = self._api.dnnl_primitive_desc_query_md(self.handle, _capi.QUERY_EXEC_ARG_MD, argument)
        return md or None

    def implementation(self):
        """oneDNN's name of the implementation it chose (e.g. 'brg:avx512_core')."""
        name = ctypes.c_char_p()
        self._api.dnnl_primitive_desc_query(self.handle, _capi.QUERY_IMPL_INFO_STR, 0,
                                            ctypes.byref(name))
        return name.value.decode()


class _Primitive(_OwnedHandle):
    """An owned dnnl_primitive_t made from a primitive descriptor."""
    __slots__ = ()
    _destroy = "dnnl_primitive_destroy"

    def __init__(self, pd):
        api, _, _ = context()
        self._api = api
        self.handle = ctypes.c_void_p()
        api.dnnl_primitive_create(ctypes.byref(self.handle), pd.handle)


class _Memory(_OwnedHandle):
    """An owned dnnl_memory_t without a buffer of its own: ``Plan.run`` points it at an array's
    data or at a shared scratch buffer before each run."""
    __slots__ = ()
    _destroy = "dnnl_memory_destroy"

    def __init__(self, md):
        api, engine, _ = context()
        self._api = api
        self.handle = ctypes.c_void_p()
        api.dnnl_memory_create(ctypes.byref(self.handle), md, engine, None)


class Plan:
    """A primitive with its reorders, run on NumPy arrays named by the caller.

    ``bindings`` lists (argument number, name, plain MemoryDesc, is_output) for each argument;
    ``keep`` holds objects that must live as long as the plan (a backward primitive's hint);
    arrays are passed to ``run`` by name, C-contiguous, with the plain descriptor's shape and
    dtype (the caller guarantees both: nothing is checked on the hot path).
    """

    def __init__(self, pd, bindings, keep=()):
        api, _, stream = context()
        self._api, self._stream = api, stream
        self.pd = pd
        self.implementation = pd.implementation()
        # Every handle owner the steps use; ``keep`` adds a backward primitive's forward hint,
        # to which oneDNN's backward primitive descriptors keep a raw pointer.
        self._keep = [pd, *keep]
        self._user = []               # (name, memory handle) bound to arrays on each run
        self._inner = []              # (scratch slot, memory handle, bytes) of blocked buffers
        # input name -> (index of its reorder in the steps, blocked memory handle, bytes): for
        # inputs converted once by ``prepare`` and passed to ``run`` already in the blocked layout
        self._input_reorders = {}
        before, after, args = [], [], []
        for argument, name, plain, is_output in bindings:
            user = _Memory(plain.handle)
            self._keep += [plain, user]
            self._user.append((name, user.handle))
            wanted = pd.md(argument)
            if wanted is None or api.dnnl_memory_desc_equal(wanted, plain.handle):
                args.append((argument, user.handle))
                continue
            inner = _Memory(wanted)
            self._inner.append((len(self._inner), inner.handle, api.dnnl_memory_desc_get_size(wanted)))
            source, dest = (inner, user) if is_output else (user, inner)
            reorder_pd = PrimitiveDesc.reorder(*((wanted, plain.handle) if is_output
                                                 else (plain.handle, wanted)))
            reorder = _Primitive(reorder_pd)
            self._keep += [inner, reorder_pd, reorder]
            step = (reorder.handle, self._arguments([(_capi.ARG_SRC, source.handle),
                                                     (_capi.ARG_DST, dest.handle)]))
            if not is_output:
                self._input_reorders[name] = (len(before), inner.handle,
                                              self._inner[-1][2])
            (after if is_output else before).append(step)
            args.append((argument, inner.handle))
        primitive = _Primitive(pd)
        self._keep.append(primitive)
        self._steps = before + [(primitive.handle, self._arguments(args))] + after
        self.reorders = len(before) + len(after)
        raw = api.raw
        self._calls = (raw["dnnl_memory_set_data_handle"], raw["dnnl_primitive_execute"],
                       raw["dnnl_stream_wait"])

    @staticmethod
    def _arguments(pairs):
        array = (_capi.ExecArg * len(pairs))()
        for slot, (argument, memory) in zip(array, pairs):
            slot.arg, slot.memory = argument, memory
        return len(pairs), array

    def prepare(self, name, array):
        """Input ``name``'s ``array`` converted to the primitive's layout, in a new buffer owned
        by the caller (a 64-byte-aligned uint8 array), for ``run(prepared={name: buffer})``:
        the reorder runs once here instead of on every run. None when the input needs no
        reorder (the primitive reads the plain array)."""
        if name not in self._input_reorders:
            return None
        index, inner, size = self._input_reorders[name]
        raw = self._api.raw
        owned = np.empty(size + _ALIGNMENT, np.uint8)
        start = -owned.ctypes.data % _ALIGNMENT
        buffer = owned[start:start + size]
        user = dict(self._user)[name]
        with _lock:
            if not library._ran[0] or library._forked_after_use[0]:
                library.mark_ran()
            library.apply_num_threads()
            for memory, address in ((user, array.ctypes.data), (inner, buffer.ctypes.data)):
                status = raw["dnnl_memory_set_data_handle"](memory, address)
                if status:
                    raise _capi.OneDNNError("dnnl_memory_set_data_handle", status, name)
            primitive, (count, args) = self._steps[index]
            status = raw["dnnl_primitive_execute"](primitive, self._stream, count, args)
            if status:
                raise _capi.OneDNNError("dnnl_primitive_execute", status, f"reorder of {name}")
            status = raw["dnnl_stream_wait"](self._stream)
            if status:
                raise _capi.OneDNNError("dnnl_stream_wait", status)
        return buffer

    def run(self, prepared=None, **arrays):
        """Execute the plan on ``arrays`` (name -> C-contiguous NumPy array); ``prepared`` maps
        input names to buffers from ``prepare`` (already in the primitive's layout: their
        reorders are skipped, and no array is passed under those names)."""
        set_handle, execute, wait = self._calls
        skipped = {self._input_reorders[name][0] for name in prepared} if prepared else ()
        with _lock:
            if not library._ran[0] or library._forked_after_use[0]:
                library.mark_ran()
            library.apply_num_threads()
            for name, memory in self._user:
                if prepared and name in prepared:
                    continue
                status = set_handle(memory, address(arrays[name]))
                if status:
                    raise _capi.OneDNNError("dnnl_memory_set_data_handle", status, name)
            for slot, memory, size in self._inner:
                status = set_handle(memory, _scratch_address(slot, size))
                if status:
                    raise _capi.OneDNNError("dnnl_memory_set_data_handle", status, f"scratch {slot}")
            # (after the scratch binding: a prepared input's blocked memory points at its buffer)
            for name, buffer in (prepared or {}).items():
                status = set_handle(self._input_reorders[name][1], buffer.ctypes.data)
                if status:
                    raise _capi.OneDNNError("dnnl_memory_set_data_handle", status, name)
            stream = self._stream
            for index, (primitive, (count, args)) in enumerate(self._steps):
                if index in skipped:
                    continue
                status = execute(primitive, stream, count, args)
                if status:
                    raise _capi.OneDNNError("dnnl_primitive_execute", status, self.implementation)
            status = wait(stream)
            if status:
                raise _capi.OneDNNError("dnnl_stream_wait", status)


def cached_plan(key, build):
    """The plan cached under ``key`` and the current thread count, or ``build()``'s, cached
    (least recently used dropped). oneDNN's primitives fix the number of threads they split
    work over when they are made (from omp_get_max_threads then), so plans are kept per thread
    count and built after the calling thread's OpenMP count is set: a plan made at 2 threads
    kept running on 2 after ``config.num_threads = 1``, and one made at 1 on 1 after it was
    set back. ``plan.threads`` is the OpenMP thread count it was made under."""
    threads = library.num_threads()
    key = (key, threads)
    with _lock:
        plan = _cache.get(key)
        if plan is not None:
            _cache.move_to_end(key)
            return plan
    context()  # (loads the library, so that the count below reaches its OpenMP runtime)
    library.apply_num_threads()
    plan = build()
    plan.threads = library.openmp_max_threads()
    with _lock:
        _cache[key] = plan
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return plan


def clear_cache():
    """Drop every cached plan (their primitives are freed) and the shared scratch buffers."""
    with _lock:
        _cache.clear()
        _scratch.clear()


def cache_size():
    """How many plans are cached."""
    return len(_cache)


def scratch_bytes():
    """Bytes held by the shared blocked-layout buffers."""
    return sum(buffer.size for buffer in _scratch)

