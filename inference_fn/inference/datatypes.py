"""The Open Inference Protocol's tensor datatypes: their numpy and ONNX types, and JSON data
read strictly into tensors.

The protocol's JSON carries ``BOOL`` as ``true``/``false``, the integer types as JSON
integers, the floating types as JSON numbers and ``BYTES`` as strings (UTF-8 text here;
ONNX Runtime's string tensors hold text). A value of another JSON type, or outside the
datatype's range, is refused, never converted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Datatype:
    name: str
    numpy: np.dtype[Any]
    # ONNX Runtime's name for a tensor of this type (NodeArg.type).
    onnx: str
    # "bool", "int", "float" or "bytes": what JSON values it takes.
    family: str


def _datatype(name: str, numpy: type[np.generic], onnx: str, family: str) -> Datatype:
    return Datatype(name, np.dtype(numpy), f"tensor({onnx})", family)


DATATYPES: dict[str, Datatype] = {
    datatype.name: datatype
    for datatype in (
        _datatype("BOOL", np.bool_, "bool", "bool"),
        _datatype("INT8", np.int8, "int8", "int"),
        _datatype("INT16", np.int16, "int16", "int"),
        _datatype("INT32", np.int32, "int32", "int"),
        _datatype("INT64", np.int64, "int64", "int"),
        _datatype("UINT8", np.uint8, "uint8", "int"),
        _datatype("UINT16", np.uint16, "uint16", "int"),
        _datatype("UINT32", np.uint32, "uint32", "int"),
        _datatype("UINT64", np.uint64, "uint64", "int"),
        _datatype("FP16", np.float16, "float16", "float"),
        _datatype("FP32", np.float32, "float", "float"),
        _datatype("FP64", np.float64, "double", "float"),
        _datatype("BYTES", np.object_, "string", "bytes"),
    )
}
BY_ONNX_TYPE = {datatype.onnx: datatype for datatype in DATATYPES.values()}

# The dtype kinds numpy infers from JSON values that each family accepts: bool ("b"),
# signed and unsigned integers ("i", "u"), floats ("f"). Strings ("U") and anything
# mixed or unrepresentable ("O") are refused, except by BYTES, which reads objects.
_KINDS = {"bool": "b", "int": "iu", "float": "iuf"}
_WHAT = {
    "bool": "true or false",
    "int": "integers",
    "float": "numbers",
    "bytes": "strings",
}


class TensorError(ValueError):
    """JSON data that is not a tensor of the declared datatype and shape; the message says
    what is wrong, without quoting the data."""


def tensor_from_json(data: Sequence[Any], datatype: Datatype, shape: Sequence[int]) -> np.ndarray:
    """``data`` (flat row-major, or nested to match ``shape``) as a tensor of ``datatype``."""
    bytes_type = datatype.family == "bytes"
    try:
        values = np.asarray(data, dtype=np.object_ if bytes_type else None)
    except (ValueError, TypeError, OverflowError):
        raise TensorError("nested data must be rectangular") from None
    what = _WHAT[datatype.family]
    if datatype.family == "int" and values.dtype.kind in "fO":
        # Integers beyond int64 make numpy infer floats (precision lost) or objects: read
        # them as Python integers, which the range check then judges exactly.
        values = np.asarray(data, dtype=np.object_)
        if not all(type(value) is int for value in values.flat):
            raise TensorError(f"data must contain only {what}")
    elif bytes_type:
        if not all(isinstance(value, str) for value in values.flat):
            raise TensorError(f"data must contain only {what}")
    elif values.dtype.kind not in _KINDS[datatype.family]:
        raise TensorError(f"data must contain only {what}")
    if values.ndim != 1 and list(values.shape) != list(shape):
        raise TensorError(
            f"nested data has shape {list(values.shape)}; declared shape is {list(shape)}"
        )
    size = math.prod(shape)
    if values.size != size:
        raise TensorError(f"data has {values.size} values; shape {list(shape)} needs {size}")
    return _converted(values, datatype).reshape(shape)


def _converted(values: np.ndarray, datatype: Datatype) -> np.ndarray:
    family = datatype.family
    if family == "float":
        with np.errstate(over="ignore", invalid="ignore"):
            tensor = values.astype(datatype.numpy)
        if not np.isfinite(tensor).all():
            raise TensorError(f"values must be finite and within {datatype.name} range")
        return tensor
    if family == "int":
        info = np.iinfo(datatype.numpy)
        if values.size and (int(values.min()) < info.min or int(values.max()) > info.max):
            raise TensorError(f"values must be within {datatype.name} range")
        return values.astype(datatype.numpy)
    if family == "bytes":
        try:
            # One encode for the whole tensor: a lone surrogate ("\ud800" is valid JSON)
            # is not UTF-8 text, and ONNX Runtime would fail on it.
            "".join(values.flat).encode("utf-8")
        except UnicodeEncodeError:
            raise TensorError("strings must be valid UTF-8 text") from None
        return values
    return values.astype(datatype.numpy)
