"""ONNX models run in the function: one ONNX Runtime session per model, created at init."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from ..datatypes import DATATYPES
from ..metadata import ModelMetadata, TensorSpec
from . import Prediction


class Session(Protocol):
    """What a model needs to answer: ONNX Runtime's ``InferenceSession.run`` shape."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]: ...


class OnnxBackend:
    def __init__(self, session: Session, output_names: Sequence[str]) -> None:
        self.session = session
        self.output_names = list(output_names)

    def predict(self, feeds: Mapping[str, np.ndarray]) -> Prediction:
        started = time.perf_counter()
        values = self.session.run(None, dict(feeds))
        latency_ms = (time.perf_counter() - started) * 1000.0
        return Prediction(dict(zip(self.output_names, values, strict=True)), latency_ms)


def session_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    # The bundled models take microseconds per row: a thread pool costs more than it
    # saves, and ONNX Runtime would otherwise size it for every core it sees, while a
    # Lambda environment gets a fraction of a vCPU at small memory sizes.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Let the worker sleep between requests instead of spinning on a frozen sandbox.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _disagreement(declared: Sequence[TensorSpec], actual: Sequence[Any]) -> str | None:
    """How the declared tensors differ from the session's (``NodeArg``s), if they do."""
    if [spec.name for spec in declared] != [arg.name for arg in actual]:
        return (
            f"declares {[spec.name for spec in declared]},"
            f" the model has {[arg.name for arg in actual]}"
        )
    for spec, arg in zip(declared, actual, strict=True):
        if DATATYPES[spec.datatype].onnx != arg.type:
            return f"declares '{spec.name}' {spec.datatype}, the model has {arg.type}"
        # A fixed dimension of the model must be declared as it is (a looser declaration
        # would let through requests the model then fails on); a symbolic one may be either.
        dims = [dim if isinstance(dim, int) else -1 for dim in arg.shape]
        if len(dims) != len(spec.shape) or any(
            fixed not in (-1, want) for want, fixed in zip(spec.shape, dims, strict=True)
        ):
            return f"declares '{spec.name}' shape {list(spec.shape)}, the model has {dims}"
    return None


def load(model_file: Path, metadata: ModelMetadata, options: ort.SessionOptions) -> OnnxBackend:
    session = ort.InferenceSession(
        str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
    )
    for kind, declared, actual in (
        ("inputs", metadata.inputs, session.get_inputs()),
        ("outputs", metadata.outputs, session.get_outputs()),
    ):
        problem = _disagreement(declared, actual)
        if problem is not None:
            raise ValueError(
                f"{metadata.name}/{metadata.version}: metadata {kind} disagree with"
                f" {model_file.name}: metadata {problem}"
            )
    return OnnxBackend(session, metadata.output_names)
