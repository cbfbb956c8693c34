"""Every answer the function gives is one api/openapi.yaml documents, with its schema."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft4Validator

from dev_support.lambda_events import load_event, with_body
from dev_support.paths import EVENTS_DIR
from inference import handler
from tests.bedrock import answering_client, converse_answer, registry_with
from tests.functional.conftest import Invoke
from tests.support import openapi


def documented_schema(resource: str, method: str, status: int) -> dict[str, Any]:
    responses = openapi()["paths"][resource][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {resource} answers {status}, undocumented"
    schema: dict[str, Any] = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


def assert_conforms(event: dict[str, Any], status: int, body: Any) -> None:
    schema = documented_schema(event["resource"], event["httpMethod"], status)
    validator = Draft4Validator({**schema, "components": openapi()["components"]})
    assert list(validator.iter_errors(body)) == [], body


API_EVENTS = sorted(
    path.stem for path in EVENTS_DIR.glob("*.json") if "httpMethod" in load_event(path.stem)
)


@pytest.mark.parametrize("event_name", API_EVENTS)
def test_every_event_is_answered_as_documented(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, event_name: str
) -> None:
    event = load_event(event_name)
    # The chat model's Converse call answered in-process (tests never reach the network).
    monkeypatch.setattr(handler, "REGISTRY", registry_with(answering_client(converse_answer())))

    result = invoke(event)

    assert_conforms(event, result.status, result.body)


@pytest.mark.parametrize(
    "body",
    [
        "{",
        {"inputs": [{"name": "input", "shape": [300, 4], "datatype": "FP32", "data": [1] * 1200}]},
        {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
    ],
)
def test_error_answers_are_documented(invoke: Invoke, body: Any) -> None:
    event = with_body(load_event("infer_iris"), body)

    result = invoke(event)

    assert result.status >= 400
    assert_conforms(event, result.status, result.body)
