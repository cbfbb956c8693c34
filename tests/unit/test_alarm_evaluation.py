"""Alarm evaluation against the examples CloudWatch's documentation works by hand.

"How alarm state is evaluated when data is missing" (Amazon CloudWatch User Guide): the
5 most recent datapoints of an alarm with 3 evaluation periods, ``0`` not breaching,
``X`` breaching, ``-`` missing, oldest first; the state for each way of treating missing
data.
"""

from __future__ import annotations

import pytest

from emulator.alarms import (
    CompositeAlarm,
    MetricAlarm,
    MetricQuery,
    State,
    Transition,
    composite_history,
    history,
    load_alarms,
    rule_holds,
)
from emulator.metric_data import MetricStore

KEY = ("Test", "Errors", (("service", "s"),))
PERIOD_S = 60
START_MS = 1_800_000_000_000 - 1_800_000_000_000 % 60_000
COLUMNS = ("missing", "ignore", "breaching", "notBreaching")
RETAIN = "retain"


def alarm(datapoints_to_alarm: int, treat: str, **overrides: object) -> MetricAlarm:
    fields: dict[str, object] = {
        "logical_id": "A",
        "name": "a",
        "comparison": "GreaterThanThreshold",
        "threshold": 1.0,
        "evaluation_periods": 3,
        "datapoints_to_alarm": datapoints_to_alarm,
        "treat_missing_data": treat,
        "period_s": PERIOD_S,
        "queries": (MetricQuery("m1", KEY, PERIOD_S, "Sum"),),
    }
    fields.update(overrides)
    return MetricAlarm(**fields)  # type: ignore[arg-type]


def emf(timestamp_ms: int, value: float, name: str = "Errors") -> dict[str, object]:
    return {
        "service": "s",
        name: value,
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {"Namespace": "Test", "Dimensions": [["service"]], "Metrics": [{"Name": name}]}
            ],
        },
    }


def store_of(points: str) -> MetricStore:
    """One datapoint per period from ``points``: 0 = 0, X = 2, - = none."""
    store = MetricStore()
    for index, point in enumerate(points.split()):
        if point != "-":
            store.add(emf(START_MS + index * PERIOD_S * 1000 + 5, 0.0 if point == "0" else 2.0))
    return store


def state_after(points: str, evaluated: MetricAlarm, previous: State) -> State:
    end = START_MS + 5 * PERIOD_S * 1000
    transitions = history(evaluated, store_of(points), end - PERIOD_S * 1000, end, previous)
    return transitions[-1].state if transitions else previous


