"""The bundled models: metadata and ONNX sessions, loaded once per execution environment."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from .errors import NotFound, clip

METADATA_FILE = "metadata.json"
MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]  # -1 marks the batch dimension

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    version: str
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    labels: tuple[str, ...]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelMetadata:
        def specs(key: str) -> tuple[TensorSpec, ...]:
            return tuple(
                TensorSpec(spec["name"], spec["datatype"], tuple(spec["shape"]))
                for spec in raw[key]
            )

        return cls(
            name=raw["name"],
            version=str(raw["version"]),
            platform=raw["platform"],
            inputs=specs("inputs"),
            outputs=specs("outputs"),
            labels=tuple(raw.get("labels", ())),
        )


class Predictor(Protocol):
    """What a model needs to answer: ONNX Runtime's ``InferenceSession.run`` shape."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]: ...


@dataclass(frozen=True)
class Prediction:
    outputs: dict[str, np.ndarray]
    latency_ms: float


@dataclass(frozen=True)
class LoadedModel:
    metadata: ModelMetadata
    predictor: Predictor

    def predict(self, feeds: dict[str, np.ndarray]) -> Prediction:
        started = time.perf_counter()
        values = self.predictor.run(None, feeds)
        latency_ms = (time.perf_counter() - started) * 1000.0
        names = [spec.name for spec in self.metadata.outputs]
        return Prediction(dict(zip(names, values, strict=True)), latency_ms)


def _version_key(version: str) -> tuple[int, int | str]:
    # Numeric versions order numerically ("10" after "9"); others after them, by name.
    return (0, int(version)) if version.isdigit() else (1, version)


class ModelRegistry:
    def __init__(self, models: Iterable[LoadedModel]) -> None:
        self._models: dict[str, dict[str, LoadedModel]] = {}
        for model in models:
            self._models.setdefault(model.metadata.name, {})[model.metadata.version] = model
        for name, versions in self._models.items():
            self._models[name] = dict(
                sorted(versions.items(), key=lambda item: _version_key(item[0]))
            )

    def __contains__(self, name: object) -> bool:
        return name in self._models

    @property
    def names(self) -> list[str]:
        return sorted(self._models)

    def versions(self, name: str) -> list[str]:
        return list(self._get_versions(name))

    def get(self, name: str, version: str | None = None) -> LoadedModel:
        """The model at ``version``, or its latest version when none is asked for."""
        versions = self._get_versions(name)
        if version is None:
            return versions[next(reversed(versions))]
        try:
            return versions[version]
        except KeyError:
            raise NotFound(f"model '{clip(name)}' has no version '{clip(version)}'") from None

    def _get_versions(self, name: str) -> dict[str, LoadedModel]:
        try:
            return self._models[name]
        except KeyError:
            raise NotFound(f"model '{clip(name)}' not found") from None


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


def _check_session(metadata: ModelMetadata, session: ort.InferenceSession) -> None:
    declared = ([s.name for s in metadata.inputs], [s.name for s in metadata.outputs])
    actual = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if declared != actual:
        raise ValueError(
            f"{metadata.name}/{metadata.version}: metadata declares {declared}, model has {actual}"
        )


def load_model(model_dir: Path, options: ort.SessionOptions) -> LoadedModel:
    metadata = ModelMetadata.from_dict(json.loads((model_dir / METADATA_FILE).read_text()))
    session = ort.InferenceSession(
        str(model_dir / MODEL_FILE), sess_options=options, providers=["CPUExecutionProvider"]
    )
    _check_session(metadata, session)
    return LoadedModel(metadata, session)


def load_registry(models_dir: Path) -> ModelRegistry:
    """Load every ``<name>/<version>/`` folder under ``models_dir``."""
    options = session_options()
    model_dirs = sorted(path.parent for path in models_dir.glob(f"*/*/{METADATA_FILE}"))
    if not model_dirs:
        raise FileNotFoundError(f"no models under {models_dir}")
    return ModelRegistry(load_model(model_dir, options) for model_dir in model_dirs)
