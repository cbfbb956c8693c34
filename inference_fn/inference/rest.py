"""API Gateway's REST proxy integration: the event in, a route's JSON answer out.

Powertools' ``APIGatewayRestResolver`` does this too, but importing it runs its package's
``__init__``, which loads every resolver and event class Powertools has (AppSync,
Bedrock, VPC Lattice, ALB, asyncio, zipfile, ...): 50 to 130 ms of each cold start, as much
as half the time numpy and ONNX Runtime take, for routes that need a method, a path
template and a JSON answer. Routes match as Powertools' REST resolver matches them
(parameters of URI characters, trailing slashes ignored) and answer the same proxy
response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from .errors import NotFound, clip

JSON_HEADERS = {"Content-Type": ["application/json"]}
# What a path parameter may hold: unreserved and reserved URI characters (RFC 3986), and
# those API Gateway decodes before the function sees them; never a "/".
_PARAMETER_CHARACTERS = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]"


@dataclass(frozen=True)
class Request:
    """What the routes read from API Gateway's proxy event."""

    method: str
    path: str
    body: str | None
    is_base64_encoded: bool
    # API Gateway's request id (the access log's), else Lambda's for a direct invocation.
    request_id: str
    # The caller's API key id (AuthMode API_KEY), as the access log's apiKeyId.
    api_key_id: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any], lambda_request_id: str) -> Request:
        context = event.get("requestContext") or {}
        return cls(
            method=str(event["httpMethod"]).upper(),
            path=str(event["path"]),
            body=event.get("body"),
            is_base64_encoded=bool(event.get("isBase64Encoded")),
            request_id=context.get("requestId") or lambda_request_id,
            api_key_id=(context.get("identity") or {}).get("apiKeyId") or None,
        )


@dataclass(frozen=True)
class Response:
    status: int
    body: Any  # serialised as JSON

    def proxy(self) -> dict[str, Any]:
        """The Lambda proxy integration's answer to API Gateway."""
        return {
            "statusCode": int(self.status),
            "multiValueHeaders": JSON_HEADERS,
            "body": json.dumps(self.body, separators=(",", ":")),
            "isBase64Encoded": False,
        }


Route = Callable[..., Any]
# Takes the exception of the type it is registered for.
ErrorHandler = Callable[[Request, Any], Response]


class Router:
    """Routes by method and path template (``/v2/models/<model_name>``); a route returns a
    JSON-able body (200) or a ``Response``; exceptions go to the handler registered for
    their type, the most specific first."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []
        self._error_handlers: dict[type[Exception], ErrorHandler] = {}

    def route(self, method: str, *templates: str) -> Callable[[Route], Route]:
        def register(function: Route) -> Route:
            for template in templates:
                pattern = re.sub(
                    r"<(\w+)>",
                    lambda name: f"(?P<{name.group(1)}>{_PARAMETER_CHARACTERS}+)",
                    template.rstrip("/"),
                )
                self._routes.append((method, re.compile(f"^{pattern}/*$"), function))
            return function

        return register

    def get(self, *templates: str) -> Callable[[Route], Route]:
        return self.route("GET", *templates)

    def post(self, *templates: str) -> Callable[[Route], Route]:
        return self.route("POST", *templates)

    def error_handler(self, error_type: type[Exception]) -> Callable[[ErrorHandler], ErrorHandler]:
        def register(handler: ErrorHandler) -> ErrorHandler:
            self._error_handlers[error_type] = handler
            return handler

        return register

    def resolve(self, request: Request) -> Response:
        try:
            return self._call(request)
        except Exception as error:
            for error_type in type(error).__mro__:
                handler = self._error_handlers.get(error_type)
                if handler is not None:
                    return handler(request, error)
            raise

    def _call(self, request: Request) -> Response:
        for method, pattern, function in self._routes:
            match = pattern.match(request.path) if method == request.method else None
            if match is not None:
                answer = function(request, **match.groupdict())
                return answer if isinstance(answer, Response) else Response(HTTPStatus.OK, answer)
        raise NotFound(f"no route for {request.method} {clip(request.path, 200)}")
