"""JSON data into tensors of each Open Inference Protocol datatype, strictly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from inference.datatypes import BY_ONNX_TYPE, DATATYPES, TensorError, tensor_from_json


@pytest.mark.parametrize(
    ("datatype", "data", "dtype", "expected"),
    [
        ("BOOL", [True, False], np.bool_, [True, False]),
        ("INT8", [-128, 127], np.int8, [-128, 127]),
        ("INT16", [-32768, 32767], np.int16, [-32768, 32767]),
        ("INT32", [-(2**31), 2**31 - 1], np.int32, [-(2**31), 2**31 - 1]),
        ("INT64", [-(2**63), 2**63 - 1], np.int64, [-(2**63), 2**63 - 1]),
        ("UINT8", [0, 255], np.uint8, [0, 255]),
        ("UINT16", [0, 65535], np.uint16, [0, 65535]),
        ("UINT32", [0, 2**32 - 1], np.uint32, [0, 2**32 - 1]),
        ("UINT64", [0, 2**64 - 1], np.uint64, [0, 2**64 - 1]),
        ("FP16", [0.5, 65504], np.float16, [0.5, 65504.0]),
        ("FP32", [1, 2.5], np.float32, [1.0, 2.5]),
        ("FP64", [1e300, -2], np.float64, [1e300, -2.0]),
        ("BYTES", ["héllo", ""], np.object_, ["héllo", ""]),
    ],
)
def test_each_datatype_reads_its_json_values(
    datatype: str, data: list[Any], dtype: type[np.generic], expected: list[Any]
) -> None:
    tensor = tensor_from_json(data, DATATYPES[datatype], [2])

    assert tensor.dtype == np.dtype(dtype)
    assert tensor.tolist() == expected


@pytest.mark.parametrize(
    ("datatype", "data", "message"),
    [
        ("BOOL", [1, 0], "data must contain only true or false"),
        ("BOOL", ["true", "false"], "data must contain only true or false"),
        ("INT32", [1.5, 2], "data must contain only integers"),
        ("INT32", [True, False], "data must contain only integers"),
        ("INT8", [1, 128], "values must be within INT8 range"),
        ("UINT8", [-1, 2], "values must be within UINT8 range"),
        ("UINT64", [-1, 2**64 - 1], "values must be within UINT64 range"),
        ("INT64", [1, 2.0], "data must contain only integers"),
        ("INT64", [2**64, 1.0], "data must contain only integers"),
        ("INT64", [2**64, 1], "values must be within INT64 range"),
        ("FP16", [1, 70000], "values must be finite and within FP16 range"),
        ("FP32", [1, 1e39], "values must be finite and within FP32 range"),
        ("FP32", ["1", 2], "data must contain only numbers"),
        ("FP64", [None, 2], "data must contain only numbers"),
        ("BYTES", ["a", 1], "data must contain only strings"),
        ("BYTES", ["a", None], "data must contain only strings"),
        ("BYTES", ["a", "\ud800"], "strings must be valid UTF-8 text"),
    ],
)
def test_values_of_another_type_or_out_of_range_are_refused(
    datatype: str, data: list[Any], message: str
) -> None:
    with pytest.raises(TensorError, match=f"^{message}$"):
        tensor_from_json(data, DATATYPES[datatype], [2])


def test_nested_data_takes_the_declared_shape() -> None:
    tensor = tensor_from_json([["a", "b"], ["c", "d"]], DATATYPES["BYTES"], [2, 2])

    assert tensor.shape == (2, 2)
    assert tensor[1, 0] == "c"


@pytest.mark.parametrize(
    ("data", "shape", "message"),
    [
        ([[1, 2], [3]], [2, 2], "nested data must be rectangular"),
        ([[1, 2], [3, 4]], [1, 4], r"nested data has shape \[2, 2\]; declared shape is \[1, 4\]"),
        ([1, 2, 3], [2, 2], r"data has 3 values; shape \[2, 2\] needs 4"),
    ],
)
def test_data_must_fill_the_declared_shape(data: list[Any], shape: list[int], message: str) -> None:
    with pytest.raises(TensorError, match=message):
        tensor_from_json(data, DATATYPES["INT64"], shape)


def test_every_datatype_has_its_onnx_type_and_back() -> None:
    assert sorted(DATATYPES) == sorted(
        ["BOOL", "BYTES", "FP16", "FP32", "FP64"]
        + [f"{sign}INT{bits}" for sign in ("", "U") for bits in (8, 16, 32, 64)]
    )
    assert {name: datatype.name for name, datatype in BY_ONNX_TYPE.items()} == {
        "tensor(bool)": "BOOL",
        "tensor(int8)": "INT8",
        "tensor(int16)": "INT16",
        "tensor(int32)": "INT32",
        "tensor(int64)": "INT64",
        "tensor(uint8)": "UINT8",
        "tensor(uint16)": "UINT16",
        "tensor(uint32)": "UINT32",
        "tensor(uint64)": "UINT64",
        "tensor(float16)": "FP16",
        "tensor(float)": "FP32",
        "tensor(double)": "FP64",
        "tensor(string)": "BYTES",
    }
