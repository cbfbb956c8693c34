"""Golden cases: an infer request each model must answer as its reference did, and the check.

``make train`` writes each bundled model's ``golden.json`` beside its ``metadata.json``: rows
the model was not trained on and the scikit-learn pipeline's answers to them. The package
carries them under ``cases/<model>/<version>/golden.json``. Classes must match exactly;
numbers within the case's ``tolerance``. A check names what differs, never the values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOLDEN_FILE = "golden.json"
CASES_DIR = Path(__file__).resolve().parent / "cases"


class GoldenCaseError(ValueError):
    """A ``golden.json`` that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Expected:
    """One output the answer must carry: exact values, or numbers within ``tolerance``."""

    name: str
    data: tuple[Any, ...]
    tolerance: float | None = None


@dataclass(frozen=True)
class GoldenCase:
    model: str
    version: str
    # The infer request's inputs, as a client sends them.
    inputs: tuple[Mapping[str, Any], ...]
    expected: tuple[Expected, ...]

    @property
    def infer_path(self) -> str:
        """The version's own route: a case holds for the version it was made for."""
        return f"/v2/models/{self.model}/versions/{self.version}/infer"

    def request_body(self) -> str:
        return json.dumps({"inputs": list(self.inputs)}, separators=(",", ":"))


def _fail(source: Path, field: str, problem: str) -> GoldenCaseError:
    return GoldenCaseError(f"{source}: field '{field}' {problem}")


def parse_case(raw: Any, source: Path) -> GoldenCase:
    if not isinstance(raw, dict):
        raise GoldenCaseError(f"{source}: must be a JSON object")
    for field in ("name", "version"):
        if not isinstance(raw.get(field), str) or not raw[field]:
            raise _fail(source, field, "must be a non-empty string")
    inputs = raw.get("inputs")
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, dict) for i in inputs):
        raise _fail(source, "inputs", "must be a non-empty list of tensors")
    expected_raw = raw.get("expected")
    if not isinstance(expected_raw, list) or not expected_raw:
        raise _fail(source, "expected", "must be a non-empty list of outputs")
    expected = []
    for index, item in enumerate(expected_raw):
        where = f"expected[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _fail(source, where, "must be an object with a 'name'")
        if not isinstance(item.get("data"), list) or not item["data"]:
            raise _fail(source, f"{where}.data", "must be a non-empty list")
        tolerance = item.get("tolerance")
        if tolerance is not None and (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, int | float)
            or not tolerance >= 0
        ):
            raise _fail(source, f"{where}.tolerance", "must be a number, 0 or more")
        expected.append(
            Expected(item["name"], tuple(item["data"]), None if tolerance is None else tolerance)
        )
    return GoldenCase(raw["name"], raw["version"], tuple(inputs), tuple(expected))


def load_cases(directory: Path = CASES_DIR) -> tuple[GoldenCase, ...]:
    """Every ``<model>/<version>/golden.json`` under ``directory``, in name order; its folders
    must be the model and version it names."""
    cases = []
    for path in sorted(directory.glob(f"*/*/{GOLDEN_FILE}")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise GoldenCaseError(f"{path}: not a readable JSON file ({error})") from None
        case = parse_case(raw, path)
        if (case.model, case.version) != (path.parent.parent.name, path.parent.name):
            raise GoldenCaseError(
                f"{path}: names {case.model}/{case.version}, but sits in"
                f" {path.parent.parent.name}/{path.parent.name}"
            )
        cases.append(case)
    if not cases:
        raise GoldenCaseError(f"no {GOLDEN_FILE} under {directory}")
    return tuple(cases)


def _same(expected: Any, got: Any, tolerance: float | None) -> bool:
    if tolerance is None:
        return bool(expected == got)
    if isinstance(got, bool) or not isinstance(got, int | float):
        return False
    return math.isfinite(got) and abs(float(got) - float(expected)) <= tolerance


def _differences(expected: Expected, data: Sequence[Any]) -> str | None:
    if len(data) != len(expected.data):
        return f"output '{expected.name}': {len(data)} values, expected {len(expected.data)}"
    wrong = [
        i for i, got in enumerate(data) if not _same(expected.data[i], got, expected.tolerance)
    ]
    if not wrong:
        return None
    within = "exactly" if expected.tolerance is None else f"within {expected.tolerance:g}"
    return (
        f"output '{expected.name}': {len(wrong)} of {len(data)} values differ ({within};"
        f" first at index {wrong[0]})"
    )


def check_answer(case: GoldenCase, status: int, body: bytes | str) -> tuple[str, ...]:
    """What is wrong with an infer answer to ``case``: nothing (an empty tuple) when it holds."""
    if status != 200:
        return (f"answered {status}, expected 200",)
    try:
        answer = json.loads(body)
    except ValueError:
        return ("answered 200 with a body that is not JSON",)
    outputs = answer.get("outputs") if isinstance(answer, dict) else None
    if not isinstance(outputs, list):
        return ("answered 200 without an 'outputs' list",)
    problems = []
    if answer.get("model_version") not in (None, case.version):
        problems.append(f"answered for version {str(answer['model_version'])[:40]!r}")
    by_name = {o.get("name"): o for o in outputs if isinstance(o, dict)}
    for expected in case.expected:
        output = by_name.get(expected.name)
        data = output.get("data") if output is not None else None
        if not isinstance(data, list):
            problems.append(f"output '{expected.name}' is missing")
            continue
        difference = _differences(expected, data)
        if difference is not None:
            problems.append(difference)
    return tuple(problems)
