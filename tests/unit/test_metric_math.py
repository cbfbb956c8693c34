"""Metric math over local series, with CloudWatch's rules for points and missing data."""

from __future__ import annotations

import pytest

from emulator.metric_data import Aggregate
from emulator.metric_math import Unsupported, evaluate, supported


def test_series_combine_where_both_have_a_point() -> None:
    result = evaluate(
        "100 * errors / requests", {"errors": {1: 5.0, 2: 1.0}, "requests": {1: 50.0}}
    )

    assert result == {1: 10.0}


def test_if_takes_the_branch_per_point_and_division_by_zero_gives_no_point() -> None:
    requests = {1: 10.0, 2: 0.0, 3: 4.0}
    errors = {1: 1.0, 2: 0.0, 3: 1.0}

    assert evaluate("errors / requests", {"errors": errors, "requests": requests}) == {
        1: 0.1,
        3: 0.25,
    }
    assert evaluate(
        "IF(requests > 0, 100 * errors / requests / (100 - 99.9), 0)",
        {"errors": errors, "requests": requests},
    ) == pytest.approx({1: 100.0, 2: 0.0, 3: 250.0})


def test_sum_of_an_array_adds_the_series_present_at_each_point() -> None:
    assert evaluate("SUM([a, b, c])", {"a": {1: 1.0}, "b": {1: 2.0, 2: 5.0}, "c": {}}) == {
        1: 3.0,
        2: 5.0,
    }


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("ANOMALY_DETECTION_BAND(requests, 3)", "ANOMALY_DETECTION_BAND() is not evaluated"),
        ("requests +", "ends too early"),
        ("unknown * 2", "unknown names no metric"),
        ("2 * 3", "must give time series"),
    ],
)
def test_what_is_not_evaluated_says_why(expression: str, reason: str) -> None:
    assert reason in (supported(expression, {"requests"}) or "")
    with pytest.raises(Unsupported):
        evaluate(expression, {"requests": {1: 1.0}})


def test_statistics_of_a_period() -> None:
    aggregate = Aggregate()
    aggregate.add((3.0, 60.0, [(10.0, 1.0), (20.0, 1.0), (30.0, 1.0)]))
    aggregate.add((2.0, 2000.0, [(1000.0, 2.0)]))

    assert aggregate.statistic("Sum") == 2060.0
    assert aggregate.statistic("SampleCount") == 5.0
    assert aggregate.statistic("Average") == 412.0
    assert (aggregate.statistic("Minimum"), aggregate.statistic("Maximum")) == (10.0, 1000.0)
    assert aggregate.statistic("p50") == 30.0
    assert aggregate.statistic("p99") == 1000.0
    with pytest.raises(ValueError, match="TM99"):
        aggregate.statistic("TM99")
