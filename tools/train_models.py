"""Train the bundled models (two classifiers, one regression) and export them to ONNX with
their metadata.

Development only: nothing here is packaged into the Lambda. The datasets ship
inside scikit-learn and the seeds are fixed, so a retrain gives the committed
models' graph and metadata, their labels on every row of each dataset, and
probabilities within 1e-3 of theirs, predictions within 1e-3 for the regression
(tests/functional/test_training.py)::

    .venv/bin/python tools/train_models.py

Not always the same bytes: the solver's rounding depends on the BLAS kernel
OpenBLAS picks for the CPU and on its thread count, and moves the weights by up
to 2e-4 and the probabilities by up to 3.4e-5 (measured with OPENBLAS_CORETYPE
set to Prescott, Nehalem, Sandybridge and Haswell, 1 to 16 threads). The
committed files are what Haswell's kernel gives with more than one thread.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# The function's own binning (on the venv's path, see make venv), so that training and
# serving bin alike.
from inference.drift import compute_baseline

MODELS_DIR = Path(__file__).resolve().parents[1] / "inference_fn" / "inference" / "models"

SEED = 0
VERSION = "1"
# Pinned so the exported graph does not change with the installed skl2onnx.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
PLATFORM = "onnxruntime_onnx"


@dataclass(frozen=True)
class Dataset:
    name: str
    loader: Callable[..., Any]
    description: str
    # Inverse regularisation strength, chosen on the held-out split.
    c: float


DATASETS = (
    Dataset("digits", load_digits, "8x8 handwritten digits, 64 raw pixel values in 0..16", c=1.0),
    Dataset("iris", load_iris, "iris flowers: sepal and petal length and width in cm", c=10.0),
)


@dataclass(frozen=True)
class RegressionDataset:
    name: str
    loader: Callable[..., Any]
    description: str
    # Regularisation strength of the ridge regression.
    alpha: float


REGRESSIONS = (
    RegressionDataset(
        "diabetes",
        load_diabetes,
        "disease progression one year after baseline, from age, sex, BMI, blood pressure and"
        " six blood serum measurements (scaled as load_diabetes gives them)",
        alpha=1.0,
    ),
)


def train(dataset: Dataset) -> tuple[Pipeline, float, np.ndarray]:
    bunch = dataset.loader()
    features = bunch.data.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        features, bunch.target, test_size=0.2, random_state=SEED, stratify=bunch.target
    )
    # Scaling lives inside the pipeline, so the exported graph takes raw features.
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=dataset.c, max_iter=5000, random_state=SEED)),
        ]
    )
    pipeline.fit(x_train, y_train)
    holdout_accuracy = float(pipeline.score(x_test, y_test))
    return pipeline, holdout_accuracy, np.asarray(bunch.target_names)


def export(dataset: Dataset, out_root: Path) -> dict[str, Any]:
    pipeline, holdout_accuracy, labels = train(dataset)
    n_features = int(pipeline.named_steps["scale"].n_features_in_)
    onnx_model = to_onnx(
        pipeline,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        # Plain tensors instead of a list of dicts: what the Open Inference Protocol carries.
        options={id(pipeline.named_steps["classify"]): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    out_dir = out_root / dataset.name / VERSION
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.onnx").write_bytes(onnx_model.SerializeToString())
    metadata = {
        "name": dataset.name,
        "version": VERSION,
        "platform": PLATFORM,
        "description": dataset.description,
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, n_features]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(labels)]},
        ],
        "labels": [str(label) for label in labels],
        "training": {
            "dataset": f"sklearn.datasets.load_{dataset.name}",
            "seed": SEED,
            "holdout_accuracy": round(holdout_accuracy, 4),
        },
    }
    (out_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def _as_vector(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """The regressor's [N, 1] output as an [N] one named ``name``: one value per row."""
    graph = model.graph
    (column,) = graph.output
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), name=f"{name}_axes")
    graph.initializer.append(axes)
    graph.node.append(helper.make_node("Squeeze", [column.name, axes.name], [name], name="Rows"))
    graph.output.remove(column)
    graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [None]))
    onnx.checker.check_model(model)
    return model


