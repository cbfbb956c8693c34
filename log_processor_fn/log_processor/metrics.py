"""The metrics contract of the log processor: names, units, dimensions, declared once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    COUNT = "Count"
    MILLISECONDS = "Milliseconds"
    BYTES = "Bytes"


@dataclass(frozen=True, eq=False)
class MetricSpec:
    """Compared by identity: each metric is declared once, below."""

    name: str
    unit: Unit
    dimensions: tuple[str, ...]
    # A distribution keeps every value (percentiles work); a count is summed.
    distribution: bool
    meaning: str
    # Distributions round values to this many significant digits (exact below 10**digits).
    significant_digits: int = 3


ROUTE_STATUS = ("service", "stage", "route", "status_class")
ROUTE = ("service", "stage", "route")
STAGE = ("service", "stage")
MODEL = ("service", "stage", "model")
ERROR = ("service", "stage", "error_source", "error_type")
CLIENT = ("service", "stage", "api_key")
PIPELINE = ("service",)

REQUESTS = MetricSpec("Requests", Unit.COUNT, ROUTE_STATUS, False, "requests answered")
# Per stage, not per route: the latency SLO divides SlowRequests by StageRequests, both
# counted from the same lines and written in the same document.
STAGE_REQUESTS = MetricSpec(
    "StageRequests", Unit.COUNT, STAGE, False, "requests answered (valid lines), per stage"
)
SLOW_REQUESTS = MetricSpec(
    "SlowRequests", Unit.COUNT, STAGE, False, "requests slower than the latency objective"
)
LATENCY = MetricSpec(
    "Latency", Unit.MILLISECONDS, ROUTE, True, "responseLatency: gateway receipt to last byte"
)
INTEGRATION_LATENCY = MetricSpec(
    "IntegrationLatency", Unit.MILLISECONDS, ROUTE, True, "time waiting for the function"
)
GATEWAY_OVERHEAD = MetricSpec(
    "GatewayOverhead", Unit.MILLISECONDS, ROUTE, True, "Latency - IntegrationLatency"
)
RESPONSE_BYTES = MetricSpec(
    "ResponseBytes", Unit.BYTES, ROUTE, True, "response body size", significant_digits=2
)
MODEL_REQUESTS = MetricSpec(
    "ModelRequests", Unit.COUNT, MODEL, False, "requests on a model's routes"
)
MODEL_ERRORS = MetricSpec("ModelErrors", Unit.COUNT, MODEL, False, "4xx/5xx on a model's routes")
ERRORS = MetricSpec("Errors", Unit.COUNT, ERROR, False, "4xx/5xx by who answered and why")
CLIENT_REQUESTS = MetricSpec(
    "ClientRequests", Unit.COUNT, CLIENT, False, "requests per allow-listed API key id"
)
LOG_LINES = MetricSpec("LogLines", Unit.COUNT, PIPELINE, False, "access-log lines received")
MALFORMED_LOG_LINES = MetricSpec(
    "MalformedLogLines",
    Unit.COUNT,
    PIPELINE,
    False,
    "lines skipped: not JSON, no request id or HTTP status, a request minute CloudWatch refuses",
)
MALFORMED_LOG_FIELDS = MetricSpec(
    "MalformedLogFields",
    Unit.COUNT,
    PIPELINE,
    False,
    "fields of valid lines read as missing: a value API Gateway cannot have written",
)
DUPLICATE_LOG_EVENTS = MetricSpec(
    "DuplicateLogEvents", Unit.COUNT, PIPELINE, False, "repeated log events counted once"
)
DELIVERY_LAG = MetricSpec(
    "DeliveryLag", Unit.MILLISECONDS, PIPELINE, True, "processing time - request time"
)


class DriftUnit(StrEnum):
    NONE = "None"


@dataclass(frozen=True, eq=False)
class DriftMetricSpec:
    """A metric of the drift job (drift_handler): one value per model and window."""

    name: str
    unit: DriftUnit
    dimensions: tuple[str, ...]
    meaning: str

    @property
    def dimension_sets(self) -> tuple[tuple[str, ...], ...]:
        # Also without `model`: the largest over models, which the alarms read, so a new
        # model needs no new alarm.
        return (self.dimensions, tuple(d for d in self.dimensions if d != "model"))


DRIFT_DIMENSIONS = ("service", "model")
INPUT_DRIFT = DriftMetricSpec(
    "InputDrift",
    DriftUnit.NONE,
    DRIFT_DIMENSIONS,
    "largest PSI over the model's input features, window against baseline;"
    " no value below DriftMinRows rows",
)
PREDICTION_DRIFT = DriftMetricSpec(
    "PredictionDrift",
    DriftUnit.NONE,
    DRIFT_DIMENSIONS,
    "PSI of the predicted classes (or prediction bins), window against baseline;"
    " no value below DriftMinRows rows",
)
DRIFT_CONTRACT: tuple[DriftMetricSpec, ...] = (INPUT_DRIFT, PREDICTION_DRIFT)

CONTRACT: tuple[MetricSpec, ...] = (
    REQUESTS,
    STAGE_REQUESTS,
    SLOW_REQUESTS,
    LATENCY,
    INTEGRATION_LATENCY,
    GATEWAY_OVERHEAD,
    RESPONSE_BYTES,
    MODEL_REQUESTS,
    MODEL_ERRORS,
    ERRORS,
    CLIENT_REQUESTS,
    LOG_LINES,
    MALFORMED_LOG_LINES,
    MALFORMED_LOG_FIELDS,
    DUPLICATE_LOG_EVENTS,
    DELIVERY_LAG,
)
