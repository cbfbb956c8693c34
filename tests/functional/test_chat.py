"""The chat routes through the handler: Converse answered by botocore's Stubber (a real
``bedrock-runtime`` client's request validation and answer parsing), the request mapping,
every error mapping, and usage into metrics and the log line, never the text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dev_support.lambda_events import load_event, with_body
from inference import handler, telemetry
from inference.errors import BACKEND_STATUS, BackendErrorType
from tests.bedrock import (
    MODEL_ID,
    MODEL_TIMEOUT,
    answering_client,
    converse_answer,
    error_client,
    failing_client,
    registry_with,
)
from tests.functional.conftest import Invocation, Invoke
from tests.support import emf_blobs, emitted_metrics, log_records, readme_metrics

MARKER = "the-words-of-the-prompt-7f3a"
CONVERSATION = [
    {"role": "system", "content": "You answer in one sentence."},
    {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
    {"role": "user", "content": "What is"},
    {"role": "user", "content": [{"type": "text", "text": f"an API gateway? {MARKER}"}]},
    {"role": "assistant", "content": "A front door."},
    {"role": "user", "content": "And a usage plan?"},
]


@pytest.fixture(autouse=True)
def fresh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # What an environment has already logged is its own: each test starts a new one.
    monkeypatch.setattr(telemetry, "_REPORTED", set())


def serve(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    monkeypatch.setattr(handler, "REGISTRY", registry_with(client))


def chat(body: Any, api_key_id: str | None = "k1default") -> dict[str, Any]:
    event = with_body(load_event("chat_completion"), body)
    event["requestContext"] = {
        **event["requestContext"],
        "identity": {**event["requestContext"]["identity"], "apiKeyId": api_key_id},
    }
    return event


def request(**fields: Any) -> dict[str, Any]:
    return {"model": "chat", "messages": [{"role": "user", "content": "Hello"}], **fields}


def backend_errors(result: Invocation) -> list[dict[str, str]]:
    return [
        dict(emitted.dimension_values)
        for emitted in emitted_metrics(result.stdout).get("BackendErrors", [])
    ]


def test_the_request_maps_to_converse(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        "modelId": MODEL_ID,
        "system": [{"text": "You answer in one sentence."}, {"text": "Be brief."}],
        # Consecutive messages of one role become one turn: Converse alternates roles.
        "messages": [
            {
                "role": "user",
                "content": [{"text": "What is"}, {"text": f"an API gateway? {MARKER}"}],
            },
            {"role": "assistant", "content": [{"text": "A front door."}]},
            {"role": "user", "content": [{"text": "And a usage plan?"}]},
        ],
        "inferenceConfig": {
            "maxTokens": 64,
            "temperature": 0.2,
            "topP": 0.9,
            "stopSequences": ["\n\n"],
        },
    }
    serve(monkeypatch, answering_client(converse_answer(), expected=expected))
    body = {
        "model": "chat",
        "messages": CONVERSATION,
        "max_completion_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": "\n\n",
        "user": "someone",
        "stream": False,
        "n": 1,
    }

    result = invoke(chat(body))

    assert result.status == 200, result.body
    assert result.body["object"] == "chat.completion"
    assert result.body["id"] == "chatcmpl-c6af9ac6-7b61-11e6-9a41-93e8deadbe21"
    assert result.body["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "An API gateway routes requests.",
                "refusal": None,
            },
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert result.body["usage"] == {"prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28}


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("content_filtered", "content_filter"),
        ("guardrail_intervened", "content_filter"),
    ],
)
def test_stop_reasons_are_openais_finish_reasons(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, stop_reason: str, finish_reason: str
) -> None:
    serve(monkeypatch, answering_client(converse_answer(stop_reason=stop_reason)))

    result = invoke(chat(request()))

    assert result.body["choices"][0]["finish_reason"] == finish_reason


def test_usage_becomes_metrics_and_the_log_line_has_counts_not_text(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, answering_client(converse_answer(input_tokens=1200, output_tokens=300)))
    monkeypatch.setattr(
        handler,
        "SETTINGS",
        handler.SETTINGS.__class__(
            **{**handler.SETTINGS.__dict__, "client_api_key_ids": frozenset({"k1default"})}
        ),
    )

    result = invoke(chat({**request(), "messages": CONVERSATION}))

    assert result.status == 200
    metrics = emitted_metrics(result.stdout)
    for name, unit, value in [
        ("InputTokens", "Count", 1200),
        ("OutputTokens", "Count", 300),
        ("Inferences", "Count", 1),
        ("InferenceErrors", "Count", 0),
    ]:
        by_dimensions = {m.dimensions: m for m in metrics[name]}
        assert set(by_dimensions) == {("model", "service"), ("service",)}, name
        assert {(m.unit, m.values) for m in by_dimensions.values()} == {(unit, (value,))}, name
    (cost,) = {m.values[0] for m in metrics["EstimatedCost"]}
    assert cost == pytest.approx((1200 * 0.000035 + 300 * 0.00014) / 1000)
    assert {m.unit for m in metrics["EstimatedCost"]} == {"None"}
    (rate,) = {m.values[0] for m in metrics["OutputTokensPerSecond"]}
    assert rate > 0
    assert {m.unit for m in metrics["OutputTokensPerSecond"]} == {"Count/Second"}
    # The chat model's latency: its own series, no roll-up (the roll-up alarm is ONNX's).
    (latency,) = metrics["ModelLatency"]
    assert latency.dimensions == ("model", "service")
    clients = {dict(m.dimension_values)["token_type"]: m.values for m in metrics["ClientTokens"]}
    assert clients == {"input": (1200,), "output": (300,)}
    assert {m.dimensions for m in metrics["ClientTokens"]} == {("api_key", "service", "token_type")}
    (line,) = [blob for blob in emf_blobs(result.stdout) if "InputTokens" in blob]
    assert (line["api_key_id"], line["total_tokens"], line["finish_reason"]) == (
        "k1default",
        1500,
        "end_turn",
    )
    assert MARKER not in result.stdout + result.stderr
    assert "routes requests" not in result.stdout


def test_keys_not_in_the_allow_list_get_no_client_series(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, answering_client(converse_answer()))

    result = invoke(chat(request(), api_key_id="someone-else"))

    assert result.status == 200
    assert "ClientTokens" not in emitted_metrics(result.stdout)


EXPECTED = {
    BackendErrorType.THROTTLED: (429, "model backend throttled"),
    BackendErrorType.MODEL_ERROR: (502, "model backend failed"),
    BackendErrorType.TIMEOUT: (504, "model backend did not answer within 25000 ms"),
    BackendErrorType.UNAVAILABLE: (502, "model backend unavailable"),
    BackendErrorType.ACCESS_DENIED: (502, "model backend unavailable"),
    BackendErrorType.INVALID_REQUEST: (
        400,
        "model backend refused the request: Malformed input request: temperature must be"
        " between 0 and 1.",
    ),
}


@pytest.mark.parametrize("kind", list(BackendErrorType))
def test_every_bedrock_failure_has_its_status_and_is_counted(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, kind: BackendErrorType
) -> None:
    serve(monkeypatch, failing_client(kind))

    result = invoke(chat(request()))

    assert (result.status, result.body["error"]) == EXPECTED[kind]
    assert result.status == BACKEND_STATUS[kind]
    assert backend_errors(result) == [
        {"service": "model-endpoint", "model": "chat", "error_type": kind.value},
        {"service": "model-endpoint", "error_type": kind.value},
    ]
    (line,) = [blob for blob in emf_blobs(result.stdout) if "InferenceErrors" in blob]
    assert line["InferenceErrors"] == [1.0]
    assert "InputTokens" not in line
    # Bedrock's own wording stays out of the log: it may quote the request.
    assert "temperature must be" not in result.stdout


def test_a_model_timeout_of_bedrock_is_a_504(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, error_client(MODEL_TIMEOUT))

    result = invoke(chat(request()))

    assert (result.status, result.body["error"]) == (504, "model backend timed out")
    assert backend_errors(result)[0]["error_type"] == "Timeout"


def test_access_denied_logs_one_error_per_environment(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, failing_client(BackendErrorType.ACCESS_DENIED, times=2))

    first = invoke(chat(request()))
    second = invoke(chat(request()))

    (error,) = [r for r in log_records(first.stdout) if r["level"] == "ERROR"]
    assert error["error_type"] == "AccessDenied"
    assert "AccessDeniedException" in error["detail"]
    assert MODEL_ID in error["detail"]
    assert [r for r in log_records(second.stdout) if r["level"] == "ERROR"] == []
    assert len(backend_errors(second)) == 2  # the model's series and the roll-up


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools: tool calls"),
        ({"tool_choice": "auto"}, "tool_choice:"),
        ({"n": 2}, "n: only one choice"),
        ({"n": True}, "n: only one choice"),
        ({"logprobs": True}, "logprobs:"),
        ({"top_logprobs": 3}, "top_logprobs:"),
        ({"presence_penalty": 0.5}, "presence_penalty:"),
        ({"frequency_penalty": 1}, "frequency_penalty:"),
        ({"seed": 7}, "seed:"),
        ({"response_format": {"type": "json_object"}}, "response_format: only text"),
        ({"logit_bias": {"50256": -100}}, "logit_bias:"),
        ({"temprature": 0.3}, "temprature: is not a chat-completions field"),
        ({"stream": True}, "stream: streaming is not offered yet"),
        ({"max_tokens": 0}, "max_tokens: must be a positive integer"),
        ({"max_tokens": 10, "max_completion_tokens": 20}, "max_tokens and max_completion_tokens"),
        ({"temperature": 3}, "temperature: must be a number from 0 to 2"),
        ({"top_p": -0.1}, "top_p: must be a number from 0 to 1"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop: must be"),
        ({"model": ""}, "model: must be the name of a chat model"),
        ({"messages": []}, "messages: must be a non-empty list"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role: 'tool'"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages[0].content[0].type: 'image_url' is not supported",
        ),
        ({"messages": [{"role": "user"}]}, "messages[0].content: is missing"),
        (
            {"messages": [{"role": "user", "content": "x", "tool_calls": []}]},
            "messages[0].tool_calls: is not supported",
        ),
        (
            {"messages": [{"role": "assistant", "content": "x"}]},
            "must start with a user message",
        ),
        ({"messages": [{"role": "system", "content": "x"}]}, "must start with a user message"),
    ],
)
def test_what_cannot_be_honoured_is_a_400_naming_the_field(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], named: str
) -> None:
    serve(monkeypatch, answering_client())  # any call would fail: none is made

    result = invoke(chat(request(**fields)))

    assert result.status == 400, result.body
    assert named in result.body["error"]
    assert backend_errors(result) == []


def test_models_lists_the_chat_models_only(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, answering_client())

    result = invoke(load_event("chat_models"))

    assert result.status == 200
    assert result.body == {
        "object": "list",
        "data": [{"id": "chat", "object": "model", "created": 0, "owned_by": "model-endpoint"}],
    }
    assert emf_blobs(result.stdout) == [] or all(
        "Inferences" not in blob for blob in emf_blobs(result.stdout)
    )


@pytest.mark.parametrize(
    ("model", "status", "message"),
    [
        ("nope", 404, "model 'nope' not found"),
        ("iris", 400, "model 'iris' is not a chat model"),
    ],
)
def test_a_model_that_is_not_a_chat_model_is_refused(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, model: str, status: int, message: str
) -> None:
    serve(monkeypatch, answering_client())

    result = invoke(chat(request(model=model)))

    assert (result.status, result.body["error"][: len(message)]) == (status, message)


def test_the_chat_model_refuses_tensors_on_the_infer_route(invoke: Invoke) -> None:
    event = load_event("infer_iris")
    event = {**event, "path": "/v2/models/chat/infer", "pathParameters": {"model_name": "chat"}}

    result = invoke(event)

    assert result.status == 400
    assert "is a chat model" in result.body["error"]
    assert "POST /v1/chat/completions" in result.body["error"]


def test_the_chat_models_metadata_has_no_tensors(invoke: Invoke) -> None:
    event = load_event("model_metadata")
    event = {**event, "path": "/v2/models/chat", "pathParameters": {"model_name": "chat"}}

    result = invoke(event)

    assert result.status == 200
    assert result.body == {
        "name": "chat",
        "versions": ["1"],
        "platform": "bedrock",
        "inputs": [],
        "outputs": [],
    }


def test_an_oversized_body_is_a_413(invoke: Invoke) -> None:
    content = "x" * handler.SETTINGS.limits.max_body_bytes
    result = invoke(chat(json.dumps(request(messages=[{"role": "user", "content": content}]))))

    assert result.status == 413


def test_the_readme_chat_table_is_the_declared_contract() -> None:
    declared = {
        spec.name: (spec.unit.value, tuple(sorted(spec.dimensions)))
        for spec in telemetry.CHAT_CONTRACT
    }

    assert readme_metrics("### Chat metrics") == declared
