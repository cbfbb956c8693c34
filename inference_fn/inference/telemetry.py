"""Logger, metrics and tracer, the metrics contract dashboards and alarms rely on, and
what each invocation and each infer request records.

Every metric name, unit and dimension set is declared here once; the README's
metrics table and the tests read these declarations.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from . import INIT_STARTED_AT, drift
from .errors import BackendError, BackendErrorType, ServiceError, clip
from .protocol import mean_confidence
from .xray import LambdaXRayProvider

if TYPE_CHECKING:
    from .backends import ChatRequest, ChatResult, Prediction
    from .model_registry import LoadedModel
    from .protocol import InferRequest

# Dimension value for requests naming a model we do not serve: one fixed value
# instead of one new (billed) metric series per name a client invents.
UNKNOWN_MODEL = "unknown"

MODEL_DIMENSIONS = ("service", "model")
# Model metrics are published a second time without `model`: all models together, so
# that service-wide alarms and graphs need no list of models.
ROLLUP_DIMENSIONS = ("service",)
FUNCTION_DIMENSIONS = ("function_name", "service")
BACKEND_DIMENSIONS = ("service", "model", "error_type")
CLIENT_TOKEN_DIMENSIONS = ("service", "api_key", "token_type")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: MetricUnit
    dimensions: tuple[str, ...]
    meaning: str

    @property
    def dimension_sets(self) -> tuple[tuple[str, ...], ...]:
        if "model" in self.dimensions:
            return (self.dimensions, tuple(d for d in self.dimensions if d != "model"))
        return (self.dimensions,)


INFERENCES = MetricSpec(
    "Inferences", MetricUnit.Count, MODEL_DIMENSIONS, "1 per successful infer request"
)
INFERENCE_ROWS = MetricSpec(
    "InferenceRows", MetricUnit.Count, MODEL_DIMENSIONS, "rows in each successful infer request"
)
MODEL_LATENCY = MetricSpec(
    "ModelLatency",
    MetricUnit.Milliseconds,
    MODEL_DIMENSIONS,
    "time inside the ONNX Runtime call, or the backend call's round trip (SageMaker, Bedrock's"
    " Converse); the roll-up is the tensor models' (a chat model's has its `model` series only)",
)
HANDLER_LATENCY = MetricSpec(
    "HandlerLatency",
    MetricUnit.Milliseconds,
    MODEL_DIMENSIONS,
    "handler entry to response ready, successful infer requests",
)
PREDICTION_CONFIDENCE = MetricSpec(
    "PredictionConfidence",
    MetricUnit.Percent,
    MODEL_DIMENSIONS,
    "mean of each row's highest class probability, one value per request (a drift signal);"
    " models with a `probabilities` output only",
)
INFERENCE_ERRORS = MetricSpec(
    "InferenceErrors",
    MetricUnit.Count,
    MODEL_DIMENSIONS,
    "1 per infer request answered 4xx/5xx, 0 per success (Average = error rate)",
)
COLD_START = MetricSpec(
    "ColdStart", MetricUnit.Count, FUNCTION_DIMENSIONS, "1 per cold start (Powertools)"
)
INIT_DURATION = MetricSpec(
    "InitDuration", MetricUnit.Milliseconds, FUNCTION_DIMENSIONS, "module init time, on cold start"
)
BACKEND_ERRORS = MetricSpec(
    "BackendErrors",
    MetricUnit.Count,
    BACKEND_DIMENSIONS,
    "1 per request whose model backend (SageMaker, Bedrock) refused or failed the call, by"
    " `error_type`: " + ", ".join(f"`{kind}`" for kind in BackendErrorType),
)
INPUT_TOKENS = MetricSpec(
    "InputTokens", MetricUnit.Count, MODEL_DIMENSIONS, "prompt tokens of each chat completion"
)
OUTPUT_TOKENS = MetricSpec(
    "OutputTokens",
    MetricUnit.Count,
    MODEL_DIMENSIONS,
    "completion tokens of each chat completion",
)
OUTPUT_TOKENS_PER_SECOND = MetricSpec(
    "OutputTokensPerSecond",
    MetricUnit.CountPerSecond,
    MODEL_DIMENSIONS,
    "completion tokens / the Converse call's time, each chat completion",
)
ESTIMATED_COST = MetricSpec(
    "EstimatedCost",
    MetricUnit.NoUnit,
    MODEL_DIMENSIONS,
    "US dollars of each chat completion at the model's declared prices (absent without them)",
)
CLIENT_TOKENS = MetricSpec(
    "ClientTokens",
    MetricUnit.Count,
    CLIENT_TOKEN_DIMENSIONS,
    "tokens of each chat completion of an API key in ClientMetricsApiKeyIds, by `token_type`:"
    " `input`, `output`",
)

CONTRACT: tuple[MetricSpec, ...] = (
    INFERENCES,
    INFERENCE_ROWS,
    MODEL_LATENCY,
    HANDLER_LATENCY,
    PREDICTION_CONFIDENCE,
    INFERENCE_ERRORS,
    COLD_START,
    INIT_DURATION,
    BACKEND_ERRORS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    OUTPUT_TOKENS_PER_SECOND,
    ESTIMATED_COST,
    CLIENT_TOKENS,
)

# What a chat completion writes beyond an infer request's Inferences, InferenceErrors and
# HandlerLatency: the README's "Chat metrics" table.
CHAT_CONTRACT: tuple[MetricSpec, ...] = (
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    MODEL_LATENCY,
    OUTPUT_TOKENS_PER_SECOND,
    ESTIMATED_COST,
    CLIENT_TOKENS,
    BACKEND_ERRORS,
)

# Service and namespace come from the environment the template sets (Powertools reads
# POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE); settings.load_settings
# fails init when either is missing.
logger = Logger()
metrics = Metrics()
# X-Ray without the X-Ray SDK (see xray.py). disabled=False always: Powertools would
# import the SDK to switch it off; the provider honours POWERTOOLS_TRACE_DISABLED itself.
# Nothing to patch: the other services it may call (SageMaker, Bedrock) are timed inside
# "## predict" and "## chat".
tracer = Tracer(provider=LambdaXRayProvider.from_environment(), disabled=False, auto_patch=False)

# Health and metadata requests publish no application metrics by design.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@dataclass(frozen=True)
class InferenceRecord:
    """What one infer request did: its metrics and the fields of its log line."""

    model: str
    model_version: str | None
    status: int
    handler_latency_ms: float
    request_id: str
    rows: int = 0
    model_latency_ms: float | None = None
    confidence: float | None = None
    error: str | None = None
    # Bin counts of the request's rows against the model's baseline (drift.encode_counts),
    # and, in an environment's first line of a drift window, the baseline's shares.
    drift_counts: str | None = None
    drift_baseline: dict[str, object] | None = None


def _add(spec: MetricSpec, value: float) -> None:
    metrics.add_metric(name=spec.name, unit=spec.unit, value=value)


def record_inference(record: InferenceRecord) -> None:
    """Metrics of one infer request, in the one EMF line that is also its log line.

    The request's fields travel as EMF properties, which CloudWatch keeps in the log
    event and Logs Insights queries like any JSON field: a separate log line would
    double the bytes ingested per request. No ``level`` key: Lambda's JSON log
    filtering would then drop metrics along with log lines at a stricter log level.
    """
    metrics.add_dimension(name="model", value=record.model)
    metrics.add_dimensions(**dict.fromkeys(ROLLUP_DIMENSIONS, str(metrics.service)))
    succeeded = record.status < 400
    _add(INFERENCE_ERRORS, 0 if succeeded else 1)
    if succeeded:
        _add(INFERENCES, 1)
        _add(INFERENCE_ROWS, record.rows)
        # Rounded: digits beyond a microsecond or a hundredth of a percent are noise, and
        # every byte of this line is ingested, once per request.
        _add(HANDLER_LATENCY, round(record.handler_latency_ms, 3))
        if record.model_latency_ms is not None:
            _add(MODEL_LATENCY, round(record.model_latency_ms, 3))
        if record.confidence is not None:
            _add(PREDICTION_CONFIDENCE, round(record.confidence, 2))

    properties: dict[str, object] = {
        "correlation_id": record.request_id,
        "model_version": record.model_version,
        "status": record.status,
    }
    trace_id = os.environ.get("_X_AMZN_TRACE_ID")
    if trace_id:
        properties["xray_trace_id"] = trace_id.partition(";")[0].removeprefix("Root=")
    if record.error is not None:
        properties["error"] = record.error
    if succeeded and record.drift_counts is not None:
        properties["drift"] = record.drift_counts
        if record.drift_baseline is not None:
            properties["drift_baseline"] = record.drift_baseline
    for key, value in properties.items():
        metrics.add_metadata(key=key, value=value)


# (model, error type) pairs whose backend refusal this environment has logged: one ERROR
# line tells the operators, and a broken backend does not flood the log.
_REPORTED: set[tuple[str, str]] = set()


def record_backend_error(model: str, error: BackendError) -> None:
    """BackendErrors, in a document of its own: its ``error_type`` dimension would otherwise
    apply to every metric of the request's document. The operators' detail, if the error
    has one, is logged once per environment."""
    emf = AmazonCloudWatchEMFProvider(namespace=metrics.namespace, service=str(metrics.service))
    emf.add_metric(name=BACKEND_ERRORS.name, unit=BACKEND_ERRORS.unit, value=1)
    emf.add_dimension(name="model", value=model)
    emf.add_dimension(name="error_type", value=error.error_type.value)
    emf.add_dimensions(service=str(metrics.service), error_type=error.error_type.value)
    emf.flush_metrics()
    key = (model, error.error_type.value)
    if error.detail is not None and key not in _REPORTED:
        _REPORTED.add(key)
        logger.error(
            "model backend refused the function; further refusals of this kind are counted in"
            " BackendErrors, not logged",
            extra={"model": model, "error_type": error.error_type.value, "detail": error.detail},
        )


def record_init_duration(duration_ms: float, function_name: str) -> None:
    """Published beside Powertools' ColdStart metric, with the same dimensions."""
    with single_metric(
        name=INIT_DURATION.name,
        unit=INIT_DURATION.unit,
        value=duration_ms,
        namespace=metrics.namespace,
    ) as metric:
        metric.add_dimension(name="function_name", value=function_name)
        if metrics.service:
            metric.add_dimension(name="service", value=str(metrics.service))


