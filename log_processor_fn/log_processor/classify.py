"""What a request was (route, model, status class) and whose fault its error was."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from .access_log import AccessRecord

UNKNOWN = "unknown"
OTHER = "other"
MODEL_PARAMETER = "{model_name}"
# The inference function answers these statuses when, and only when, a model's backend (a
# SageMaker endpoint) failed: throttled, failed or unreachable, timed out. The access log
# carries neither its body nor its headers, so the status is what says so (a test keeps this
# in step with the function's inference/errors.py).
BACKEND_ERRORS = {429: "BACKEND_THROTTLED", 502: "BACKEND_FAILED", 504: "BACKEND_TIMEOUT"}


@dataclass(frozen=True, slots=True)
class Classified:
    route: str
    status_class: str
    model: str | None
    error_source: str | None
    error_type: str | None
    gateway_overhead: float | None


def route_of(record: AccessRecord) -> str:
    """``METHOD /resource/{template}`` (REST) or the route key (HTTP API)."""
    if record.http_method and record.resource_path:
        return f"{record.http_method} {record.resource_path}"
    if record.route_key:
        return record.route_key
    return UNKNOWN


def model_of(route: str, path: str | None, known_models: Collection[str]) -> str | None:
    """The ``{model_name}`` of the request's path; ``unknown`` unless it is a known model."""
    if MODEL_PARAMETER not in route:
        return None
    template = route.split(" ", 1)[-1].strip("/").split("/")
    position = template.index(MODEL_PARAMETER)
    # $context.path starts with the stage on REST APIs: align from the template's end.
    segments = (path or "").strip("/").split("/")
    offset = len(segments) - len(template)
    if offset < 0:
        return UNKNOWN
    name = segments[offset + position]
    return name if name in known_models else UNKNOWN


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else OTHER


def error_of(record: AccessRecord) -> tuple[str | None, str | None]:
    """(error_source, error_type) of a 4xx/5xx answer; (None, None) otherwise.

    The gateway answered when it reports an error type or an integration error (the
    function's own answers pass through with neither); the function answered when the
    integration ran, and spoke for a model's backend when its status is one it gives only
    for a backend's failure (``BACKEND_ERRORS``). A format that carries none of these
    cannot tell: ``unknown``.
    """
    if record.status < 400:
        return None, None
    family = "5XX" if record.status >= 500 else "4XX"
    if record.error_type is not None:
        return "gateway", record.error_type
    if record.integration_error is not None:
        return "gateway", "INTEGRATION_FAILURE"
    if record.integration_status is not None or record.integration_latency is not None:
        backend = BACKEND_ERRORS.get(record.status)
        if backend is not None:
            return "backend", backend
        return "function", f"FUNCTION_{family}"
    return UNKNOWN, f"UNCLASSIFIED_{family}"


# Route and model depend on four fields that repeat across a batch (a few routes and
# models): remember them. Bounded, since paths come from clients.
_ROUTE_CACHE: dict[tuple[object, ...], tuple[str, str | None]] = {}
_ROUTE_CACHE_SIZE = 4096


def _route_and_model(record: AccessRecord, known_models: frozenset[str]) -> tuple[str, str | None]:
    key = (record.http_method, record.resource_path, record.route_key, record.path, known_models)
    cached = _ROUTE_CACHE.get(key)
    if cached is None:
        route = route_of(record)
        cached = (route, model_of(route, record.path, known_models))
        if len(_ROUTE_CACHE) >= _ROUTE_CACHE_SIZE:
            _ROUTE_CACHE.clear()
        _ROUTE_CACHE[key] = cached
    return cached


def classify(record: AccessRecord, known_models: frozenset[str]) -> Classified:
    route, model = _route_and_model(record, known_models)
    source, kind = error_of(record)
    overhead = None
    if record.response_latency is not None and record.integration_latency is not None:
        overhead = max(record.response_latency - record.integration_latency, 0.0)
    return Classified(
        route=route,
        status_class=status_class(record.status),
        model=model,
        error_source=source,
        error_type=kind,
        gateway_overhead=overhead,
    )
