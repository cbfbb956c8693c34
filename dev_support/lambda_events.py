"""Lambda events and context as the functions receive them, for running handlers here."""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .paths import EVENTS_DIR


def load_event(name: str) -> dict[str, Any]:
    """``events/<name>.json``: the same files feed `sam local invoke -e` and the tests."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def with_body(event: dict[str, Any], body: Any) -> dict[str, Any]:
    """A copy of ``event`` carrying ``body`` (serialised to JSON unless already a str)."""
    return {
        **event,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


@dataclass
class FakeLambdaContext(LambdaContext):
    """The context Lambda passes, with the values a test chooses (Powertools' type)."""

    function_name: str = "model-endpoint-dev-inference"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:model-endpoint-dev-inference"
    )
    aws_request_id: str = "0e6c7d2a-5a3e-4a7b-9f0e-3f1d2c4b5a69"
    log_group_name: str = "/aws/lambda/model-endpoint-dev-inference"
    log_stream_name: str = "2026/11/25/[$LATEST]abcdef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def subscription_event(
    messages: Iterable[str | tuple[str, str]],
    *,
    timestamp_ms: int | None = None,
    message_type: str = "DATA_MESSAGE",
    log_group: str = "/aws/apigateway/model-endpoint-dev-access",
) -> dict[str, Any]:
    """A CloudWatch Logs subscription event (gzip + base64), as Lambda receives it.

    Each message is a line, or ``(log event id, line)`` to choose the id.
    ``timestamp_ms``, when CloudWatch Logs took the lines in, is now unless given: the
    log processor reads it as the request time of lines that carry none, and refuses
    request times CloudWatch would (more than 14 days before its clock).
    """
    if timestamp_ms is None:
        timestamp_ms = int(time.time() * 1000)
    log_events = []
    for index, item in enumerate(messages):
        event_id, message = item if isinstance(item, tuple) else (f"{index:056d}", item)
        log_events.append({"id": event_id, "timestamp": timestamp_ms, "message": message})
    payload = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "0123456789abcdef0123456789abcdef",
        "subscriptionFilters": ["model-endpoint-dev-AccessLogSubscription"],
        "logEvents": log_events,
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    return {"awslogs": {"data": data}}


# Run by a fresh interpreter that has a built package on its path: imports the handler
# module named by argv[1], answers the event file argv[2], prints the handler's result.
INVOKE_BUILT_HANDLER = """
import importlib, json, sys
from dataclasses import dataclass

@dataclass
class Context:
    function_name: str = "built"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:built"
    aws_request_id: str = "built-1"

handler = importlib.import_module(sys.argv[1]).lambda_handler
print("RESULT " + json.dumps(handler(json.load(open(sys.argv[2])), Context())))
"""