def export_regression(dataset: RegressionDataset, out_root: Path) -> dict[str, Any]:
    bunch = dataset.loader()
    features = bunch.data.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        features, bunch.target, test_size=0.2, random_state=SEED
    )
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("regress", Ridge(alpha=dataset.alpha, random_state=SEED))]
    )
    pipeline.fit(x_train, y_train)
    holdout_r2 = float(pipeline.score(x_test, y_test))
    n_features = int(pipeline.named_steps["scale"].n_features_in_)
    onnx_model = _as_vector(
        to_onnx(
            pipeline,
            initial_types=[("input", FloatTensorType([None, n_features]))],
            target_opset=TARGET_OPSET,
        ),
        "prediction",
    )
    out_dir = out_root / dataset.name / VERSION
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.onnx").write_bytes(onnx_model.SerializeToString())
    metadata = {
        "name": dataset.name,
        "version": VERSION,
        "platform": PLATFORM,
        "description": dataset.description,
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, n_features]}],
        "outputs": [{"name": "prediction", "datatype": "FP32", "shape": [-1]}],
        "training": {
            "dataset": f"sklearn.datasets.load_{dataset.name}",
            "seed": SEED,
            "holdout_r2": round(holdout_r2, 4),
        },
    }
    (out_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def _training_rows(loader: Callable[..., Any], stratified: bool) -> np.ndarray:
    """The training split ``export`` and ``export_regression`` fit on (same seed, same split)."""
    bunch = loader()
    features = bunch.data.astype(np.float32)
    x_train, _, _, _ = train_test_split(
        features,
        bunch.target,
        test_size=0.2,
        random_state=SEED,
        stratify=bunch.target if stratified else None,
    )
    return np.asarray(x_train)


def write_baseline(
    name: str, loader: Callable[..., Any], out_root: Path, *, classifier: bool
) -> None:
    """Adds the drift baseline to the exported model's metadata.json: quantile bins of each
    feature of the training split and the exported model's predictions on it (the classes'
    shares for a classifier, quantile bins for a regression)."""
    out_dir = out_root / name / VERSION
    metadata_file = out_dir / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    x_train = _training_rows(loader, stratified=classifier)
    session = ort.InferenceSession(str(out_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    output = metadata["outputs"][0]["name"]
    (predictions,) = session.run([output], {"input": x_train})
    metadata["baseline"] = compute_baseline(
        {"input": x_train},
        output,
        np.asarray(predictions),
        len(metadata["labels"]) if classifier else None,
    )
    metadata_file.write_text(json.dumps(metadata, indent=2) + "\n")


# Golden inputs: rows of each model's holdout split (data it was not trained on) with the
# reference pipeline's answers, which the canary and the pre-traffic hook expect of the
# served model (golden.json beside metadata.json). The reference is the scikit-learn
# pipeline, not the exported graph: a graph exported wrong disagrees with it.
GOLDEN_FILE = "golden.json"
# Classifiers: this many rows of each class, those the pipeline is surest of (the widest gap
# between its two most probable classes), so float32 inference cannot flip one.
GOLDEN_ROWS_PER_CLASS = {"digits": 1, "iris": 2}
GOLDEN_REGRESSION_ROWS = 5
# Regressions: how far a prediction may be from the reference's. The exported graph computes
# in float32 (measured within 1e-4 of float64 on predictions of 25 to 350); an export that
# drops the scaler or a coefficient is off by far more.
GOLDEN_TOLERANCE = 1e-2


def _golden(name: str, rows: np.ndarray, expected: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": VERSION,
        "source": source,
        # An infer request's inputs, as a client sends them: the dataset's values, which the
        # function reads as FP32 exactly as training cast them.
        "inputs": [
            {
                "name": "input",
                "datatype": "FP32",
                "shape": [int(rows.shape[0]), int(rows.shape[1])],
                "data": [float(value) for value in rows.ravel()],
            }
        ],
        "expected": [expected],
    }


def export_golden(dataset: Dataset, out_root: Path) -> dict[str, Any]:
    """``golden.json`` of a classifier: expected classes, matched exactly."""
    pipeline, _, _ = train(dataset)
    bunch = dataset.loader()
    _, x_test = train_test_split(
        bunch.data, test_size=0.2, random_state=SEED, stratify=bunch.target
    )
    probabilities = pipeline.predict_proba(x_test.astype(np.float32))
    ranked = np.sort(probabilities, axis=1)
    margin = ranked[:, -1] - ranked[:, -2]
    predicted = pipeline.predict(x_test.astype(np.float32))
    chosen: list[int] = []
    for label in sorted(set(predicted.tolist())):
        candidates = np.flatnonzero(predicted == label)
        surest = candidates[np.argsort(-margin[candidates], kind="stable")]
        chosen += sorted(surest[: GOLDEN_ROWS_PER_CLASS[dataset.name]].tolist())
    rows = x_test[chosen]
    golden = _golden(
        dataset.name,
        rows,
        {"name": "label", "data": [int(label) for label in predicted[chosen]]},
        "holdout rows; labels of the scikit-learn pipeline (tools/train_models.py)",
    )
    out_dir = out_root / dataset.name / VERSION
    (out_dir / GOLDEN_FILE).write_text(json.dumps(golden, indent=2) + "\n")
    return golden


def export_regression_golden(dataset: RegressionDataset, out_root: Path) -> dict[str, Any]:
    """``golden.json`` of a regression: expected predictions, within GOLDEN_TOLERANCE."""
    bunch = dataset.loader()
    features = bunch.data.astype(np.float32)
    x_train, _, y_train, _ = train_test_split(
        features, bunch.target, test_size=0.2, random_state=SEED
    )
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("regress", Ridge(alpha=dataset.alpha, random_state=SEED))]
    )
    pipeline.fit(x_train, y_train)
    _, raw_test = train_test_split(bunch.data, test_size=0.2, random_state=SEED)
    rows = raw_test[:GOLDEN_REGRESSION_ROWS]
    predictions = pipeline.predict(rows.astype(np.float32))
    golden = _golden(
        dataset.name,
        rows,
        {
            "name": "prediction",
            "data": [round(float(value), 4) for value in predictions],
            "tolerance": GOLDEN_TOLERANCE,
        },
        "holdout rows; predictions of the scikit-learn pipeline (tools/train_models.py)",
    )
    out_dir = out_root / dataset.name / VERSION
    (out_dir / GOLDEN_FILE).write_text(json.dumps(golden, indent=2) + "\n")
    return golden


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="models directory")
    args = parser.parse_args()
    for dataset in DATASETS:
        metadata = export(dataset, args.out)
        write_baseline(dataset.name, dataset.loader, args.out, classifier=True)
        print(f"{dataset.name}: holdout accuracy {metadata['training']['holdout_accuracy']:.4f}")
        export_golden(dataset, args.out)
    for regression in REGRESSIONS:
        metadata = export_regression(regression, args.out)
        write_baseline(regression.name, regression.loader, args.out, classifier=False)
        print(f"{regression.name}: holdout R² {metadata['training']['holdout_r2']:.4f}")
        export_regression_golden(regression, args.out)


if __name__ == "__main__":
    main()
