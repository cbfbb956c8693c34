"""metadata.json, read strictly: every refusal names the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inference.metadata import (
    MetadataError,
    ModelMetadata,
    OnnxBackendSpec,
    SageMakerBackendSpec,
    TensorSpec,
    parse_metadata,
    read_metadata,
)

SOURCE = "models/m/1/metadata.json"


def document(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "m",
        "version": "1",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "prediction", "datatype": "FP32", "shape": [-1]}],
    }
    raw.update(changes)
    return {key: value for key, value in raw.items() if value is not None}


def test_a_minimal_file_is_an_onnx_model_on_onnx_runtime() -> None:
    metadata = parse_metadata(document(), SOURCE)

    assert metadata == ModelMetadata(
        name="m",
        version="1",
        platform="onnxruntime_onnx",
        inputs=(TensorSpec("input", "FP32", (-1, 4)),),
        outputs=(TensorSpec("prediction", "FP32", (-1,)),),
    )
    assert metadata.backend == OnnxBackendSpec()


def test_optional_fields_are_read() -> None:
    raw = document(
        version=2,
        platform="pytorch_onnx",
        labels=["a", "b"],
        sha256="ab" * 32,
        backend={"type": "onnx"},
        description="free text, not read",
    )

    metadata = parse_metadata(raw, SOURCE)

    assert (metadata.version, metadata.platform, metadata.labels) == (
        "2",
        "pytorch_onnx",
        ("a", "b"),
    )
    assert metadata.sha256 == "ab" * 32


def test_a_sagemaker_backend_names_its_endpoint() -> None:
    backend = {
        "type": "sagemaker",
        "endpoint_name": "Churn-Endpoint-2",
        "target_model": "churn.tar.gz",
        "timeout_ms": 1500,
    }

    metadata = parse_metadata(document(backend=backend), SOURCE)

    assert metadata.backend == SageMakerBackendSpec("Churn-Endpoint-2", "churn.tar.gz", 1500)
    assert metadata.platform == "sagemaker"


def test_a_sagemaker_backend_waits_five_seconds_unless_told() -> None:
    backend = {"type": "sagemaker", "endpoint_name": "churn"}

    metadata = parse_metadata(document(backend=backend), SOURCE)

    assert metadata.backend == SageMakerBackendSpec("churn", None, 5000)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": None}, "field 'name' is missing"),
        ({"name": "../etc"}, "field 'name' '../etc' must match"),
        ({"version": 1.5}, "field 'version' must be a string or integer"),
        ({"inputs": []}, "field 'inputs' must be a non-empty list"),
        ({"outputs": None}, "field 'outputs' must be a non-empty list"),
        (
            {"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [-1]}]},
            "field 'inputs[0].datatype' 'FLOAT' is not one of: BOOL, INT8",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": []}]},
            "field 'inputs[0].shape' must be a non-empty list",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 0]}]},
            "field 'inputs[0].shape' must be a non-empty list of positive integers or -1",
        ),
        (
            {"outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, True]}]},
            "field 'outputs[0].shape'",
        ),
        (
            {
                "inputs": [
                    {"name": "x", "datatype": "FP32", "shape": [-1]},
                    {"name": "x", "datatype": "INT64", "shape": [-1]},
                ]
            },
            "field 'inputs[1].name' 'x' is declared twice",
        ),
        ({"inputs": [["x", "FP32", [-1]]]}, "field 'inputs[0]' must be a JSON object"),
        ({"labels": "abc"}, "field 'labels' must be a list of strings"),
        ({"sha256": "ABC"}, "field 'sha256' 'ABC' must match"),
        ({"backend": "onnx"}, "field 'backend' must be a JSON object"),
        ({"backend": {}}, "field 'backend.type' is missing"),
        (
            {"backend": {"type": "tensorflow"}},
            "field 'backend.type' 'tensorflow' is not one of: onnx",
        ),
        ({"backend": {"type": "onnx", "path": "x"}}, "field 'backend.path' is unknown here"),
    ],
)
def test_a_malformed_file_names_itself_and_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MetadataError) as raised:
        parse_metadata(document(**changes), SOURCE)

    assert str(raised.value).startswith(f"{SOURCE}: ")
    assert message in str(raised.value)


def test_a_file_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(MetadataError, match=f"^{SOURCE}: must be a JSON object$"):
        parse_metadata([], SOURCE)


def test_a_file_is_its_folders_model_and_version(tmp_path: Path) -> None:
    path = tmp_path / "m" / "2" / "metadata.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document()))

    with pytest.raises(MetadataError, match=r"\(m/1\) must be the folders it sits in \(m/2\)"):
        read_metadata(path)


def test_a_file_that_is_not_json_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "m" / "1" / "metadata.json"
    path.parent.mkdir(parents=True)
    path.write_text("{")

    with pytest.raises(MetadataError, match=r"metadata\.json: not a readable JSON file"):
        read_metadata(path)
