from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from dev_support.lambda_events import FakeLambdaContext
from inference.handler import lambda_handler
from inference.telemetry import logger


@dataclass(frozen=True)
class Invocation:
    status: int
    body: dict[str, Any]
    headers: dict[str, list[str]]
    stdout: str
    # Logging's own failures land here, never in the response.
    stderr: str


Invoke = Callable[[dict[str, Any]], Invocation]


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Call the real Lambda handler in-process, as the Lambda runtime would."""

    def call(event: dict[str, Any]) -> Invocation:
        # The logger holds the stdout it saw at import; point it at this test's capture.
        logger.registered_handler.stream = sys.stdout  # type: ignore[attr-defined]
        capsys.readouterr()
        response = lambda_handler(event, FakeLambdaContext())
        captured = capsys.readouterr()
        return Invocation(
            status=response["statusCode"],
            body=json.loads(response["body"]),
            headers=dict(response["multiValueHeaders"]),
            stdout=captured.out,
            stderr=captured.err,
        )

    return call
