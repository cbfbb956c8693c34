"""template.yaml after the SAM transform, offline: what CloudFormation would receive."""

from __future__ import annotations

import pytest

from emulator.template import Resolver, template
from tests.template.conftest import (
    AUTH_MODES,
    policy_statements,
    properties_of,
    resources_of,
    transformed,
)


def test_inference_function_runtime_and_architecture() -> None:
    function = properties_of("AWS::Lambda::Function")["InferenceFunction"]

    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert function["Handler"] == "inference.handler.lambda_handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    # Fails before API Gateway's integration timeout, for each chat timeout the template
    # allows (tests/template/test_chat_endpoints.py).
    assert function["Timeout"] == {
        "Fn::FindInMap": ["ChatTimeouts", {"Ref": "ChatIntegrationTimeoutMs"}, "FunctionTimeout"]
    }


def test_function_logs_json_to_its_own_log_group() -> None:
    logging = properties_of("AWS::Lambda::Function")["InferenceFunction"]["LoggingConfig"]

    assert logging["LogGroup"] == {"Ref": "InferenceFunctionLogGroup"}
    assert logging["LogFormat"] == "JSON"


@pytest.mark.parametrize(
    ("log_level", "lambda_level"),
    [("DEBUG", "DEBUG"), ("INFO", "INFO"), ("WARN", "INFO"), ("ERROR", "INFO")],
)
def test_lambda_never_filters_out_the_metrics_lines(log_level: str, lambda_level: str) -> None:
    # EMF lines carry no "level", so Lambda reads them as INFO: a stricter application log
    # level would drop every metric. Powertools applies LogLevel to the log lines itself.
    resolve = Resolver(transformed(), {"LogLevel": log_level}, {})
    for name, function in properties_of("AWS::Lambda::Function").items():
        logging = resolve.value(function["LoggingConfig"])
        assert logging["ApplicationLogLevel"] == lambda_level, name
        assert resolve.value(function["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"]) == (
            log_level
        )


def test_platform_lines_are_dropped_per_request_but_kept_per_log_batch() -> None:
    functions = properties_of("AWS::Lambda::Function")

    inference = functions["InferenceFunction"]["LoggingConfig"]
    assert inference["SystemLogLevel"] == {"Ref": "LambdaSystemLogLevel"}
    assert functions["LogProcessorFunction"]["LoggingConfig"]["SystemLogLevel"] == "INFO"


@pytest.mark.parametrize(
    ("snap_start", "apply_on"), [("Disabled", "None"), ("Enabled", "PublishedVersions")]
)
def test_snap_start_is_an_option_on_a_published_alias(snap_start: str, apply_on: str) -> None:
    resources = transformed()["Resources"]
    function = resources["InferenceFunction"]["Properties"]
    resolve = Resolver(transformed(), {"SnapStart": snap_start}, {})

    assert resolve.value(function["SnapStart"]) == {"ApplyOn": apply_on}
    alias = resources["InferenceFunctionAliaslive"]
    assert alias["Type"] == "AWS::Lambda::Alias"
    version = resources[alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]]
    assert version["Type"] == "AWS::Lambda::Version"
    assert version["Properties"]["FunctionName"] == {"Ref": "InferenceFunction"}
    # API Gateway may invoke the alias, and nothing else of the function.
    permission = properties_of("AWS::Lambda::Permission")["InferenceApiPermission"]
    assert permission["FunctionName"] == {"Ref": "InferenceFunctionAliaslive"}


def test_every_log_group_has_a_retention_and_the_optional_key() -> None:
    log_groups = properties_of("AWS::Logs::LogGroup")

    assert set(log_groups) == {
        "InferenceFunctionLogGroup",
        "LogProcessorFunctionLogGroup",
        "DriftFunctionLogGroup",
        "AccessLogGroup",
        "ExecutionLogGroup",
        "CanaryFunctionLogGroup",
        "PreTrafficHookFunctionLogGroup",
    }
    # The name API Gateway gives a stage's execution logs, so that it writes to this group.
    assert log_groups["ExecutionLogGroup"]["LogGroupName"] == {
        "Fn::Sub": "API-Gateway-Execution-Logs_${InferenceApi}/${StageName}"
    }
    for properties in log_groups.values():
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        assert properties["KmsKeyId"] == {
            "Fn::If": ["HasLogsKmsKey", {"Ref": "LogsKmsKeyArn"}, {"Ref": "AWS::NoValue"}]
        }


@pytest.mark.parametrize("auth_mode", AUTH_MODES)
def test_no_policy_statement_has_a_wildcard_action(auth_mode: str) -> None:
    statements = policy_statements(auth_mode)

    assert statements
    for role, statement in statements:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            assert "*" not in action, (role, action)


