"""Alarm lint: every alarm watches a metric that really receives data, and says what to do.

AWS metrics are checked against the names and dimensions AWS publishes for the
resources of this stack; custom metrics against the EMF the handlers print when
they run here.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import inference.handler
from canary.probe import Outcome
from canary.telemetry import record_outcome
from dev_support.lambda_events import FakeLambdaContext, load_event, subscription_event
from dev_support.paths import ROOT
from emulator.logs import render_access_log
from emulator.template import function_environment, parameter_default
from inference.errors import BACKEND_FAILURES
from inference.handler import lambda_handler as inference_handler
from inference.telemetry import logger as inference_logger
from log_processor.drift import window_of
from log_processor.drift_job import load_drift_settings, run
from log_processor.handler import lambda_handler as log_processor_handler
from log_processor.handler import logger as log_processor_logger
from tests import bedrock
from tests.sagemaker import MODEL, failing_client, registry_with
from tests.support import cold_invoke, emf_blobs
from tests.template.conftest import properties_of, resources_of

API_METRICS = {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"}
LAMBDA_METRICS = {
    "Errors",
    "Throttles",
    "Duration",
    "Invocations",
    "ConcurrentExecutions",
    "DestinationDeliveryFailures",
}
# What CloudWatch Logs publishes per log group about the EMF documents it rejects.
LOGS_METRICS = {"EMFParsingErrors", "EMFValidationErrors"}
RUNBOOK = ROOT / "docs" / "runbook.md"


def alarms() -> dict[str, dict[str, Any]]:
    return properties_of("AWS::CloudWatch::Alarm")


def composites() -> dict[str, dict[str, Any]]:
    return properties_of("AWS::CloudWatch::CompositeAlarm")


def watched(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or those of its metric-math query."""
    if "MetricName" in alarm:
        return [alarm]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def dimensions(metric: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


@cache
def emitted() -> dict[str, list[dict[str, Any]]]:
    """Metric name -> the EMF documents carrying it, from running both handlers here."""
    output = io.StringIO()
    # The loggers hold the stdout they saw at import: point them at the capture too.
    for logger in (inference_logger, log_processor_logger):
        logger.registered_handler.stream = output  # type: ignore[attr-defined]
    # A fresh interpreter, so that the cold-start metrics are among them.
    output.write(cold_invoke("infer_iris"))
    with contextlib.redirect_stdout(output):
        inference_handler(load_event("infer_iris"), FakeLambdaContext())
        backend_failures()
        chat_completion()
        for passed in (True, False):
            record_outcome(
                Outcome("iris", "1", passed, 12.5),
                parameter_default("MetricsNamespace"),
                parameter_default("ServiceName"),
            )
        lines = [
            render_access_log(
                {
                    "$context.requestId": "r-1",
                    "$context.status": "429",
                    "$context.error.responseType": "THROTTLED",
                    "$context.httpMethod": "POST",
                    "$context.resourcePath": "/v2/models/{model_name}/infer",
                    "$context.path": "/prod/v2/models/iris/infer",
                    "$context.stage": parameter_default("StageName"),
                    "$context.responseLatency": "3",
                }
            ),
            render_access_log(
                {
                    "$context.requestId": "r-2",
                    "$context.status": "200",
                    "$context.httpMethod": "POST",
                    "$context.resourcePath": "/v1/chat/completions",
                    "$context.path": "/prod/v1/chat/completions",
                    "$context.stage": parameter_default("StageName"),
                    "$context.responseLatency": "2400",
                    "$context.integrationLatency": "2390",
                }
            ),
            "not an access-log line",
        ]
        log_processor_handler(subscription_event(lines), FakeLambdaContext())
    output.write(drift_job_output(output.getvalue()))
    found: dict[str, list[dict[str, Any]]] = {}
    for document in emf_blobs(output.getvalue()):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).append(document)
    return found


