"""ctypes declarations of the parts of oneDNN's C API (version 3.x, ``dnnl.h``) that ganglion
uses, and the error check that turns a failing call's status into an exception.

Reference: oneDNN's ``include/oneapi/dnnl/dnnl.h``, ``dnnl_types.h`` and ``dnnl_common_types.h``
(3.2). Every handle (engine, stream, memory descriptor, memory, primitive descriptor,
primitive, attribute) is an opaque pointer, declared here as ``c_void_p``. Only enum values
that are fixed numbers in the headers are used (prop kinds, algorithms, data types, argument
numbers, ``dnnl_query_exec_arg_md``, ``dnnl_format_tag_any``); plain layouts are described
by strides rather than by format tags, whose numbering differs between releases.

Nothing here keeps buffers alive: the callers (``_runtime``) hold every array whose address
they pass for as long as oneDNN may read or write it.
"""
import ctypes
from ctypes import POINTER, c_float, c_int, c_int64, c_size_t, c_uint, c_void_p

from ganglion.backend.onednn import library

# dnnl_dims_t: int64_t[DNNL_MAX_NDIMS]
MAX_NDIMS = 12
Dims = c_int64 * MAX_NDIMS


class ExecArg(ctypes.Structure):
    """dnnl_exec_arg_t: an argument number and the memory object bound to it."""
    _fields_ = [("arg", c_int), ("memory", c_void_p)]


# dnnl_status_t
STATUS_NAMES = {0: "success", 1: "out_of_memory", 2: "invalid_arguments", 3: "unimplemented",
                4: "last_impl_reached", 5: "runtime_error", 6: "not_required"}
# dnnl_engine_kind_t, dnnl_stream_flags_t
ENGINE_CPU = 1
STREAM_DEFAULT_FLAGS = 0x1
# dnnl_data_type_t
F32, S32, U8 = 3, 4, 6
# dnnl_format_tag_t: only "any" (let the primitive choose); plain layouts use strides
FORMAT_ANY = 1
# dnnl_prop_kind_t
FORWARD_TRAINING, FORWARD_INFERENCE, BACKWARD, BACKWARD_DATA, BACKWARD_WEIGHTS = 64, 96, 128, 160, 192
# dnnl_alg_kind_t
CONVOLUTION_DIRECT = 0x1
POOLING_MAX, POOLING_AVG_INCLUDE_PADDING, POOLING_AVG_EXCLUDE_PADDING = 0x1FF, 0x2FF, 0x3FF
# dnnl_normalization_flags_t
USE_GLOBAL_STATS, USE_SCALE, USE_SHIFT = 0x1, 0x2, 0x4
# dnnl_query_t
QUERY_IMPL_INFO_STR = 8
QUERY_EXEC_ARG_MD = 255
# DNNL_ARG_*
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_MEAN, ARG_VARIANCE, ARG_SCALE, ARG_SHIFT = 49, 50, 51, 52
ARG_WORKSPACE = 64
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
ARG_DIFF_SCALE, ARG_DIFF_SHIFT = 255, 256

