"""The template's CloudWatch alarms, evaluated over local metric data as CloudWatch does.

Definitions come from template.yaml after the SAM transform, resolved for the emulator's
parameters; data from a ``MetricStore``. Evaluation follows CloudWatch's documented
semantics ("Using Amazon CloudWatch alarms", "How alarm state is evaluated when data is
missing"):

- every minute, the alarm looks at its most recent datapoints, periods ending at that
  minute, over an evaluation range of ``EvaluationPeriods + 2`` periods (CloudWatch
  retrieves more datapoints than it evaluates; its documentation's examples retrieve 5
  for 3);
- with at least ``EvaluationPeriods`` real datapoints in the range, the most recent of
  them are evaluated and ``TreatMissingData`` does not matter;
- with fewer, missing ones are filled in as breaching or not breaching, as few as needed;
  with none, ``missing`` gives INSUFFICIENT_DATA, ``ignore`` keeps the state,
  ``breaching`` ALARM, ``notBreaching`` OK. For ``missing`` and ``ignore`` with some data,
  the documented table's outcomes are reproduced: a non-breaching point among them gives
  OK; otherwise ``ignore`` keeps the state and ``missing`` gives INSUFFICIENT_DATA, or
  ALARM when the breaching point is the oldest of the range;
- ALARM when at least ``DatapointsToAlarm`` of the evaluated datapoints breach;
- a percentile alarm with ``EvaluateLowSampleCountPercentile: ignore`` keeps its state
  while its newest period has fewer samples than 10/(1-p) (10/p below the median).

Anomaly-detection alarms learn a band from two weeks of data: they are not evaluated
here, and say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dev_support.paths import TEMPLATE_PATH

from .metric_data import PERCENTILE, MetricStore, SeriesKey
from .metric_math import Unsupported, evaluate, supported
from .template import Resolver, transform_offline

COMPARISONS = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
# Periods retrieved beyond EvaluationPeriods (the documentation's examples: 5 for 3).
EXTRA_PERIODS = 2
# CloudWatch evaluates a standard-resolution alarm every minute, whatever its period.
EVALUATION_INTERVAL_MS = 60_000


class State(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class MetricQuery:
    id: str
    key: SeriesKey
    period_s: int
    statistic: str


@dataclass(frozen=True)
class MetricAlarm:
    logical_id: str
    name: str
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    period_s: int
    queries: tuple[MetricQuery, ...]
    # The metric-math expression whose series is compared (None: the one query's).
    expression: str | None = None
    evaluate_low_samples: bool = True
    # Why this alarm cannot be evaluated here (None: it can).
    unsupported: str | None = None


@dataclass(frozen=True)
class CompositeAlarm:
    logical_id: str
    name: str
    rule: str


@dataclass(frozen=True)
class Transition:
    at_ms: int
    state: State


def _key(metric: Mapping[str, Any]) -> SeriesKey:
    dims = tuple(sorted((d["Name"], str(d["Value"])) for d in metric.get("Dimensions", [])))
    return str(metric["Namespace"]), str(metric["MetricName"]), dims


def _metric_alarm(logical_id: str, p: Mapping[str, Any]) -> MetricAlarm:
    unsupported = None
    if p["ComparisonOperator"] not in COMPARISONS or "ThresholdMetricId" in p:
        unsupported = "an anomaly-detection band, learned from two weeks of data"
    if p.get("TreatMissingData", "missing") not in MISSING_DATA:
        unsupported = f"TreatMissingData {p['TreatMissingData']!r}"
    if "Metrics" in p:
        queries = tuple(
            MetricQuery(
                q["Id"],
                _key(q["MetricStat"]["Metric"]),
                int(q["MetricStat"]["Period"]),
                str(q["MetricStat"]["Stat"]),
            )
            for q in p["Metrics"]
            if "MetricStat" in q
        )
        returned = [q for q in p["Metrics"] if q.get("ReturnData", True)]
        # An anomaly alarm returns its metric and its band; any other, one series.
        expression = returned[-1].get("Expression") if unsupported is None else None
        if expression is not None and unsupported is None:
            unsupported = supported(expression, {q.id for q in queries})
        period = queries[0].period_s
    else:
        statistic = p.get("ExtendedStatistic") or p["Statistic"]
        queries = (MetricQuery("m1", _key(p), int(p["Period"]), str(statistic)),)
        expression = None
        period = int(p["Period"])
    evaluation_periods = int(p["EvaluationPeriods"])
    return MetricAlarm(
        logical_id=logical_id,
        name=str(p.get("AlarmName", logical_id)),
        comparison=str(p["ComparisonOperator"]),
        threshold=float(p.get("Threshold", 0)),
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=int(p.get("DatapointsToAlarm", evaluation_periods)),
        treat_missing_data=str(p.get("TreatMissingData", "missing")),
        period_s=period,
        queries=queries,
        expression=expression,
        evaluate_low_samples=p.get("EvaluateLowSampleCountPercentile", "evaluate") != "ignore",
        unsupported=unsupported,
    )


def load_alarms(
    parameters: Mapping[str, str] | None = None, template: Mapping[str, Any] | None = None
) -> tuple[list[MetricAlarm], list[CompositeAlarm]]:
    """The template's alarms, resolved for ``parameters`` (defaults otherwise), with every
    resource named after its logical id, as in the emulator; ``template`` is the transformed
    template when the caller has it already."""
    transformed = dict(template or transform_offline(TEMPLATE_PATH, dict(parameters or {})))
    resources = transformed["Resources"]
    resolve = Resolver(transformed, dict(parameters or {}), {r: r for r in resources})
    metric_alarms, composites = [], []
    for logical_id, resource in resources.items():
        if "Condition" in resource and not resolve.condition(resource["Condition"]):
            continue
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            metric_alarms.append(_metric_alarm(logical_id, resolve.value(resource["Properties"])))
        elif resource["Type"] == "AWS::CloudWatch::CompositeAlarm":
            properties = resolve.value(resource["Properties"])
            composites.append(
                CompositeAlarm(logical_id, properties["AlarmName"], properties["AlarmRule"])
            )
    return metric_alarms, composites


def _low_sample_minimum(statistic: str) -> float | None:
    found = PERCENTILE.match(statistic)
    if found is None:
        return None
    p = float(found.group(1)) / 100
    return 10 / (1 - p) if p >= 0.5 else 10 / p


def datapoints(
    alarm: MetricAlarm, store: MetricStore, start_ms: int, end_ms: int
) -> tuple[dict[int, float], dict[int, float]]:
    """The alarm's datapoints (period start -> value) in [start, end), periods ending at
    ``end``, and each period's sample count."""
    if alarm.unsupported is not None:
        raise Unsupported(alarm.unsupported)
    variables: dict[str, dict[int, float]] = {}
    counts: dict[int, float] = {}
    for query in alarm.queries:
        aggregates = store.aggregates(query.key, query.period_s, start_ms, end_ms, end_ms)
        points = {t: a.statistic(query.statistic) for t, a in aggregates.items()}
        variables[query.id] = {t: v for t, v in points.items() if v is not None}
        for t, aggregate in aggregates.items():
            counts[t] = counts.get(t, 0.0) + aggregate.count
    if alarm.expression is None:
        return variables[alarm.queries[0].id], counts
    return evaluate(alarm.expression, variables), counts


