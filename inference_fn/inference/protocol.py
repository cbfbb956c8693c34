"""Open Inference Protocol (v2) REST: decode and validate requests, encode responses.

Reference: the KServe / Triton "Open Inference Protocol" REST specification.
Every client mistake becomes a ``BadRequest``/``PayloadTooLarge`` with a message
that says what to fix; nothing here logs or echoes tensor data.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .datatypes import DATATYPES, TensorError, tensor_from_json
from .errors import BadRequest, PayloadTooLarge, clip
from .metadata import ModelMetadata, TensorSpec
from .settings import Limits


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    feeds: dict[str, np.ndarray]
    outputs: tuple[str, ...]
    rows: int


def read_body(body: str | None, is_base64_encoded: bool, max_bytes: int) -> bytes:
    """The request body as bytes, refusing empty, oversized or undecodable bodies."""
    if not body:
        raise BadRequest("request body is empty; expected a JSON inference request")
    # Characters never outnumber bytes, and base64 inflates by 4/3: refuse early and cheaply.
    encoded_limit = (max_bytes + 2) // 3 * 4 if is_base64_encoded else max_bytes
    if len(body) > encoded_limit:
        raise PayloadTooLarge(f"request body exceeds the limit of {max_bytes} bytes")
    if is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(
                "request body is marked base64-encoded but is not valid base64"
            ) from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {max_bytes} bytes")
    return raw


def _refuse_constant(token: str) -> Any:
    raise BadRequest(f"{token} is not allowed: tensor values must be finite numbers")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins (the gateway's validator may have read the
    # other one), so a document that names a key twice has no single meaning.
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        duplicate = next(key for index, key in enumerate(keys) if key in keys[:index])
        raise BadRequest(f"key '{clip(duplicate)}' appears more than once in a JSON object")
    return document


def parse_json(raw: bytes) -> Any:
    try:
        # Decoded here, strictly: json.loads(bytes) would let UTF-8-encoded surrogates
        # ("surrogatepass") through. A leading BOM is tolerated, as RFC 8259 allows.
        text = raw.decode("utf-8-sig")
        return json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicate_keys
        )
    except BadRequest:
        raise
    except (ValueError, RecursionError):
        # ValueError covers invalid JSON and invalid UTF-8; RecursionError, absurd nesting.
        raise BadRequest("request body is not valid JSON") from None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BadRequest(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _decode_tensor(
    raw: Any, where: str, spec: TensorSpec, limits: Limits
) -> tuple[np.ndarray, int]:
    # Every check raises with a message built only when it fails: this runs per request.
    name = spec.name
    datatype = raw.get("datatype")
    if not isinstance(datatype, str):
        raise BadRequest(f"{where}.datatype must be a string")
    if datatype != spec.datatype:
        raise BadRequest(
            f"input '{name}' has datatype {clip(datatype)}; the model expects {spec.datatype}"
        )
    shape = raw.get("shape")
    if not (isinstance(shape, list) and all(_is_int(dim) and dim >= 0 for dim in shape)):
        raise BadRequest(f"{where}.shape must be a list of non-negative integers")
    expected = spec.shape
    if len(shape) != len(expected) or any(
        want not in (-1, got) for want, got in zip(expected, shape, strict=True)
    ):
        raise BadRequest(
            f"input '{name}' has shape {clip(str(shape))}; the model expects {list(expected)}"
            " (-1: any size)"
        )
    rows = shape[0]
    if rows < 1:
        raise BadRequest(f"input '{name}' must have at least one row")
    if rows > limits.max_batch_rows:
        raise PayloadTooLarge(
            f"input '{name}' has {rows} rows; the limit is {limits.max_batch_rows} rows per request"
        )
    data = raw.get("data")
    if not isinstance(data, list):
        raise BadRequest(f"{where}.data must be a list (flat row-major or nested)")
    try:
        return tensor_from_json(data, DATATYPES[spec.datatype], shape), rows
    except TensorError as error:
        raise BadRequest(f"input '{name}': {error}") from None


def _check_name(
    name: str,
    kind: str,
    model: str,
    *,
    declared: Collection[str],
    seen: Collection[str],
    repeated: str,
) -> None:
    """``name`` is one of the model's ``kind``s (input or output), not named before."""
    if name not in declared:
        raise BadRequest(
            f"model '{model}' has no {kind} '{clip(name)}'; its {kind}s: {', '.join(declared)}"
        )
    if name in seen:
        raise BadRequest(f"{kind} '{name}' {repeated}")


