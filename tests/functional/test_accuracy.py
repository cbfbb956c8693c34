"""The committed model artifacts, through the handler, over each whole dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits, load_iris

from dev_support.lambda_events import load_event, with_body
from tests.functional.conftest import Invoke
from tests.support import LIMITS

MIN_ACCURACY = 0.95
MIN_R2 = 0.4


def answers(invoke: Invoke, model: str, features: np.ndarray, output: str) -> np.ndarray:
    """``output`` for every row of ``features``, in batches of the most rows allowed."""
    event = load_event("infer_iris")
    event = {**event, "path": f"/v2/models/{model}/infer", "pathParameters": {"model_name": model}}
    predicted: list[float] = []
    for start in range(0, len(features), LIMITS.max_batch_rows):
        batch = features[start : start + LIMITS.max_batch_rows]
        body = {
            "inputs": [
                {
                    "name": "input",
                    "shape": list(batch.shape),
                    "datatype": "FP32",
                    "data": batch.ravel().tolist(),
                }
            ],
            "outputs": [{"name": output}],
        }
        result = invoke(with_body(event, body))
        assert result.status == 200, result.body
        predicted.extend(result.body["outputs"][0]["data"])
    return np.asarray(predicted)


@pytest.mark.parametrize(("model", "loader"), [("digits", load_digits), ("iris", load_iris)])
def test_accuracy_over_the_full_dataset(
    invoke: Invoke, model: str, loader: Callable[[], Any]
) -> None:
    bunch = loader()

    predicted = answers(invoke, model, bunch.data, "label")

    accuracy = float(np.mean(predicted == bunch.target))
    print(f"{model}: accuracy {accuracy:.4f} over {len(bunch.target)} rows")
    assert accuracy >= MIN_ACCURACY


def test_regression_r2_over_the_full_dataset(invoke: Invoke) -> None:
    bunch = load_diabetes()

    predicted = answers(invoke, "diabetes", bunch.data, "prediction")

    residual = float(np.sum((bunch.target - predicted) ** 2))
    total = float(np.sum((bunch.target - bunch.target.mean()) ** 2))
    r2 = 1 - residual / total
    print(f"diabetes: R² {r2:.4f} over {len(bunch.target)} rows")
    assert r2 >= MIN_R2
