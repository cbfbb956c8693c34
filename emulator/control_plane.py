"""The AWS APIs the canary and the pre-traffic hook call, on one local port, so that their own
boto3 calls run: API Gateway's GetApiKey, Lambda's Invoke and CodeDeploy's
PutLifecycleEventHookExecutionStatus.

Each speaks its service's wire protocol as botocore's service model has it: API Gateway and
Lambda rest-json (``GET /apikeys/{api_Key}?includeValue=true``;
``POST /2015-03-31/functions/{FunctionName}/invocations?Qualifier=``, a function's failure
in ``X-Amz-Function-Error``), CodeDeploy json-1.1 (``X-Amz-Target:
CodeDeploy_20141006.<Operation>``). Errors carry their code in ``x-amzn-ErrorType`` and a
JSON body. The functions reach it as ``AWS_ENDPOINT_URL_API_GATEWAY``,
``AWS_ENDPOINT_URL_LAMBDA`` and ``AWS_ENDPOINT_URL_CODEDEPLOY``; signatures are accepted
without being checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .loopback import server_url, start_serving, stop_serving
from .worker import Invocation

ENVIRONMENT_VARIABLES = (
    "AWS_ENDPOINT_URL_API_GATEWAY",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_CODEDEPLOY",
)
CODEDEPLOY_TARGET = "CodeDeploy_20141006."
_API_KEY = re.compile(r"^/apikeys/([^/]+)$")
_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
_FUNCTION_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::([^:]+))?$")
HOOK_STATUSES = frozenset({"Succeeded", "Failed"})

Reply = tuple[int, dict[str, str], bytes]
# (function name, qualifier or None, event) -> the invocation; None: no such function.
Invoker = Callable[[str, str | None, dict[str, Any]], Invocation | None]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def _error(status: int, code: str, message: str) -> Reply:
    return _json(status, {"message": message}, {"x-amzn-ErrorType": code})


def _json_error(status: int, code: str, message: str) -> Reply:
    """An error of a json-1.1 service (CodeDeploy), whose code is the body's ``__type``."""
    return _json(status, {"__type": code, "message": message})


@dataclass
class ControlPlane:
    # API key id -> value (GetApiKey)
    api_keys: dict[str, str] = field(default_factory=dict)
    invoker: Invoker | None = None
    # Lifecycle event hook execution id -> the status the hook reported.
    hook_statuses: dict[str, str] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def start(self, host: str = "127.0.0.1") -> ControlPlane:
        self._server = start_serving(_serve(self, host))
        return self

    @property
    def url(self) -> str:
        return server_url(self._server, "control-plane")

    def environment(self) -> dict[str, str]:
        return dict.fromkeys(ENVIRONMENT_VARIABLES, self.url)

    def stop(self) -> None:
        stop_serving(self._server)

    def answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        url = urlsplit(raw_path)
        target = headers.get("x-amz-target", "")
        if method == "POST" and target.startswith(CODEDEPLOY_TARGET):
            return self._codedeploy(target.removeprefix(CODEDEPLOY_TARGET), body)
        found = _API_KEY.match(url.path)
        if method == "GET" and found:
            return self._get_api_key(unquote(found.group(1)), parse_qs(url.query))
        found = _INVOKE.match(url.path)
        if method == "POST" and found:
            qualifier = parse_qs(url.query).get("Qualifier", [None])[0]
            return self._invoke(unquote(found.group(1)), qualifier, headers, body)
        return _error(404, "UnknownOperationException", f"no operation for {method} {url.path}")

    def _get_api_key(self, key_id: str, query: dict[str, list[str]]) -> Reply:
        value = self.api_keys.get(key_id)
        if value is None:
            return _error(404, "NotFoundException", "Invalid API Key identifier specified")
        answer = {"id": key_id, "name": key_id, "enabled": True, "stageKeys": []}
        if query.get("includeValue") == ["true"]:
            answer["value"] = value
        return _json(200, answer)

    def _invoke(
        self, name: str, qualifier: str | None, headers: dict[str, str], body: bytes
    ) -> Reply:
        arn = _FUNCTION_ARN.match(name)
        if arn is not None:
            name, qualifier = arn.group(1), arn.group(2) or qualifier
        if headers.get("x-amz-invocation-type", "RequestResponse") != "RequestResponse":
            return _error(400, "InvalidParameterValueException", "only RequestResponse here")
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body")
        invocation = self.invoker(name, qualifier, event) if self.invoker else None
        if invocation is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
        if invocation.outcome == "throttled":
            return _error(429, "TooManyRequestsException", "Rate Exceeded.")
        version = {"X-Amz-Executed-Version": qualifier or "$LATEST"}
        if invocation.outcome == "ok":
            return _json(200, invocation.result, version)
        payload = {"errorType": "Runtime.ExitError", "errorMessage": invocation.outcome}
        if invocation.outcome == "error" and isinstance(invocation.result, dict):
            payload = {k: v for k, v in invocation.result.items() if k != "ok"}
        return _json(200, payload, {**version, "X-Amz-Function-Error": "Unhandled"})

    def _codedeploy(self, operation: str, body: bytes) -> Reply:
        if operation != "PutLifecycleEventHookExecutionStatus":
            return _json_error(400, "UnknownOperationException", f"{operation} is not emulated")
        try:
            request = json.loads(body)
            execution_id = str(request["lifecycleEventHookExecutionId"])
            status = str(request["status"])
            str(request["deploymentId"])
        except (ValueError, KeyError, TypeError):
            return _json_error(
                400,
                "ValidationException",
                "deploymentId, lifecycleEventHookExecutionId and status are required",
            )
        if status not in HOOK_STATUSES:
            return _json_error(
                400, "InvalidLifecycleEventHookExecutionStatusException", status[:40]
            )
        self.hook_statuses[execution_id] = status
        return _json(200, {"lifecycleEventHookExecutionId": execution_id})


def _serve(plane: ControlPlane, host: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, reply_headers, reply = plane.answer(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    return server