def decode_infer_request(doc: Any, metadata: ModelMetadata, limits: Limits) -> InferRequest:
    """Validate a parsed inference request against the model's declared tensors."""
    _require(isinstance(doc, dict), "request body must be a JSON object")
    request_id = doc.get("id")
    _require(request_id is None or isinstance(request_id, str), "'id' must be a string")
    _require(
        doc.get("parameters") is None or isinstance(doc["parameters"], dict),
        "'parameters' must be an object",
    )
    inputs = doc.get("inputs")
    _require(isinstance(inputs, list) and len(inputs) > 0, "'inputs' must be a non-empty list")

    specs = {spec.name: spec for spec in metadata.inputs}
    feeds: dict[str, np.ndarray] = {}
    batch_sizes: set[int] = set()
    for index, raw in enumerate(inputs):
        where = f"inputs[{index}]"
        if not isinstance(raw, dict):
            raise BadRequest(f"{where} must be an object")
        name = raw.get("name")
        if not isinstance(name, str):
            raise BadRequest(f"{where}.name must be a string")
        _check_name(
            name,
            "input",
            metadata.name,
            declared=specs,
            seen=feeds,
            repeated="appears more than once",
        )
        feeds[name], rows = _decode_tensor(raw, where, specs[name], limits)
        batch_sizes.add(rows)
    missing = [name for name in specs if name not in feeds]
    if missing:
        raise BadRequest(f"missing input(s): {', '.join(missing)}")
    _require(len(batch_sizes) == 1, "all inputs must have the same number of rows")

    return InferRequest(
        id=request_id,
        feeds=feeds,
        outputs=_requested_outputs(doc.get("outputs"), metadata),
        rows=batch_sizes.pop(),
    )


def _requested_outputs(raw: Any, metadata: ModelMetadata) -> tuple[str, ...]:
    available = [spec.name for spec in metadata.outputs]
    if raw is None or raw == []:
        return tuple(available)
    _require(isinstance(raw, list), "'outputs' must be a list of {\"name\": ...} objects")
    names: list[str] = []
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise BadRequest(f"outputs[{index}].name must be a string")
        _check_name(
            name,
            "output",
            metadata.name,
            declared=available,
            seen=names,
            repeated="is requested more than once",
        )
        names.append(name)
    return tuple(names)


def encode_infer_response(
    metadata: ModelMetadata, request: InferRequest, outputs: Mapping[str, np.ndarray]
) -> dict[str, Any]:
    datatypes = {spec.name: spec.datatype for spec in metadata.outputs}
    body: dict[str, Any] = {"model_name": metadata.name, "model_version": metadata.version}
    if request.id is not None:
        body["id"] = request.id
    encoded = []
    for name in request.outputs:
        tensor = outputs[name]
        # JSON has no NaN or infinity: a regression pushed out of range by extreme inputs
        # would answer a body no client can parse.
        if tensor.dtype.kind == "f" and not np.isfinite(tensor).all():
            raise BadRequest(
                f"output '{name}' is not finite for these inputs: send values within the"
                " range the model was trained on"
            )
        encoded.append(
            {
                "name": name,
                "datatype": datatypes[name],
                "shape": list(tensor.shape),
                "data": tensor.ravel().tolist(),
            }
        )
    body["outputs"] = encoded
    return body


def model_metadata(metadata: ModelMetadata, versions: list[str]) -> dict[str, Any]:
    return {
        "name": metadata.name,
        "versions": versions,
        "platform": metadata.platform,
        "inputs": [spec.as_dict() for spec in metadata.inputs],
        "outputs": [spec.as_dict() for spec in metadata.outputs],
    }


def server_metadata(name: str, version: str) -> dict[str, Any]:
    return {"name": name, "version": version, "extensions": []}


def decode_request(
    body: str | None, is_base64_encoded: bool, metadata: ModelMetadata, limits: Limits
) -> InferRequest:
    """The API Gateway body of an infer request, read, parsed and validated."""
    raw = read_body(body, is_base64_encoded, limits.max_body_bytes)
    return decode_infer_request(parse_json(raw), metadata, limits)


def mean_confidence(outputs: Mapping[str, np.ndarray]) -> float | None:
    """Mean over rows of the highest class probability, in percent; None for models without
    a ``probabilities`` output of one row of floats per input row (regressions, say)."""
    probabilities = outputs.get("probabilities")
    if (
        probabilities is None
        or probabilities.ndim != 2
        or probabilities.dtype.kind != "f"
        or probabilities.size == 0
    ):
        return None
    # A sum and a division: numpy's mean() costs four times as much on a request's few rows.
    top = probabilities.max(axis=1)
    return float(top.sum(dtype=np.float64)) / len(top) * 100.0
