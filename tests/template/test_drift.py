"""The drift job after the SAM transform: its schedule, its grants, its alarms, and the
README's table of its metrics."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.template import parameter_default, template
from log_processor.metrics import DRIFT_CONTRACT
from tests.support import readme_metrics
from tests.template.conftest import policy_statements, properties_of


def test_the_readme_drift_table_is_the_declared_contract() -> None:
    declared = {
        spec.name: (spec.unit.value, tuple(sorted(spec.dimensions))) for spec in DRIFT_CONTRACT
    }

    assert readme_metrics("### Drift metrics (the drift job)") == declared


def test_the_drift_job_runs_every_window_with_its_scheduled_time() -> None:
    (schedule,) = [
        schedule
        for name, schedule in properties_of("AWS::Scheduler::Schedule").items()
        if name.startswith("DriftFunction")
    ]
    target = schedule["Target"]

    assert target["Arn"] == {"Fn::GetAtt": ["DriftFunction", "Arn"]}
    assert target["Input"] == '{"scheduled_time": "<aws.scheduler.scheduled-time>"}'
    assert schedule["ScheduleExpression"] == {
        "Fn::If": [
            "DriftWindowIsOneMinute",
            "rate(1 minute)",
            {"Fn::Sub": "rate(${DriftWindowMinutes} minutes)"},
        ]
    }
    assert schedule["Name"] == {"Fn::Sub": "${AWS::StackName}-drift"}


def test_the_drift_job_reads_the_inference_log_and_nothing_else() -> None:
    grants = [s for role, s in policy_statements() if role == "DriftFunctionRole"]
    reads = [s for s in grants if s["Action"] == "logs:FilterLogEvents"]

    assert reads == [
        {
            "Effect": "Allow",
            "Action": "logs:FilterLogEvents",
            "Resource": {"Fn::GetAtt": ["InferenceFunctionLogGroup", "Arn"]},
        }
    ]
    actions = {
        a for s in grants for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:FilterLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    scheduler = [s for role, s in policy_statements() if role == "DriftFunctionEveryWindowRole"]
    assert scheduler == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["DriftFunction", "Arn"]},
        }
    ]


def test_both_functions_get_the_same_window_and_the_job_its_log_group() -> None:
    functions = properties_of("AWS::Lambda::Function")
    inference = functions["InferenceFunction"]["Environment"]["Variables"]
    job = functions["DriftFunction"]["Environment"]["Variables"]

    assert inference["DRIFT_WINDOW_MINUTES"] == {"Ref": "DriftWindowMinutes"}
    assert job["DRIFT_WINDOW_MINUTES"] == {"Ref": "DriftWindowMinutes"}
    assert job["DRIFT_MIN_ROWS"] == {"Ref": "DriftMinRows"}
    assert job["INFERENCE_LOG_GROUP"] == {"Ref": "InferenceFunctionLogGroup"}


ALARMS = {
    "InputDriftAlarm": ("InputDrift", "InputDriftThreshold"),
    "PredictionDriftAlarm": ("PredictionDrift", "PredictionDriftThreshold"),
}


@pytest.mark.parametrize("name", ALARMS)
def test_drift_alarms_judge_consecutive_windows_of_the_largest_model(name: str) -> None:
    alarm = properties_of("AWS::CloudWatch::Alarm")[name]
    metric, threshold = ALARMS[name]

    assert alarm["MetricName"] == metric
    assert alarm["Dimensions"] == [{"Name": "service", "Value": {"Ref": "ServiceName"}}]
    assert alarm["Statistic"] == "Maximum"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == {"Ref": threshold}
    assert alarm["EvaluationPeriods"] == {"Ref": "DriftAlarmWindows"}
    assert alarm["DatapointsToAlarm"] == {"Ref": "DriftAlarmWindows"}
    assert alarm["TreatMissingData"] == "missing"
    assert parameter_default(threshold) == 0.2
    assert parameter_default("DriftAlarmWindows") == 3


@pytest.mark.parametrize("minutes", template()["Parameters"]["DriftWindowMinutes"]["AllowedValues"])
def test_the_alarms_period_is_the_window_at_every_allowed_length(minutes: int) -> None:
    mapping: dict[str, Any] = template()["Mappings"]["DriftWindow"]

    assert mapping[str(minutes)]["Seconds"] == minutes * 60
    # CloudWatch evaluates at most a day: three windows of the longest length fit.
    assert 3 * minutes * 60 <= 86_400
