"""Logger and the canary's metrics contract: what each run publishes, per model and checked
version, declared once (the README's table and the tests read these declarations)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from .probe import Outcome

MODEL_DIMENSIONS = ("service", "model")
# Published a second time without `model`: one alarm for every model, whichever are served.
ROLLUP_DIMENSIONS = ("service",)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: MetricUnit
    dimensions: tuple[str, ...]
    meaning: str

    @property
    def dimension_sets(self) -> tuple[tuple[str, ...], ...]:
        return (self.dimensions, ROLLUP_DIMENSIONS)


CANARY_SUCCESS = MetricSpec(
    "CanarySuccess",
    MetricUnit.Count,
    MODEL_DIMENSIONS,
    "1 per model and canary run when the public API answered its golden inputs as expected,"
    " else 0 (Minimum over a run's period: 0 when any model failed)",
)
CANARY_LATENCY = MetricSpec(
    "CanaryLatency",
    MetricUnit.Milliseconds,
    MODEL_DIMENSIONS,
    "the canary's round trip for a model's golden request through the public API",
)
CONTRACT: tuple[MetricSpec, ...] = (CANARY_SUCCESS, CANARY_LATENCY)

# Service and namespace come from the environment the template sets.
logger = Logger()


def record_outcome(outcome: Outcome, namespace: str, service: str) -> None:
    """One EMF document per model: its dimension is the model's, not the run's."""
    emf = AmazonCloudWatchEMFProvider(namespace=namespace, service=service)
    emf.add_metric(name=CANARY_SUCCESS.name, unit=CANARY_SUCCESS.unit, value=int(outcome.passed))
    emf.add_metric(
        name=CANARY_LATENCY.name, unit=CANARY_LATENCY.unit, value=round(outcome.latency_ms, 3)
    )
    emf.add_dimension(name="model", value=outcome.model)
    emf.add_dimensions(**dict.fromkeys(ROLLUP_DIMENSIONS, service))
    emf.add_metadata(key="model_version", value=outcome.version)
    emf.flush_metrics()
