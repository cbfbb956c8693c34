"""template.yaml after the SAM transform, offline: what CloudFormation would receive."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from samtranslator.translator.transform import transform

from inference.settings import DEFAULT_MAX_BATCH_ROWS, DEFAULT_MAX_BODY_BYTES
from inference.telemetry import DEFAULT_NAMESPACE
from tests.support import parameter_default, template

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


class NoManagedPolicies:
    """The template attaches no managed policies, so the translator never needs IAM."""

    def load(self) -> dict[str, str]:
        return {}


@cache
def transformed() -> dict[str, Any]:
    document = copy.deepcopy(template())
    # What `sam package` does before deploying: code locations become S3 objects.
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
    result: dict[str, Any] = transform(document, {}, NoManagedPolicies())
    return result


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in transformed()["Resources"].items()
        if resource["Type"] == kind
    }


def test_inference_function_runtime_and_architecture() -> None:
    function = resources_of("AWS::Lambda::Function")["InferenceFunction"]

    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert parameter_default("Architecture") == "arm64"
    assert function["Handler"] == "inference.handler.lambda_handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "InferenceFunctionLogGroup"}
    assert function["Timeout"] < 29  # fails before API Gateway's integration timeout


def test_every_log_group_has_a_retention() -> None:
    log_groups = resources_of("AWS::Logs::LogGroup")

    assert log_groups
    for properties in log_groups.values():
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_function_role_is_scoped_to_its_own_log_group() -> None:
    (role,) = resources_of("AWS::IAM::Role").values()
    statements = [
        statement
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]

    assert "ManagedPolicyArns" not in role
    for statement in statements:
        actions = set(statement["Action"])
        assert all("*" not in action for action in actions)
        if statement["Resource"] == "*":
            # X-Ray's write actions have no resource-level permissions: the only wildcard.
            assert actions == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
        else:
            assert statement["Resource"] == {"Fn::GetAtt": ["InferenceFunctionLogGroup", "Arn"]}
            assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_api_has_an_explicit_name_and_traced_stage() -> None:
    (api,) = resources_of("AWS::ApiGateway::RestApi").values()
    (stage,) = resources_of("AWS::ApiGateway::Stage").values()

    assert api["Name"] == {"Fn::Sub": "${AWS::StackName}-api"}
    assert stage["StageName"] == {"Ref": "StageName"}
    assert stage["TracingEnabled"] is True


def test_api_serves_exactly_the_oip_routes() -> None:
    (api,) = resources_of("AWS::ApiGateway::RestApi").values()
    paths = api["Body"]["paths"]

    routes = {(method.upper(), path) for path, item in paths.items() for method in item}

    assert routes == OIP_ROUTES


def test_function_defaults_match_the_template_defaults() -> None:
    assert parameter_default("MetricsNamespace") == DEFAULT_NAMESPACE
    assert parameter_default("MaxBatchRows") == DEFAULT_MAX_BATCH_ROWS
    assert parameter_default("MaxBodyBytes") == DEFAULT_MAX_BODY_BYTES


def test_outputs_name_the_url_and_the_function() -> None:
    outputs = transformed()["Outputs"]

    assert {"ApiUrl", "ApiName", "InferenceFunctionName"} <= set(outputs)
    assert outputs["InferenceFunctionName"]["Value"] == {"Ref": "InferenceFunction"}
