"""tools/describe_model.py: a user's ONNX file in, a folder the function serves out."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import train_test_split

from dev_support.paths import MODELS_DIR, ROOT
from inference.model_registry import ModelsDirectory, load_registry
from tests.models import OPSET, TEXT_CLASSIFIER_METADATA, text_classifier_model
from tests.support import run_ok

TOOL = str(ROOT / "tools" / "describe_model.py")


def test_the_metadata_is_read_from_the_model_and_the_function_serves_the_folder(
    tmp_path: Path,
) -> None:
    model = tmp_path / "sentiment.onnx"
    model.write_bytes(text_classifier_model().SerializeToString())
    out = tmp_path / "my-models"

    arguments = ["--name", "sentiment", "--version", "3", "--labels", "negative,positive"]

    printed = run_ok([sys.executable, TOOL, str(model), *arguments, "--out", str(out)])

    folder = out / "sentiment" / "3"
    sha256 = hashlib.sha256(model.read_bytes()).hexdigest()
    assert printed == f"{folder}: model.onnx and metadata.json (sha256 {sha256})\n"
    assert json.loads((folder / "metadata.json").read_text()) == {
        "name": "sentiment",
        "version": "3",
        "platform": "onnxruntime_onnx",
        "inputs": TEXT_CLASSIFIER_METADATA["inputs"],
        "outputs": TEXT_CLASSIFIER_METADATA["outputs"],
        "sha256": sha256,
        "backend": {"type": "onnx"},
        "labels": ["negative", "positive"],
    }
    registry = load_registry([ModelsDirectory(out, "s3://bucket/models/", checksums_required=True)])
    assert registry.get("sentiment").metadata.version == "3"


def describe(model: Path, name: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, TOOL, str(model), "--name", name, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


def negation(path: Path, shape: list[int]) -> Path:
    """A one-node model of ``shape`` in and out, written to ``path``."""
    graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["y"])],
        "negation",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.save(model, path)
    return path


def test_a_model_without_a_batch_dimension_is_refused(tmp_path: Path) -> None:
    done = describe(negation(tmp_path / "scalar.onnx", []), "scalar", tmp_path / "out")

    assert done.returncode == 1
    assert "input 'x' is a scalar: the function reads the first dimension as the batch" in (
        done.stderr
    )
    assert not (tmp_path / "out").exists()


def test_a_fixed_batch_is_pointed_out(tmp_path: Path) -> None:
    dynamic = describe(MODELS_DIR / "iris" / "1" / "model.onnx", "iris-copy", tmp_path)
    fixed = describe(negation(tmp_path / "fixed.onnx", [1, 3]), "fixed", tmp_path)

    assert (dynamic.returncode, fixed.returncode) == (0, 0)
    assert "note:" not in dynamic.stderr
    assert "note: input 'x' takes exactly 1 row(s) per request" in fixed.stderr


def test_a_model_served_by_a_sagemaker_endpoint_gets_its_metadata_alone(tmp_path: Path) -> None:
    model = MODELS_DIR / "iris" / "1" / "model.onnx"
    arguments = ["--name", "iris-remote", "--sagemaker-endpoint", "local-iris"]

    printed = run_ok(
        [
            sys.executable,
            TOOL,
            str(model),
            *arguments,
            "--timeout-ms",
            "2000",
            "--out",
            str(tmp_path),
        ]
    )

    folder = tmp_path / "iris-remote" / "1"
    assert printed == f"{folder}: metadata.json (backend: SageMaker endpoint local-iris)\n"
    assert sorted(path.name for path in folder.iterdir()) == ["metadata.json"]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["backend"] == {
        "type": "sagemaker",
        "endpoint_name": "local-iris",
        "timeout_ms": 2000,
    }
    assert "sha256" not in metadata
    assert [tensor["name"] for tensor in metadata["outputs"]] == ["label", "probabilities"]


def _training_split(loader: Any, *, stratified: bool) -> np.ndarray:
    """The rows `make train` fits on (tools/train_models.py: 80 %, seed 0)."""
    bunch = loader()
    features = bunch.data.astype(np.float32)
    x_train, _, _, _ = train_test_split(
        features,
        bunch.target,
        test_size=0.2,
        random_state=0,
        stratify=bunch.target if stratified else None,
    )
    return np.asarray(x_train)


def test_a_csv_sample_gives_the_baseline_make_train_gives_the_bundled_classifier(
    tmp_path: Path,
) -> None:
    sample = tmp_path / "iris-training.csv"
    rows = _training_split(load_iris, stratified=True)
    np.savetxt(sample, rows, delimiter=",", header="sl,sw,pl,pw", comments="")
    labels = "setosa,versicolor,virginica"

    run_ok(
        [
            sys.executable,
            TOOL,
            str(MODELS_DIR / "iris" / "1" / "model.onnx"),
            *["--name", "iris", "--labels", labels, "--out", str(tmp_path / "out")],
            *["--baseline-sample", str(sample)],
        ]
    )

    written = json.loads((tmp_path / "out" / "iris" / "1" / "metadata.json").read_text())
    bundled = json.loads((MODELS_DIR / "iris" / "1" / "metadata.json").read_text())
    assert written["baseline"] == bundled["baseline"]


def test_an_npy_sample_gives_the_baseline_of_the_bundled_regression(tmp_path: Path) -> None:
    sample = tmp_path / "diabetes-training.npy"
    np.save(sample, _training_split(load_diabetes, stratified=False))

    run_ok(
        [
            sys.executable,
            TOOL,
            str(MODELS_DIR / "diabetes" / "1" / "model.onnx"),
            *["--name", "diabetes", "--out", str(tmp_path / "out")],
            *["--baseline-sample", str(sample)],
        ]
    )

    written = json.loads((tmp_path / "out" / "diabetes" / "1" / "metadata.json").read_text())
    bundled = json.loads((MODELS_DIR / "diabetes" / "1" / "metadata.json").read_text())
    assert written["baseline"] == bundled["baseline"]
    registry = load_registry(tmp_path / "out")
    assert registry.get("diabetes").metadata.baseline is not None


def test_a_sample_for_a_text_model_is_refused_with_the_reason(tmp_path: Path) -> None:
    model = tmp_path / "sentiment.onnx"
    model.write_bytes(text_classifier_model().SerializeToString())
    sample = tmp_path / "rows.npy"
    np.save(sample, np.zeros((10, 1)))

    result = subprocess.run(
        [
            *[sys.executable, TOOL, str(model), "--name", "s", "--out", str(tmp_path / "out")],
            *["--baseline-sample", str(sample)],
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "--baseline-sample takes models of one numeric input" in result.stderr
    assert not (tmp_path / "out").exists()
