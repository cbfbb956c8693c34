"""Golden cases: the files make train writes, and the check the canary and the hook share."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from canary.golden import (
    CASES_DIR,
    Expected,
    GoldenCase,
    GoldenCaseError,
    check_answer,
    load_cases,
    parse_case,
)
from dev_support.paths import MODELS_DIR
from inference.metadata import read_metadata

IRIS = GoldenCase(
    "iris",
    "1",
    ({"name": "input", "datatype": "FP32", "shape": [2, 4], "data": [0.0] * 8},),
    (Expected("label", (0, 2)),),
)
REGRESSION = GoldenCase(
    "diabetes",
    "1",
    ({"name": "input", "datatype": "FP32", "shape": [2, 10], "data": [0.0] * 20},),
    (Expected("prediction", (100.0, 200.0), tolerance=0.01),),
)


def answer(name: str, data: list[Any], version: str = "1") -> str:
    return json.dumps(
        {"model_name": "m", "model_version": version, "outputs": [{"name": name, "data": data}]}
    )


def test_classes_must_match_exactly() -> None:
    assert check_answer(IRIS, 200, answer("label", [0, 2])) == ()
    assert check_answer(IRIS, 200, answer("label", [0, 1])) == (
        "output 'label': 1 of 2 values differ (exactly; first at index 1)",
    )


def test_regressions_hold_within_their_tolerance_and_no_further() -> None:
    assert check_answer(REGRESSION, 200, answer("prediction", [100.009, 199.991])) == ()
    assert check_answer(REGRESSION, 200, answer("prediction", [100.02, 200.0])) == (
        "output 'prediction': 1 of 2 values differ (within 0.01; first at index 0)",
    )


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (404, '{"error": "model not found"}', "answered 404, expected 200"),
        (200, "<html>", "answered 200 with a body that is not JSON"),
        (200, '{"model_name": "iris"}', "answered 200 without an 'outputs' list"),
        (200, answer("probabilities", [0.1, 0.9]), "output 'label' is missing"),
        (200, answer("label", [0]), "output 'label': 1 values, expected 2"),
        (200, answer("label", [0, 2], version="2"), "answered for version '2'"),
    ],
)
def test_every_other_answer_fails_and_says_why(status: int, body: str, problem: str) -> None:
    assert problem in check_answer(IRIS, status, body)


@pytest.mark.parametrize("value", [None, "100.0", True, float("nan"), float("inf")])
def test_a_regression_output_that_is_not_a_finite_number_fails(value: Any) -> None:
    assert check_answer(REGRESSION, 200, answer("prediction", [value, 200.0]))


def test_the_request_is_the_cases_inputs_on_its_versions_route() -> None:
    assert IRIS.infer_path == "/v2/models/iris/versions/1/infer"
    assert json.loads(IRIS.request_body()) == {"inputs": [dict(IRIS.inputs[0])]}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"version": "1", "inputs": [{}], "expected": [{"name": "a", "data": [1]}]}, "name"),
        ({"name": "m", "version": "1", "inputs": [], "expected": []}, "inputs"),
        ({"name": "m", "version": "1", "inputs": [{}], "expected": []}, "expected"),
        ({"name": "m", "version": "1", "inputs": [{}], "expected": [{"data": [1]}]}, "expected[0]"),
        (
            {"name": "m", "version": "1", "inputs": [{}], "expected": [{"name": "a", "data": []}]},
            "expected[0].data",
        ),
        (
            {
                "name": "m",
                "version": "1",
                "inputs": [{}],
                "expected": [{"name": "a", "data": [1], "tolerance": -1}],
            },
            "expected[0].tolerance",
        ),
    ],
)
def test_a_golden_file_is_read_strictly(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(GoldenCaseError, match=re.escape(f"x.json: field '{field}'")):
        parse_case(raw, Path("x.json"))


def test_a_golden_file_must_sit_in_its_models_folders(tmp_path: Path) -> None:
    folder = tmp_path / "iris" / "2"
    folder.mkdir(parents=True)
    raw = {"name": "iris", "version": "1", "inputs": [{}], "expected": [{"name": "a", "data": [0]}]}
    (folder / "golden.json").write_text(json.dumps(raw))

    with pytest.raises(GoldenCaseError, match="names iris/1, but sits in iris/2"):
        load_cases(tmp_path)
    with pytest.raises(GoldenCaseError, match=r"no golden\.json"):
        load_cases(tmp_path / "empty")


def test_the_canary_carries_the_golden_file_of_every_bundled_model() -> None:
    bundled = sorted(path.relative_to(MODELS_DIR) for path in MODELS_DIR.glob("*/*/golden.json"))
    carried = sorted(path.relative_to(CASES_DIR) for path in CASES_DIR.glob("*/*/golden.json"))

    assert (
        bundled == carried == [Path(m, "1", "golden.json") for m in ("diabetes", "digits", "iris")]
    )
    for path in carried:
        assert (CASES_DIR / path).read_bytes() == (MODELS_DIR / path).read_bytes()


@pytest.mark.parametrize("case", load_cases(), ids=lambda case: case.model)
def test_each_golden_case_fits_its_models_metadata(case: GoldenCase) -> None:
    metadata = read_metadata(MODELS_DIR / case.model / case.version / "metadata.json")
    (tensor,) = case.inputs
    (declared,) = metadata.inputs

    assert (tensor["name"], tensor["datatype"]) == (declared.name, declared.datatype)
    rows, features = tensor["shape"]
    assert len(tensor["data"]) == rows * features
    assert features == declared.shape[1]
    for expected in case.expected:
        assert expected.name in metadata.output_names
        assert len(expected.data) == rows
    if metadata.labels:
        # Classifiers: every class, exactly.
        (label,) = case.expected
        assert label.tolerance is None
        assert sorted(set(label.data)) == list(range(len(metadata.labels)))
    else:
        (prediction,) = case.expected
        assert prediction.tolerance == 0.01
