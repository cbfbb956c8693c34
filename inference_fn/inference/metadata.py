"""A model's ``metadata.json``: its tensors, and where the model runs (its backend).

Read strictly: a field of the wrong type, an unknown datatype or backend, or a backend
field nobody reads fails init with the file and the field named, so a function never
starts serving some of its models while a typo hides the others.

Backends are a tagged union on ``backend.type``; each has a spec here (what the file
says) and a runtime in ``backends/`` (what answers). ``backend`` absent means
``{"type": "onnx"}``: ``model.onnx`` beside the file. ``{"type": "sagemaker", ...}`` is a
SageMaker endpoint; ``{"type": "bedrock", ...}`` a chat model of Amazon Bedrock, served on
the OpenAI-compatible routes (``/v1``) and declaring no tensors. A new backend adds its spec,
a parser in ``BACKEND_PARSERS`` and a loader in ``model_registry``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from .datatypes import DATATYPES
from .drift import Baseline, FeatureBaseline, PredictionBaseline

METADATA_FILE = "metadata.json"
MODEL_FILE = "model.onnx"

# A model's name and version are path segments of its routes and its metric dimension
# value: URI-safe characters only, and short.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# SageMaker's endpoint name rule (CreateEndpoint).
_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
# Within the function's 10 s timeout (template.yaml), with room for the connection and
# the answer; a test keeps the two in step.
SAGEMAKER_DEFAULT_TIMEOUT_MS = 5000
SAGEMAKER_MAX_TIMEOUT_MS = 8000
# A Bedrock model id (a foundation model of this region, as bedrock:InvokeModel's ARN names
# it): provider.model-version[:n], lowercase, e.g. amazon.nova-micro-v1:0.
BEDROCK_MODEL_ID = re.compile(r"[a-z0-9-]{1,32}\.[a-z0-9.:-]{1,95}")


class MetadataError(ValueError):
    """A ``metadata.json`` the function cannot serve; the message names the file and field."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]  # the first dimension is the batch; -1 marks any size

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class OnnxBackendSpec:
    """``model.onnx`` beside ``metadata.json``, run in the function by ONNX Runtime."""

    type: str = field(default="onnx", init=False)


@dataclass(frozen=True)
class SageMakerBackendSpec:
    """An existing SageMaker endpoint that speaks the Open Inference Protocol (v2) in JSON,
    as SageMaker's Triton and KServe containers do."""

    endpoint_name: str
    # A multi-model endpoint's model (InvokeEndpoint's TargetModel).
    target_model: str | None = None
    timeout_ms: int = SAGEMAKER_DEFAULT_TIMEOUT_MS
    type: str = field(default="sagemaker", init=False)


@dataclass(frozen=True)
class BedrockBackendSpec:
    """A chat model of Amazon Bedrock, called with ``Converse``; its prices (US dollars per
    1,000 tokens) give EstimatedCost, which is absent when either price is not declared."""

    model_id: str
    price_per_1k_input_tokens: float | None = None
    price_per_1k_output_tokens: float | None = None
    type: str = field(default="bedrock", init=False)

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """US dollars for one call, or None without both prices."""
        if self.price_per_1k_input_tokens is None or self.price_per_1k_output_tokens is None:
            return None
        return (
            input_tokens * self.price_per_1k_input_tokens
            + output_tokens * self.price_per_1k_output_tokens
        ) / 1000


BackendSpec = OnnxBackendSpec | SageMakerBackendSpec | BedrockBackendSpec
# Backends whose models chat (the /v1 routes) rather than take tensors (the /v2 routes).
CHAT_BACKENDS = frozenset({"bedrock"})
# What the model metadata route says a model runs on, unless its file says otherwise.
DEFAULT_PLATFORM = {"onnx": "onnxruntime_onnx", "sagemaker": "sagemaker", "bedrock": "bedrock"}


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    version: str
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    labels: tuple[str, ...] = ()
    # Of model.onnx, hex: required of models from ModelsS3Uri, checked whenever present.
    sha256: str | None = None
    backend: BackendSpec = OnnxBackendSpec()
    # What the model was trained on, for drift (InputDrift, PredictionDrift); None: no drift.
    baseline: Baseline | None = None

    @property
    def output_names(self) -> list[str]:
        return [spec.name for spec in self.outputs]

    @property
    def is_chat(self) -> bool:
        return self.backend.type in CHAT_BACKENDS