_handle = POINTER(c_void_p)
# name -> argument types of the functions that return a dnnl_status_t
_STATUS_FUNCTIONS = {
    "dnnl_engine_create": (_handle, c_int, c_size_t),
    "dnnl_engine_destroy": (c_void_p,),
    "dnnl_stream_create": (_handle, c_void_p, c_uint),
    "dnnl_stream_wait": (c_void_p,),
    "dnnl_stream_destroy": (c_void_p,),
    "dnnl_memory_desc_create_with_strides": (_handle, c_int, Dims, c_int, Dims),
    "dnnl_memory_desc_create_with_tag": (_handle, c_int, Dims, c_int, c_int),
    "dnnl_memory_desc_destroy": (c_void_p,),
    "dnnl_memory_create": (_handle, c_void_p, c_void_p, c_void_p),
    "dnnl_memory_set_data_handle": (c_void_p, c_void_p),
    "dnnl_memory_destroy": (c_void_p,),
    "dnnl_primitive_desc_query": (c_void_p, c_int, c_int, c_void_p),
    "dnnl_primitive_desc_destroy": (c_void_p,),
    "dnnl_primitive_create": (_handle, c_void_p),
    "dnnl_primitive_execute": (c_void_p, c_void_p, c_int, POINTER(ExecArg)),
    "dnnl_primitive_destroy": (c_void_p,),
    "dnnl_reorder_primitive_desc_create": (_handle, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p),
    "dnnl_convolution_forward_primitive_desc_create": (
        _handle, c_void_p, c_int, c_int, c_void_p, c_void_p, c_void_p, c_void_p,
        Dims, Dims, Dims, Dims, c_void_p),
    "dnnl_convolution_backward_data_primitive_desc_create": (
        _handle, c_void_p, c_int, c_void_p, c_void_p, c_void_p, Dims, Dims, Dims, Dims,
        c_void_p, c_void_p),
    "dnnl_convolution_backward_weights_primitive_desc_create": (
        _handle, c_void_p, c_int, c_void_p, c_void_p, c_void_p, c_void_p, Dims, Dims, Dims, Dims,
        c_void_p, c_void_p),
    "dnnl_pooling_forward_primitive_desc_create": (
        _handle, c_void_p, c_int, c_int, c_void_p, c_void_p, Dims, Dims, Dims, Dims, Dims, c_void_p),
    "dnnl_pooling_backward_primitive_desc_create": (
        _handle, c_void_p, c_int, c_void_p, c_void_p, Dims, Dims, Dims, Dims, Dims, c_void_p, c_void_p),
    "dnnl_batch_normalization_forward_primitive_desc_create": (
        _handle, c_void_p, c_int, c_void_p, c_void_p, c_float, c_uint, c_void_p),
    "dnnl_batch_normalization_backward_primitive_desc_create": (
        _handle, c_void_p, c_int, c_void_p, c_void_p, c_void_p, c_float, c_uint, c_void_p, c_void_p),
    "dnnl_inner_product_forward_primitive_desc_create": (
        _handle, c_void_p, c_int, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p),
    "dnnl_matmul_primitive_desc_create": (
        _handle, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p),
}
# name -> (result type, argument types) of the other functions
_OTHER_FUNCTIONS = {
    "dnnl_primitive_desc_query_md": (c_void_p, (c_void_p, c_int, c_int)),
    "dnnl_memory_desc_get_size": (c_size_t, (c_void_p,)),
    "dnnl_memory_desc_equal": (c_int, (c_void_p, c_void_p)),
}


class OneDNNError(RuntimeError):
    """A oneDNN C API call returned a status other than success."""

    def __init__(self, call, status, detail=""):
        self.call, self.status = call, status
        name = STATUS_NAMES.get(status, f"unknown status {status}")
        super().__init__(f"oneDNN: {call} failed with status {status} ({name})"
                         + (f": {detail}" if detail else ""))


class _Api:
    """The declared functions as attributes (``api.dnnl_memory_create(...)``). Those returning a
    status raise OneDNNError on failure; ``raw`` holds them unchecked, for the hot path."""

    def __init__(self, lib):
        self.raw = {}
        for name, argtypes in _STATUS_FUNCTIONS.items():
            function = getattr(lib, name)
            function.argtypes, function.restype = list(argtypes), c_int
            self.raw[name] = function
            setattr(self, name, _checked(name, function))
        for name, (restype, argtypes) in _OTHER_FUNCTIONS.items():
            function = getattr(lib, name)
            function.argtypes, function.restype = list(argtypes), restype
            setattr(self, name, function)


def _checked(name, function):
    def call(*args, detail=""):
        status = function(*args)
        if status:
            raise OneDNNError(name, status, detail)
    call.__name__ = name
    return call


_api = []


def api():
    """The declared C API of the loaded library (loads it on first use; raises RuntimeError
    with the reason when it cannot be loaded)."""
    if not _api:
        _api.append(_Api(library.load()))
    return _api[0]


def dims(values):
    """A dnnl_dims_t holding ``values`` (the rest zero)."""
    values = tuple(int(v) for v in values)
    if len(values) > MAX_NDIMS:
        raise ValueError(f"oneDNN: at most {MAX_NDIMS} dimensions, got {len(values)}")
    return Dims(*values)