def drift_job_output(inference_output: str) -> str:
    """What the drift job prints over the inference lines above, as one window's
    FilterLogEvents page (one row is enough here: the minimum is not what is checked)."""
    settings = replace(load_drift_settings(function_environment("DriftFunction")), min_rows=1)
    now_ms = int(time.time() * 1000)
    start, _ = window_of(now_ms, settings.window_ms, settings.grace_ms)
    events = [
        {"timestamp": start, "message": json.dumps(doc)}
        for doc in emf_blobs(inference_output)
        if "drift" in doc
    ]

    def filter_log_events(**request: Any) -> dict[str, Any]:
        return {"events": events}

    result = run(settings, filter_log_events, now_ms, now_ms)
    return "".join(json.dumps(document) + "\n" for document in result.documents)


def backend_failures() -> None:
    """One infer request for each way a model's backend can fail (BackendErrors)."""
    bundled = inference.handler.REGISTRY
    event = load_event("infer_iris")
    event = {**event, "path": f"/v2/models/{MODEL}/infer", "pathParameters": {"model_name": MODEL}}
    try:
        for kind in BACKEND_FAILURES:
            with tempfile.TemporaryDirectory() as folder:
                inference.handler.REGISTRY = registry_with(failing_client(kind), Path(folder))
                inference_handler(event, FakeLambdaContext())
    finally:
        inference.handler.REGISTRY = bundled


def chat_completion() -> None:
    """One chat completion, its Converse call answered by a stub (the chat metrics)."""
    bundled = inference.handler.REGISTRY
    client = bedrock.answering_client(bedrock.converse_answer())
    try:
        inference.handler.REGISTRY = bedrock.registry_with(client)
        inference_handler(load_event("chat_completion"), FakeLambdaContext())
    finally:
        inference.handler.REGISTRY = bundled


def test_api_gateway_alarms_use_the_rest_api_name_and_stage() -> None:
    (api,) = properties_of("AWS::ApiGateway::RestApi").values()
    checked = 0
    for name, alarm in alarms().items():
        for metric in watched(alarm):
            if metric["Namespace"] != "AWS/ApiGateway":
                continue
            checked += 1
            assert metric["MetricName"] in API_METRICS, name
            # REST APIs publish under the API's name, not its id.
            assert dimensions(metric) == {"ApiName": api["Name"], "Stage": {"Ref": "StageName"}}
    assert checked >= 5


def test_lambda_and_sqs_alarms_name_resources_of_this_stack() -> None:
    functions = set(resources_of("AWS::Lambda::Function"))
    queues = set(resources_of("AWS::SQS::Queue"))
    for name, alarm in alarms().items():
        for metric in watched(alarm):
            if metric["Namespace"] == "AWS/Lambda":
                assert metric["MetricName"] in LAMBDA_METRICS, name
                assert dimensions(metric)["FunctionName"]["Ref"] in functions, name
            if metric["Namespace"] == "AWS/SQS":
                queue, attribute = dimensions(metric)["QueueName"]["Fn::GetAtt"]
                assert (queue in queues, attribute) == (True, "QueueName"), name


def test_a_failed_batch_that_cannot_be_parked_pages() -> None:
    watching = [
        name
        for name, alarm in alarms().items()
        for metric in watched(alarm)
        if metric["MetricName"] == "DestinationDeliveryFailures"
        and dimensions(metric)["FunctionName"] == {"Ref": "LogProcessorFunction"}
    ]

    assert len(watching) == 1
    assert alarms()[watching[0]]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_emf_alarms_watch_the_log_groups_the_functions_write_to() -> None:
    # The pre-traffic hook publishes no metrics: it reports to CodeDeploy.
    function_groups = {
        function["LoggingConfig"]["LogGroup"]["Ref"]
        for name, function in properties_of("AWS::Lambda::Function").items()
        if name != "PreTrafficHookFunction"
    }
    watched_groups: set[str] = set()
    for name, alarm in alarms().items():
        for metric in watched(alarm):
            if metric["Namespace"] == "AWS/Logs":
                assert metric["MetricName"] in LOGS_METRICS, name
                group = dimensions(metric)["LogGroupName"]
                if "Fn::If" in group:
                    # A group that exists with a condition: named the same either way.
                    _, present, absent = group["Fn::If"]
                    assert absent == {"Fn::Sub": resources_of_any_group(present["Ref"])}, name
                    group = present
                watched_groups.add(group["Ref"])

    assert watched_groups == function_groups