class _Invocation:
    """Per execution environment: whether init's time is still to publish, and when the
    current invocation started (Lambda runs one at a time in an environment)."""

    def __init__(self) -> None:
        # Set when init ends, popped by the first invocation, which publishes it:
        # present means "cold start".
        self.pending_init_ms: float | None = None
        self.started_at = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started_at) * 1000.0


_INVOCATION = _Invocation()


def _forget_init() -> None:
    # An environment restored from a snapshot ran no init of its own: publishing the
    # snapshot's init time from every restored environment would report a wait nobody had.
    _INVOCATION.pending_init_ms = None


try:  # Lambda's SnapStart hooks exist only in its runtime
    from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
except ImportError:
    pass
else:
    register_after_restore(_forget_init)


def init_finished() -> None:
    """The end of init: the first invocation publishes the time since the package's import."""
    _INVOCATION.pending_init_ms = (time.perf_counter() - INIT_STARTED_AT) * 1000.0


def invocation_started(function_name: str) -> None:
    """Start of an invocation: its clock, and on a cold start the init time (InitDuration)
    and the ``cold_start`` annotation of the handler's subsegment."""
    _INVOCATION.started_at = time.perf_counter()
    init_ms, _INVOCATION.pending_init_ms = _INVOCATION.pending_init_ms, None
    tracer.put_annotation(key="cold_start", value=init_ms is not None)
    if init_ms is not None:
        record_init_duration(init_ms, function_name)


