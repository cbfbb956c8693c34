"""Drift end to end: `make run`'s chain with short windows. Requests of iris rows, the
function's bin counts in its log, the template's drift job run at each window's end
reading them through the CloudWatch Logs stand-in, InputDrift and PredictionDrift in the
metrics, and the drift alarm's condition over consecutive windows.

One request of 1,000 rows a window (MaxBatchRows raised): a request cannot straddle two
windows, however slow the machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_iris

from emulator.alarms import load_alarms
from emulator.template import parameter_default
from tests.e2e.conftest import Running, start_emulator

WINDOW_S = 3.0
ROWS = 1000
PETAL_LENGTH = 2


def send(running: Running, rows: np.ndarray) -> None:
    body = {
        "inputs": [
            {
                "name": "input",
                "shape": list(rows.shape),
                "datatype": "FP32",
                "data": rows.reshape(-1).tolist(),
            }
        ]
    }
    reply = running.client.request("POST", "/v2/models/iris/infer", body)
    assert reply.status == 200, reply.body


def next_window() -> None:
    """Wait for the start of the next window (plus a margin for the clock's reading)."""
    now = time.time()
    time.sleep(WINDOW_S - now % WINDOW_S + 0.05)


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, list[int]]]:
    """Window 1: 1,000 rows drawn from the iris dataset; windows 2-4: the same draw with petal
    length x1.5; window 5: 100 rows, fewer than DriftMinRows."""
    running = start_emulator(
        tmp_path_factory.mktemp("state"),
        {"MaxBatchRows": str(ROWS), "DriftMinRows": "500"},
        drift_window_s=WINDOW_S,
    )
    features = load_iris().data.astype(np.float32)
    rng = np.random.default_rng(17)
    drawn = features[rng.integers(0, len(features), ROWS)]
    shifted = drawn.copy()
    shifted[:, PETAL_LENGTH] *= 1.5
    starts = []
    for rows in (drawn, shifted, shifted, shifted, drawn[:100]):
        next_window()
        starts.append(int(time.time() // WINDOW_S * WINDOW_S * 1000))
        send(running, rows)
    # The last window's run: at its end plus the grace (half a window here).
    deadline = time.monotonic() + 30
    last_end = starts[-1] + int(WINDOW_S * 1000)
    assert running.emulator.drift is not None
    while running.emulator.drift.runs_through_ms < last_end:
        assert time.monotonic() < deadline, "the drift job did not run within 30 s"
        time.sleep(0.2)
    yield running, starts
    running.stop()


def drift_values(running: Running) -> dict[int, dict[str, Any]]:
    """The drift job's documents for iris (per model), by window start."""
    return {
        line["document"]["window_start"]: line["document"]
        for line in running.metrics()
        if line["function"] == "DriftFunction"
        and line["document"].get("model") == "iris"
        and ["service", "model"] in line["document"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    }


def test_rows_drawn_from_the_training_data_do_not_drift(
    windows: tuple[Running, list[int]],
) -> None:
    running, starts = windows

    first = drift_values(running)[starts[0]]

    assert first["rows"] == ROWS
    assert first["InputDrift"] < 0.1
    assert first["PredictionDrift"] < 0.1


def test_petal_length_half_as_long_again_drifts_and_meets_the_alarms_condition(
    windows: tuple[Running, list[int]],
) -> None:
    running, starts = windows
    values = drift_values(running)
    (alarm,) = [a for a in load_alarms()[0] if a.logical_id == "InputDriftAlarm"]

    shifted = [values[start] for start in starts[1:4]]

    assert all(window["InputDrift"] > 0.25 for window in shifted)
    # Petal length is the feature that moved (the baseline's third).
    assert all(
        max(range(4), key=lambda i: float(w["feature_psi"].split(",")[i])) == PETAL_LENGTH
        for w in shifted
    )
    # The alarm's condition, window by window: above its threshold in DatapointsToAlarm
    # consecutive windows (its period is the drift window).
    assert alarm.comparison == "GreaterThanThreshold"
    assert alarm.threshold == parameter_default("InputDriftThreshold")
    above = [w["InputDrift"] > alarm.threshold for w in shifted]
    assert above == [True] * alarm.datapoints_to_alarm
    assert alarm.datapoints_to_alarm == alarm.evaluation_periods == 3


def test_a_window_under_the_minimum_rows_has_no_value_not_zero(
    windows: tuple[Running, list[int]],
) -> None:
    running, starts = windows

    assert starts[4] not in drift_values(running)
    assert set(drift_values(running)) == set(starts[:4])


def test_no_feature_value_leaves_the_function(windows: tuple[Running, list[int]]) -> None:
    running, _ = windows
    log = (running.state_dir / "logs" / "InferenceFunction.log").read_text()
    drift_log = (running.state_dir / "logs" / "DriftFunction.log").read_text()

    # 5.1, 3.5 and 1.4 are in every draw; 2.1 is petal length 1.4 x 1.5.
    for value in ("5.1", "3.5", "1.4", "2.1"):
        assert f"{value}," not in log
        assert f"{value}]" not in log
        assert f"{value}," not in drift_log
