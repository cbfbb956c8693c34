"""API Gateway's part: routing, API keys, throttling, validation, proxy events, access logs.

Status codes and error types are API Gateway's, so the access log and the metrics
derived from it look as they would on AWS.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema import Draft4Validator

from . import service_metrics, xray
from .function import Function
from .local_pages import LocalPages
from .logs import LogShipper, render
from .template import AppSpec, Route
from .validation import validation_error_string

API_KEY_ID = "local-default-client"
JSON_MEDIA_TYPE = "application/json"


class TokenBucket:
    """API Gateway's throttling model: ``rate`` tokens a second, at most ``burst`` saved."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class Exchange:
    """One request through the gateway, and the $context values it accumulates."""

    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes
    source_ip: str
    context: dict[str, Any] = field(default_factory=dict)
    # The stage's X-Ray segment, when the stage traces.
    segment_id: str | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Gateway:
    def __init__(
        self,
        app: AppSpec,
        functions: dict[str, Function],
        shipper: LogShipper,
        api_key: str | None,
        *,
        daemon: xray.XRayDaemon | None,
        pages: LocalPages,
        publish: Callable[[str, dict[str, Any]], None],
        function_keys: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        # Where the stage's segments go when it traces (TracingEnabled).
        self.daemon = daemon
        self.functions = functions
        # Pages beside the stage (API document, dashboard): not API traffic, not logged.
        self.pages = pages
        # Where the stage's CloudWatch metrics go.
        self.publish = publish
        self.shipper = shipper
        self.api_key = api_key
        self.stage_bucket = TokenBucket(*app.stage_throttle)
        self.plan_bucket = TokenBucket(*app.plan_throttle) if app.plan_throttle else None
        # The keys of the stack's own functions (the canary's): value -> (key id, its plan).
        self.function_keys = {
            value: (key_id, TokenBucket(*app.function_keys[key_id]))
            for key_id, value in (function_keys or {}).items()
        }
        self.responses = app.openapi.get("x-amazon-apigateway-gateway-responses", {})
        self.validators = {
            (route.method, route.resource): self._validator(route) for route in app.routes
        }

    def _validator(self, route: Route) -> Draft4Validator | None:
        validator_name = route.operation.get("x-amazon-apigateway-request-validator")
        validators = self.app.openapi.get("x-amazon-apigateway-request-validators", {})
        if not validator_name or not validators.get(validator_name, {}).get("validateRequestBody"):
            return None
        schema = route.operation["requestBody"]["content"]["application/json"]["schema"]
        return Draft4Validator({**schema, "components": self.app.openapi.get("components", {})})

    def handle(self, exchange: Exchange) -> Answer:
        started = time.perf_counter()
        now = time.time()
        request_id = str(uuid.uuid4())
        url = urlsplit(exchange.raw_path)
        path = url.path
        page = self.pages.answer(exchange.method, path, url.query)
        if page is not None:
            headers = {"Content-Type": page.content_type, "Cache-Control": "no-store"}
            if page.location is not None:
                headers["Location"] = page.location
            return Answer(page.status, headers, page.body)
        stage_prefix = f"/{self.app.stage}"
        if path == stage_prefix or path.startswith(stage_prefix + "/"):
            path = path[len(stage_prefix) :] or "/"
        ctx = exchange.context
        ctx.update(
            {
                "$context.requestId": request_id,
                "$context.extendedRequestId": secrets.token_urlsafe(12),
                "$context.requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "$context.requestTimeEpoch": int(now * 1000),
                "$context.httpMethod": exchange.method,
                "$context.path": f"{stage_prefix}{path}",
                "$context.protocol": "HTTP/1.1",
                "$context.identity.sourceIp": exchange.source_ip,
                "$context.identity.userAgent": exchange.headers.get("user-agent"),
                "$context.stage": self.app.stage,
                "$context.apiId": "local",
                "$context.domainName": exchange.headers.get("host", "localhost"),
            }
        )
        if self.app.tracing:
            # Every request sampled: the trace starts here, with the stage's segment.
            ctx["$context.xrayTraceId"] = xray.new_trace_id()
            exchange.segment_id = xray.new_segment_id()
        answer = self._route(exchange, path, url.query)
        ctx["$context.status"] = answer.status
        ctx["$context.responseLength"] = len(answer.body)
        ctx["$context.responseLatency"] = round((time.perf_counter() - started) * 1000)
        self.shipper.submit(render(self.app.access_log_format, ctx), int(now * 1000))
        self.publish(
            service_metrics.API_GATEWAY,
            service_metrics.api_gateway_request(
                api_name=self.app.api_name,
                stage=self.app.stage,
                timestamp_ms=int(now * 1000),
                status=answer.status,
                latency_ms=ctx["$context.responseLatency"],
                integration_latency_ms=ctx.get("$context.integrationLatency"),
            ),
        )
        if exchange.segment_id is not None and self.daemon is not None:
            self.daemon.record(self._segment(exchange, now, time.perf_counter() - started))
        return Answer(
            answer.status, {**answer.headers, "x-amzn-RequestId": request_id}, answer.body
        )

    def _segment(self, exchange: Exchange, started_at: float, seconds: float) -> dict[str, Any]:
        """The stage's segment: the request's method, route and status, no header or body."""
        ctx = exchange.context
        return xray.segment(
            f"{ctx['$context.apiId']}/{self.app.stage}",
            str(exchange.segment_id),
            ctx["$context.xrayTraceId"],
            started_at,
            started_at + seconds,
            origin="AWS::ApiGateway::Stage",
            fields={
                "http": {
                    "request": {"method": exchange.method},
                    "response": {"status": ctx["$context.status"]},
                },
                "aws": {
                    "api_gateway": {
                        "request_id": ctx["$context.requestId"],
                        "rest_api_id": ctx["$context.apiId"],
                        "stage": self.app.stage,
                    }
                },
                **xray.status_flags(ctx["$context.status"]),
            },
        )

    def _gateway_error(
        self,
        ctx: dict[str, Any],
        status: int,
        kind: str,
        message: str,
        validation_errors: str | None = None,
    ) -> Answer:
        """API Gateway's own answer: the API's gateway response for ``kind`` (or its family's),
        rendered with the request's ``$context`` values."""
        ctx["$context.error.responseType"] = kind
        ctx["$context.error.message"] = ctx["$context.error.messageString"] = message
        if validation_errors is not None:
            ctx["$context.error.validationErrorString"] = validation_errors
        family = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        template = (
            self.responses.get(kind, self.responses.get(family, {}))
            .get("responseTemplates", {})
            .get("application/json", '{"message": $context.error.messageString}')
        )
        body = render(template, ctx, missing="")
        return Answer(status, {"Content-Type": "application/json"}, body.encode())

    def _route(self, exchange: Exchange, path: str, query: str) -> Answer:
        ctx = exchange.context
        match = None
        route = None
        for candidate in self.app.routes:
            if candidate.method == exchange.method:
                match = candidate.pattern.match(path)
                if match:
                    route = candidate
                    break
        if route is None or match is None:
            return self._gateway_error(
                ctx, 403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"
            )
        ctx["$context.resourcePath"] = route.resource
        plan = None
        if route.needs_api_key:
            presented = exchange.headers.get("x-api-key")
            if presented is not None and presented in self.function_keys:
                key_id, plan = self.function_keys[presented]
            elif presented == self.api_key:
                key_id, plan = API_KEY_ID, self.plan_bucket
            else:
                return self._gateway_error(ctx, 403, "INVALID_API_KEY", "Forbidden")
            ctx["$context.identity.apiKeyId"] = key_id
        if not self.stage_bucket.take() or (plan is not None and not plan.take()):
            return self._gateway_error(ctx, 429, "THROTTLED", "Too Many Requests")
        validator = self.validators[(route.method, route.resource)]
        # API Gateway validates a body against the model of its content type only (and
        # takes a missing Content-Type for application/json): any other type skips the
        # validator and reaches the function, which must refuse bad bodies itself.
        media_type = exchange.headers.get("content-type", "application/json")
        if validator is not None and media_type.split(";")[0].strip().lower() == JSON_MEDIA_TYPE:
            errors = validation_error_string(validator, exchange.body)
            if errors is not None:
                return self._gateway_error(
                    ctx, 400, "BAD_REQUEST_BODY", "Invalid request body", errors
                )
        return self._integrate(exchange, route, match.groupdict(), path, query)

    def _integrate(
        self, exchange: Exchange, route: Route, parameters: dict[str, str], path: str, query: str
    ) -> Answer:
        ctx = exchange.context
        function = self.functions[route.function]
        event = self._proxy_event(exchange, route, parameters, path, query)
        trace_id = ctx.get("$context.xrayTraceId")
        trace_header = (
            xray.trace_header(trace_id, exchange.segment_id)
            if trace_id and exchange.segment_id
            else None
        )
        # The route's integration timeout (timeoutInMillis): past it, the gateway answers 504.
        invocation = function.invoke(event, route.timeout_s, trace_header, route.qualifier)
        if invocation.outcome == "throttled":
            # Lambda answered 429 without running the function; API Gateway answers 500.
            ctx["$context.integrationStatus"] = 429
            ctx["$context.integration.error"] = "Lambda throttled"
            return self._gateway_error(ctx, 500, "INTEGRATION_FAILURE", "Internal server error")
        ctx["$context.integrationLatency"] = round(invocation.duration_ms)
        ctx["$context.integration.latency"] = round(invocation.duration_ms)
        ctx["$context.integration.requestId"] = invocation.request_id
        if invocation.outcome == "timeout":
            return self._gateway_error(
                ctx, 504, "INTEGRATION_TIMEOUT", "Endpoint request timed out"
            )
        if invocation.outcome != "ok":
            ctx["$context.integrationStatus"] = 200 if invocation.outcome == "error" else 500
            ctx["$context.integration.error"] = f"Lambda {invocation.outcome}"
            return self._gateway_error(ctx, 502, "INTEGRATION_FAILURE", "Internal server error")
        ctx["$context.integrationStatus"] = 200
        result = invocation.result
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            ctx["$context.integration.error"] = "Malformed Lambda proxy response"
            return self._gateway_error(ctx, 502, "INTEGRATION_FAILURE", "Internal server error")
        headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ",".join(str(v) for v in values)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return Answer(result["statusCode"], headers, raw)

    def _proxy_event(
        self, exchange: Exchange, route: Route, parameters: dict[str, str], path: str, query: str
    ) -> dict[str, Any]:
        ctx = exchange.context
        pairs = parse_qsl(query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in pairs:
            multi_query.setdefault(name, []).append(value)
        try:
            body: str | None = exchange.body.decode("utf-8") if exchange.body else None
            is_base64 = False
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(exchange.body).decode(), True
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": exchange.method,
            "headers": dict(exchange.headers),
            "multiValueHeaders": {name: [value] for name, value in exchange.headers.items()},
            "queryStringParameters": {n: v[-1] for n, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "resourceId": "local",
                "resourcePath": route.resource,
                "httpMethod": exchange.method,
                "extendedRequestId": ctx["$context.extendedRequestId"],
                "requestTime": ctx["$context.requestTime"],
                "requestTimeEpoch": ctx["$context.requestTimeEpoch"],
                "path": ctx["$context.path"],
                "protocol": "HTTP/1.1",
                "stage": self.app.stage,
                "domainName": ctx["$context.domainName"],
                "requestId": ctx["$context.requestId"],
                "identity": {
                    "sourceIp": exchange.source_ip,
                    "userAgent": exchange.headers.get("user-agent"),
                    "apiKeyId": ctx.get("$context.identity.apiKeyId"),
                    "apiKey": exchange.headers.get("x-api-key") if route.needs_api_key else None,
                },
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }


def serve(gateway: Gateway, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = self.headers.get("Content-Length") or "0"
            if not length.isdigit():
                # A message whose end cannot be found never reaches API Gateway: the HTTP
                # front end refuses it (and http.server's answer closes the connection).
                self.send_error(400, "Bad Content-Length")
                return
            body = self.rfile.read(int(length))
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = gateway.handle(
                Exchange(self.command, self.path, headers, body, self.client_address[0])
            )
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            # A HEAD answer has no body: one would be read as the next response.
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the gateway, which answers 403 where no route takes it,
            # as API Gateway does (http.server alone would answer 501 with an HTML page).
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the access log is the record of requests

    class Server(ThreadingHTTPServer):
        # socketserver's default backlog (5) refuses connections under modest concurrency.
        request_queue_size = 128

    server = Server((host, port), Handler)
    server.daemon_threads = True
    return server
