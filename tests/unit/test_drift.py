"""Drift: bins, the population stability index against hand-computed values, the counts a
request writes and the drift job reads back, and windows.

PSI = sum((a - e) * ln(a / e)) over bins of window shares ``a`` and baseline shares ``e``;
a share of 0 counts as 0.0001 on either side (EMPTY_SHARE).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dev_support.paths import MODELS_DIR
from inference.drift import (
    Baseline,
    FeatureBaseline,
    PredictionBaseline,
    RequestCounts,
    bin_counts,
    class_counts,
    compute_baseline,
    count_request,
    encode_counts,
    encode_request,
    quantile_edges,
)
from inference.metadata import MetadataError, parse_metadata, read_metadata
from log_processor.drift import EMPTY_SHARE, decode_counts, psi, window_counts, window_of


def test_psi_of_shifted_shares_is_the_hand_computed_sum() -> None:
    # Window 50/30/20 rows against 0.4/0.4/0.2:
    # (0.5-0.4)ln(0.5/0.4) + (0.3-0.4)ln(0.3/0.4) + 0 = 0.1*0.2231436 + 0.1*0.2876821
    assert psi([50, 30, 20], [0.4, 0.4, 0.2]) == pytest.approx(0.0510826, abs=1e-7)


def test_an_empty_window_bin_counts_as_one_in_ten_thousand() -> None:
    # Window 0/60/40 against 0.2/0.5/0.3: the empty bin is 0.0001,
    # (0.0001-0.2)ln(0.0001/0.2) = -0.1999 * -7.6009025 = 1.5194204,
    # plus 0.1*ln(1.2) = 0.0182322 and 0.1*ln(4/3) = 0.0287682.
    assert EMPTY_SHARE == 0.0001
    assert psi([0, 60, 40], [0.2, 0.5, 0.3]) == pytest.approx(1.5664208, abs=1e-6)


def test_a_bin_empty_on_both_sides_adds_nothing() -> None:
    assert psi([0, 100], [0.0, 1.0]) == 0.0
    assert psi([0, 50, 50], [0.0, 0.5, 0.5]) == 0.0


def test_a_bin_training_never_filled_adds_a_large_finite_term() -> None:
    # (1 - 0.0001) ln(1 / 0.0001) = 0.9999 * 9.2103404 = 9.2094194, and the other bin
    # (0.0001 - 1) ln(0.0001 / 1) = the same: 18.4188388.
    assert psi([0, 10], [1.0, 0.0]) == pytest.approx(18.4188388, abs=1e-6)


def test_psi_refuses_mismatched_bins_and_no_rows() -> None:
    with pytest.raises(ValueError, match="3 bins against a baseline of 2"):
        psi([1, 2, 3], [0.5, 0.5])
    with pytest.raises(ValueError, match="no rows"):
        psi([0, 0], [0.5, 0.5])


def test_bins_are_closed_below_and_the_outer_ones_open() -> None:
    # Bins: v < 1, 1 <= v < 2, v >= 2.
    values = np.array([-1e9, 0.5, 1.0, 1.5, 2.0, 3.0, 1e9])

    assert bin_counts(values, [1.0, 2.0]) == [2, 2, 3]
    assert bin_counts(values, []) == [7]


def test_an_fp32_value_at_an_edge_falls_in_the_bin_the_edge_opens() -> None:
    # 1.4 is 1.39999998 in FP32, below the float 1.4: compared as FP32 both are the same.
    assert bin_counts(np.array([1.4], dtype=np.float32), [1.4, 1.5]) == [0, 1, 0]


def test_classes_outside_the_baseline_are_not_counted() -> None:
    assert class_counts(np.array([0, 2, 2, 5, -1]), 3) == [1, 0, 2]


def test_quantile_edges_merge_repeated_quantiles_and_never_sit_at_the_minimum() -> None:
    # Deciles of 0..99, as values of the sample (the next one up): 10, 20, ..., 90.
    assert quantile_edges(np.arange(100.0)) == [10.0 * k for k in range(1, 10)]
    # A feature of two values: the deciles up to 80 % are 0, the minimum, the 90 % one is 1.
    assert quantile_edges(np.array([0.0] * 80 + [1.0] * 20)) == [1.0]
    assert quantile_edges(np.zeros(10)) == []


def test_a_baseline_from_a_sample_has_the_training_shares_of_its_bins() -> None:
    features = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)

    baseline = compute_baseline({"input": features}, "label", np.array([0, 0, 1, 1]), classes=3)

    # Deciles 10 %..30 % are the row 1.0, 40 %..60 % 2.0, 70 %..90 % 3.0.
    assert baseline["features"] == [
        {"input": "input", "column": 0, "edges": [1.0, 2.0, 3.0], "shares": [0.25] * 4}
    ]
    assert baseline["prediction"] == {"output": "label", "shares": [0.5, 0.5, 0.0]}
    assert baseline["rows"] == 4


def test_a_regression_baseline_bins_its_predictions() -> None:
    baseline = compute_baseline(
        {"input": np.zeros((10, 1), dtype=np.float32)},
        "prediction",
        np.arange(10, dtype=np.float32),
        classes=None,
    )

    prediction: dict[str, Any] = baseline["prediction"]  # type: ignore[assignment]
    assert prediction["edges"] == [float(k) for k in range(1, 10)]
    assert prediction["shares"] == [0.1] * 10


IRIS_LIKE = Baseline(
    rows=4,
    features=(
        FeatureBaseline("input", 0, (1.0, 2.0), (0.25, 0.5, 0.25)),
        FeatureBaseline("input", 2, (5.0,), (0.5, 0.5)),
    ),
    prediction=PredictionBaseline("label", (0.5, 0.25, 0.25)),
)


def test_a_request_writes_only_bin_numbers_and_row_counts() -> None:
    feeds = {"input": np.array([[0.5, 9.9, 4.0], [1.5, 9.9, 6.0], [1.7, 9.9, 7.0]])}
    outputs = {"label": np.array([2, 0, 2])}

    counts = count_request(IRIS_LIKE, feeds, outputs)
    text = encode_counts(counts)

    assert text == "0,1:2|0,1:2/0,2:2"
    assert "9.9" not in text
    assert "1.5" not in text


def test_the_drift_job_reads_back_what_a_request_wrote() -> None:
    written = RequestCounts(np.array([[0, 3, 0, 1], [5, 0, 0, 0]]), [0, 0, 2])

    read = decode_counts(encode_counts(written))

    assert read.features == ({1: 3, 3: 1}, {0: 5})
    assert read.prediction == {2: 2}
    assert read.rows == 4
    assert decode_counts("2|6|1|9/0").features == ({2: 1}, {6: 1}, {1: 1}, {9: 1})


def _line(model: str, counts: str, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"model": model, "model_version": "1", "drift": counts}
    if baseline is not None:
        line["drift_baseline"] = baseline
    return line


BASELINE_LINE = {"features": [[0.5, 0.5]], "prediction": [0.5, 0.5]}


def test_a_window_sums_its_lines_and_takes_the_baseline_from_any_of_them() -> None:
    lines = [
        (999, _line("m", "0:9/0:9", BASELINE_LINE)),  # before the window: its baseline only
        (1000, _line("m", "0:100,1:100/0:100,1:100")),  # counted before the baseline is seen
        (1500, _line("m", "0:200,1:100/0:150,1:150", BASELINE_LINE)),
        (2000, _line("m", "0:999")),  # the next window
    ]

    counts = window_counts(lines, 1000, 2000)
    (drift,) = counts.drift(min_rows=500)

    # 300/200 rows against 0.5/0.5: 0.1 ln(1.2) - 0.1 ln(0.8) = 0.0405465.
    assert drift.rows == 500
    assert drift.input_drift == pytest.approx(0.0405465, abs=1e-6)
    assert drift.prediction_drift == 0.0
    assert counts.lines == 2


def test_fewer_rows_than_the_minimum_give_no_value_not_zero() -> None:
    lines = [(1000, _line("m", "0:100,1:399/0:499", BASELINE_LINE))]

    (drift,) = window_counts(lines, 1000, 2000).drift(min_rows=500)

    assert drift.rows == 499
    assert drift.input_drift is None
    assert drift.prediction_drift is None


def test_lines_the_function_cannot_have_written_are_refused_and_counted() -> None:
    lines = [
        (1000, _line("m", "0:1,1:1", BASELINE_LINE)),
        (1001, _line("m", "7:1")),  # a bin the baseline does not have
        (1002, _line("m", "0|0")),  # two features against one
        (1003, _line("m", "x")),
        (1004, _line("orphan", "0:600")),  # no baseline anywhere
    ]

    counts = window_counts(lines, 1000, 2000)
    results = counts.drift(min_rows=1)

    assert [(r.model, r.rows) for r in results] == [("m", 2)]
    assert counts.refused == 4


def test_the_window_read_is_the_last_one_closed_before_the_grace() -> None:
    hour = 3_600_000
    assert window_of(10 * hour + 119_000, hour, 120_000) == (8 * hour, 9 * hour)
    assert window_of(10 * hour + 120_000, hour, 120_000) == (9 * hour, 10 * hour)


def test_metadata_refuses_a_baseline_that_does_not_fit_the_model() -> None:
    raw = {
        "name": "m",
        "version": "1",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]}],
        "baseline": {
            "rows": 10,
            "features": [{"input": "input", "column": 0, "edges": [1.0], "shares": [1.0]}],
        },
    }
    with pytest.raises(MetadataError, match=r"'baseline.features\[0\].shares' must hold one share"):
        parse_metadata(raw, "m/1/metadata.json")
    raw["baseline"]["features"][0].update(column=4, shares=[0.5, 0.5])  # type: ignore[index]
    with pytest.raises(MetadataError, match=r"'baseline.features\[0\].column'"):
        parse_metadata(raw, "m/1/metadata.json")
    raw["baseline"]["features"][0]["column"] = 3  # type: ignore[index]
    raw["baseline"]["prediction"] = {"output": "nope", "shares": [1.0]}  # type: ignore[index]
    with pytest.raises(MetadataError, match="'nope' is not one of the model's outputs"):
        parse_metadata(raw, "m/1/metadata.json")
    raw["baseline"]["prediction"] = {"output": "label", "shares": [0.25, 0.75]}  # type: ignore[index]
    baseline = parse_metadata(raw, "m/1/metadata.json").baseline

    assert baseline == Baseline(
        10,
        (FeatureBaseline("input", 3, (1.0,), (0.5, 0.5)),),
        PredictionBaseline("label", (0.25, 0.75)),
    )


def test_a_model_without_baseline_has_none() -> None:
    raw = {
        "name": "m",
        "version": "1",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]}],
    }
    assert parse_metadata(raw, "m/1/metadata.json").baseline is None


@pytest.mark.parametrize("model", ["iris", "digits", "diabetes"])
def test_one_row_is_binned_in_python_exactly_as_numpy_bins_many(model: str) -> None:
    baseline = read_metadata(MODELS_DIR / model / "1" / "metadata.json").baseline
    assert baseline is not None
    rng = np.random.default_rng(3)
    edges = np.array([e for f in baseline.features for e in f.edges], dtype=np.float32)
    for _ in range(50):
        # Values on the edges themselves (where the two ways could part) and between them.
        picked = rng.choice(edges, size=(1, len(baseline.features)))
        jitter = rng.choice([0.0, 0.5, -0.5], size=picked.shape).astype(np.float32)
        feeds = {"input": (picked + jitter).astype(np.float32)}
        watched = baseline.prediction
        assert watched is not None
        if watched.is_classes:  # 0 to 9: iris's classes, and some it does not have
            outputs = {watched.output: rng.integers(0, 10, 1)}
        else:
            outputs = {watched.output: rng.choice(np.asarray(watched.edges, dtype=np.float32), 1)}

        assert encode_request(baseline, feeds, outputs) == encode_counts(
            count_request(baseline, feeds, outputs)
        )
