"""Bedrock Runtime's part: Converse on a local port, so the function's own botocore call runs,
to chat models answered here.

The wire protocol is Converse's (botocore's ``bedrock-runtime`` service model, rest-json):
``POST /model/{modelId}/converse`` with the conversation as JSON (``messages``, ``system``,
``inferenceConfig``), answered with ``output.message``, ``stopReason``, ``usage`` and
``metrics.latencyMs``; errors with their code in ``x-amzn-ErrorType``, the status the service
model gives it and a JSON ``message`` (ThrottlingException 429, ModelTimeoutException 408,
AccessDeniedException 403, ValidationException 400, ModelErrorException 424). Signatures are
accepted without being checked. A request is checked as Bedrock checks it: a known model id,
a conversation that starts with a user message and alternates, no blank text, settings in the
model's range (temperature and topP from 0 to 1, as Amazon Nova takes them).

The reply is deterministic and derived from the prompt without quoting it: the last user
message's word and character counts and the start of its SHA-256, so nothing of a prompt can
come back into a response, a log or a test's output. Tokens are counted by one stated rule,
``tokens(text) = ceil(len(text) / 4)`` per text block (one token per started four characters),
summed over the system prompts and every message for ``inputTokens``, over the reply for
``outputTokens``; ``maxTokens`` cuts the reply to that many tokens (``stopReason``
``max_tokens``), a stop sequence cuts it before its first occurrence (``stop_sequence``).

Faults can be injected per model id: ``throttle`` (ThrottlingException), ``timeout``
(ModelTimeoutException), ``hang`` (no answer until the stand-in stops: the caller's read
timeout), ``deny`` (AccessDeniedException, as for a model not enabled), ``fail``
(ModelErrorException).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from .loopback import server_url, start_serving, stop_serving

DEFAULT_MODEL = "amazon.nova-micro-v1:0"
_CONVERSE = re.compile(r"^/model/([^/]+)/converse$")
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
# Simulated generation time, so that ModelLatency and OutputTokensPerSecond have a shape.
MS_PER_OUTPUT_TOKEN = 1.0


class Fault(StrEnum):
    THROTTLE = "throttle"
    TIMEOUT = "timeout"
    HANG = "hang"
    DENY = "deny"
    FAIL = "fail"


def tokens(text: str) -> int:
    """The stand-in's token count of one text block: one per started four characters."""
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class Conversed:
    """What one Converse call asked for: roles and counts, never text."""

    model_id: str
    roles: tuple[str, ...]
    system_blocks: int
    inference_config: dict[str, Any]
    signed: bool


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _validation(message: str) -> Refused:
    return Refused(400, "ValidationException", message)


def _texts(blocks: Any, where: str) -> list[str]:
    if not isinstance(blocks, list) or not blocks:
        raise _validation(f"The {where} field must contain at least one content block.")
    texts = []
    for index, block in enumerate(blocks):
        text = block.get("text") if isinstance(block, dict) else None
        if not isinstance(text, str):
            raise _validation(f"The content block at {where}.{index} is not a text block.")
        if not text.strip():
            raise _validation(
                f"The text field in the ContentBlock object at {where}.{index} is blank."
                " Add text to the text field, and try again."
            )
        texts.append(text)
    return texts


def reply_to(last_user_text: str) -> str:
    """The stand-in's answer: about the message, quoting none of it."""
    digest = hashlib.sha256(last_user_text.encode()).hexdigest()[:8]
    words = len(last_user_text.split())
    return (
        f"This is the local Bedrock stand-in. Your message had {words} words and"
        f" {len(last_user_text)} characters; its SHA-256 begins with {digest}."
    )