def assert_row(points: str, datapoints_to_alarm: int, expected: tuple[str, ...]) -> None:
    """One row of the documentation's table: the state for each TreatMissingData, from
    either earlier state (which "retain" keeps)."""
    for treat, state in zip(COLUMNS, expected, strict=True):
        for previous in (State.OK, State.ALARM):
            wanted = previous if state == RETAIN else State(state)
            evaluated = alarm(datapoints_to_alarm, treat)
            assert state_after(points, evaluated, previous) == wanted, (treat, previous)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ("0 - X - X", ("OK", "OK", "OK", "OK")),
        ("0 - - - -", ("OK", "OK", "OK", "OK")),
        ("- - - - -", ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
        ("0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
        ("- - - - X", ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
        ("X - - - -", ("ALARM", RETAIN, "ALARM", "OK")),
    ],
)
def test_three_of_three_as_documented(points: str, expected: tuple[str, ...]) -> None:
    assert_row(points, 3, expected)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ("0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
        ("0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
        ("0 - X - -", ("OK", "OK", "ALARM", "OK")),
        ("- - - - 0", ("OK", "OK", "ALARM", "OK")),
        ("- - - - X", ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
    ],
)
def test_two_of_three_as_documented(points: str, expected: tuple[str, ...]) -> None:
    assert_row(points, 2, expected)


def latency_store(samples_per_minute: int, slow_ms: float, minutes: int) -> MetricStore:
    store = MetricStore()
    for minute in range(minutes):
        values = [10.0] * (samples_per_minute - 1) + [slow_ms]
        store.add(emf(START_MS + minute * 60_000 + 5, values, "Latency"))  # type: ignore[arg-type]
    return store


def test_a_p99_alarm_ignores_periods_with_too_few_samples_when_asked() -> None:
    p99 = MetricQuery("m1", ("Test", "Latency", (("service", "s"),)), 60, "p99")
    common = {"threshold": 100.0, "datapoints_to_alarm": 3, "queries": (p99,)}
    # 3 requests a minute, one of them slow: p99 is that one request, every minute.
    store = latency_store(3, 5_000.0, 5)
    end = START_MS + 5 * 60_000
    evaluated = alarm(treat="notBreaching", **common)  # type: ignore[arg-type]
    ignored = alarm(treat="notBreaching", evaluate_low_samples=False, **common)  # type: ignore[arg-type]

    assert history(evaluated, store, START_MS, end)[-1].state == State.ALARM
    # Fewer than 10 / (1 - 0.99) = 1,000 samples in a period: the state stays as it was.
    assert history(ignored, store, START_MS, end) == []
    # A period without any sample is missing data, not a low sample: notBreaching says OK.
    assert history(ignored, MetricStore(), START_MS, end)[-1].state == State.OK
    enough = latency_store(1_000, 5_000.0, 5)
    # With 1,000 samples, one slow request is the p99.9, not the p99.
    assert history(ignored, enough, START_MS, end)[-1].state == State.OK


def test_a_math_alarm_divides_only_where_there_are_requests() -> None:
    errors = MetricQuery("errors", ("Test", "Errors", (("service", "s"),)), 60, "Sum")
    requests = MetricQuery("requests", ("Test", "Requests", (("service", "s"),)), 60, "Sum")
    rate = alarm(
        datapoints_to_alarm=3,
        treat="notBreaching",
        threshold=1.0,
        evaluation_periods=5,
        queries=(errors, requests),
        expression="IF(requests > 0, 100 * errors / requests, 0)",
    )
    store = MetricStore()
    # 100 requests a minute; 5 errors in minutes 1, 2 and 4; no requests in minute 3.
    for minute, (count, failed) in enumerate([(100, 0), (100, 5), (100, 5), (0, 0), (100, 5)]):
        store.add(emf(START_MS + minute * 60_000 + 5, float(count), "Requests"))
        store.add(emf(START_MS + minute * 60_000 + 5, float(failed)))
    end = START_MS + 5 * 60_000

    assert history(rate, store, end - 60_000, end)[-1].state == State.ALARM


def test_composite_rules_combine_their_alarms_states() -> None:
    rule = "ALARM(LongWindow) AND (ALARM(ShortWindow) OR NOT OK(Other))"

    assert rule_holds(
        rule, {"LongWindow": State.ALARM, "ShortWindow": State.ALARM, "Other": State.OK}
    )
    assert not rule_holds(
        rule, {"LongWindow": State.ALARM, "ShortWindow": State.OK, "Other": State.OK}
    )
    assert rule_holds(
        rule, {"LongWindow": State.ALARM, "ShortWindow": State.OK, "Other": State.INSUFFICIENT_DATA}
    )
    composite = CompositeAlarm("C", "c", "ALARM(A) AND ALARM(B)")
    changes = composite_history(
        composite,
        {
            "A": [Transition(100, State.ALARM)],
            "B": [
                Transition(50, State.OK),
                Transition(200, State.ALARM),
                Transition(300, State.OK),
            ],
        },
    )
    assert changes == [
        Transition(50, State.OK),
        Transition(200, State.ALARM),
        Transition(300, State.OK),
    ]


def test_every_alarm_of_the_template_is_evaluated_here_but_anomaly_detection() -> None:
    metric_alarms, composites = load_alarms()

    unsupported = {
        alarm.logical_id: alarm.unsupported for alarm in metric_alarms if alarm.unsupported
    }
    assert set(unsupported) == {"TrafficDropAlarm"}
    assert "anomaly-detection" in unsupported["TrafficDropAlarm"]
    assert len(composites) == 4
