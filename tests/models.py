"""Small models the tests build for themselves, in the ``<name>/<version>/`` layout."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper

# What skl2onnx and the bundled models use: one opset for every graph built here.
OPSET = 18


def write_model(
    root: Path, name: str, version: str, model: onnx.ModelProto | None, **metadata: Any
) -> Path:
    """``root/name/version/`` with ``model.onnx`` (unless None) and a ``metadata.json`` made
    of ``metadata``, its name and version and, with a model, its SHA-256."""
    folder = root / name / version
    folder.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"name": name, "version": version, **metadata}
    if model is not None:
        raw = model.SerializeToString()
        (folder / "model.onnx").write_bytes(raw)
        document.setdefault("sha256", hashlib.sha256(raw).hexdigest())
    (folder / "metadata.json").write_text(json.dumps(document, indent=2))
    return folder


def tensor(name: str, datatype: str, shape: list[int]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape}


def mixed_types_model() -> onnx.ModelProto:
    """Three inputs of three datatypes, three outputs of three others:
    ``masked = mask ? count : 0``, ``scaled = count * scale`` (FP16), ``negated = not mask``,
    and ``total`` = the sum of each row's counts as UINT8."""
    batch = "N"
    graph = helper.make_graph(
        [
            helper.make_node("Constant", [], ["zero"], value_int=0),
            helper.make_node("Cast", ["zero"], ["zero32"], to=TensorProto.INT32),
            helper.make_node("Where", ["mask", "count", "zero32"], ["masked"]),
            helper.make_node("Cast", ["count"], ["count16"], to=TensorProto.FLOAT16),
            helper.make_node("Mul", ["count16", "scale"], ["scaled"]),
            helper.make_node("Not", ["mask"], ["negated"]),
            helper.make_node("Constant", [], ["axis"], value_ints=[1]),
            helper.make_node("ReduceSum", ["count", "axis"], ["sum"], keepdims=0),
            helper.make_node("Cast", ["sum"], ["total"], to=TensorProto.UINT8),
        ],
        "mixed_types",
        [
            helper.make_tensor_value_info("count", TensorProto.INT32, [batch, 2]),
            helper.make_tensor_value_info("mask", TensorProto.BOOL, [batch, 2]),
            helper.make_tensor_value_info("scale", TensorProto.FLOAT16, [batch, 1]),
        ],
        [
            helper.make_tensor_value_info("masked", TensorProto.INT32, [batch, 2]),
            helper.make_tensor_value_info("scaled", TensorProto.FLOAT16, [batch, 2]),
            helper.make_tensor_value_info("negated", TensorProto.BOOL, [batch, 2]),
            helper.make_tensor_value_info("total", TensorProto.UINT8, [batch]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    # ONNX Runtime reads IR versions up to its own; the newest onnx package may write a later one.
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


MIXED_TYPES_METADATA: dict[str, Any] = {
    "inputs": [
        tensor("count", "INT32", [-1, 2]),
        tensor("mask", "BOOL", [-1, 2]),
        tensor("scale", "FP16", [-1, 1]),
    ],
    "outputs": [
        tensor("masked", "INT32", [-1, 2]),
        tensor("scaled", "FP16", [-1, 2]),
        tensor("negated", "BOOL", [-1, 2]),
        tensor("total", "UINT8", [-1]),
    ],
}


def text_classifier_model() -> onnx.ModelProto:
    """A sentiment classifier over raw text (TF-IDF and logistic regression, skl2onnx):
    one ``BYTES`` input of one string per row, a label and two probabilities per row."""
    from skl2onnx import to_onnx  # noqa: PLC0415 -- slow to import; only these tests use it
    from skl2onnx.common.data_types import StringTensorType  # noqa: PLC0415
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415

    texts = [
        "great product works well",
        "terrible broke at once",
        "works great",
        "awful and broken",
        "really great",
        "broken terrible awful",
    ]
    # lowercase=False: lowercasing exports as ONNX's StringNormalizer, which needs the
    # en_US.UTF-8 locale installed wherever the model runs.
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(lowercase=False)),
            ("classify", LogisticRegression(random_state=0)),
        ]
    ).fit(texts, [1, 0, 1, 0, 1, 0])
    model: onnx.ModelProto = to_onnx(
        pipeline,
        initial_types=[("text", StringTensorType([None, 1]))],
        options={id(pipeline.named_steps["classify"]): {"zipmap": False}},
        target_opset={"": OPSET, "ai.onnx.ml": 3},
    )
    return model


TEXT_CLASSIFIER_METADATA: dict[str, Any] = {
    "inputs": [tensor("text", "BYTES", [-1, 1])],
    "outputs": [tensor("label", "INT64", [-1]), tensor("probabilities", "FP32", [-1, 2])],
    "labels": ["negative", "positive"],
}
