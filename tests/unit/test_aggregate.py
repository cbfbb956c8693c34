"""Aggregation per minute and dimension set, and the EMF documents it becomes."""

from __future__ import annotations

from log_processor import metrics as m
from log_processor.aggregate import (
    MAX_VALUES,
    Aggregates,
    histogram,
    minute_of,
    publishable_minutes,
)

MINUTE = 1_795_582_200_000
ROUTE = ("svc", "prod", "GET /v2")


def test_minute_of_truncates_to_the_minute() -> None:
    assert minute_of(MINUTE + 59_999) == MINUTE
    assert minute_of(MINUTE + 60_000) == MINUTE + 60_000


def test_publishable_minutes_are_cloudwatchs_window_less_five_minutes_each_side() -> None:
    now = MINUTE + 30_000
    # 14 days = 1,209,600,000 ms; 2 hours = 7,200,000 ms; 5 minutes = 300,000 ms.
    assert publishable_minutes(now) == (1_794_372_930_000, 1_795_589_130_000)


def test_histogram_is_exact_in_whole_units_below_the_precision() -> None:
    assert histogram([41.0, 41.2, 999.4, 3.0], 3) == [(3.0, 1), (41.0, 2), (999.0, 1)]


def test_histogram_keeps_significant_digits_of_each_value() -> None:
    # A slow outlier does not blur the fast requests of the same minute.
    assert histogram([12_345.0, 12_301.0, 420.0, 29.0, 29_000.0], 3) == [
        (29, 1),
        (420, 1),
        (12_300.0, 2),
        (29_000.0, 1),
    ]


def test_counts_sum_and_share_a_document_per_minute_and_dimension_set() -> None:
    aggregates = Aggregates()
    for _ in range(3):
        aggregates.count(MINUTE, m.REQUESTS, (*ROUTE, "2xx"))
    aggregates.count(MINUTE + 60_000, m.REQUESTS, (*ROUTE, "2xx"))
    aggregates.observe(MINUTE, m.LATENCY, ROUTE, [40])
    aggregates.observe(MINUTE, m.INTEGRATION_LATENCY, ROUTE, [30])

    documents = aggregates.documents("NS")

    assert [(d["_aws"]["Timestamp"], d.get("Requests")) for d in documents] == [
        (MINUTE, None),
        (MINUTE, 3),
        (MINUTE + 60_000, 1),
    ]
    latency_doc = documents[0]
    assert latency_doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [list(m.ROUTE)]
    assert {x["Name"] for x in latency_doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "Latency",
        "IntegrationLatency",
    }


def test_distributions_are_value_count_pairs_with_statistics() -> None:
    aggregates = Aggregates()
    aggregates.observe(MINUTE, m.LATENCY, ROUTE, [40, 40, 40, 55, 12])

    (document,) = aggregates.documents("NS")

    assert document["Latency"] == {
        "Values": [12.0, 40.0, 55.0],
        "Counts": [1, 3, 1],
        "Max": 55.0,
        "Min": 12.0,
        "Count": 5,
        "Sum": 187.0,
    }


def test_more_distinct_values_than_emf_allows_split_into_documents() -> None:
    aggregates = Aggregates()
    aggregates.count(MINUTE, m.LOG_LINES, ("svc",), 7)
    aggregates.observe(MINUTE, m.DELIVERY_LAG, ("svc",), list(range(250)))

    documents = aggregates.documents("NS")

    assert len(documents) == 3
    assert [len(d["DeliveryLag"]["Values"]) for d in documents] == [MAX_VALUES, MAX_VALUES, 50]
    assert sum(d["DeliveryLag"]["Count"] for d in documents) == 250
    assert [d.get("LogLines") for d in documents] == [7, None, None]
