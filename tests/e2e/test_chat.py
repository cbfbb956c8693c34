"""The chat route through the emulator with the official ``openai`` client: base_url is the
stage's URL + /v1, the API key in default_headers, the function's own botocore Converse call
answered by the emulator's Bedrock stand-in. Afterwards the run's metrics hold the tokens the
answers reported, and the log processor has counted the route; no prompt reached a file."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import openai
import pytest

from emulator.bedrock import DEFAULT_MODEL, Fault, tokens
from tests.e2e.conftest import Running, start_emulator, sums

CHAT_ROUTE = "POST /v1/chat/completions"


def openai_client(run: Running) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{run.emulator.base_url}/v1",
        # The client insists on a key of its own; the gateway reads x-api-key.
        api_key="unused",
        default_headers={"x-api-key": str(run.emulator.api_key)},
        max_retries=0,
        timeout=30,
    )


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Running, dict[str, Any]]:
    """One run: models listed, completions, a stream refused, a throttled model; stopped, so
    that every access-log line is processed before the tests read the state."""
    state = tmp_path_factory.mktemp("state")
    run = start_emulator(state)
    client = openai_client(run)
    marker = f"PROMPT-MARKER-{uuid.uuid4().hex}"
    seen: dict[str, Any] = {"marker": marker, "usage": [], "errors": {}}
    try:
        seen["models"] = [model.id for model in client.models.list()]
        for question in ("What does an API gateway do?", f"Remember {marker} for me."):
            completion = client.chat.completions.create(
                model="chat",
                messages=[
                    {"role": "system", "content": "You answer in one sentence."},
                    {"role": "user", "content": question},
                ],
                max_tokens=200,
            )
            seen.setdefault("completions", []).append(completion)
            seen["usage"].append(completion.usage)
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        seen["errors"]["stream"] = refused.value
        run.emulator.bedrock.inject(DEFAULT_MODEL, Fault.THROTTLE)
        with pytest.raises(openai.RateLimitError) as throttled:
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "hi"}]
            )
        seen["errors"]["throttle"] = throttled.value
        run.emulator.bedrock.inject(DEFAULT_MODEL, None)
    finally:
        run.stop()
    return run, seen


def test_the_models_list_names_the_chat_model(session: tuple[Running, dict[str, Any]]) -> None:
    _, seen = session

    assert seen["models"] == ["chat"]


def test_a_completion_is_the_stand_ins_reply_with_its_usage(
    session: tuple[Running, dict[str, Any]],
) -> None:
    run, seen = session
    completion = seen["completions"][0]

    assert completion.object == "chat.completion"
    assert completion.model == "chat"
    (choice,) = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content.startswith("This is the local Bedrock stand-in.")
    system, question = "You answer in one sentence.", "What does an API gateway do?"
    assert completion.usage.prompt_tokens == tokens(system) + tokens(question)
    assert completion.usage.completion_tokens == tokens(choice.message.content)
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    # The function's own botocore call reached the stand-in, signed, with the mapped request.
    call = run.emulator.bedrock.conversed[0]
    assert (call.model_id, call.roles, call.system_blocks, call.signed) == (
        DEFAULT_MODEL,
        ("user",),
        1,
        True,
    )
    assert call.inference_config == {"maxTokens": 200}


def test_streaming_is_refused_with_a_400_that_says_why(
    session: tuple[Running, dict[str, Any]],
) -> None:
    _, seen = session
    error = seen["errors"]["stream"]

    assert error.status_code == 400
    assert "streaming is not offered yet" in error.response.json()["error"]
    assert error.response.headers["x-amzn-RequestId"] == error.response.json()["request_id"]


def test_a_throttled_model_is_a_429_counted_in_backend_errors(
    session: tuple[Running, dict[str, Any]],
) -> None:
    run, seen = session
    error = seen["errors"]["throttle"]

    assert error.status_code == 429
    assert error.response.json()["error"] == "model backend throttled"
    backend = sums(run.metrics(), "BackendErrors", "model", "error_type")
    assert backend == {("chat", "Throttled"): 1}


def test_token_metrics_sum_to_the_answers_usage(session: tuple[Running, dict[str, Any]]) -> None:
    run, seen = session
    metrics = run.metrics()

    prompt = sum(usage.prompt_tokens for usage in seen["usage"])
    completion = sum(usage.completion_tokens for usage in seen["usage"])
    assert sums(metrics, "InputTokens", "model") == {("chat",): prompt}
    assert sums(metrics, "OutputTokens", "model") == {("chat",): completion}
    assert sums(metrics, "InputTokens", "service")[("model-endpoint",)] == prompt
    costs = sums(metrics, "EstimatedCost", "model")
    assert costs[("chat",)] == pytest.approx((prompt * 0.000035 + completion * 0.00014) / 1000)
    # ModelLatency: the chat model's own series, one value per completion, and no roll-up.
    latency = [line["document"] for line in metrics if line["document"].get("model") == "chat"]
    latency = [document for document in latency if "ModelLatency" in document]
    assert len(latency) == 2
    for document in latency:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["model", "service"]]
        assert 0 < document["ModelLatency"][0] < 5000


def test_the_log_processor_counts_the_chat_route(session: tuple[Running, dict[str, Any]]) -> None:
    run, _ = session
    lines = [line for line in run.access_log() if line["resource"] == "/v1/chat/completions"]

    assert len(lines) == 4
    requests = sums(run.metrics(), "Requests", "route", "status_class")
    assert requests[(CHAT_ROUTE, "2xx")] == 2
    assert requests[(CHAT_ROUTE, "4xx")] == 2
    assert sums(run.metrics(), "Requests", "route")[("GET /v1/models",)] == 1
    errors = sums(run.metrics(), "Errors", "error_source", "error_type")
    assert errors[("backend", "BACKEND_THROTTLED")] == 1
    assert errors[("function", "FUNCTION_4XX")] == 1


def test_no_prompt_reaches_any_file_of_the_state_directory(
    session: tuple[Running, dict[str, Any]],
) -> None:
    run, seen = session
    marker = seen["marker"].encode()
    files = [path for path in Path(run.state_dir).rglob("*") if path.is_file()]

    assert len(files) > 5
    assert [str(path) for path in files if marker in path.read_bytes()] == []
    # The marker did reach the model (its reply counts the message's words).
    assert seen["completions"][1].usage.prompt_tokens > seen["completions"][0].usage.prompt_tokens


def test_bedrock_timeouts_are_the_functions_504_before_the_gateways(tmp_path: Path) -> None:
    # The shortest chat timeout: the gateway waits 15 s, the function 13 s, Converse 11 s.
    run = start_emulator(tmp_path, {"ChatIntegrationTimeoutMs": "15000"})
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    replies = []
    try:
        for fault in (Fault.TIMEOUT, Fault.HANG):
            run.emulator.bedrock.inject(DEFAULT_MODEL, fault)
            started = time.monotonic()
            reply = run.client.request("POST", "/v1/chat/completions", body)
            replies.append((reply, time.monotonic() - started))
    finally:
        run.stop()

    (timed_out, quick), (hung, waited) = replies
    assert (timed_out.status, timed_out.body["error"]) == (504, "model backend timed out")
    assert quick < 5
    assert (hung.status, hung.body["error"]) == (
        504,
        "model backend did not answer within 11000 ms",
    )
    assert 11 <= waited < 15
    # The function's answers, with the request id: not the gateway's INTEGRATION_TIMEOUT.
    assert hung.body["request_id"] == hung.headers["x-amzn-RequestId"]
    log = [json.loads(line) for line in (tmp_path / "logs" / "access.log").read_text().splitlines()]
    assert [(line["status"], line["errorType"]) for line in log] == [("504", "-"), ("504", "-")]
    assert sums(run.metrics(), "BackendErrors", "error_type") == {("Timeout",): 2}
