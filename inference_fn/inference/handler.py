"""Lambda entry point: Powertools wiring around the protocol and model code.

Models load here, once per execution environment; every route is a thin call into
``protocol`` (the Open Inference Protocol's routes, /v2) or ``chat`` (OpenAI's chat
completions, /v1) and ``model_registry``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from . import __version__, chat, protocol, telemetry
from .errors import ServiceError
from .model_registry import load_models
from .rest import Request, Response, Router
from .settings import load_settings
from .telemetry import logger, metrics, tracer

SETTINGS = load_settings()
# Lambda passes lines at INFO and above (EMF lines carry no level) and Powertools follows
# Lambda's level over its own: the handler applies LogLevel, so WARN and ERROR take effect.
logger.registered_handler.setLevel(SETTINGS.log_level)
REGISTRY = load_models(SETTINGS)
app = Router()


@app.get("/v2/health/live")
def live(request: Request) -> dict[str, Any]:
    return {"live": True}


@app.get("/v2/health/ready")
def ready(request: Request) -> dict[str, Any]:
    # Models load at init: an environment that answers at all has every model ready.
    return {"ready": bool(REGISTRY.names)}


@app.get("/v2")
def server_metadata(request: Request) -> dict[str, Any]:
    return protocol.server_metadata(str(metrics.service), __version__)


@app.get("/v2/models/<model_name>", "/v2/models/<model_name>/versions/<model_version>")
def model_metadata(
    request: Request, model_name: str, model_version: str | None = None
) -> dict[str, Any]:
    model = REGISTRY.get(model_name, model_version)
    return protocol.model_metadata(model.metadata, REGISTRY.versions(model_name))


@app.get("/v2/models/<model_name>/ready", "/v2/models/<model_name>/versions/<model_version>/ready")
def model_ready(
    request: Request, model_name: str, model_version: str | None = None
) -> dict[str, Any]:
    model = REGISTRY.get(model_name, model_version)
    return {"name": model.metadata.name, "version": model.metadata.version, "ready": True}


@app.post("/v2/models/<model_name>/infer", "/v2/models/<model_name>/versions/<model_version>/infer")
def infer(request: Request, model_name: str, model_version: str | None = None) -> dict[str, Any]:
    known = model_name in REGISTRY
    with telemetry.inference_recorded(
        model_name,
        model_version,
        request.request_id,
        known=known,
        drift_window_s=SETTINGS.drift_window_s,
    ) as record:
        model = REGISTRY.get(model_name, model_version)
        if model.metadata.is_chat:
            # Refused before the body is read: a chat model has no tensors to check it against.
            model.predict({})
        decoded = protocol.decode_request(
            request.body, request.is_base64_encoded, model.metadata, SETTINGS.limits
        )
        prediction = record.predict(model, decoded)
        return protocol.encode_infer_response(model.metadata, decoded, prediction.outputs)


@app.get("/v1/models")
def chat_models(request: Request) -> dict[str, Any]:
    return chat.model_list(REGISTRY.chat_models())


@app.post("/v1/chat/completions")
def chat_completions(request: Request) -> dict[str, Any]:
    with telemetry.chat_recorded(
        request.request_id, request.api_key_id, SETTINGS.client_api_key_ids
    ) as record:
        parsed = chat.decode_chat_request(request.body, request.is_base64_encoded, SETTINGS.limits)
        model = REGISTRY.get(parsed.model)
        result = record.chat(model, parsed.chat)
        return chat.completion(request.request_id, model.metadata, result)


@app.error_handler(ServiceError)
def service_error(request: Request, error: ServiceError) -> Response:
    return Response(error.status, {"error": error.message, "request_id": request.request_id})


@app.error_handler(Exception)
def unexpected_error(request: Request, error: Exception) -> Response:
    # The stack trace goes to the function's log; the client only gets the request id.
    # The correlation id is set here, not per request: no other path writes a log line.
    logger.set_correlation_id(request.request_id)
    logger.exception("unexpected failure")
    body = {"error": "internal error", "request_id": request.request_id}
    return Response(HTTPStatus.INTERNAL_SERVER_ERROR, body)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    telemetry.invocation_started(context.function_name)
    return app.resolve(Request.from_event(event, context.aws_request_id)).proxy()


# Init ends here: InitDuration covers the imports and the model loading above.
telemetry.init_finished()
