"""OpenAI's chat completions, as its clients send and read them: the request read strictly
into a ``ChatRequest``, the reply written as a ``chat.completion``.

What a chat model here cannot honour is refused with a 400 naming the field, rather than
ignored: tools, several choices, log probabilities, penalties, a seed, a JSON response
format, audio. ``stream: true`` is refused too: the function answers once, when the whole
reply is there (the README says what streaming would take). Fields that change nothing of
the reply (``user``, ``metadata``, ``store``, ...) are accepted and not read. Nothing here
logs, and no message quotes the conversation's text.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .backends import ChatRequest, ChatResult, ChatTurn
from .errors import BadRequest, clip
from .metadata import ModelMetadata
from .protocol import parse_json, read_body
from .settings import Limits

OWNER = "model-endpoint"
# OpenAI's limit on stop sequences.
MAX_STOP_SEQUENCES = 4
STREAMING_REFUSED = (
    "stream: streaming is not offered yet: this endpoint answers once the whole completion"
    " is ready; send stream=false or leave it out (README, 'LLM endpoints', says why)"
)
# Fields read below.
READ = frozenset(
    {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop"}
)
# Fields that change nothing of the reply: accepted, not read.
IGNORED = frozenset(
    {"user", "metadata", "store", "service_tier", "parallel_tool_calls", "stream_options"}
)
# Converse's stop reasons as OpenAI's finish reasons.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
    "tool_use": "tool_calls",
}
SYSTEM_ROLES = frozenset({"system", "developer"})
TURN_ROLES = frozenset({"user", "assistant"})
MESSAGE_FIELDS = frozenset({"role", "content", "name"})


@dataclass(frozen=True)
class ChatCompletionRequest:
    model: str
    chat: ChatRequest


def _unsupported(field: str, value: Any) -> str | None:
    """Why ``field`` with ``value`` cannot be honoured, or None when it can (its default)."""
    defaults_only: dict[str, Any] = {
        "n": (None, 1),
        "logprobs": (None, False),
        "presence_penalty": (None, 0, 0.0),
        "frequency_penalty": (None, 0, 0.0),
        "top_logprobs": (None, 0),
        "tools": (None, []),
        "functions": (None, []),
        "tool_choice": (None, "none"),
        "function_call": (None, "none"),
        "logit_bias": (None, {}),
        "seed": (None,),
        "audio": (None,),
        "prediction": (None,),
        "reasoning_effort": (None,),
        "web_search_options": (None,),
        "modalities": (None, ["text"]),
        "response_format": (None, {"type": "text"}),
    }
    if field not in defaults_only:
        return None if field in READ or field in IGNORED else "is not a chat-completions field"
    # 1 == True in Python: compare types too, so that n=true is not taken for n=1.
    if any(type(value) is type(allowed) and value == allowed for allowed in defaults_only[field]):
        return None
    reasons = {
        "n": "only one choice is generated (n=1)",
        "tools": "tool calls are not offered",
        "functions": "tool calls are not offered",
        "tool_choice": "tool calls are not offered",
        "function_call": "tool calls are not offered",
        "logprobs": "log probabilities are not offered",
        "top_logprobs": "log probabilities are not offered",
        "response_format": "only text responses are offered",
        "modalities": "only text responses are offered",
        "audio": "only text responses are offered",
    }
    return reasons.get(field, "is not offered by this endpoint's models")


def _text_parts(content: Any, where: str) -> tuple[str, ...]:
    if isinstance(content, str):
        return (content,)
    if not isinstance(content, list) or not content:
        raise BadRequest(f"{where}: must be a string or a non-empty list of text parts")
    texts = []
    for index, part in enumerate(content):
        part_where = f"{where}[{index}]"
        if not isinstance(part, dict):
            raise BadRequest(f"{part_where}: must be an object such as {{'type': 'text', ...}}")
        kind = part.get("type")
        if kind != "text":
            raise BadRequest(
                f"{part_where}.type: {clip(str(kind))!r} is not supported; only text parts are"
            )
        unknown = sorted(set(part) - {"type", "text"})
        if unknown:
            raise BadRequest(f"{part_where}.{clip(unknown[0])}: is not supported")
        text = part.get("text")
        if not isinstance(text, str):
            raise BadRequest(f"{part_where}.text: must be a string")
        texts.append(text)
    return tuple(texts)


def _conversation(messages: Any) -> tuple[tuple[str, ...], tuple[ChatTurn, ...]]:
    """System prompts, and the user and assistant turns (consecutive messages of one role
    merged, as Converse wants the roles to alternate)."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: must be a non-empty list of messages")
    system: list[str] = []
    turns: list[ChatTurn] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise BadRequest(f"{where}: must be an object with 'role' and 'content'")
        role = message.get("role")
        if role not in SYSTEM_ROLES | TURN_ROLES:
            raise BadRequest(
                f"{where}.role: {clip(str(role))!r} is not supported; use system, user or"
                " assistant (tool calls are not offered)"
            )
        unknown = sorted(set(message) - MESSAGE_FIELDS)
        if unknown:
            raise BadRequest(f"{where}.{clip(unknown[0])}: is not supported")
        if "content" not in message or message["content"] is None:
            raise BadRequest(f"{where}.content: is missing")
        texts = _text_parts(message["content"], f"{where}.content")
        if role in SYSTEM_ROLES:
            system.extend(texts)
        elif turns and turns[-1].role == role:
            turns[-1] = ChatTurn(str(role), turns[-1].texts + texts)
        else:
            turns.append(ChatTurn(str(role), texts))
    if not turns or turns[0].role != "user":
        raise BadRequest(
            "messages: after any system messages, the conversation must start with a user message"
        )
    return tuple(system), tuple(turns)


