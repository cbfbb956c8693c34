"""The committed model artifacts, through the handler, over each whole dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris

from dev_support.lambda_events import load_event, with_body
from tests.functional.conftest import Invoke
from tests.support import LIMITS

MIN_ACCURACY = 0.95


@pytest.mark.parametrize(("model", "loader"), [("digits", load_digits), ("iris", load_iris)])
def test_accuracy_over_the_full_dataset(
    invoke: Invoke, model: str, loader: Callable[[], Any]
) -> None:
    bunch = loader()
    event = load_event("infer_iris")
    event = {**event, "path": f"/v2/models/{model}/infer", "pathParameters": {"model_name": model}}
    predicted: list[int] = []

    for start in range(0, len(bunch.data), LIMITS.max_batch_rows):
        batch = bunch.data[start : start + LIMITS.max_batch_rows]
        body = {
            "inputs": [
                {
                    "name": "input",
                    "shape": list(batch.shape),
                    "datatype": "FP32",
                    "data": batch.ravel().tolist(),
                }
            ],
            "outputs": [{"name": "label"}],
        }
        result = invoke(with_body(event, body))
        assert result.status == 200, result.body
        predicted.extend(result.body["outputs"][0]["data"])

    accuracy = float(np.mean(np.asarray(predicted) == bunch.target))
    print(f"{model}: accuracy {accuracy:.4f} over {len(bunch.target)} rows")
    assert accuracy >= MIN_ACCURACY
