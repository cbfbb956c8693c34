"""Models with several inputs and outputs of the protocol's other datatypes, served through
the handler from a models folder of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dev_support.lambda_events import load_event, with_body
from inference import handler
from inference.model_registry import load_registry
from tests.functional.conftest import Invoke
from tests.models import MIXED_TYPES_METADATA, mixed_types_model, write_model
from tests.support import emitted_metrics


@pytest.fixture
def mixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_model(tmp_path, "mixed", "1", mixed_types_model(), **MIXED_TYPES_METADATA)
    monkeypatch.setattr(handler, "REGISTRY", load_registry(tmp_path))


def infer(inputs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    event = load_event("infer_iris")
    event = {**event, "path": "/v2/models/mixed/infer", "pathParameters": {"model_name": "mixed"}}
    return with_body(event, {"inputs": inputs, **extra})


INPUTS = [
    {"name": "count", "shape": [2, 2], "datatype": "INT32", "data": [[1, 2], [3, 250]]},
    {"name": "mask", "shape": [2, 2], "datatype": "BOOL", "data": [True, False, False, True]},
    {"name": "scale", "shape": [2, 1], "datatype": "FP16", "data": [0.5, 2]},
]


@pytest.mark.usefixtures("mixed")
def test_several_inputs_and_outputs_of_other_datatypes_answer(invoke: Invoke) -> None:
    result = invoke(infer(INPUTS, id="mixed-1"))

    assert result.status == 200, result.body
    assert result.body == {
        "model_name": "mixed",
        "model_version": "1",
        "id": "mixed-1",
        "outputs": [
            {"name": "masked", "datatype": "INT32", "shape": [2, 2], "data": [1, 0, 0, 250]},
            {"name": "scaled", "datatype": "FP16", "shape": [2, 2], "data": [0.5, 1, 6, 500]},
            {
                "name": "negated",
                "datatype": "BOOL",
                "shape": [2, 2],
                "data": [False, True, True, False],
            },
            {"name": "total", "datatype": "UINT8", "shape": [2], "data": [3, 253]},
        ],
    }


@pytest.mark.usefixtures("mixed")
def test_a_model_without_probabilities_writes_no_confidence(invoke: Invoke) -> None:
    result = invoke(infer(INPUTS))

    metrics = emitted_metrics(result.stdout)
    assert metrics["Inferences"][0].values == (1.0,)
    assert "PredictionConfidence" not in metrics


@pytest.mark.usefixtures("mixed")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"name": "count", "data": [[1, 2], [3, 2.5]]},
            "input 'count': data must contain only integers",
        ),
        (
            {"name": "count", "data": [1, 2, 3, 2**31]},
            "input 'count': values must be within INT32 range",
        ),
        (
            {"name": "mask", "data": [1, 0, 0, 1]},
            "input 'mask': data must contain only true or false",
        ),
        (
            {"name": "scale", "data": [1, 1e5]},
            "input 'scale': values must be finite and within FP16 range",
        ),
        (
            {"name": "scale", "datatype": "FP32"},
            "input 'scale' has datatype FP32; the model expects FP16",
        ),
        (
            {"name": "scale", "shape": [3, 1], "data": [1, 2, 3]},
            "all inputs must have the same number of rows",
        ),
    ],
)
def test_each_input_is_checked_against_its_own_datatype(
    invoke: Invoke, change: dict[str, Any], message: str
) -> None:
    inputs = [
        {**tensor, **change} if tensor["name"] == change["name"] else tensor for tensor in INPUTS
    ]

    result = invoke(infer(inputs))

    assert (result.status, result.body["error"]) == (400, message)


@pytest.mark.usefixtures("mixed")
def test_a_missing_input_is_named(invoke: Invoke) -> None:
    result = invoke(infer(INPUTS[:2]))

    assert (result.status, result.body["error"]) == (400, "missing input(s): scale")
