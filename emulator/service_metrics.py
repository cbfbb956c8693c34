"""What CloudWatch publishes for the services the emulator stands in for, from what it
served: API Gateway's per-stage metrics for each request, Lambda's per-function metrics for
each invocation.

They are written beside the functions' EMF in ``metrics.jsonl``, in the same EMF form
(CloudWatch receives them otherwise, but stores the same series), marked with the service
that would publish them, so the report, the dashboard page and the alarm evaluator read
one store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

API_GATEWAY = "AWS/ApiGateway"
LAMBDA = "AWS/Lambda"
SQS = "AWS/SQS"
# SQS publishes its queues' metrics once a minute.
SQS_PERIOD_S = 60.0


def statistic_set(values: list[float]) -> dict[str, Any]:
    """Many samples as one EMF value: each distinct value and how often it occurred."""
    counts: dict[float, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return {
        "Values": list(counts),
        "Counts": list(counts.values()),
        "Sum": sum(values),
        "Count": len(values),
        "Min": min(values),
        "Max": max(values),
    }


def document(
    namespace: str,
    timestamp_ms: int,
    dimensions: Mapping[str, str],
    dimension_sets: list[list[str]],
    metrics: Mapping[str, tuple[float | dict[str, Any], str]],
) -> dict[str, Any]:
    """An EMF document: each metric a (value or statistic set, unit) pair."""
    return {
        **dimensions,
        **{name: value for name, (value, _) in metrics.items()},
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": dimension_sets,
                    "Metrics": [{"Name": n, "Unit": unit} for n, (_, unit) in metrics.items()],
                }
            ],
        },
    }


def api_gateway_request(
    *,
    api_name: str,
    stage: str,
    timestamp_ms: int,
    status: int,
    latency_ms: float,
    integration_latency_ms: float | None,
) -> dict[str, Any]:
    """One request's share of the stage's metrics (``ApiName``, ``Stage``): CloudWatch's
    ``Count`` is its SampleCount, the error metrics 1 or 0, the latencies in ms."""
    metrics: dict[str, tuple[float, str]] = {
        "Count": (1.0, "Count"),
        "4XXError": (1.0 if 400 <= status < 500 else 0.0, "Count"),
        "5XXError": (1.0 if status >= 500 else 0.0, "Count"),
        "Latency": (float(latency_ms), "Milliseconds"),
    }
    if integration_latency_ms is not None:
        metrics["IntegrationLatency"] = (float(integration_latency_ms), "Milliseconds")
    return document(
        API_GATEWAY,
        timestamp_ms,
        {"ApiName": api_name, "Stage": stage},
        [["ApiName", "Stage"]],
        metrics,
    )


def lambda_invocation(
    *,
    function_name: str,
    alias: str | None,
    version: str,
    timestamp_ms: int,
    duration_ms: float | None,
    error: bool,
    throttled: bool,
    concurrent: int,
) -> dict[str, Any]:
    """One invocation's share of the function's metrics, by ``FunctionName`` and, when it
    was invoked through an alias, by ``Resource`` and ``ExecutedVersion`` too. A throttled
    invocation counts only in ``Throttles``: Lambda never ran it."""
    metrics: dict[str, tuple[float, str]] = {"Throttles": (1.0 if throttled else 0.0, "Count")}
    if not throttled:
        metrics |= {
            "Invocations": (1.0, "Count"),
            "Errors": (1.0 if error else 0.0, "Count"),
            "ConcurrentExecutions": (float(concurrent), "Count"),
        }
        if duration_ms is not None:
            metrics["Duration"] = (float(duration_ms), "Milliseconds")
    dimensions = {"FunctionName": function_name}
    dimension_sets = [["FunctionName"]]
    if alias is not None:
        dimensions |= {"Resource": f"{function_name}:{alias}", "ExecutedVersion": version}
        dimension_sets += [
            ["FunctionName", "Resource"],
            ["FunctionName", "Resource", "ExecutedVersion"],
        ]
    return document(LAMBDA, timestamp_ms, dimensions, dimension_sets, metrics)


def queue_depth(*, queue_name: str, timestamp_ms: int, visible: int) -> dict[str, Any]:
    """A queue's minute sample of ``ApproximateNumberOfMessagesVisible`` (``QueueName``)."""
    return document(
        SQS,
        timestamp_ms,
        {"QueueName": queue_name},
        [["QueueName"]],
        {"ApproximateNumberOfMessagesVisible": (float(visible), "Count")},
    )
