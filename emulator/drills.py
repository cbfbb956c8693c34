"""`make drill`: named scenarios over simulated hours, through the template's own alarms.

Each scenario is at least two hours of simulated traffic, a minute at a time: real
access-log lines in the stage's format, processed by the real log processor (its batch
function, at the simulated delivery time), what CloudWatch publishes for API Gateway,
Lambda and SQS from the same requests, and the inference function's per-request metric
document. The alarm evaluator then reads them as CloudWatch would. The result: for every
alarm, the simulated minute it went to ALARM, or "OK throughout".

    python -m emulator.drills [--scenario NAME]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dev_support.paths import TEMPLATE_PATH
from log_processor.batch import process_batch
from log_processor.settings import load_settings

from .alarms import CompositeAlarm, MetricAlarm, State, Transition, evaluate_all, load_alarms
from .logs import render_access_log
from .metric_data import MetricStore
from .service_metrics import API_GATEWAY, LAMBDA, document, queue_depth, statistic_set
from .template import Resolver, function_environment, parameter_default, transform_offline

MINUTE_MS = 60_000
# A simulated run starts on a whole day, far enough back to be inside CloudWatch's window.
START_MS = 1_796_000_000_000 - 1_796_000_000_000 % (24 * 60 * MINUTE_MS)
# Enough answered requests a minute for a p99 to be judged: 10 / (1 - 0.99) = 1,000.
RATE_PER_MINUTE = 1_100
FAULT_MINUTE = 60
# The canary's schedule at the template's default.
CANARY_MINUTES = int(parameter_default("CanaryRateMinutes"))
INFER = ("POST", "/v2/models/{model_name}/infer", "/v2/models/iris/infer")


@dataclass(frozen=True)
class Request:
    """One simulated request, as the gateway and the function would record it."""

    status: int
    latency_ms: float
    integration_ms: float | None = None
    error_type: str | None = None  # the gateway's, when it answered itself
    function_error: bool = False  # the function crashed: Lambda counts an error
    model_ms: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    requests: Callable[[int, random.Random], list[Request]]
    minutes: int = 125
    log_processor_fails: Callable[[int], bool] = field(default=lambda minute: False)


def served(rng: random.Random, model_factor: float = 1.0) -> Request:
    """A request the function answered 200: the model takes 2-5 ms (1 in 50 up to 30 ms)."""
    model = rng.uniform(20, 30) if rng.random() < 0.02 else rng.uniform(2, 5)
    model *= model_factor
    integration = model + rng.uniform(5, 15)
    return Request(200, integration + rng.uniform(3, 8), integration, model_ms=model)


def usual(rng: random.Random, model_factor: float = 1.0) -> Request:
    """The everyday mix: 97 % answered, 2 % refused by the function, 1 % by the gateway."""
    draw = rng.random()
    if draw < 0.02:
        integration = rng.uniform(3, 6)
        return Request(400, integration + 4, integration)
    if draw < 0.03:
        return Request(403, rng.uniform(2, 4), error_type="INVALID_API_KEY")
    return served(rng, model_factor)


def steady(
    changed: Callable[[int, random.Random], Request | None] = lambda minute, rng: None,
    rate: int = RATE_PER_MINUTE,
) -> Callable[[int, random.Random], list[Request]]:
    def minute_of(minute: int, rng: random.Random) -> list[Request]:
        return [changed(minute, rng) or usual(rng) for _ in range(rate)]

    return minute_of


def with_5xx(share: float, first: int, last: int | None, crash: bool) -> Callable[..., Any]:
    def changed(minute: int, rng: random.Random) -> Request | None:
        if minute < first or (last is not None and minute >= last) or rng.random() >= share:
            return None
        if crash:  # the function dies: the gateway answers 502 INTEGRATION_FAILURE
            integration = rng.uniform(10, 30)
            return Request(502, integration + 5, integration, "INTEGRATION_FAILURE", True)
        integration = rng.uniform(5, 15)  # the function answers 500 itself
        return Request(500, integration + 5, integration)

    return changed


def slow_model(minute: int, rng: random.Random) -> Request | None:
    return usual(rng, model_factor=5.0) if minute >= FAULT_MINUTE else None


def throttling_storm(minute: int, rng: random.Random) -> list[Request]:
    requests = steady()(minute, rng)
    if FAULT_MINUTE <= minute < FAULT_MINUTE + 15:
        requests += [Request(429, 1.0, error_type="THROTTLED") for _ in range(3_000)]
    return requests


def stopping(minute: int, rng: random.Random) -> list[Request]:
    return steady()(minute, rng) if minute < FAULT_MINUTE else []


def low_traffic_cold_start(minute: int, rng: random.Random) -> list[Request]:
    requests = [served(rng) for _ in range(3)]
    if minute == FAULT_MINUTE:  # a new execution environment: 3 s of init before the answer
        requests[0] = replace(requests[0], latency_ms=3_050.0, integration_ms=3_040.0)
    return requests


def _log_processor_down(minute: int) -> bool:
    return FAULT_MINUTE <= minute < FAULT_MINUTE + 20


SCENARIOS = (
    Scenario("healthy", "steady traffic, 1,100 requests a minute, the usual 3 % refused", steady()),
    Scenario(
        "5xx-5pct",
        "5 % answered 500 by the function from minute 60",
        steady(with_5xx(0.05, FAULT_MINUTE, None, crash=False)),
    ),
    Scenario(
        "5xx-50pct-10min",
        "half the requests crash the function for 10 minutes from minute 60",
        steady(with_5xx(0.5, FAULT_MINUTE, FAULT_MINUTE + 10, crash=True)),
    ),
    Scenario(
        "model-latency-x5", "the model takes 5 times as long from minute 60", steady(slow_model)
    ),
    Scenario(
        "throttling-storm",
        "3,000 more requests a minute refused THROTTLED for 15 minutes from minute 60",
        throttling_storm,
    ),
    Scenario(
        "log-processor-failing",
        "the log processor fails every batch for 20 minutes from minute 60",
        steady(),
        log_processor_fails=_log_processor_down,
    ),
    Scenario("traffic-stopping", "no requests at all from minute 60", stopping),
    Scenario(
        "low-traffic-cold-start",
        "3 requests a minute, one of them a 3 s cold start at minute 60",
        low_traffic_cold_start,
    ),
)


@dataclass
class Names:
    """What the template calls things in the emulator's world."""

    api_name: str
    stage: str
    inference: str
    log_processor: str
    queue: str
    service: str
    namespace: str


