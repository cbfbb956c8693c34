"""Lambda entry point: Powertools wiring around the protocol and model code.

Models load here, once per execution environment; every route is a thin call
into ``protocol`` and ``model_registry``.
"""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import INIT_STARTED_AT, __version__, protocol
from .errors import ServiceError, clip
from .model_registry import load_registry
from .settings import load_settings
from .telemetry import (
    UNKNOWN_MODEL,
    InferenceRecord,
    logger,
    metrics,
    record_inference,
    record_init_duration,
    tracer,
)

SETTINGS = load_settings()
# Lambda passes lines at INFO and above (EMF lines carry no level) and Powertools follows
# Lambda's level over its own: the handler applies LogLevel, so WARN and ERROR take effect.
logger.registered_handler.setLevel(SETTINGS.log_level)
REGISTRY = load_registry(SETTINGS.models_dir)
app = APIGatewayRestResolver()

# Popped by the first invocation, which publishes it: present means "cold start".
_pending_init: dict[str, float] = {"duration_ms": (time.perf_counter() - INIT_STARTED_AT) * 1000.0}

try:  # Lambda's SnapStart hooks exist only in its runtime
    from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
except ImportError:
    pass
else:
    # An environment restored from a snapshot ran no init of its own: publishing the
    # snapshot's init time from every restored environment would report a wait nobody had.
    register_after_restore(_pending_init.clear)


def _elapsed_ms() -> float:
    started_at: float = app.context["started_at"]
    return (time.perf_counter() - started_at) * 1000.0


def _request_id() -> str:
    return app.current_event.request_context.request_id or app.lambda_context.aws_request_id


def _error_response(status: HTTPStatus, message: str) -> Response[str]:
    body = {"error": message, "request_id": _request_id()}
    return Response(status.value, content_types.APPLICATION_JSON, json.dumps(body))


@app.get("/v2/health/live")
def live() -> dict[str, Any]:
    return {"live": True}


@app.get("/v2/health/ready")
def ready() -> dict[str, Any]:
    # Models load at init: an environment that answers at all has every model ready.
    return {"ready": bool(REGISTRY.names)}


@app.get("/v2")
def server_metadata() -> dict[str, Any]:
    return protocol.server_metadata(str(metrics.service), __version__)


@app.get("/v2/models/<model_name>")
@app.get("/v2/models/<model_name>/versions/<model_version>")
def model_metadata(model_name: str, model_version: str | None = None) -> dict[str, Any]:
    model = REGISTRY.get(model_name, model_version)
    return protocol.model_metadata(model.metadata, REGISTRY.versions(model_name))


@app.get("/v2/models/<model_name>/ready")
@app.get("/v2/models/<model_name>/versions/<model_version>/ready")
def model_ready(model_name: str, model_version: str | None = None) -> dict[str, Any]:
    model = REGISTRY.get(model_name, model_version)
    return {"name": model.metadata.name, "version": model.metadata.version, "ready": True}


@app.post("/v2/models/<model_name>/infer")
@app.post("/v2/models/<model_name>/versions/<model_version>/infer")
def infer(model_name: str, model_version: str | None = None) -> Response[str]:
    event = app.current_event
    dimension = model_name if model_name in REGISTRY else UNKNOWN_MODEL
    try:
        model = REGISTRY.get(model_name, model_version)
        request = protocol.decode_request(
            event.body, bool(event.is_base64_encoded), model.metadata, SETTINGS.limits
        )
        # One subsegment, around the model: the rest of the handler is the function's own
        # segment, and every subsegment costs time on every request.
        with tracer.provider.in_subsegment("## predict") as subsegment:
            subsegment.put_annotation("model", model.metadata.name)
            subsegment.put_annotation("model_version", model.metadata.version)
            prediction = model.predict(request.feeds)
        body = json.dumps(
            protocol.encode_infer_response(model.metadata, request, prediction.outputs),
            separators=(",", ":"),
        )
    except Exception as error:
        # Counted here, answered by the exception handlers below.
        status = (
            error.status if isinstance(error, ServiceError) else HTTPStatus.INTERNAL_SERVER_ERROR
        )
        message = error.message if isinstance(error, ServiceError) else type(error).__name__
        record_inference(
            InferenceRecord(
                dimension,
                # From the URL: clipped, so a client cannot write long strings into logs.
                None if model_version is None else clip(model_version),
                status,
                _elapsed_ms(),
                _request_id(),
                error=message,
            )
        )
        raise
    record_inference(
        InferenceRecord(
            model=model.metadata.name,
            model_version=model.metadata.version,
            status=HTTPStatus.OK,
            handler_latency_ms=_elapsed_ms(),
            request_id=_request_id(),
            rows=request.rows,
            model_latency_ms=prediction.latency_ms,
            confidence=protocol.mean_confidence(prediction.outputs),
        )
    )
    return Response(HTTPStatus.OK.value, content_types.APPLICATION_JSON, body)


@app.exception_handler(ServiceError)
def service_error(error: ServiceError) -> Response[str]:
    return _error_response(error.status, error.message)


@app.not_found
def route_not_found(_: NotFoundError) -> Response[str]:
    event = app.current_event
    return _error_response(
        HTTPStatus.NOT_FOUND, f"no route for {event.http_method} {clip(event.path, 200)}"
    )


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response[str]:
    # The stack trace goes to the function's log; the client only gets the request id.
    # The correlation id is set here, not per request: no other path writes a log line.
    logger.set_correlation_id(_request_id())
    logger.exception("unexpected failure")
    return _error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(started_at=time.perf_counter())
    init_duration_ms = _pending_init.pop("duration_ms", None)
    tracer.put_annotation(key="cold_start", value=init_duration_ms is not None)
    if init_duration_ms is not None:
        record_init_duration(init_duration_ms, context.function_name)
    return app.resolve(event, context)
