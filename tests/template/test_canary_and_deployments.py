"""The canary and the deployments after the SAM transform: CodeDeploy's resources, the
pre-traffic hook, the new version's alarms, the canary's schedule, key, plan and IAM."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from dev_support.paths import TEMPLATE_PATH
from emulator.alarms import CompositeAlarm, MetricAlarm, State, evaluate_all, load_alarms
from emulator.metric_data import MetricStore
from emulator.service_metrics import document
from emulator.template import Resolver, transform_offline
from tests.template.conftest import policy_statements, properties_of, resources_of
from tests.template.test_samconfig import overrides


@cache
def with_parameters(**parameters: str) -> dict[str, Any]:
    return transform_offline(TEMPLATE_PATH, parameters)


def present(template: dict[str, Any], parameters: dict[str, str]) -> set[str]:
    """The resources CloudFormation creates for ``parameters`` (conditions resolved)."""
    resolve = Resolver(template, parameters, {})
    return {
        name
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or resolve.condition(resource["Condition"])
    }


def version_id() -> str:
    (name,) = resources_of("AWS::Lambda::Version")
    return name


def test_the_alias_moves_through_codedeploy_after_the_pre_traffic_hook() -> None:
    (alias,) = resources_of("AWS::Lambda::Alias").values()
    (group,) = properties_of("AWS::CodeDeploy::DeploymentGroup").values()

    assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"] == {
        "ApplicationName": {"Ref": "ServerlessDeploymentApplication"},
        "DeploymentGroupName": {"Ref": "InferenceFunctionDeploymentGroup"},
        "BeforeAllowTrafficHook": {"Ref": "PreTrafficHookFunction"},
    }
    assert resources_of("AWS::CodeDeploy::Application")
    assert group["AlarmConfiguration"] == {
        "Enabled": True,
        "Alarms": [
            {"Name": {"Ref": "NewVersionErrorsAlarm"}},
            {"Name": {"Ref": "NewVersionDurationAlarm"}},
        ],
    }
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]


@pytest.mark.parametrize(
    "kind", ["AllAtOnce", "Canary10Percent5Minutes", "Linear10PercentEvery1Minute"]
)
def test_deployment_type_chooses_codedeploys_configuration(kind: str) -> None:
    template = with_parameters(DeploymentType=kind)
    (group,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"
    ]

    assert Resolver(template, {}, {}).value(group["DeploymentConfigName"]) == (
        f"CodeDeployDefault.Lambda{kind}"
    )


def test_dev_deploys_at_once_and_production_a_canary_first() -> None:
    assert overrides("default")["DeploymentType"] == "AllAtOnce"
    assert overrides("prod")["DeploymentType"] == "Canary10Percent5Minutes"


def test_the_rollback_alarms_read_the_new_version_alone() -> None:
    for name in ("NewVersionErrorsAlarm", "NewVersionDurationAlarm"):
        alarm = properties_of("AWS::CloudWatch::Alarm")[name]

        assert alarm["Namespace"] == "AWS/Lambda"
        assert alarm["Dimensions"] == [
            {"Name": "FunctionName", "Value": {"Ref": "InferenceFunction"}},
            {"Name": "Resource", "Value": {"Fn::Sub": "${InferenceFunction}:live"}},
            {"Name": "ExecutedVersion", "Value": {"Fn::GetAtt": [version_id(), "Version"]}},
        ]
    duration = properties_of("AWS::CloudWatch::Alarm")["NewVersionDurationAlarm"]
    assert (
        duration["Threshold"]
        == properties_of("AWS::CloudWatch::Alarm")["InferenceDurationAlarm"]["Threshold"]
    )


def test_the_hook_checks_the_new_version_and_may_do_nothing_else() -> None:
    hook = properties_of("AWS::Lambda::Function")["PreTrafficHookFunction"]
    statements = [s for role, s in policy_statements() if role == "PreTrafficHookFunctionRole"]
    allowed = {
        action: statement["Resource"]
        for statement in statements
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }

    assert hook["Handler"] == "canary.pre_traffic.lambda_handler"
    # SAM's CodeDeploy role may invoke hooks whose names start so.
    assert hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_")
    assert hook["Environment"]["Variables"]["TARGET_FUNCTION_VERSION"] == {"Ref": version_id()}
    assert allowed == {
        "logs:CreateLogStream": {"Fn::GetAtt": ["PreTrafficHookFunctionLogGroup", "Arn"]},
        "logs:PutLogEvents": {"Fn::GetAtt": ["PreTrafficHookFunctionLogGroup", "Arn"]},
        "xray:PutTraceSegments": "*",
        "xray:PutTelemetryRecords": "*",
        "lambda:InvokeFunction": {"Fn::Sub": "${InferenceFunction.Arn}:*"},
        "codedeploy:PutLifecycleEventHookExecutionStatus": {
            "Fn::Sub": "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}"
            ":deploymentgroup:${ServerlessDeploymentApplication}/${InferenceFunctionDeploymentGroup}"
        },
    }
    # The hook deploys at once: it has no deployment group of its own.
    assert len(resources_of("AWS::CodeDeploy::DeploymentGroup")) == 1


def test_the_canary_calls_the_public_api_with_its_own_key_and_reads_only_that_key() -> None:
    canary = properties_of("AWS::Lambda::Function")["CanaryFunction"]
    statements = [s for role, s in policy_statements() if role == "CanaryFunctionRole"]
    other = [s for s in statements if not str(s["Action"]).startswith(("['logs:", "['xray:"))]

    assert canary["Handler"] == "canary.handler.lambda_handler"
    assert canary["Environment"]["Variables"]["API_URL"] == {
        "Fn::Sub": "https://${InferenceApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
    }
    assert canary["Environment"]["Variables"]["CANARY_API_KEY_ID"] == {"Ref": "CanaryApiKey"}
    assert other == [
        {
            "Effect": "Allow",
            "Action": "apigateway:GET",
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::"
                "/apikeys/${CanaryApiKey}"
            },
        }
    ]
    # Its own key, in its own plan on the stage; the clients' plan does not hold it.
    (key,) = [
        p
        for p in properties_of("AWS::ApiGateway::UsagePlanKey").values()
        if p["KeyId"] == {"Ref": "CanaryApiKey"}
    ]
    assert key["UsagePlanId"] == {"Ref": "CanaryUsagePlan"}
    plan = properties_of("AWS::ApiGateway::UsagePlan")["CanaryUsagePlan"]
    assert (
        plan["ApiStages"] == properties_of("AWS::ApiGateway::UsagePlan")["UsagePlan"]["ApiStages"]
    )


def test_the_log_processor_leaves_the_canarys_key_out() -> None:
    processor = properties_of("AWS::Lambda::Function")["LogProcessorFunction"]

    assert processor["Environment"]["Variables"]["EXCLUDED_API_KEY_IDS"] == {
        "Fn::If": ["CreateCanary", {"Ref": "CanaryApiKey"}, ""]
    }


@pytest.mark.parametrize(("rate", "seconds"), [("5", 300), ("15", 900), ("60", 3600)])
def test_the_schedule_and_the_alarm_period_follow_canary_rate_minutes(
    rate: str, seconds: int
) -> None:
    template = with_parameters(CanaryRateMinutes=rate)
    resolve = Resolver(template, {"CanaryRateMinutes": rate}, {})
    (schedule,) = [
        resolve.value(r["Properties"])
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Scheduler::Schedule" and name.startswith("CanaryFunction")
    ]
    alarm = resolve.value(template["Resources"]["CanaryFailingAlarm"]["Properties"])

    assert schedule["ScheduleExpression"] == f"rate({rate} minutes)"
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        seconds,
        2,
        2,
    )
    assert (alarm["MetricName"], alarm["Statistic"], alarm["TreatMissingData"]) == (
        "CanarySuccess",
        "Minimum",
        "breaching",
    )


@pytest.mark.parametrize(
    "parameters", [{"CanaryRateMinutes": "0"}, {"AuthMode": "IAM"}, {"AuthMode": "NONE"}]
)
def test_no_canary_without_a_rate_or_a_key_of_its_own(parameters: dict[str, str]) -> None:
    template = with_parameters(**parameters)
    created = present(template, parameters)
    canary = {name for name in template["Resources"] if name.startswith("Canary")}

    assert canary
    assert not canary & created
    assert "PreTrafficHookFunction" in created
    assert {"CanaryApiKey"} & created == set()


def test_the_canary_alarm_fires_on_two_failing_runs_in_a_row_only() -> None:
    start = 1_796_000_000_000 - 1_796_000_000_000 % 3_600_000
    alarms = load_alarms()
    only: tuple[list[MetricAlarm], list[CompositeAlarm]] = (
        [a for a in alarms[0] if a.logical_id == "CanaryFailingAlarm"],
        [],
    )

    def states(runs: list[int]) -> list[State]:
        store = MetricStore()
        for i, passed in enumerate(runs):
            store.add(
                document(
                    "ModelEndpoint",
                    start + i * 300_000 + 1_000,
                    {"service": "model-endpoint", "model": "iris"},
                    [["service", "model"], ["service"]],
                    {"CanarySuccess": (float(passed), "Count")},
                )
            )
        (transitions,) = evaluate_all(store, start, start + len(runs) * 300_000, only).values()
        assert not isinstance(transitions, str)
        return [t.state for t in transitions]

    assert State.ALARM not in states([1, 0, 1, 0, 1, 1])
    assert State.ALARM in states([1, 1, 0, 0, 1, 1])