def _decide(alarm: MetricAlarm, window: list[float | None], previous: State) -> State:
    """The state for datapoints ``window`` (oldest first, None = missing)."""
    breaching = [
        None if v is None else COMPARISONS[alarm.comparison](v, alarm.threshold) for v in window
    ]
    real = [b for b in breaching if b is not None]
    n, m = alarm.evaluation_periods, alarm.datapoints_to_alarm
    treat = alarm.treat_missing_data
    if not real:
        return {
            "missing": State.INSUFFICIENT_DATA,
            "ignore": previous,
            "breaching": State.ALARM,
            "notBreaching": State.OK,
        }[treat]
    if len(real) >= n:
        evaluated = real[-n:]
    elif treat in ("breaching", "notBreaching"):
        evaluated = real + [treat == "breaching"] * (n - len(real))
    elif not all(real):
        return State.OK
    elif treat == "ignore":
        return previous
    else:
        return State.ALARM if breaching[0] else State.INSUFFICIENT_DATA
    return State.ALARM if sum(evaluated) >= m else State.OK


def history(
    alarm: MetricAlarm,
    store: MetricStore,
    start_ms: int,
    end_ms: int,
    initial: State = State.INSUFFICIENT_DATA,
) -> list[Transition]:
    """The alarm's state changes when evaluated every minute in (start, end], each time over
    periods that end at that minute, as CloudWatch evaluates a standard alarm."""
    period_ms = alarm.period_s * 1000
    span = (alarm.evaluation_periods + EXTRA_PERIODS) * period_ms
    first = start_ms - start_ms % EVALUATION_INTERVAL_MS + EVALUATION_INTERVAL_MS
    minimum = _low_sample_minimum(alarm.queries[0].statistic) if alarm.expression is None else None
    state, transitions = initial, []
    for at in range(first, end_ms + 1, EVALUATION_INTERVAL_MS):
        points, counts = datapoints(alarm, store, at - span, at)
        # A period without samples is missing data (TreatMissingData); one with a few is
        # a low sample, which "ignore" waits out.
        if (
            not alarm.evaluate_low_samples
            and minimum is not None
            and 0 < counts.get(at - period_ms, 0.0) < minimum
        ):
            continue
        window = [points.get(t) for t in range(at - span, at, period_ms)]
        decided = _decide(alarm, window, state)
        if decided != state:
            state = decided
            transitions.append(Transition(at, state))
    return transitions