@dataclass
class BedrockRuntime:
    """The stand-in: chat models by id, faults injected by id, every call recorded."""

    models: frozenset[str] = frozenset({DEFAULT_MODEL})
    faults: dict[str, Fault] = field(default_factory=dict)
    conversed: list[Conversed] = field(default_factory=list)
    ms_per_output_token: float = MS_PER_OUTPUT_TOKEN
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def inject(self, model_id: str, fault: Fault | None) -> None:
        """From now on, ``model_id`` fails with ``fault`` (None: answers again)."""
        if fault is None:
            self.faults.pop(model_id, None)
        else:
            self.faults[model_id] = fault

    def start(self, host: str = "127.0.0.1") -> BedrockRuntime:
        self._server = start_serving(_serve(self, host))
        return self

    @property
    def url(self) -> str:
        return server_url(self._server, "Bedrock Runtime")

    def stop(self) -> None:
        self._stopping.set()
        stop_serving(self._server)

    def answer(
        self, model_id: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of Converse, as Bedrock Runtime answers it."""
        started = time.perf_counter()
        try:
            document = json.loads(body or b"{}")
            if not isinstance(document, dict):
                raise _validation("The request body must be a JSON object.")
            self.conversed.append(
                Conversed(
                    model_id,
                    tuple(
                        str(message.get("role"))
                        for message in document.get("messages") or []
                        if isinstance(message, dict)
                    ),
                    len(document.get("system") or []),
                    dict(document.get("inferenceConfig") or {}),
                    headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "),
                )
            )
            answer = self._converse(model_id, document, started)
        except Refused as refused:
            return _error(refused.status, refused.code, {"message": refused.message})
        except ValueError:
            return _error(400, "ValidationException", {"message": "Malformed request body."})
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _refuse_if_faulty(self, model_id: str) -> Fault | None:
        """Refuse as the injected fault says, before the request is read; the faults that
        come after it (timeout, fail) are returned."""
        fault = self.faults.get(model_id)
        if fault is Fault.HANG:
            # No answer while the stand-in runs: the caller's read timeout ends the call.
            self._stopping.wait()
            raise Refused(503, "ServiceUnavailableException", "stopping")
        if fault is Fault.THROTTLE:
            raise Refused(
                429, "ThrottlingException", "Too many requests, please wait before trying again."
            )
        if fault is Fault.DENY:
            raise Refused(
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            )
        return fault

    def _converse(self, model_id: str, document: dict[str, Any], started: float) -> dict[str, Any]:
        fault = self._refuse_if_faulty(model_id)
        if model_id not in self.models:
            raise _validation("The provided model identifier is invalid.")
        system = _texts(document["system"], "system") if "system" in document else []
        messages = document.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _validation(
                "A conversation must start with a user message. Try again with a conversation"
                " that starts with a user message."
            )
        conversation: list[tuple[str, list[str]]] = []
        for index, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            expected = "user" if index % 2 == 0 else "assistant"
            if role != expected:
                raise _validation(
                    "A conversation must alternate between user and assistant roles, starting"
                    " with a user message. Make sure the conversation alternates between user"
                    " and assistant roles and try again."
                )
            conversation.append((role, _texts(message.get("content"), f"messages.{index}.content")))
        config = document.get("inferenceConfig") or {}
        for name in ("temperature", "topP"):
            value = config.get(name)
            if value is not None and not 0 <= value <= 1:
                raise _validation(
                    f"Malformed input request: {name} must be between 0 and 1, please reformat"
                    " your input and try again."
                )
        if fault is Fault.TIMEOUT:
            raise Refused(
                408,
                "ModelTimeoutException",
                "Model has timed out in processing the request. Try your request again.",
            )
        if fault is Fault.FAIL:
            raise Refused(424, "ModelErrorException", "The model failed to process the request.")
        last_user = next(texts for role, texts in reversed(conversation) if role == "user")
        text, stop_reason = reply_to("\n".join(last_user)), "end_turn"
        for sequence in config.get("stopSequences") or []:
            if sequence in text:
                text, stop_reason = text[: text.index(sequence)], "stop_sequence"
        max_tokens = config.get("maxTokens")
        if isinstance(max_tokens, int) and tokens(text) > max_tokens:
            text, stop_reason = text[: max_tokens * 4], "max_tokens"
        input_tokens = sum(map(tokens, system)) + sum(
            tokens(item) for _, texts in conversation for item in texts
        )
        output_tokens = tokens(text)
        time.sleep(output_tokens * self.ms_per_output_token / 1000)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": round((time.perf_counter() - started) * 1000)},
        }


def _error(status: int, code: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{code}:{ERROR_NAMESPACE}"}
    return status, headers, json.dumps(body).encode()


def _serve(runtime: BedrockRuntime, host: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            match = _CONVERSE.match(self.path.split("?")[0])
            if match is None:
                status, answer_headers, answer = _error(
                    404, "UnknownOperationException", {"message": f"no operation at {self.path}"}
                )
            else:
                status, answer_headers, answer = runtime.answer(
                    unquote(match.group(1)), headers, body
                )
            self.send_response(status)
            for name, value in {**answer_headers, "x-amzn-RequestId": str(uuid.uuid4())}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the function's log records its calls

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    return server
