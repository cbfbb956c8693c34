"""Run golden cases through a transport (the public API, or a function version) and judge
the answers: one outcome per case, with the round trip's time."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .golden import GoldenCase, check_answer

# (status, body) of one infer request; status 0 when no answer came.
Answer = tuple[int, bytes]
Transport = Callable[[GoldenCase], Answer]


@dataclass(frozen=True)
class Outcome:
    model: str
    version: str
    passed: bool
    latency_ms: float
    problems: tuple[str, ...] = ()
    # The answer's HTTP status; 0 when none came.
    status: int = 0


def run_case(case: GoldenCase, transport: Transport) -> Outcome:
    started = time.perf_counter()
    status, body = transport(case)
    latency_ms = (time.perf_counter() - started) * 1000
    problems = check_answer(case, status, body) if status else (body.decode("utf-8", "replace"),)
    return Outcome(case.model, case.version, not problems, latency_ms, problems, status)


def run_cases(cases: Iterable[GoldenCase], transport: Transport) -> list[Outcome]:
    return [run_case(case, transport) for case in cases]


class HttpTransport:
    """POSTs each case to ``api_url`` + its infer route, with the headers given (the key)."""

    def __init__(
        self, api_url: str, headers: Callable[[], Mapping[str, str]], timeout_s: float
    ) -> None:
        self.api_url, self.headers, self.timeout_s = api_url, headers, timeout_s

    def __call__(self, case: GoldenCase) -> Answer:
        request = urllib.request.Request(  # noqa: S310 -- the template's https URL
            self.api_url + case.infer_path,
            data=case.request_body().encode(),
            headers={"Content-Type": "application/json", **self.headers()},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            return 0, f"no answer: {type(reason).__name__}".encode()


def proxy_event(case: GoldenCase) -> dict[str, Any]:
    """The event API Gateway's proxy integration would send for the case's infer request."""
    request_id = str(uuid.uuid4())
    return {
        "resource": "/v2/models/{model_name}/versions/{model_version}/infer",
        "path": case.infer_path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"model_name": case.model, "model_version": case.version},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v2/models/{model_name}/versions/{model_version}/infer",
            "httpMethod": "POST",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pre-traffic-hook"},
        },
        "body": case.request_body(),
        "isBase64Encoded": False,
    }


class VersionTransport:
    """Invokes one version of a function with each case's proxy event."""

    def __init__(self, function_version: str, client: Any) -> None:
        self.function_version, self.client = function_version, client

    def __call__(self, case: GoldenCase) -> Answer:
        answer = self.client.invoke(
            FunctionName=self.function_version, Payload=json.dumps(proxy_event(case)).encode()
        )
        payload = answer["Payload"].read()
        if answer.get("FunctionError"):
            return 0, f"the version failed: {answer['FunctionError']}".encode()
        try:
            result = json.loads(payload)
            return int(result["statusCode"]), str(result.get("body") or "").encode()
        except (ValueError, KeyError, TypeError):
            return 0, b"the version answered something other than a proxy response"
