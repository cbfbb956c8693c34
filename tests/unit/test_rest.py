"""The REST router: paths and methods to routes, answers to proxy responses, errors mapped."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest

from inference.errors import BadRequest, NotFound, ServiceError
from inference.rest import Request, Response, Router


def request(method: str, path: str) -> Request:
    return Request(method, path, None, is_base64_encoded=False, request_id="r-1")


@pytest.fixture
def router() -> Router:
    app = Router()

    @app.get("/v2/models/<name>", "/v2/models/<name>/versions/<version>")
    def model(request: Request, name: str, version: str | None = None) -> dict[str, Any]:
        return {"name": name, "version": version}

    @app.post("/v2/models/<name>/infer")
    def infer(request: Request, name: str) -> Response:
        raise BadRequest(f"bad body for {name}")

    @app.error_handler(ServiceError)
    def refused(request: Request, error: ServiceError) -> Response:
        return Response(error.status, {"error": error.message, "request_id": request.request_id})

    return app


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/models/iris", {"name": "iris", "version": None}),
        ("/v2/models/iris/", {"name": "iris", "version": None}),
        ("/v2/models/iris/versions/1//", {"name": "iris", "version": "1"}),
        ("/v2/models/a-b_c.d~e:f@g/versions/1", {"name": "a-b_c.d~e:f@g", "version": "1"}),
        ("/v2/models/ir%20is", {"name": "ir%20is", "version": None}),
    ],
)
def test_paths_match_their_templates_with_the_parameters_they_carry(
    router: Router, path: str, body: dict[str, Any]
) -> None:
    assert router.resolve(request("GET", path)) == Response(HTTPStatus.OK, body)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v2/models/a/b"), ("DELETE", "/v2/models/iris"), ("GET", "/v2/models/iris/infer")],
)
def test_no_route_is_a_404_naming_method_and_path(router: Router, method: str, path: str) -> None:
    answer = router.resolve(request(method, path))

    assert answer == Response(
        NotFound.status, {"error": f"no route for {method} {path}", "request_id": "r-1"}
    )


def test_a_routes_exception_goes_to_the_handler_of_its_nearest_type(router: Router) -> None:
    answer = router.resolve(request("POST", "/v2/models/iris/infer"))

    assert answer == Response(
        HTTPStatus.BAD_REQUEST, {"error": "bad body for iris", "request_id": "r-1"}
    )


def test_an_exception_without_a_handler_is_raised() -> None:
    app = Router()

    @app.get("/boom")
    def boom(request: Request) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        app.resolve(request("GET", "/boom"))


def test_the_proxy_response_is_json_with_its_content_type() -> None:
    proxy = Response(HTTPStatus.NOT_FOUND, {"error": "é", "n": [1, 2]}).proxy()

    assert proxy == {
        "statusCode": 404,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": '{"error":"\\u00e9","n":[1,2]}',
        "isBase64Encoded": False,
    }
    assert type(proxy["statusCode"]) is int


def test_the_request_id_is_api_gateways_else_lambdas() -> None:
    event: dict[str, Any] = {"httpMethod": "get", "path": "/v2", "body": None, "requestContext": {}}

    assert Request.from_event(event, "lambda-id") == Request("GET", "/v2", None, False, "lambda-id")
    event["requestContext"] = {"requestId": "gateway-id"}
    assert Request.from_event(event, "lambda-id").request_id == "gateway-id"