class _Reader:
    """Reads one JSON object's fields, naming the file and the field in every refusal."""

    def __init__(self, raw: Any, source: str, where: str = "") -> None:
        self.source, self.where = source, where
        if not isinstance(raw, Mapping):
            self.fail("", "must be a JSON object")
        self.raw: Mapping[str, Any] = raw

    def fail(self, key: str, problem: str) -> NoReturn:
        path = f"{self.where}.{key}" if self.where and key else self.where or key
        name = f"field '{path}' " if path else ""
        raise MetadataError(f"{self.source}: {name}{problem}")

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        if key not in self.raw:
            self.fail(key, "is missing")
        value = self.raw[key]
        if not isinstance(value, str) or not value:
            self.fail(key, "must be a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(key, f"{value[:80]!r} must match {pattern.pattern}")
        return value

    def optional_text(self, key: str, pattern: re.Pattern[str] | None = None) -> str | None:
        return self.text(key, pattern) if key in self.raw else None

    def only(self, known: set[str]) -> None:
        unknown = sorted(set(self.raw) - known)
        if unknown:
            self.fail(unknown[0], f"is unknown here (known: {', '.join(sorted(known))})")


def _tensors(reader: _Reader, key: str) -> tuple[TensorSpec, ...]:
    raw = reader.raw.get(key)
    if not isinstance(raw, list) or not raw:
        reader.fail(key, "must be a non-empty list of {name, datatype, shape} objects")
    specs: list[TensorSpec] = []
    for index, item in enumerate(raw):
        tensor = _Reader(item, reader.source, f"{key}[{index}]")
        name = tensor.text("name")
        datatype = tensor.text("datatype")
        if datatype not in DATATYPES:
            tensor.fail("datatype", f"{datatype!r} is not one of: {', '.join(DATATYPES)}")
        shape = tensor.raw.get("shape")
        # The first dimension is the batch (rows): a request's row count is read from it.
        if not (
            isinstance(shape, list)
            and shape
            and all(type(dim) is int and (dim == -1 or dim > 0) for dim in shape)
        ):
            tensor.fail("shape", "must be a non-empty list of positive integers or -1")
        if any(spec.name == name for spec in specs):
            tensor.fail("name", f"{name!r} is declared twice")
        specs.append(TensorSpec(name, datatype, tuple(shape)))
    return tuple(specs)


def _onnx_backend(reader: _Reader) -> OnnxBackendSpec:
    reader.only({"type"})
    return OnnxBackendSpec()


def _sagemaker_backend(reader: _Reader) -> SageMakerBackendSpec:
    reader.only({"type", "endpoint_name", "target_model", "timeout_ms"})
    timeout = reader.raw.get("timeout_ms", SAGEMAKER_DEFAULT_TIMEOUT_MS)
    if type(timeout) is not int or not 1 <= timeout <= SAGEMAKER_MAX_TIMEOUT_MS:
        reader.fail(
            "timeout_ms",
            f"must be an integer from 1 to {SAGEMAKER_MAX_TIMEOUT_MS} (the function's timeout"
            " is 10 s)",
        )
    return SageMakerBackendSpec(
        endpoint_name=reader.text("endpoint_name", _ENDPOINT_NAME),
        target_model=reader.optional_text("target_model"),
        timeout_ms=timeout,
    )


def _price(reader: _Reader, key: str) -> float | None:
    value = reader.raw.get(key)
    if value is None:
        return None
    if type(value) not in (int, float) or not 0 <= value < 1000:
        reader.fail(key, "must be a number of US dollars per 1,000 tokens, from 0 to 1000")
    return float(value)


def _bedrock_backend(reader: _Reader) -> BedrockBackendSpec:
    reader.only({"type", "model_id", "price_per_1k_input_tokens", "price_per_1k_output_tokens"})
    return BedrockBackendSpec(
        model_id=reader.text("model_id", BEDROCK_MODEL_ID),
        price_per_1k_input_tokens=_price(reader, "price_per_1k_input_tokens"),
        price_per_1k_output_tokens=_price(reader, "price_per_1k_output_tokens"),
    )


# One parser per backend type; a new backend adds its spec above and a line here.
BACKEND_PARSERS: dict[str, Callable[[_Reader], BackendSpec]] = {
    "onnx": _onnx_backend,
    "sagemaker": _sagemaker_backend,
    "bedrock": _bedrock_backend,
}


def _backend(reader: _Reader) -> BackendSpec:
    if "backend" not in reader.raw:
        return OnnxBackendSpec()
    backend = _Reader(reader.raw["backend"], reader.source, "backend")
    kind = backend.text("type")
    parser = BACKEND_PARSERS.get(kind)
    if parser is None:
        backend.fail("type", f"{kind!r} is not one of: {', '.join(BACKEND_PARSERS)}")
    return parser(backend)


def _numbers(reader: _Reader, key: str) -> tuple[float, ...]:
    raw = reader.raw.get(key)
    if not isinstance(raw, list) or not all(
        type(value) in (int, float) and math.isfinite(value) for value in raw
    ):
        reader.fail(key, "must be a list of finite numbers")
    return tuple(float(value) for value in raw)


def _bins(reader: _Reader, edged: bool = True) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Edges (ascending) and the share of each bin, one more share than edges."""
    edges = _numbers(reader, "edges") if edged else ()
    if any(b <= a for a, b in itertools.pairwise(edges)):
        reader.fail("edges", "must be strictly ascending")
    shares = _numbers(reader, "shares")
    if edged and len(shares) != len(edges) + 1:
        reader.fail("shares", f"must hold one share per bin: {len(edges) + 1}, one more than edges")
    if not shares or any(share < 0 for share in shares) or abs(sum(shares) - 1) > 0.01:
        reader.fail("shares", "must be non-negative shares summing to 1")
    return edges, shares


def _baseline(
    reader: _Reader, inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...]
) -> Baseline | None:
    if "baseline" not in reader.raw:
        return None
    baseline = _Reader(reader.raw["baseline"], reader.source, "baseline")
    baseline.only({"rows", "features", "prediction"})
    rows = baseline.raw.get("rows")
    if type(rows) is not int or rows < 1:
        baseline.fail("rows", "must be a positive integer: the rows the baseline was computed from")
    raw_features = baseline.raw.get("features")
    if not isinstance(raw_features, list):
        baseline.fail("features", "must be a list of {input, column, edges, shares} objects")
    columns = {spec.name: spec for spec in inputs}
    features: list[FeatureBaseline] = []
    for index, item in enumerate(raw_features):
        feature = _Reader(item, reader.source, f"baseline.features[{index}]")
        feature.only({"input", "column", "edges", "shares"})
        name = feature.text("input")
        spec = columns.get(name)
        if spec is None:
            feature.fail("input", f"{name!r} is not one of the model's inputs")
        if spec.datatype in ("BYTES", "BOOL"):
            feature.fail("input", f"{name!r} is {spec.datatype}: drift bins numbers only")
        width = math.prod(spec.shape[1:]) if len(spec.shape) > 1 else 1
        column = feature.raw.get("column")
        if type(column) is not int or not (column >= 0 and (width < 0 or column < width)):
            feature.fail("column", f"must be an integer from 0 to {width - 1}")
        edges, shares = _bins(feature)
        features.append(FeatureBaseline(name, column, edges, shares))
    prediction = None
    if "prediction" in baseline.raw:
        watched = _Reader(baseline.raw["prediction"], reader.source, "baseline.prediction")
        watched.only({"output", "edges", "shares"})
        output = watched.text("output")
        if output not in {spec.name for spec in outputs}:
            watched.fail("output", f"{output!r} is not one of the model's outputs")
        edges, shares = _bins(watched, edged="edges" in watched.raw)
        prediction = PredictionBaseline(output, shares, edges)
    return Baseline(rows, tuple(features), prediction)


def parse_metadata(raw: Any, source: str) -> ModelMetadata:
    """The metadata of a parsed ``metadata.json``; ``source`` names it in errors."""
    reader = _Reader(raw, source)
    version = reader.raw.get("version")
    if type(version) is int:
        version = str(version)
    if not isinstance(version, str) or not NAME_PATTERN.fullmatch(version):
        reader.fail("version", f"must be a string or integer matching {NAME_PATTERN.pattern}")
    labels = reader.raw.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        reader.fail("labels", "must be a list of strings")
    backend = _backend(reader)
    chat = backend.type in CHAT_BACKENDS
    if chat:
        # A chat model takes messages, not tensors: the /v2 routes refuse to infer with it.
        for key in ("inputs", "outputs", "labels", "sha256"):
            if key in reader.raw:
                reader.fail(key, f"is not for a chat model (backend {backend.type!r})")
    inputs = () if chat else _tensors(reader, "inputs")
    outputs = () if chat else _tensors(reader, "outputs")
    return ModelMetadata(
        name=reader.text("name", NAME_PATTERN),
        version=version,
        platform=reader.optional_text("platform") or DEFAULT_PLATFORM[backend.type],
        inputs=inputs,
        outputs=outputs,
        labels=tuple(labels),
        sha256=reader.optional_text("sha256", _SHA256),
        backend=backend,
        baseline=_baseline(reader, inputs, outputs),
    )


def read_metadata(path: Path) -> ModelMetadata:
    """``path`` (a ``metadata.json``) read and parsed; its folders must be its name and
    version, so that two files cannot claim the same model."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MetadataError(f"{path}: not a readable JSON file ({error})") from None
    metadata = parse_metadata(raw, str(path))
    if (metadata.name, metadata.version) != (path.parent.parent.name, path.parent.name):
        raise MetadataError(
            f"{path}: fields 'name' and 'version' ({metadata.name}/{metadata.version}) must be"
            f" the folders it sits in ({path.parent.parent.name}/{path.parent.name})"
        )
    return metadata