def _number(document: Mapping[str, Any], field: str, low: float, high: float) -> float | None:
    value = document.get(field)
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        raise BadRequest(f"{field}: must be a number from {low:g} to {high:g}")
    return float(value)


def _max_tokens(document: Mapping[str, Any]) -> int | None:
    found: dict[str, int] = {}
    for field in ("max_completion_tokens", "max_tokens"):
        value = document.get(field)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise BadRequest(f"{field}: must be a positive integer")
        found[field] = value
    if len(set(found.values())) > 1:
        raise BadRequest("max_tokens and max_completion_tokens differ: send one of them")
    return next(iter(found.values()), None)


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    sequences = [value] if isinstance(value, str) else value
    if (
        not isinstance(sequences, list)
        or len(sequences) > MAX_STOP_SEQUENCES
        or not all(isinstance(item, str) and item for item in sequences)
    ):
        raise BadRequest(
            f"stop: must be a non-empty string or a list of up to {MAX_STOP_SEQUENCES} of them"
        )
    return tuple(sequences)


def parse_chat_request(document: Any) -> ChatCompletionRequest:
    """A chat-completions request, read strictly; every refusal names its field."""
    if not isinstance(document, dict):
        raise BadRequest("request body must be a JSON object: a chat-completions request")
    if document.get("stream") not in (None, False):
        raise BadRequest(STREAMING_REFUSED)
    for field in sorted(document):
        if field == "stream":
            continue
        reason = _unsupported(field, document[field])
        if reason is not None:
            raise BadRequest(f"{clip(field)}: {reason}")
    model = document.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: must be the name of a chat model (GET /v1/models lists them)")
    system, turns = _conversation(document.get("messages"))
    return ChatCompletionRequest(
        model=model,
        chat=ChatRequest(
            system=system,
            turns=turns,
            max_tokens=_max_tokens(document),
            temperature=_number(document, "temperature", 0, 2),
            top_p=_number(document, "top_p", 0, 1),
            stop=_stop(document.get("stop")),
        ),
    )


def decode_chat_request(
    body: str | None, is_base64_encoded: bool, limits: Limits
) -> ChatCompletionRequest:
    """The request's body (within MaxBodyBytes, valid JSON) read as a chat request."""
    raw = read_body(body, is_base64_encoded, limits.max_body_bytes)
    return parse_chat_request(parse_json(raw))


def completion(
    request_id: str, model: ModelMetadata, result: ChatResult, created: int | None = None
) -> dict[str, Any]:
    """The ``chat.completion`` OpenAI's clients read."""
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model.name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text, "refusal": None},
                "finish_reason": finish_reason(result.stop_reason),
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": result.input_tokens,
            "completion_tokens": result.output_tokens,
            "total_tokens": result.input_tokens + result.output_tokens,
        },
    }


def finish_reason(stop_reason: str) -> str:
    return FINISH_REASONS.get(stop_reason, "stop")


def model_list(models: Iterable[ModelMetadata]) -> dict[str, Any]:
    """``GET /v1/models``: OpenAI's list of models, the chat models served."""
    return {
        "object": "list",
        "data": [
            {"id": model.name, "object": "model", "created": 0, "owned_by": OWNER}
            for model in models
        ],
    }
