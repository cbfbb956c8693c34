"""The LLM endpoints in the template: the chat route's timeouts in step (Converse, the
function, the gateway), the Bedrock models the function may call, the chat alarms and the
top-keys-by-tokens rule."""

from __future__ import annotations

import json
import re

import pytest

from dev_support.paths import MODELS_DIR, TEMPLATE_PATH
from emulator.template import Resolver, load_app, parameter_default, template, transform_offline
from inference.backends.aws import CONNECT_TIMEOUT_S
from inference.metadata import BedrockBackendSpec, read_metadata
from log_processor.settings import CHAT_ROUTE
from tests.support import openapi
from tests.template.conftest import properties_of
from tests.template.test_models_s3 import role_policies

ARN = "arn:aws:bedrock:local::foundation-model/"
ALLOWED = template()["Parameters"]["ChatIntegrationTimeoutMs"]["AllowedValues"]


def bundled_bedrock_models() -> list[BedrockBackendSpec]:
    specs = [read_metadata(path).backend for path in sorted(MODELS_DIR.glob("*/*/metadata.json"))]
    return [spec for spec in specs if isinstance(spec, BedrockBackendSpec)]


def test_the_bundled_chat_model_is_one_the_default_grants() -> None:
    (spec,) = bundled_bedrock_models()

    assert spec.model_id in parameter_default("BedrockModelIds").split(",")
    assert spec.price_per_1k_input_tokens is not None
    assert spec.price_per_1k_output_tokens is not None


@pytest.mark.parametrize("timeout_ms", ALLOWED)
def test_converse_then_the_function_then_the_gateway_give_up(timeout_ms: int) -> None:
    app = load_app(parameters={"ChatIntegrationTimeoutMs": str(timeout_ms)})
    function = app.functions["InferenceFunction"]
    (route,) = [r for r in app.routes if r.resource == "/v1/chat/completions"]
    converse_ms = int(function.environment["CONVERSE_TIMEOUT_MS"])

    assert route.timeout_s * 1000 == timeout_ms
    # The call's worst case (connect, then read) ends a second before the function's
    # timeout, which ends before the gateway's, with room for a cold start's init.
    assert CONNECT_TIMEOUT_S * 1000 + converse_ms + 1000 <= function.timeout_s * 1000
    assert function.timeout_s * 1000 + 2000 <= timeout_ms
    # Every other route keeps API Gateway's default.
    assert {r.timeout_s for r in app.routes if r is not route} == {29.0}


@pytest.mark.parametrize("timeout_ms", ALLOWED)
def test_the_duration_alarm_follows_the_function_timeout(timeout_ms: int) -> None:
    parameters = {"ChatIntegrationTimeoutMs": str(timeout_ms)}
    transformed = transform_offline(TEMPLATE_PATH, parameters)
    resolve = Resolver(transformed, parameters, {})
    resources = transformed["Resources"]
    alarm = resolve.value(resources["InferenceDurationAlarm"]["Properties"])
    timeout_s = resolve.value(resources["InferenceFunction"]["Properties"]["Timeout"])

    assert float(alarm["Threshold"]) == pytest.approx(0.8 * float(timeout_s) * 1000)


def test_integration_timeouts_are_within_what_regional_rest_apis_take() -> None:
    spec = template()["Parameters"]["ChatIntegrationTimeoutMs"]

    assert spec["Default"] == 29000
    # 50 ms to 29 s by default; up to 300 s once the account's quota is raised.
    assert min(ALLOWED) >= 50
    assert max(ALLOWED) <= 300_000
    integration = openapi()["paths"]["/v1/chat/completions"]["post"][
        "x-amazon-apigateway-integration"
    ]
    assert integration["timeoutInMillis"] == {"Ref": "ChatIntegrationTimeoutMs"}


def test_without_bedrock_models_the_function_may_invoke_none() -> None:
    policies = role_policies({"BedrockModelIds": ""})

    assert "invoke-bedrock-models" not in policies
    assert "bedrock:" not in str(policies)


@pytest.mark.parametrize(
    "ids",
    [
        ["amazon.nova-micro-v1:0"],
        ["amazon.nova-micro-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"],
        ["a.b", "c.d", "e.f", "g.h", "i.j"],
    ],
    ids=["one", "two", "five"],
)
def test_the_function_may_invoke_exactly_the_named_models(ids: list[str]) -> None:
    policies = role_policies({"BedrockModelIds": ",".join(ids)})

    assert policies["invoke-bedrock-models"] == [
        {
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": [ARN + model_id for model_id in ids],
        }
    ]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("amazon.nova-micro-v1:0", True),
        ("meta.llama3-8b-instruct-v1:0,mistral.mistral-7b-instruct-v0:2", True),
        ("a.b,c.d,e.f,g.h,i.j,k.l", False),  # a sixth id would have no place in the policy
        ("*", False),
        ("amazon.*", False),
        ("Amazon.Nova", False),
        ("amazon.nova-micro-v1:0,", False),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0", False),
    ],
)
def test_model_ids_are_foundation_model_ids_five_at_most(value: str, accepted: bool) -> None:
    pattern = template()["Parameters"]["BedrockModelIds"]["AllowedPattern"]

    assert bool(re.fullmatch(pattern, value)) == accepted


def test_the_chat_routes_may_invoke_the_function() -> None:
    permission = properties_of("AWS::Lambda::Permission")["ChatApiPermission"]

    assert permission["SourceArn"]["Fn::Sub"].endswith("${InferenceApi}/*/*/v1*")
    assert permission["Principal"] == "apigateway.amazonaws.com"


def test_the_chat_latency_alarm_watches_the_chat_route() -> None:
    alarm = properties_of("AWS::CloudWatch::Alarm")["ChatLatencyAlarm"]
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}

    assert dimensions["route"] == CHAT_ROUTE
    assert alarm["Threshold"] == {"Ref": "ChatLatencySloThresholdMs"}
    assert alarm["MetricName"] == "Latency"
    assert parameter_default("ChatLatencySloThresholdMs") == 10000


@pytest.mark.parametrize(("usd", "exists"), [("0", False), ("25", True)])
def test_the_daily_cost_alarm_exists_when_a_budget_is_set(usd: str, exists: bool) -> None:
    parameters = {"DailyCostAlarmUsd": usd}
    transformed = transform_offline(TEMPLATE_PATH, parameters)
    resolve = Resolver(transformed, parameters, {})
    alarm = transformed["Resources"]["DailyCostAlarm"]

    assert resolve.condition(alarm["Condition"]) == exists
    properties = resolve.value(alarm["Properties"])
    assert (properties["MetricName"], properties["Statistic"], properties["Period"]) == (
        "EstimatedCost",
        "Sum",
        86400,
    )
    assert str(properties["Threshold"]) == usd


def test_top_keys_by_tokens_reads_the_fields_the_function_writes() -> None:
    (rule,) = [
        r
        for r in properties_of("AWS::CloudWatch::InsightRule").values()
        if "by-tokens" in r["RuleName"]["Fn::Sub"]
    ]
    body = json.loads(rule["RuleBody"]["Fn::Sub"].replace("${InferenceFunctionLogGroup}", "group"))

    assert body["LogGroupNames"] == ["group"]
    assert body["Contribution"]["Keys"] == ["$.api_key_id"]
    assert body["Contribution"]["ValueOf"] == "$.total_tokens"
    assert body["AggregateOn"] == "Sum"