def resources_of_any_group(logical_id: str) -> str:
    name: str = properties_of("AWS::Logs::LogGroup")[logical_id]["LogGroupName"]["Fn::Sub"]
    return name


def test_custom_metric_alarms_match_what_the_functions_emit() -> None:
    checked = 0
    for name, alarm in alarms().items():
        for metric in watched(alarm):
            if metric["Namespace"] != {"Ref": "MetricsNamespace"}:
                continue
            checked += 1
            documents = emitted().get(metric["MetricName"])
            assert documents, f"{name}: nothing emits {metric['MetricName']}"
            wanted = dimensions(metric)
            resolved = {
                key: parameter_default(value["Ref"]) if isinstance(value, dict) else value
                for key, value in wanted.items()
            }
            matching = [
                doc
                for doc in documents
                for directive in doc["_aws"]["CloudWatchMetrics"]
                if any(sorted(dims) == sorted(wanted) for dims in directive["Dimensions"])
                and all(str(doc[key]) == str(value) for key, value in resolved.items())
            ]
            assert matching, f"{name}: no {metric['MetricName']} with dimensions {resolved}"
            assert matching[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == parameter_default(
                "MetricsNamespace"
            )
    assert checked >= 3


def test_percentile_alarms_wait_for_enough_samples() -> None:
    percentile_alarms = {
        name: alarm for name, alarm in alarms().items() if "ExtendedStatistic" in alarm
    }

    assert len(percentile_alarms) >= 5
    for name, alarm in percentile_alarms.items():
        # Fewer than 10 / (1 - 0.99) = 1,000 samples in a period: the state is kept.
        assert alarm.get("EvaluateLowSampleCountPercentile") == "ignore", name


# The duration alarm's 80 % of the function's timeout, for each chat integration timeout:
# tests/template/test_chat_endpoints.py.


def test_every_alarm_chooses_missing_data_and_notifies_unless_part_of_a_composite() -> None:
    topic = {"Ref": "AlarmTopic"}
    components = {
        component
        for composite in composites().values()
        for component in re.findall(r"ALARM\(\$\{(\w+)\}\)", composite["AlarmRule"]["Fn::Sub"])
    }
    assert len(components) == 8
    for name, alarm in alarms().items():
        assert alarm["TreatMissingData"] in {"breaching", "notBreaching", "ignore", "missing"}
        if name in components:
            assert "AlarmActions" not in alarm, name
        else:
            assert (alarm["AlarmActions"], alarm["OKActions"]) == ([topic], [topic]), name
    for name, composite in composites().items():
        assert (composite["AlarmActions"], composite["OKActions"]) == ([topic], [topic]), name


def test_latency_slo_divides_counts_from_the_same_pipeline() -> None:
    components = {name: a for name, a in alarms().items() if name.startswith("LatencySlo")}

    assert len(components) == 4
    for name, alarm in components.items():
        queries = {
            q["Id"]: q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q
        }
        slow, requests = queries["slow"], queries["requests"]
        # Both from the log processor, per request minute: the same lag, the same lines.
        assert (slow["MetricName"], requests["MetricName"]) == ("SlowRequests", "StageRequests")
        assert slow["Namespace"] == requests["Namespace"], name
        assert slow["Dimensions"] == requests["Dimensions"], name


def test_burn_rate_alarms_follow_the_workbook_windows() -> None:
    windows = {
        name: (alarm["Threshold"], alarm["Metrics"][0]["MetricStat"]["Period"])
        for name, alarm in alarms().items()
        if name.startswith("Slo")
    }

    assert sorted(windows.values()) == sorted([(14.4, 3600), (14.4, 300), (6, 21600), (6, 1800)])
    for name, alarm in alarms().items():
        if name.startswith("Slo"):
            (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
            assert "${AvailabilitySloPercent}" in expression["Fn::Sub"]


@pytest.mark.parametrize("kind", ["AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"])
def test_every_alarm_links_an_existing_runbook_section(kind: str) -> None:
    headings = set(re.findall(r"^## (\S+)", RUNBOOK.read_text(), flags=re.MULTILINE))
    for name, alarm in properties_of(kind).items():
        (anchor,) = re.findall(r"docs/runbook\.md#([\w-]+)", alarm["AlarmDescription"])
        assert anchor in headings, name


def dashboard() -> dict[str, Any]:
    """The dashboard body as CloudFormation would render it, at the parameters' defaults."""
    (properties,) = properties_of("AWS::CloudWatch::Dashboard").values()
    body = properties["DashboardBody"]["Fn::Sub"]
    resources = set(resources_of("AWS::CloudWatch::Alarm")) | set(
        resources_of("AWS::CloudWatch::CompositeAlarm")
    )
    known = {"AccessLogGroup", "LogProcessorFailedBatches", *resources}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        pseudo = {"AWS::StackName": "stack", "AWS::Region": "eu-west-1"}
        if name in pseudo:
            return pseudo[name]
        if "." in name:
            resource, attribute = name.split(".")
            assert resource in known, name
            return f"{resource}:{attribute}"
        if name in known:
            return name
        return str(parameter_default(name))

    parsed: dict[str, Any] = json.loads(re.sub(r"\$\{([\w:.]+)\}", substitute, body))
    return parsed


def dashboard_metrics() -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric the dashboard reads, SEARCH included."""
    found = []
    for widget in dashboard()["widgets"]:
        previous: list[Any] = []
        for entry in widget["properties"].get("metrics", []):
            if isinstance(entry[0], dict):
                for namespace, dims, metric in re.findall(
                    r"\{([^,}]+),([^}]*)\} MetricName=\"(\w+)\"", entry[0]["expression"]
                ):
                    found.append((namespace, metric, dict.fromkeys(dims.split(","), "*")))
                continue
            plain = [item for item in entry if not isinstance(item, dict)]
            if plain[0] == "...":
                plain = previous
            previous = plain
            namespace, metric, *pairs = plain
            found.append((namespace, metric, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def test_dashboard_metrics_can_all_receive_data() -> None:
    namespace = parameter_default("MetricsNamespace")
    metrics = dashboard_metrics()

    assert len(metrics) >= 15
    for source, metric, dims in metrics:
        if source == "AWS/ApiGateway":
            assert metric in API_METRICS
            assert dims == {"ApiName": "stack-api", "Stage": parameter_default("StageName")}
        elif source == "AWS/SQS":
            assert dims == {"QueueName": "LogProcessorFailedBatches:QueueName"}
        else:
            assert source == namespace, metric
            documents = emitted().get(metric)
            assert documents, f"the dashboard reads {metric}, which nothing emits"
            dimension_sets = {
                tuple(sorted(names))
                for doc in documents
                for directive in doc["_aws"]["CloudWatchMetrics"]
                for names in directive["Dimensions"]
            }
            assert tuple(sorted(dims)) in dimension_sets, (metric, dims)


def test_dashboard_shows_every_paging_alarm_and_the_latest_5xx() -> None:
    widgets = dashboard()["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    (log_widget,) = [w for w in widgets if w["type"] == "log"]
    paging = {
        name
        for name, alarm in {**alarms(), **composites()}.items()
        if "AlarmActions" in alarm and "Condition" not in resources_of_any(name)
    }

    shown = {arn.split(":")[0] for arn in alarm_widget["properties"]["alarms"]}
    assert shown == paging
    assert "SOURCE 'AccessLogGroup'" in log_widget["properties"]["query"]
    assert "status >= 500" in log_widget["properties"]["query"]


def resources_of_any(name: str) -> dict[str, Any]:
    for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        found = resources_of(kind)
        if name in found:
            return found[name]
    return {}