def state_at(transitions: Iterable[Transition], at_ms: int, initial: State) -> State:
    state = initial
    for transition in transitions:
        if transition.at_ms > at_ms:
            break
        state = transition.state
    return state


RULE_TOKEN = re.compile(r"\s*(ALARM|OK|INSUFFICIENT_DATA|AND|OR|NOT|TRUE|FALSE|\(|\)|[^\s()]+)")


def rule_holds(rule: str, states: Mapping[str, State]) -> bool:
    """A composite ``AlarmRule`` over alarms' current states (by name or logical id)."""
    tokens: list[str] = [t for t in RULE_TOKEN.findall(rule) if t]
    position = 0

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def expression() -> bool:
        value = conjunction()
        while position < len(tokens) and tokens[position] == "OR":
            take()
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = negation()
        while position < len(tokens) and tokens[position] == "AND":
            take()
            value = negation() and value
        return value

    def negation() -> bool:
        if tokens[position] == "NOT":
            take()
            return not negation()
        return atom()

    def atom() -> bool:
        word = take()
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        if word == "(":
            value = expression()
            take()
            return value
        take()  # "("
        name = take().split(":alarm:")[-1]
        take()  # ")"
        return states[name] == State(word)

    return expression()


def composite_history(
    composite: CompositeAlarm, components: Mapping[str, list[Transition]]
) -> list[Transition]:
    """The composite's state changes, at every change of a component it reads."""
    times = sorted({t.at_ms for transitions in components.values() for t in transitions})
    state, transitions = State.INSUFFICIENT_DATA, []
    for at in times:
        states = {
            name: state_at(changes, at, State.INSUFFICIENT_DATA)
            for name, changes in components.items()
        }
        decided = State.ALARM if rule_holds(composite.rule, states) else State.OK
        if decided != state:
            state = decided
            transitions.append(Transition(at, state))
    return transitions


def evaluate_all(
    store: MetricStore,
    start_ms: int,
    end_ms: int,
    alarms: tuple[list[MetricAlarm], list[CompositeAlarm]],
) -> dict[str, list[Transition] | str]:
    """Every alarm's state changes over the window (by logical id), or why it is not
    evaluated here."""
    metric_alarms, composites = alarms
    results: dict[str, list[Transition] | str] = {}
    by_name: dict[str, list[Transition]] = {}
    for alarm in metric_alarms:
        if alarm.unsupported is not None:
            results[alarm.logical_id] = f"not evaluated locally: {alarm.unsupported}"
            continue
        changes = history(alarm, store, start_ms, end_ms)
        results[alarm.logical_id] = by_name[alarm.logical_id] = by_name[alarm.name] = changes
    for composite in composites:
        results[composite.logical_id] = composite_history(composite, by_name)
    return results
