"""The monitored stage: access logs, tracing and method settings."""

from __future__ import annotations

import json
import re

import pytest

from dev_support.paths import ROOT
from emulator.logs import render
from emulator.template import access_log_format
from tests.template.conftest import properties_of

# The fields the access log must carry, and the $context variable behind each.
REQUIRED_FIELDS = {
    "requestId": "$context.requestId",
    "epochMs": "$context.requestTimeEpoch",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "bytes": "$context.responseLength",
    "latency": "$context.responseLatency",
    "fnLatency": "$context.integrationLatency",
    "fnStatus": "$context.integrationStatus",
    "fnError": "$context.integration.error",
    "errorType": "$context.error.responseType",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "apiKeyId": "$context.identity.apiKeyId",
    "traceId": "$context.xrayTraceId",
}
# API Gateway writes this one already quoted; every other variable must be quoted by us.
PRE_QUOTED = "$context.error.messageString"
VARIABLE = re.compile(r"\$context(?:\.[A-Za-z]+)+")


def render_with(log_format: str, value: str) -> str:
    """The line API Gateway would write if every variable held ``value``."""
    return render(log_format, dict.fromkeys(VARIABLE.findall(log_format), value))


def stage() -> dict[str, object]:
    (properties,) = properties_of("AWS::ApiGateway::Stage").values()
    return properties


def test_stage_writes_access_logs_to_the_template_log_group() -> None:
    assert stage()["AccessLogSetting"] == {
        "DestinationArn": {"Fn::GetAtt": ["AccessLogGroup", "Arn"]},
        "Format": {"Fn::FindInMap": ["AccessLog", "Format", "Json"]},
    }
    group = properties_of("AWS::Logs::LogGroup")["AccessLogGroup"]
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"}


def test_stage_is_traced_and_named_by_a_parameter() -> None:
    assert stage()["TracingEnabled"] is True
    assert stage()["StageName"] == {"Ref": "StageName"}


def test_method_settings_publish_metrics_and_keep_payloads_out_of_logs() -> None:
    assert stage()["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "MetricsEnabled": True,
            "LoggingLevel": {"Ref": "LoggingLevel"},
            "DataTraceEnabled": {"Ref": "DataTraceEnabled"},
            "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        }
    ]


def test_access_log_format_is_one_line_with_every_required_field() -> None:
    log_format = access_log_format()

    assert "\n" not in log_format
    for field, variable in REQUIRED_FIELDS.items():
        quoted = variable if variable == PRE_QUOTED else f'"{variable}"'
        assert f'"{field}":{quoted}' in log_format, field


def test_every_variable_but_the_pre_quoted_one_is_quoted() -> None:
    log_format = access_log_format()

    for match in VARIABLE.finditer(log_format):
        before, after = log_format[match.start() - 1], log_format[match.end()]
        if match.group(0) == PRE_QUOTED:
            assert (before, after) == (":", ",")
        else:
            assert (before, after) == ('"', '"'), match.group(0)


@pytest.mark.parametrize("value", ["-", 'say "hi"', "back\\slash", 'mixed -"\\- \u00e9'])
def test_access_log_line_parses_as_json_whatever_the_values(value: str) -> None:
    record = json.loads(render_with(access_log_format(), value))

    assert set(REQUIRED_FIELDS) <= set(record)
    assert all(field_value == value for field_value in record.values())


def test_the_performance_notes_count_the_fields_of_the_format() -> None:
    notes = (ROOT / "docs" / "performance.md").read_text()

    (stated,) = re.findall(r"compact access-log format\*\* \((\d+) fields", notes)

    assert int(stated) == len(json.loads(access_log_format().replace(PRE_QUOTED, '"x"')))
