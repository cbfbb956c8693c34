"""Loading the bundled models and resolving names and versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dev_support.paths import MODELS_DIR
from inference.backends.onnx import OnnxBackend, session_options
from inference.errors import NotFound
from inference.metadata import MetadataError, ModelMetadata, TensorSpec
from inference.model_registry import LoadedModel, ModelRegistry, load_registry


def metadata(name: str, version: str) -> ModelMetadata:
    return ModelMetadata(
        name,
        version,
        "onnxruntime_onnx",
        (TensorSpec("input", "FP32", (-1, 1)),),
        (TensorSpec("label", "INT64", (-1,)),),
        (),
    )


class ConstantPredictor:
    def __init__(self, label: int) -> None:
        self.label = label

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        rows = len(input_feed["input"])
        return [np.full(rows, self.label, dtype=np.int64)]


def registry_of(*versions: tuple[str, str]) -> ModelRegistry:
    return ModelRegistry(
        LoadedModel(metadata(name, version), OnnxBackend(ConstantPredictor(index), ["label"]))
        for index, (name, version) in enumerate(versions)
    )


def test_bundled_models_load_with_their_metadata() -> None:
    registry = load_registry(MODELS_DIR)

    assert registry.names == ["chat", "diabetes", "digits", "iris"]
    assert [model.name for model in registry.chat_models()] == ["chat"]
    digits = registry.get("digits")
    assert digits.metadata.inputs == (TensorSpec("input", "FP32", (-1, 64)),)
    assert digits.metadata.labels == tuple(str(n) for n in range(10))
    assert registry.get("iris").metadata.outputs[1] == TensorSpec("probabilities", "FP32", (-1, 3))


def test_bundled_models_are_small() -> None:
    for model_file in MODELS_DIR.glob("*/*/model.onnx"):
        assert model_file.stat().st_size < 1_000_000, model_file


def test_predict_names_outputs_and_times_the_call() -> None:
    iris = load_registry(MODELS_DIR).get("iris")

    prediction = iris.predict({"input": np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)})

    assert list(prediction.outputs) == ["label", "probabilities"]
    assert prediction.outputs["label"].dtype == np.int64
    assert prediction.outputs["probabilities"].shape == (1, 3)
    assert prediction.latency_ms > 0


def test_latest_version_is_the_highest_numerically() -> None:
    registry = registry_of(("m", "2"), ("m", "10"), ("m", "9"))

    assert registry.versions("m") == ["2", "9", "10"]
    assert registry.get("m").metadata.version == "10"
    assert registry.get("m", "9").metadata.version == "9"


def test_unknown_names_and_versions_are_not_found() -> None:
    registry = registry_of(("m", "1"))

    with pytest.raises(NotFound, match="model 'x' not found"):
        registry.get("x")
    with pytest.raises(NotFound, match="no version '2'"):
        registry.get("m", "2")
    assert "m" in registry
    assert "x" not in registry


def test_sessions_use_one_thread_each() -> None:
    options = session_options()

    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)


def test_metadata_that_disagrees_with_the_model_fails_at_load(tmp_path: Path) -> None:
    shutil.copytree(MODELS_DIR / "iris", tmp_path / "iris")
    metadata_file = tmp_path / "iris" / "1" / "metadata.json"
    raw = json.loads(metadata_file.read_text())
    raw["outputs"][0]["name"] = "class"
    # The baseline names the output too, and is checked against the file first.
    raw.pop("baseline")
    metadata_file.write_text(json.dumps(raw))

    with pytest.raises(ValueError, match="metadata declares"):
        load_registry(tmp_path)


def test_an_empty_models_directory_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_registry(tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("datatype", "FP64", r"metadata declares 'input' FP64, the model has tensor\(float\)"),
        ("shape", [-1, 5], r"metadata declares 'input' shape \[-1, 5\], the model has \[-1, 4\]"),
        # Any size where the model takes four values would let through requests it fails on.
        ("shape", [-1, -1], r"metadata declares 'input' shape \[-1, -1\], the model has \[-1, 4\]"),
    ],
)
def test_a_declared_input_unlike_the_models_fails_at_load(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    shutil.copytree(MODELS_DIR / "iris", tmp_path / "iris")
    metadata_file = tmp_path / "iris" / "1" / "metadata.json"
    raw = json.loads(metadata_file.read_text())
    raw["inputs"][0][field] = value
    metadata_file.write_text(json.dumps(raw))

    with pytest.raises(ValueError, match=message):
        load_registry(tmp_path)


def test_a_malformed_metadata_file_fails_at_load_naming_it(tmp_path: Path) -> None:
    shutil.copytree(MODELS_DIR / "iris", tmp_path / "iris")
    metadata_file = tmp_path / "iris" / "1" / "metadata.json"
    raw = json.loads(metadata_file.read_text())
    raw["backend"] = {"type": "onnxx"}
    metadata_file.write_text(json.dumps(raw))

    with pytest.raises(MetadataError, match=f"^{metadata_file}: field 'backend.type' 'onnxx'"):
        load_registry(tmp_path)
