"""The log processor in template.yaml: subscription, permissions, failure handling."""

from __future__ import annotations

from emulator.template import function_environment, parameter_default
from log_processor.settings import load_settings
from tests.template.conftest import policy_statements, properties_of, resources_of


def test_function_runtime_and_reads_the_template_access_log_format() -> None:
    function = properties_of("AWS::Lambda::Function")["LogProcessorFunction"]

    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert function["Handler"] == "log_processor.handler.lambda_handler"
    env = function["Environment"]["Variables"]
    assert env["ACCESS_LOG_FORMAT"] == {"Fn::FindInMap": ["AccessLog", "Format", "Json"]}
    settings = load_settings(function_environment("LogProcessorFunction"))
    assert settings.known_models == frozenset({"chat", "diabetes", "digits", "iris"})
    assert settings.chat_latency_objective_ms == float(
        parameter_default("ChatLatencySloThresholdMs")
    )
    assert settings.fields.names["requestId"] == "request_id"
    assert settings.latency_objective_ms == float(parameter_default("LatencySloThresholdMs"))


def test_access_log_group_is_subscribed_with_a_scoped_permission() -> None:
    (subscription,) = properties_of("AWS::Logs::SubscriptionFilter").values()
    permission = properties_of("AWS::Lambda::Permission")["LogProcessorInvokePermission"]

    assert subscription["LogGroupName"] == {"Ref": "AccessLogGroup"}
    assert subscription["DestinationArn"] == {"Fn::GetAtt": ["LogProcessorFunction", "Arn"]}
    assert subscription["FilterPattern"] == ""
    assert permission["Principal"] == "logs.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["AccessLogGroup", "Arn"]}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_failed_batches_are_retried_then_kept_in_an_encrypted_queue() -> None:
    (config,) = properties_of("AWS::Lambda::EventInvokeConfig").values()
    queue = properties_of("AWS::SQS::Queue")["LogProcessorFailedBatches"]

    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["LogProcessorFailedBatches", "Arn"]
    }
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True


def test_role_writes_own_logs_traces_and_failures_only() -> None:
    statements = [s for role, s in policy_statements() if role == "LogProcessorFunctionRole"]

    granted = {
        (action, str(statement["Resource"]))
        for statement in statements
        for action in statement["Action"]
        if isinstance(statement["Action"], list)
    } | {
        (statement["Action"], str(statement["Resource"]))
        for statement in statements
        if isinstance(statement["Action"], str)
    }
    assert {action for action, _ in granted} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "sqs:SendMessage",
    }
    for action, resource in granted:
        if action.startswith("logs:"):
            assert "LogProcessorFunctionLogGroup" in resource
        if action.startswith("sqs:"):
            assert "LogProcessorFailedBatches" in resource


def test_reserved_concurrency_comes_from_a_parameter() -> None:
    function = resources_of("AWS::Lambda::Function")["LogProcessorFunction"]["Properties"]

    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "ReserveLogProcessorConcurrency",
            {"Ref": "LogProcessorReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert properties_of("AWS::Logs::LogGroup")["LogProcessorFunctionLogGroup"]["RetentionInDays"]
