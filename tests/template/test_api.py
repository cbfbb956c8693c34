"""api/openapi.yaml: the routes, auth, validation and error bodies API Gateway deploys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft4Validator

from dev_support.lambda_events import load_event
from emulator.logs import render
from emulator.template import Resolver, template
from tests.support import openapi
from tests.template.conftest import AUTH_MODES, properties_of

OIP_ROUTES = {
    ("GET", "/v2/health/live"),
    ("GET", "/v2/health/ready"),
    ("GET", "/v2"),
    ("GET", "/v2/models/{model_name}"),
    ("GET", "/v2/models/{model_name}/versions/{model_version}"),
    ("GET", "/v2/models/{model_name}/ready"),
    ("GET", "/v2/models/{model_name}/versions/{model_version}/ready"),
    ("POST", "/v2/models/{model_name}/infer"),
    ("POST", "/v2/models/{model_name}/versions/{model_version}/infer"),
}
# OpenAI's, for chat models.
CHAT_ROUTES = {("GET", "/v1/models"), ("POST", "/v1/chat/completions")}
HEALTH = {"/v2/health/live", "/v2/health/ready"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in openapi()["paths"].items()
        for method, operation in item.items()
    ]


def schema_validator(name: str) -> Draft4Validator:
    """API Gateway validates bodies with JSON Schema draft 4."""
    components = openapi()["components"]
    return Draft4Validator({"$ref": f"#/components/schemas/{name}", "components": components})


def test_the_template_deploys_the_openapi_document() -> None:
    body = template()["Resources"]["InferenceApi"]["Properties"]["DefinitionBody"]

    assert body == {
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "api/openapi.yaml"}}
    }
    (api,) = properties_of("AWS::ApiGateway::RestApi").values()
    assert api["Body"]["paths"] == openapi()["paths"]
    assert api["Name"] == {"Fn::Sub": "${AWS::StackName}-api"}


def test_document_has_exactly_the_oip_and_chat_routes() -> None:
    assert {(method, path) for method, path, _ in operations()} == OIP_ROUTES | CHAT_ROUTES


def test_every_operation_proxies_to_the_inference_function() -> None:
    for method, path, operation in operations():
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy", (method, path)
        assert integration["httpMethod"] == "POST"
        # The alias SAM publishes (AutoPublishAlias), which the template's permission covers.
        assert "${InferenceFunctionAliaslive}" in integration["uri"]["Fn::Sub"]


@pytest.mark.parametrize(
    ("auth_mode", "expected"),
    [("API_KEY", [{"api_key": []}]), ("IAM", [{"sigv4": []}]), ("NONE", [])],
)
def test_auth_mode_secures_all_but_health_routes(auth_mode: str, expected: list[Any]) -> None:
    assert auth_mode in AUTH_MODES
    for method, path, operation in operations():
        security = Resolver(template(), {"AuthMode": auth_mode}, {}).value(operation["security"])
        assert security == ([] if path in HEALTH else expected), (method, path)


def test_security_schemes_are_api_gateway_ones() -> None:
    document = openapi()
    schemes = document["components"]["securitySchemes"]

    assert schemes["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert document["x-amazon-apigateway-api-key-source"] == "HEADER"


def test_infer_bodies_are_validated_at_the_gateway() -> None:
    document = openapi()
    validators = document["x-amazon-apigateway-request-validators"]

    infer = [op for method, path, op in operations() if method == "POST" and path.startswith("/v2")]
    assert len(infer) == 2
    for operation in infer:
        assert validators[operation["x-amazon-apigateway-request-validator"]]["validateRequestBody"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/InferRequest"}


@pytest.mark.parametrize(
    "event_name", ["infer_iris", "infer_digits_versioned", "infer_unknown_model"]
)
def test_request_schema_accepts_valid_requests(event_name: str) -> None:
    body = json.loads(load_event(event_name)["body"])

    assert list(schema_validator("InferRequest").iter_errors(body)) == []


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"inputs": []},
        {"inputs": [{"name": "input"}]},
        {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": "1,2"}]},
        {"inputs": [{"name": "input", "shape": [-1, 4], "datatype": "FP32", "data": [1]}]},
        {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FLOAT", "data": [1]}]},
        {"inputs": [{"name": "input", "shape": [1], "datatype": "FP32", "data": [1]}], "id": 3},
    ],
)
def test_request_schema_rejects_malformed_requests(body: Any) -> None:
    assert list(schema_validator("InferRequest").iter_errors(body))


GATEWAY_RESPONSES = openapi()["x-amazon-apigateway-gateway-responses"]
# $context values with everything that could break the JSON around them.
HOSTILE_CONTEXT = {
    "$context.requestId": "req-1",
    "$context.error.message": 'User is not authorized to "invoke" \\ this resource',
    "$context.error.messageString": 'User is not authorized to "invoke" \\ this resource',
    "$context.error.validationErrorString": '[object has missing required properties (["data"])]',
    "$context.httpMethod": "GET",
    "$context.path": '/prod/v1/"models"\\',
    "$context.stage": "prod",
}


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSES))
def test_gateway_errors_answer_the_functions_json_shape(response_type: str) -> None:
    body_template = GATEWAY_RESPONSES[response_type]["responseTemplates"]["application/json"]

    body = json.loads(render(body_template, HOSTILE_CONTEXT, missing=""))

    assert list(schema_validator("Error").iter_errors(body)) == []
    assert body["request_id"] == "req-1"
    # Each says what to fix, not only that something failed.
    assert len(body["error"]) > 20, response_type


def test_every_operation_documents_the_gateway_and_fault_answers() -> None:
    # Any route can be refused by the gateway (403, 429) or fail in the function (500,
    # 502 crash, 504 timeout); every error answer is the one JSON shape.
    for method, path, operation in operations():
        responses = operation["responses"]

        assert {"403", "429", "500", "502", "504"} <= set(responses), (method, path)
        for status, response in responses.items():
            schema = response["content"]["application/json"]["schema"]
            expected_error = {"$ref": "#/components/schemas/Error"}
            assert (schema == expected_error) == (int(status) >= 400), (method, path, status)


def test_error_bodies_are_exactly_a_message_and_the_request_id() -> None:
    validator = schema_validator("Error")

    assert list(validator.iter_errors({"error": "Forbidden", "request_id": "r-1"})) == []
    assert list(validator.iter_errors({"error": "Forbidden"}))
    assert list(validator.iter_errors({"error": "x", "request_id": "r-1", "trace": "..."}))