def test_function_role_is_scoped_to_its_own_log_group() -> None:
    # What a parameter adds (models in S3, SageMaker endpoints) is tested with its parameter.
    statements = [
        s for role, s in policy_statements(conditional=False) if role == "InferenceFunctionRole"
    ]

    assert "ManagedPolicyArns" not in properties_of("AWS::IAM::Role")["InferenceFunctionRole"]
    for statement in statements:
        actions = set(statement["Action"])
        if statement["Resource"] == "*":
            # X-Ray's write actions have no resource-level permissions: the only wildcard.
            assert actions == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
        else:
            assert statement["Resource"] == {"Fn::GetAtt": ["InferenceFunctionLogGroup", "Arn"]}
            assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_only_this_api_may_invoke_the_function() -> None:
    permission = properties_of("AWS::Lambda::Permission")["InferenceApiPermission"]

    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["FunctionName"] == {"Ref": "InferenceFunctionAliaslive"}
    assert "${InferenceApi}/" in permission["SourceArn"]["Fn::Sub"]


def test_account_logging_role_is_optional_and_outlives_the_stack() -> None:
    role = resources_of("AWS::IAM::Role")["ApiGatewayCloudWatchRole"]
    account = resources_of("AWS::ApiGateway::Account")["ApiGatewayAccount"]

    assert role["Condition"] == account["Condition"] == "CreateAccountRole"
    assert (role["DeletionPolicy"], role["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }
    # The API waits for the account setting (when there is one) before its stage logs.
    assert "ApiGatewayAccountReady" in str(resources_of("AWS::ApiGateway::RestApi"))


def test_the_logging_role_trusts_api_gateway_as_aws_documents_it() -> None:
    role = properties_of("AWS::IAM::Role")["ApiGatewayCloudWatchRole"]

    # No condition: API Gateway is not documented to set aws:SourceAccount/SourceArn here.
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    # The setting is per region: so is the role's reach.
    assert ":logs:${AWS::Region}:${AWS::AccountId}:" in statement["Resource"]["Fn::Sub"]


def test_the_log_processor_reserves_no_concurrency_unless_asked() -> None:
    function = properties_of("AWS::Lambda::Function")["LogProcessorFunction"]
    at_defaults = Resolver(transformed(), {}, {})
    asked = Resolver(transformed(), {"LogProcessorReservedConcurrency": "5"}, {})

    reserved = function["ReservedConcurrentExecutions"]
    assert at_defaults.value(reserved) == "AWS::NoValue"
    assert asked.value(reserved) == "5"


@pytest.mark.parametrize("auth_mode", AUTH_MODES)
def test_every_auth_mode_transforms(auth_mode: str) -> None:
    assert resources_of("AWS::ApiGateway::Stage", auth_mode)
    assert resources_of("AWS::Lambda::Function", auth_mode)


def test_api_key_mode_wires_a_key_into_a_usage_plan_on_the_stage() -> None:
    plan = resources_of("AWS::ApiGateway::UsagePlan")["UsagePlan"]
    key = resources_of("AWS::ApiGateway::ApiKey")["DefaultClientApiKey"]
    plan_key = resources_of("AWS::ApiGateway::UsagePlanKey")["DefaultClientUsagePlanKey"]
    (stage_name,) = resources_of("AWS::ApiGateway::Stage")

    assert plan["Condition"] == key["Condition"] == plan_key["Condition"] == "UseApiKey"
    assert plan["Properties"]["ApiStages"] == [
        {"ApiId": {"Ref": "InferenceApi"}, "Stage": {"Ref": stage_name}}
    ]
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": {"Ref": "UsagePlanRateLimit"},
        "BurstLimit": {"Ref": "UsagePlanBurstLimit"},
    }
    assert plan["Properties"]["Quota"]["Limit"] == {"Ref": "UsagePlanQuotaLimit"}
    assert plan_key["Properties"]["KeyId"] == {"Ref": "DefaultClientApiKey"}
    assert plan_key["Properties"]["UsagePlanId"] == {"Ref": "UsagePlan"}
    outputs = transformed()["Outputs"]
    assert outputs["ApiKeyId"]["Value"] == {"Ref": "DefaultClientApiKey"}
    assert "--include-value" in outputs["ApiKeyValueCommand"]["Value"]["Fn::Sub"]


def test_outputs_name_the_url_the_function_and_the_log_groups() -> None:
    outputs = transformed()["Outputs"]

    assert {"ApiUrl", "ApiName", "InferenceFunctionName", "AccessLogGroupName"} <= set(outputs)
    assert outputs["InferenceFunctionName"]["Value"] == {"Ref": "InferenceFunction"}
    assert outputs["AccessLogGroupName"]["Value"] == {"Ref": "AccessLogGroup"}


def test_every_checkov_skip_gives_its_reason() -> None:
    skips = [
        (name, skip)
        for name, resource in template()["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV"), name
        assert len(skip.get("comment", "")) > 20, (name, skip["id"])
