"""The local dashboard's widgets: CloudWatch's metric rows, SEARCH, math and log queries."""

from __future__ import annotations

from typing import Any

from emulator.dashboard import log_rows, metric_lines
from emulator.metric_data import MetricStore, search_matches

MINUTE = 60_000
START = 1_800_000_000_000 - 1_800_000_000_000 % MINUTE


def emf(minute: int, name: str, value: Any, **dims: str) -> dict[str, Any]:
    return {
        **dims,
        name: value,
        "_aws": {
            "Timestamp": START + minute * MINUTE + 1,
            "CloudWatchMetrics": [
                {"Namespace": "NS", "Dimensions": [sorted(dims)], "Metrics": [{"Name": name}]}
            ],
        },
    }


def store() -> MetricStore:
    metrics = MetricStore()
    for minute in range(3):
        metrics.add(emf(minute, "Requests", 10 + minute, service="s", route="GET /a"))
        metrics.add(emf(minute, "Requests", 1, service="s", route="POST /b"))
        metrics.add(emf(minute, "Latency", [10.0, 20.0, 30.0 * (minute + 1)], service="s"))
    return metrics


def test_search_names_exactly_the_schema_and_terms() -> None:
    keys = list(store().series_keys())

    found = search_matches('{NS,route,service} MetricName="Requests" route="GET /a"', keys)

    assert found == [("NS", "Requests", (("route", "GET /a"), ("service", "s")))]
    assert search_matches('{NS,service} MetricName="Requests"', keys) == []


def test_rows_shorthand_search_and_math_give_the_lines_cloudwatch_draws() -> None:
    properties = {
        "stat": "Sum",
        "period": 60,
        "metrics": [
            ["NS", "Latency", "service", "s", {"stat": "p50", "label": "p50"}],
            ["...", {"stat": "Maximum", "label": "max", "id": "top"}],
            [{"expression": "SEARCH('{NS,route,service} MetricName=\"Requests\"', 'Sum', 60)"}],
            [{"expression": "top - 20", "label": "above 20"}],
        ],
    }

    lines = {
        line.label: line.points
        for line in metric_lines(properties, store(), START, START + 3 * MINUTE)
    }

    assert lines["p50"] == [(START, 20.0), (START + MINUTE, 20.0), (START + 2 * MINUTE, 20.0)]
    assert lines["max"] == [(START, 30.0), (START + MINUTE, 60.0), (START + 2 * MINUTE, 90.0)]
    assert lines["GET /a s"] == [(START, 10.0), (START + MINUTE, 11.0), (START + 2 * MINUTE, 12.0)]
    assert lines["POST /b s"] == [(START, 1.0), (START + MINUTE, 1.0), (START + 2 * MINUTE, 1.0)]
    assert lines["above 20"] == [(START, 10.0), (START + MINUTE, 40.0), (START + 2 * MINUTE, 70.0)]


def test_a_log_widget_query_filters_sorts_and_limits_the_access_log() -> None:
    records = [
        {"requestId": "a", "epochMs": "1", "status": "502"},
        {"requestId": "b", "epochMs": "2", "status": "200"},
        {"requestId": "c", "epochMs": "1796219572430", "status": "504"},
        {"requestId": "d", "epochMs": "4", "status": "-"},
    ]
    query = (
        "SOURCE 'AccessLogGroup' | fields @timestamp, requestId, status"
        " | filter status >= 500 | sort @timestamp desc | limit 1"
    )

    # Times as Logs Insights shows them, in UTC to the millisecond.
    assert log_rows(query, records) == [
        {"@timestamp": "2026-12-02 13:52:52.430", "requestId": "c", "status": "504"}
    ]
