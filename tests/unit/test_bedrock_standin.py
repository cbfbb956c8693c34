"""The emulator's Bedrock Runtime stand-in, through a real botocore ``bedrock-runtime`` client:
Converse's wire protocol both ways, the stated token rule, and every fault raised as the
exception botocore raises for Bedrock's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from emulator.bedrock import DEFAULT_MODEL, BedrockRuntime, Fault, tokens

HELLO = [{"role": "user", "content": [{"text": "Hello there, stand-in"}]}]


@pytest.fixture(scope="module")
def runtime() -> Iterator[BedrockRuntime]:
    started = BedrockRuntime(ms_per_output_token=0).start()
    yield started
    started.stop()


@pytest.fixture
def client(runtime: BedrockRuntime) -> Iterator[Any]:
    yield botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=runtime.url,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 -- the stand-in checks no signature
        config=Config(retries={"total_max_attempts": 1}, read_timeout=1, connect_timeout=1),
    )
    runtime.faults.clear()


def test_converse_answers_in_botocores_shape(runtime: BedrockRuntime, client: Any) -> None:
    response = client.converse(
        modelId=DEFAULT_MODEL,
        system=[{"text": "Be brief."}],
        messages=HELLO,
        inferenceConfig={"maxTokens": 100, "temperature": 0.5},
    )

    (block,) = response["output"]["message"]["content"]
    text = block["text"]
    assert response["output"]["message"]["role"] == "assistant"
    assert text.startswith("This is the local Bedrock stand-in. Your message had 3 words")
    assert "Hello" not in text  # derived from the prompt, never quoting it
    assert response["stopReason"] == "end_turn"
    assert response["usage"] == {
        "inputTokens": tokens("Be brief.") + tokens("Hello there, stand-in"),
        "outputTokens": tokens(text),
        "totalTokens": tokens("Be brief.") + tokens("Hello there, stand-in") + tokens(text),
    }
    assert response["metrics"]["latencyMs"] >= 0
    call = runtime.conversed[-1]
    assert (call.model_id, call.roles, call.system_blocks, call.signed) == (
        DEFAULT_MODEL,
        ("user",),
        1,
        True,
    )


def test_the_token_rule_is_one_per_started_four_characters() -> None:
    assert [tokens(text) for text in ("", "a", "abcd", "abcde", "x" * 400)] == [0, 1, 1, 2, 100]


def test_max_tokens_and_stop_sequences_cut_the_reply(client: Any) -> None:
    cut = client.converse(modelId=DEFAULT_MODEL, messages=HELLO, inferenceConfig={"maxTokens": 3})
    stopped = client.converse(
        modelId=DEFAULT_MODEL, messages=HELLO, inferenceConfig={"stopSequences": ["stand-in"]}
    )

    assert (cut["stopReason"], cut["usage"]["outputTokens"]) == ("max_tokens", 3)
    assert cut["output"]["message"]["content"][0]["text"] == "This is the "
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["output"]["message"]["content"][0]["text"] == "This is the local Bedrock "


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        (Fault.THROTTLE, "ThrottlingException", 429),
        (Fault.TIMEOUT, "ModelTimeoutException", 408),
        (Fault.DENY, "AccessDeniedException", 403),
        (Fault.FAIL, "ModelErrorException", 424),
    ],
)
def test_faults_raise_bedrocks_exceptions(
    runtime: BedrockRuntime, client: Any, fault: Fault, code: str, status: int
) -> None:
    runtime.inject(DEFAULT_MODEL, fault)

    with pytest.raises(getattr(client.exceptions, code)) as raised:
        client.converse(modelId=DEFAULT_MODEL, messages=HELLO)

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert raised.value.response["Error"]["Message"]


def test_a_hanging_model_is_a_read_timeout(runtime: BedrockRuntime, client: Any) -> None:
    runtime.inject(DEFAULT_MODEL, Fault.HANG)

    with pytest.raises(ReadTimeoutError):
        client.converse(modelId=DEFAULT_MODEL, messages=HELLO)


@pytest.mark.parametrize(
    ("model_id", "parameters", "message"),
    [
        ("amazon.titan-nope-v1:0", {}, "The provided model identifier is invalid."),
        (
            DEFAULT_MODEL,
            {"messages": [{"role": "assistant", "content": [{"text": "Hi"}]}]},
            "must alternate between user and assistant roles",
        ),
        (
            DEFAULT_MODEL,
            {"messages": [{"role": "user", "content": [{"text": "  "}]}]},
            "is blank",
        ),
        (DEFAULT_MODEL, {"inferenceConfig": {"temperature": 1.5}}, "temperature must be"),
        (DEFAULT_MODEL, {"inferenceConfig": {"topP": 1.5}}, "topP must be"),
    ],
)
def test_requests_bedrock_refuses_are_validation_exceptions(
    client: Any, model_id: str, parameters: dict[str, Any], message: str
) -> None:
    with pytest.raises(client.exceptions.ValidationException) as raised:
        client.converse(modelId=model_id, **{"messages": HELLO, **parameters})

    assert message in raised.value.response["Error"]["Message"]