# (model, version) -> the drift window this environment last wrote the model's baseline in.
_BASELINE_WRITTEN: dict[tuple[str, str], int] = {}


def _baseline_due(model: str, version: str, window_s: float) -> bool:
    """Whether this line carries the baseline: the first of the window, per environment, so
    that the drift job finds it among the window's lines without reading the model."""
    window = int(time.time() // window_s)
    if _BASELINE_WRITTEN.get((model, version)) == window:
        return False
    _BASELINE_WRITTEN[(model, version)] = window
    return True


@dataclass
class InferenceRecording:
    """What an infer request has learnt so far; recorded whichever way the request ends."""

    model: str
    model_version: str | None
    request_id: str
    rows: int = 0
    model_latency_ms: float | None = None
    confidence: float | None = None
    drift_window_s: float = 3600.0
    drift_counts: str | None = None
    drift_baseline: dict[str, object] | None = None

    def predict(self, model: LoadedModel, request: InferRequest) -> Prediction:
        """The model's answer, inside the request's one subsegment (every subsegment costs
        time on every request; the rest of the handler is the function's own)."""
        # Known before the call: a backend's failure is recorded with the model's version.
        self.model, self.model_version = model.metadata.name, model.metadata.version
        with tracer.provider.in_subsegment("## predict") as subsegment:
            subsegment.put_annotation("model", model.metadata.name)
            subsegment.put_annotation("model_version", model.metadata.version)
            if model.metadata.backend.type != "onnx":
                subsegment.put_annotation("backend", model.metadata.backend.type)
            prediction = model.predict(request.feeds)
        self.rows = request.rows
        self.model_latency_ms = prediction.latency_ms
        self.confidence = mean_confidence(prediction.outputs)
        baseline = model.metadata.baseline
        if baseline is not None:
            self.drift_counts = drift.encode_request(baseline, request.feeds, prediction.outputs)
            if _baseline_due(self.model, self.model_version, self.drift_window_s):
                self.drift_baseline = drift.encode_baseline(baseline)
        return prediction

    def record(self, status: int, error: str | None = None) -> InferenceRecord:
        return InferenceRecord(
            self.model,
            self.model_version,
            status,
            _INVOCATION.elapsed_ms(),
            self.request_id,
            rows=self.rows,
            model_latency_ms=self.model_latency_ms,
            confidence=self.confidence,
            error=error,
            drift_counts=self.drift_counts,
            drift_baseline=self.drift_baseline,
        )


@contextmanager
def inference_recorded(
    model_name: str,
    model_version: str | None,
    request_id: str,
    *,
    known: bool,
    drift_window_s: float = 3600.0,
) -> Iterator[InferenceRecording]:
    """Record the infer request run inside: 200 when it completes, else the status of the
    ``ServiceError`` it raised, or 500 (the error is raised on, for the error map)."""
    recording = InferenceRecording(
        model_name if known else UNKNOWN_MODEL,
        # From the URL until the model is found: clipped, so a client cannot write long
        # strings into logs.
        None if model_version is None else clip(model_version),
        request_id,
        drift_window_s=drift_window_s,
    )
    try:
        yield recording
    except Exception as error:
        if isinstance(error, BackendError):
            record_backend_error(recording.model, error)
        if isinstance(error, ServiceError):
            record_inference(recording.record(error.status, error.message))
        else:
            record_inference(
                recording.record(HTTPStatus.INTERNAL_SERVER_ERROR, type(error).__name__)
            )
        raise
    record_inference(recording.record(HTTPStatus.OK))


# --------------------------------------------------------------------------- chat


@dataclass(frozen=True)
class ChatRecord:
    """What one chat completion did: its metrics and the fields of its log line (counts,
    model, finish reason and timings; never a word of the conversation)."""

    model: str
    model_version: str | None
    status: int
    handler_latency_ms: float
    request_id: str
    api_key_id: str | None = None
    result: ChatResult | None = None
    cost: float | None = None
    error: str | None = None


def _publish_alone(spec: MetricSpec, value: float, **dimensions: str) -> None:
    """``spec`` in a document of its own, with ``dimensions`` (and ``service``) only."""
    emf = AmazonCloudWatchEMFProvider(namespace=metrics.namespace, service=str(metrics.service))
    emf.add_metric(name=spec.name, unit=spec.unit, value=value)
    for name, dimension_value in dimensions.items():
        emf.add_dimension(name=name, value=dimension_value)
    emf.flush_metrics()


def record_chat(record: ChatRecord, client_api_key_ids: frozenset[str] = frozenset()) -> None:
    """Metrics of one chat completion, in the invocation's EMF line (also its log line),
    plus documents of their own for what takes other dimensions: the chat model's
    ModelLatency (no roll-up: the roll-up's alarm is the tensor models' objective) and the
    allow-listed API keys' ClientTokens."""
    metrics.add_dimension(name="model", value=record.model)
    metrics.add_dimensions(**dict.fromkeys(ROLLUP_DIMENSIONS, str(metrics.service)))
    result = record.result
    succeeded = record.status < 400 and result is not None
    _add(INFERENCE_ERRORS, 0 if succeeded else 1)
    properties: dict[str, object] = {
        "correlation_id": record.request_id,
        "model_version": record.model_version,
        "status": record.status,
    }
    if record.api_key_id is not None:
        properties["api_key_id"] = record.api_key_id
    if succeeded and result is not None:
        _add(INFERENCES, 1)
        _add(HANDLER_LATENCY, round(record.handler_latency_ms, 3))
        _add(INPUT_TOKENS, result.input_tokens)
        _add(OUTPUT_TOKENS, result.output_tokens)
        if result.latency_ms > 0:
            rate = result.output_tokens / (result.latency_ms / 1000.0)
            _add(OUTPUT_TOKENS_PER_SECOND, round(rate, 2))
        if record.cost is not None:
            _add(ESTIMATED_COST, round(record.cost, 10))
        # The one per-caller figure every line carries: Contributor Insights ranks API keys
        # by its sum ("top API keys by tokens") without a metric series per key.
        properties["total_tokens"] = result.input_tokens + result.output_tokens
        properties["finish_reason"] = result.stop_reason
        _publish_alone(MODEL_LATENCY, round(result.latency_ms, 3), model=record.model)
        if record.api_key_id is not None and record.api_key_id in client_api_key_ids:
            for token_type, tokens in (
                ("input", result.input_tokens),
                ("output", result.output_tokens),
            ):
                _publish_alone(
                    CLIENT_TOKENS, tokens, api_key=record.api_key_id, token_type=token_type
                )
    trace_id = os.environ.get("_X_AMZN_TRACE_ID")
    if trace_id:
        properties["xray_trace_id"] = trace_id.partition(";")[0].removeprefix("Root=")
    if record.error is not None:
        properties["error"] = record.error
    for key, value in properties.items():
        metrics.add_metadata(key=key, value=value)


@dataclass
class ChatRecording:
    """What a chat completion has learnt so far; recorded whichever way the request ends."""

    request_id: str
    api_key_id: str | None
    model: str = UNKNOWN_MODEL
    model_version: str | None = None
    result: ChatResult | None = None
    cost: float | None = None

    def found(self, model: LoadedModel) -> None:
        """The request names a model this function serves: its metrics name it."""
        self.model, self.model_version = model.metadata.name, model.metadata.version

    def chat(self, model: LoadedModel, request: ChatRequest) -> ChatResult:
        """The model's reply, inside the request's one subsegment (counts, no text)."""
        self.found(model)
        with tracer.provider.in_subsegment("## chat") as subsegment:
            subsegment.put_annotation("model", model.metadata.name)
            subsegment.put_annotation("model_version", model.metadata.version)
            subsegment.put_annotation("backend", model.metadata.backend.type)
            result = model.chat(request)
        self.result = result
        cost = getattr(model.metadata.backend, "cost", None)
        if callable(cost):
            self.cost = cost(result.input_tokens, result.output_tokens)
        return result

    def record(self, status: int, error: str | None = None) -> ChatRecord:
        return ChatRecord(
            self.model,
            self.model_version,
            status,
            _INVOCATION.elapsed_ms(),
            self.request_id,
            api_key_id=self.api_key_id,
            result=self.result if status < 400 else None,
            cost=self.cost,
            error=error,
        )


def _logged_error(error: ServiceError) -> str:
    """What the log line says of a refusal: a backend's own wording may quote the request,
    so a request the backend refused is logged by kind only."""
    if isinstance(error, BackendError) and error.error_type is BackendErrorType.INVALID_REQUEST:
        return "model backend refused the request (InvalidRequest)"
    return error.message


@contextmanager
def chat_recorded(
    request_id: str, api_key_id: str | None, client_api_key_ids: frozenset[str] = frozenset()
) -> Iterator[ChatRecording]:
    """Record the chat completion run inside: 200 when it completes, else the status of the
    ``ServiceError`` it raised, or 500 (the error is raised on, for the error map)."""
    recording = ChatRecording(request_id, api_key_id)
    try:
        yield recording
    except Exception as error:
        if isinstance(error, BackendError):
            record_backend_error(recording.model, error)
        if isinstance(error, ServiceError):
            record_chat(recording.record(error.status, _logged_error(error)), client_api_key_ids)
        else:
            record_chat(
                recording.record(HTTPStatus.INTERNAL_SERVER_ERROR, type(error).__name__),
                client_api_key_ids,
            )
        raise
    record_chat(recording.record(HTTPStatus.OK), client_api_key_ids)