def names_of(template: Mapping[str, Any]) -> Names:
    resources = template["Resources"]
    resolve = Resolver(dict(template), {}, {name: name for name in resources})
    (api,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    environment = function_environment("InferenceFunction")
    return Names(
        api_name=str(resolve.value(api["Properties"]["Name"])),
        stage=environment.get("STAGE_NAME")
        or function_environment("LogProcessorFunction")["STAGE_NAME"],
        inference="InferenceFunction",
        log_processor="LogProcessorFunction",
        queue="LogProcessorFailedBatches",
        service=environment["POWERTOOLS_SERVICE_NAME"],
        namespace=environment["POWERTOOLS_METRICS_NAMESPACE"],
    )


def _access_line(request: Request, request_id: str, at_ms: int, stage: str) -> str:
    method, resource, path = INFER
    values: dict[str, Any] = {
        "$context.requestId": request_id,
        "$context.requestTimeEpoch": at_ms,
        "$context.httpMethod": method,
        "$context.path": f"/{stage}{path}",
        "$context.status": request.status,
        "$context.responseLength": 120,
        "$context.responseLatency": round(request.latency_ms),
        "$context.error.responseType": request.error_type,
    }
    if request.error_type != "INVALID_API_KEY":
        values["$context.resourcePath"] = resource
    if request.integration_ms is not None:
        values["$context.integrationLatency"] = round(request.integration_ms)
        values["$context.integrationStatus"] = 200
    if request.function_error:
        values["$context.integration.error"] = "Lambda crash"
    return render_access_log(values)


def _minute_documents(requests: list[Request], at_ms: int, names: Names) -> list[dict[str, Any]]:
    """What CloudWatch publishes for one minute of these requests, and the function's own."""
    api = {"ApiName": names.api_name, "Stage": names.stage}
    documents = []
    if requests:
        metrics: dict[str, tuple[float | dict[str, Any], str]] = {
            "Count": (statistic_set([1.0] * len(requests)), "Count"),
            "4XXError": (statistic_set([float(400 <= r.status < 500) for r in requests]), "Count"),
            "5XXError": (statistic_set([float(r.status >= 500) for r in requests]), "Count"),
            "Latency": (statistic_set([round(r.latency_ms) for r in requests]), "Milliseconds"),
        }
        integrated = [r for r in requests if r.integration_ms is not None]
        if integrated:
            metrics["IntegrationLatency"] = (
                statistic_set([round(r.integration_ms or 0) for r in integrated]),
                "Milliseconds",
            )
        documents.append(document(API_GATEWAY, at_ms, api, [list(api)], metrics))
    integrated = [r for r in requests if r.integration_ms is not None]
    if integrated:
        durations = [round(r.integration_ms or 0, 1) for r in integrated]
        concurrency = max(1.0, sum(durations) / MINUTE_MS)
        documents.append(
            document(
                LAMBDA,
                at_ms,
                {"FunctionName": names.inference},
                [["FunctionName"]],
                {
                    "Invocations": (statistic_set([1.0] * len(integrated)), "Count"),
                    "Errors": (
                        statistic_set([float(r.function_error) for r in integrated]),
                        "Count",
                    ),
                    "Throttles": (0.0, "Count"),
                    "Duration": (
                        statistic_set([round(r.integration_ms or 0, 1) for r in integrated]),
                        "Milliseconds",
                    ),
                    "ConcurrentExecutions": (float(round(concurrency)), "Count"),
                },
            )
        )
    models = [r.model_ms for r in requests if r.model_ms is not None]
    if models:
        # The inference function's per-request document, all requests of the minute at once.
        dims = {"service": names.service, "model": "iris"}
        documents.append(
            document(
                names.namespace,
                at_ms,
                dims,
                [["service", "model"], ["service"]],
                {"ModelLatency": (statistic_set([round(m, 3) for m in models]), "Milliseconds")},
            )
        )
    return documents


def _log_processor_documents(
    lines: list[str], minute_end_ms: int, failing: bool, depth: int, names: Names
) -> tuple[list[dict[str, Any]], int]:
    """The log processor's minute: its metrics, or its failures and the queue they fill."""
    attempts = 3 if failing else 1
    documents = [
        document(
            LAMBDA,
            minute_end_ms,
            {"FunctionName": names.log_processor},
            [["FunctionName"]],
            {
                "Invocations": (float(attempts), "Count"),
                "Errors": (float(attempts if failing else 0), "Count"),
                "Throttles": (0.0, "Count"),
            },
        )
    ]
    if failing:
        depth += 1
    else:
        events = [
            {"id": f"{minute_end_ms:030d}{i:026d}", "timestamp": minute_end_ms, "message": line}
            for i, line in enumerate(lines)
        ]
        # Delivered a few seconds after the minute it covers, as subscriptions do.
        settings = load_settings(function_environment("LogProcessorFunction"))
        documents += process_batch(events, settings, minute_end_ms + 5_000).documents
    documents.append(queue_depth(queue_name=names.queue, timestamp_ms=minute_end_ms, visible=depth))
    return documents, depth


def _canary_document(at_ms: int, names: Names) -> dict[str, Any]:
    """A canary run that passed: the drills' faults are the clients' traffic, not a model
    answering wrongly (the canary's failures are tested end to end)."""
    return document(
        names.namespace,
        at_ms,
        {"service": names.service, "model": "iris"},
        [["service", "model"], ["service"]],
        {"CanarySuccess": (1.0, "Count"), "CanaryLatency": (25.0, "Milliseconds")},
    )


def run(
    scenario: Scenario,
    alarms: tuple[list[MetricAlarm], list[CompositeAlarm]],
    names: Names,
) -> dict[str, int | str | None]:
    """Alarm logical id -> the minute it first went to ALARM (None: never; a string: why
    it is not evaluated here)."""
    rng = random.Random(scenario.name)  # noqa: S311 -- simulated traffic, not secrets
    store = MetricStore()
    depth = 0
    for minute in range(scenario.minutes):
        at = START_MS + minute * MINUTE_MS
        requests = scenario.requests(minute, rng)
        step = MINUTE_MS / max(len(requests), 1)
        lines = [
            _access_line(r, f"{scenario.name}-{minute}-{i}", int(at + i * step), names.stage)
            for i, r in enumerate(requests)
        ]
        for doc in _minute_documents(requests, at, names):
            store.add(doc)
        documents, depth = _log_processor_documents(
            lines, at + MINUTE_MS, scenario.log_processor_fails(minute), depth, names
        )
        for doc in documents:
            store.add(doc)
        if minute % CANARY_MINUTES == 0:
            store.add(_canary_document(at, names))
    results = evaluate_all(store, START_MS, START_MS + scenario.minutes * MINUTE_MS, alarms)
    return {name: _first_alarm(result) for name, result in results.items()}


def _first_alarm(result: list[Transition] | str) -> int | str | None:
    if isinstance(result, str):
        return result
    for transition in result:
        if transition.state == State.ALARM:
            return (transition.at_ms - START_MS) // MINUTE_MS
    return None


def table(results: Mapping[str, Mapping[str, int | str | None]], names: Iterable[str]) -> str:
    """Alarm by scenario: the minute it went to ALARM, "OK throughout", or "not evaluated"."""
    scenarios = list(results)
    rows = [["alarm", *scenarios]]
    for alarm in names:
        cells = []
        for scenario in scenarios:
            value = results[scenario][alarm]
            cells.append(
                "not evaluated"
                if isinstance(value, str)
                else "OK throughout"
                if value is None
                else f"ALARM at {value}"
            )
        rows.append([alarm, *cells])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.drills", description=__doc__)
    parser.add_argument("--scenario", choices=[s.name for s in SCENARIOS], action="append")
    args = parser.parse_args(argv)
    template = transform_offline(TEMPLATE_PATH)
    alarms = load_alarms(template=template)
    names = names_of(template)
    chosen = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    results = {scenario.name: run(scenario, alarms, names) for scenario in chosen}
    alarm_names = {a.logical_id: a.name for a in alarms[0]} | {
        c.logical_id: c.name for c in alarms[1]
    }
    print("\n".join(f"{s.name}: {s.description}" for s in chosen) + "\n")
    print(
        table(
            {k: {alarm_names[a]: v for a, v in r.items()} for k, r in results.items()},
            sorted(alarm_names.values()),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
