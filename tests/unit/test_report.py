"""The local metrics report: samples, sums and percentiles as CloudWatch would show them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from emulator.alarms import load_alarms
from emulator.report import Report, Series, main, render, summarise

T0 = 1_795_582_200_000  # 2026-11-25T04:50:00Z
NS = "ModelEndpoint"
ROUTE = "POST /v2/models/{model_name}/infer"
BASE = {"service": "model-endpoint", "stage": "prod", "route": ROUTE}
HEADINGS = ("Traffic", "Errors", "Latency split", "Per model", "Cold starts", "Log pipeline")


def emf(
    name: str,
    value: object,
    *,
    unit: str = "Milliseconds",
    ts: object = T0,
    namespace: str = NS,
    dims: Mapping[str, object] | None = None,
) -> str:
    dimensions = BASE if dims is None else dims
    document = {
        "_aws": {
            "Timestamp": ts,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        **dimensions,
        name: value,
    }
    return json.dumps({"function": "InferenceFunction", "document": document})


def only(report: Report, name: str) -> Series:
    (series,) = [s for s in report.series.values() if s.name == name]
    return series


def stats(series: Series) -> tuple[float, float, float | None, float | None, float | None]:
    p50, p90, p99 = (series.percentile(p) for p in (50, 90, 99))
    return series.count, series.total, p50, p90, p99


def rows(text: str, name: str) -> list[list[str]]:
    """Table rows of one metric, split into cells (cells are separated by 2+ spaces)."""
    return [
        re.split(r"\s{2,}", ln.strip()) for ln in text.splitlines() if ln.startswith(f"  {name} ")
    ]


def test_a_number_is_one_sample() -> None:
    report = summarise([emf("Requests", 3, unit="Count"), emf("Requests", 4, unit="Count")])

    series = only(report, "Requests")
    assert stats(series) == (2, 7, 3, 4, 4)
    assert series.namespace == NS
    assert series.dimensions == (("route", ROUTE), ("service", "model-endpoint"), ("stage", "prod"))
    assert series.units == {"Count"}


def test_each_list_element_is_a_sample() -> None:
    report = summarise([emf("Latency", [5, 1, 4, 2, 3, 10, 9, 8, 7, 6])])

    # Nearest rank over 10 sorted samples: p50 -> 5th, p90 -> 9th, p99 -> ceil(9.9) = 10th.
    assert stats(only(report, "Latency")) == (10, 55, 5, 9, 10)


def test_a_histogram_is_expanded_by_its_counts_and_keeps_its_own_count_and_sum() -> None:
    histogram = {"Values": [30, 10, 20], "Counts": [1, 1, 8], "Min": 9, "Max": 31}
    report = summarise([emf("Latency", {**histogram, "Sum": 201.5, "Count": 10})])

    # Samples 10, 20 x8, 30: p50 -> 5th = 20, p90 -> 9th = 20, p99 -> 10th = 30.
    # The Sum is the document's (values were rounded to build the histogram), not 10+160+30.
    assert stats(only(report, "Latency")) == (10, 201.5, 20, 20, 30)


def test_numbers_lists_and_histograms_of_a_series_merge() -> None:
    lines = [
        emf("Latency", 100),
        emf("Latency", [3, 1, 2], ts=T0 + 60_000),
        emf(
            "Latency", {"Values": [50], "Counts": [6], "Min": 50, "Max": 50, "Sum": 300, "Count": 6}
        ),
    ]

    # Samples 1, 2, 3, 50 x6, 100: p50 -> 5th = 50, p90 -> 9th = 50, p99 -> 10th = 100.
    assert stats(only(summarise(lines), "Latency")) == (10, 406, 50, 50, 100)


@pytest.mark.parametrize(
    ("samples", "p", "expected"),
    [
        ([42.0], 50, 42.0),
        ([42.0], 99, 42.0),
        ([2.0, 1.0], 50, 1.0),  # rank ceil(1.0) = 1
        ([2.0, 1.0], 90, 2.0),  # rank ceil(1.8) = 2
        ([float(v) for v in range(100, 0, -1)], 99, 99.0),
        ([float(v) for v in range(100, 0, -1)], 90, 90.0),
        # 0.07 * 100 is 7.000000000000001 in floating point: the rank must still be 7.
        ([float(v) for v in range(1, 101)], 7, 7.0),
    ],
)
def test_percentiles_use_the_nearest_rank(samples: list[float], p: int, expected: float) -> None:
    series = Series(NS, "Latency", (), samples=[(v, 1.0) for v in samples])

    assert series.percentile(p) == expected


def test_a_series_without_samples_has_no_percentiles() -> None:
    assert Series(NS, "Latency", ()).percentile(50) is None
    assert stats(only(summarise([emf("Latency", [])]), "Latency")) == (0, 0, None, None, None)


def test_the_window_keeps_since_and_excludes_until() -> None:
    lines = [
        emf("Requests", v, unit="Count", ts=T0 + offset)
        for v, offset in [(1, -1), (10, 0), (100, 59_999), (1000, 60_000)]
    ]

    assert only(summarise(lines, T0, T0 + 60_000), "Requests").total == 110
    assert only(summarise(lines, since_ms=T0), "Requests").total == 1110
    assert only(summarise(lines, until_ms=T0), "Requests").total == 1
    assert summarise(lines).documents == 4
    assert summarise(lines, T0 + 1, T0 + 2).series == {}


def test_malformed_lines_are_counted_and_leave_no_trace() -> None:
    good = json.loads(emf("Latency", 5))
    two_metrics = json.loads(emf("Latency", 7))
    two_metrics["document"]["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "Missing"})
    histogram = {"Values": [1, 2], "Counts": [1], "Sum": 1, "Count": 1}
    malformed = [
        "not json",
        "[]",
        json.dumps({"function": "F"}),
        json.dumps({"function": "F", "document": {"Latency": 5}}),
        emf("Latency", 5, ts="2026-11-25T04:50:00Z"),
        emf("Latency", "fast"),
        emf("Latency", True),
        emf("Latency", [1, None]),
        emf("Latency", float("nan")),
        emf("Latency", histogram),
        emf("Latency", 5, dims={"service": "model-endpoint", "code": 5}),  # not a string
        json.dumps(two_metrics),  # its Latency must not be counted either
    ]

    report = summarise(["", *malformed, json.dumps(good), "   \n"])

    assert report.malformed == len(malformed)
    assert report.documents == 1
    assert stats(only(report, "Latency")) == (1, 5, 5, 5, 5)
    assert render(report).rstrip().endswith(f"malformed lines skipped: {len(malformed)}")


def test_each_dimension_set_is_its_own_series() -> None:
    line = json.loads(emf("Latency", [1, 2]))
    line["document"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"].append(["service"])
    no_dims = json.loads(emf("ColdStart", 1, unit="Count"))
    no_dims["document"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = []

    report = summarise([json.dumps(line), json.dumps(no_dims)])

    assert sorted(s.dimensions for s in report.series.values()) == [
        (),
        (("route", ROUTE), ("service", "model-endpoint"), ("stage", "prod")),
        (("service", "model-endpoint"),),
    ]


def test_sections_come_in_order_with_listed_metrics_then_sorted_dimensions() -> None:
    lines = [
        emf("Custom", 1, unit="None"),
        emf("DeliveryLag", 900, dims={"service": "model-endpoint"}),
        emf("ColdStart", 1, unit="Count"),
        emf("PredictionConfidence", 97.5, unit="Percent"),
        emf("IntegrationLatency", 30),
        emf("Latency", 40),
        emf("Errors", 1, unit="Count"),
        *(
            emf("Requests", 1, unit="Count", dims={**BASE, "status_class": c})
            for c in ("5xx", "2xx", "4xx")
        ),
    ]

    text = render(summarise(lines))
    lines_out = text.splitlines()

    assert [ln for ln in lines_out if ln in {*HEADINGS, "Other"}] == [*HEADINGS, "Other"]
    metrics = [
        ln.split()[0]
        for ln in lines_out
        if re.match(r"  [A-Z]\w* ", ln) and "SampleCount" not in ln
    ]
    # Within a section the listed order wins: Latency before IntegrationLatency, not A-Z.
    assert metrics == [
        *("Requests", "Requests", "Requests", "Errors", "Latency", "IntegrationLatency"),
        *("PredictionConfidence", "ColdStart", "DeliveryLag", "Custom"),
    ]
    assert [row[-1].split()[-1] for row in rows(text, "Requests")] == [
        "status_class=2xx",
        "status_class=4xx",
        "status_class=5xx",
    ]


def test_empty_sections_are_left_out() -> None:
    text = render(summarise([emf("Requests", 1, unit="Count")]))

    assert "Traffic" in text.splitlines()
    assert not {*HEADINGS[1:], "Other"} & set(text.splitlines())


def test_a_single_service_is_said_once_and_dimensions_are_compact() -> None:
    text = render(
        summarise([emf("Requests", 2, unit="Count", dims={**BASE, "status_class": "2xx"})])
    )

    assert text.splitlines()[:2] == [f"namespace: {NS}", "service: model-endpoint"]
    assert "service=" not in text
    (row,) = rows(text, "Requests")
    assert row[-1] == f"route={ROUTE} stage=prod status_class=2xx"


def test_several_services_stay_in_the_dimensions() -> None:
    lines = [emf("Latency", 1), emf("Latency", 1, dims={**BASE, "service": "other"})]

    text = render(summarise(lines))

    assert not any(ln.startswith("service:") for ln in text.splitlines())
    assert [row[-1] for row in rows(text, "Latency")] == [
        f"route={ROUTE} service=model-endpoint stage=prod",
        f"route={ROUTE} service=other stage=prod",
    ]


def test_count_sums_are_whole_numbers_and_columns_line_up() -> None:
    lines = [
        emf("Requests", 3, unit="Count"),
        emf("Requests", 4, unit="Count"),
        emf("Latency", [40, 40]),
        emf("InferenceRows", 2.5, unit="Count"),
    ]

    text = render(summarise(lines))

    # Sum and SampleCount of a count; no average (not a rate) and no percentiles of counts.
    assert rows(text, "Requests")[0][1:4] == ["7", "2", "Count"]
    # Sum, SampleCount, Average and percentiles of everything else.
    assert rows(text, "Latency")[0][1:8] == [
        "80.00",
        "2",
        "40.00",
        "40.00",
        "40.00",
        "40.00",
        "Milliseconds",
    ]
    assert rows(text, "InferenceRows")[0][1:3] == ["2.50", "1"]
    table = [ln for ln in text.splitlines() if re.match(r"  [A-Z]\w* |  metric ", ln)]
    starts = {ln.index("dimensions") if "SampleCount" in ln else ln.index("route=") for ln in table}
    assert len(table) == 5  # two sections: a header and their rows each
    assert len(starts) == 1


def test_an_empty_window_says_so() -> None:
    text = render(summarise([]))

    assert "No metrics in this window." in text
    assert "malformed lines skipped: 0" in text


def test_main_reads_the_file_within_the_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(
        "\n".join(emf("Requests", v, unit="Count", ts=T0 + v) for v in (0, 5, 9)) + "\n"
    )

    code = main(
        ["--metrics", str(path), "--since", "2026-11-25T04:50:00.005Z", "--until", str(T0 + 9)]
    )

    assert code == 0
    assert rows(capsys.readouterr().out, "Requests")[0][1:3] == ["5", "1"]
    # A naive ISO-8601 time is UTC.
    assert main(["--metrics", str(path), "--since", "2026-11-25T04:50:00.006"]) == 0
    assert rows(capsys.readouterr().out, "Requests")[0][1:3] == ["9", "1"]


def test_main_rejects_a_time_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--metrics", str(tmp_path / "m.jsonl"), "--since", "yesterday"])

    assert exit_info.value.code == 2


def test_a_missing_file_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "metrics.jsonl"

    assert main(["--metrics", str(missing)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    (message,) = captured.err.splitlines()
    assert str(missing) in message
    assert "make run" in message


def test_runs_as_a_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator.report", "--metrics", str(tmp_path / "none.jsonl")],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "make run" in result.stderr


def test_the_report_says_first_whether_each_session_was_healthy() -> None:
    route = {**BASE}
    lines = [
        json.dumps({"session": {"started_ms": T0}}),
        emf("Requests", 97, unit="Count", dims={**route, "status_class": "2xx"}),
        emf("Requests", 2, unit="Count", dims={**route, "status_class": "4xx"}),
        emf("Requests", 1, unit="Count", dims={**route, "status_class": "5xx"}),
        emf("Latency", {"Values": [10, 500], "Counts": [99, 1], "Sum": 1490, "Count": 100}),
        json.dumps({"session": {"started_ms": T0 + 120_000}}),
        emf("Requests", 10, unit="Count", ts=T0 + 130_000, dims={**route, "status_class": "2xx"}),
    ]

    text = render(summarise(lines))
    summary = text[: text.index("Traffic")]

    assert summary.count("make run session from") == 2
    first, second = summary.split("make run session from")[1:]
    assert "requests 100, availability 99.00 %, 4xx 2.00 %, 5xx 1.00 %" in first
    assert f"route {ROUTE}: p50 10.00 ms, p99 10.00 ms (100 requests)" in first
    assert "requests 10, availability 100.00 %" in second
    # The session marker is not a metric, and not malformed either.
    assert "malformed lines skipped: 0" in text


def test_a_session_holds_the_metrics_of_the_minute_it_started_in() -> None:
    # The log processor stamps a minute's aggregates with the minute's start.
    lines = [
        json.dumps({"session": {"started_ms": T0 + 42_000}}),
        emf("Requests", 5, unit="Count", ts=T0, dims={**BASE, "status_class": "2xx"}),
    ]

    text = render(summarise(lines))

    assert "make run session from 2026-11-25T04:50:42Z\n  requests 5," in text


def test_a_window_opening_during_a_session_summarises_that_session_too() -> None:
    lines = [
        json.dumps({"session": {"started_ms": T0 - 600_000}}),
        emf("Requests", 3, unit="Count", ts=T0, dims={**BASE, "status_class": "2xx"}),
        json.dumps({"session": {"started_ms": T0 + 120_000}}),
        emf("Requests", 4, unit="Count", ts=T0 + 120_000, dims={**BASE, "status_class": "5xx"}),
    ]

    text = render(summarise(lines, since_ms=T0 - 60_000))

    assert "a session under way at 2026-11-25T04:50:00Z\n  requests 3," in text
    assert "make run session from 2026-11-25T04:52:00Z\n  requests 4, availability 0.00 %" in text


def test_aws_services_metrics_get_a_section_each_after_the_projects_and_stay_out_of_health() -> (
    None
):
    stage = {"ApiName": "local-api", "Stage": "prod"}
    function = {"FunctionName": "InferenceFunction"}
    lines = [
        emf("Requests", 3, unit="Count", dims={**BASE, "status_class": "2xx"}),
        emf("Count", 1, unit="Count", namespace="AWS/ApiGateway", dims=stage),
        emf("5XXError", 1, unit="Count", namespace="AWS/ApiGateway", dims=stage),
        emf("5XXError", 0, unit="Count", namespace="AWS/ApiGateway", dims=stage),
        emf("Latency", 80, namespace="AWS/ApiGateway", dims=stage),
        emf("ConcurrentExecutions", 2, unit="Count", namespace="AWS/Lambda", dims=function),
        emf("ConcurrentExecutions", 4, unit="Count", namespace="AWS/Lambda", dims=function),
    ]

    text = render(summarise(lines))

    headings = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert headings[-4:] == [
        "Traffic",
        "AWS/ApiGateway",
        "AWS/Lambda",
        "malformed lines skipped: 0",
    ]
    # Our namespace is still the one said once at the top.
    assert text.startswith(f"namespace: {NS}\n")
    # Only our access-log metrics judge health: 3 requests, not 4 or 6.
    assert "requests 3, availability 100.00 %" in text
    # 5XXError's Average is the error rate; a concurrency's percentiles are meaningful.
    assert rows(text, "5XXError")[0][1:4] == ["1", "2", "0.50"]
    assert rows(text, "ConcurrentExecutions")[0][1:7] == [
        "6.00",
        "2",
        "3.00",
        "2.00",
        "4.00",
        "4.00",
    ]


def drift_document(start: int, model: str, input_drift: float, prediction_drift: float) -> str:
    document = {
        "_aws": {
            "Timestamp": start + 125_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": NS,
                    "Dimensions": [["service", "model"], ["service"]],
                    "Metrics": [
                        {"Name": "InputDrift", "Unit": "None"},
                        {"Name": "PredictionDrift", "Unit": "None"},
                    ],
                }
            ],
        },
        "service": "model-endpoint",
        "model": model,
        "model_version": "1",
        "window_start": start,
        "window_end": start + 60_000,
        "rows": 1000,
        "InputDrift": input_drift,
        "PredictionDrift": prediction_drift,
    }
    return json.dumps({"function": "DriftFunction", "document": document})


def test_the_drift_section_lists_each_window_and_what_is_above_the_alarms_threshold() -> None:
    lines = [
        drift_document(T0, "iris", 0.0197, 0.0021),
        drift_document(T0 + 60_000, "iris", 4.0327, 0.446),
    ]

    text = render(summarise(lines), load_alarms())

    assert "Drift (per window: largest PSI of a feature, PSI of the predictions)" in text
    assert "  InputDrift alarm: above 0.2 in 3 consecutive windows" in text
    assert (
        "  2026-11-25T04:50:00Z .. 2026-11-25T04:51:00Z  iris v1  rows 1000"
        "  InputDrift 0.0197  PredictionDrift 0.0021\n"
    ) in text
    assert (
        "  2026-11-25T04:51:00Z .. 2026-11-25T04:52:00Z  iris v1  rows 1000"
        "  InputDrift 4.0327 ABOVE  PredictionDrift 0.4460 ABOVE\n"
    ) in text
    # And the series, in their own section of the table.
    table = text.split("\nDrift\n")[1]
    # Per model and all models together: two windows each, their sum 0.0197 + 4.0327.
    assert [row[:3] for row in rows(table, "InputDrift")] == [["InputDrift", "4.05", "2"]] * 2


def test_the_canary_has_a_section_with_each_models_runs_passes_and_share() -> None:
    model = {"service": "model-endpoint", "model": "iris"}
    lines = [
        emf("Requests", 1, unit="Count"),
        *(emf("CanarySuccess", ok, unit="Count", dims=model) for ok in (1, 1, 0, 1)),
        *(emf("CanaryLatency", ms, dims=model) for ms in (10, 20, 30, 40)),
    ]

    text = render(summarise(lines))

    headings = [ln for ln in text.splitlines() if ln and not ln.startswith(" ")]
    assert headings[-2:] == ["Canary", "malformed lines skipped: 0"]
    # Sum: runs passed; SampleCount: runs; Average: the share passed.
    ((name, total, runs, share, *_),) = rows(text, "CanarySuccess")
    assert (name, total, runs, share) == ("CanarySuccess", "3", "4", "0.75")
    ((*_, p50, _, p99, unit, dims),) = rows(text, "CanaryLatency")
    assert (p50, p99, unit, dims) == ("20.00", "40.00", "Milliseconds", "model=iris")
