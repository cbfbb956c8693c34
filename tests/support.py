"""Helpers shared by the test tiers: events, a Lambda context, the template, EMF."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from emulator.logs import render

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"
TEMPLATE_PATH = ROOT / "template.yaml"
OPENAPI_PATH = ROOT / "api" / "openapi.yaml"
MODELS_DIR = ROOT / "inference_fn" / "inference" / "models"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def with_body(event: dict[str, Any], body: Any) -> dict[str, Any]:
    """A copy of ``event`` carrying ``body`` (serialised to JSON unless already a str)."""
    return {
        **event,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


@dataclass
class FakeLambdaContext:
    function_name: str = "model-endpoint-dev-inference"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:model-endpoint-dev-inference"
    )
    aws_request_id: str = "0e6c7d2a-5a3e-4a7b-9f0e-3f1d2c4b5a69"
    log_group_name: str = "/aws/lambda/model-endpoint-dev-inference"
    log_stream_name: str = "2026/11/25/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@cache
def template() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse(TEMPLATE_PATH.read_text())
    return parsed


def access_log_format() -> str:
    """The stage's access-log format, as template.yaml declares it."""
    fmt: str = template()["Mappings"]["AccessLog"]["Format"]["Json"]
    return fmt


def openapi() -> dict[str, Any]:
    """api/openapi.yaml, the API definition template.yaml includes."""
    parsed: dict[str, Any] = yaml_parse(OPENAPI_PATH.read_text())
    return parsed


def parameter_default(name: str) -> Any:
    return template()["Parameters"][name]["Default"]


def _resolve(value: Any) -> str:
    """A template value at the parameters' defaults (the intrinsics the template uses)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return str(parameter_default(value["Ref"]))
    if isinstance(value, dict) and set(value) == {"Fn::FindInMap"}:
        mapping, key, attribute = value["Fn::FindInMap"]
        return str(template()["Mappings"][mapping][key][attribute])
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, items = value["Fn::Join"]
        if isinstance(items, dict):  # !Ref of a CommaDelimitedList
            return str(parameter_default(items["Ref"]))
        return str(separator).join(_resolve(item) for item in items)
    return str(value)


def function_environment(logical_id: str) -> dict[str, str]:
    """The environment the template gives a function, at the parameters' defaults."""
    globals_env = template()["Globals"]["Function"]["Environment"]["Variables"]
    own = template()["Resources"][logical_id]["Properties"].get("Environment", {})
    merged = {**globals_env, **own.get("Variables", {})}
    return {name: _resolve(value) for name, value in merged.items()}


def json_lines(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.startswith("{"):
            yield json.loads(line)


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    return [doc for doc in json_lines(stdout) if "_aws" in doc]


def log_records(stdout: str) -> list[dict[str, Any]]:
    return [doc for doc in json_lines(stdout) if "_aws" not in doc and "level" in doc]


@dataclass(frozen=True)
class EmittedMetric:
    namespace: str
    unit: str
    dimensions: tuple[str, ...]
    values: tuple[float, ...]
    dimension_values: tuple[tuple[str, str], ...]


def emitted_metrics(stdout: str) -> dict[str, list[EmittedMetric]]:
    """Every metric in the EMF blobs of ``stdout``, by name."""
    found: dict[str, list[EmittedMetric]] = {}
    for blob in emf_blobs(stdout):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimensions, definition in (
                (dims, definition)
                for dims in directive["Dimensions"]
                for definition in directive["Metrics"]
            ):
                raw = blob[definition["Name"]]
                values = tuple(raw if isinstance(raw, list) else [raw])
                found.setdefault(definition["Name"], []).append(
                    EmittedMetric(
                        namespace=directive["Namespace"],
                        unit=definition["Unit"],
                        dimensions=tuple(sorted(dimensions)),
                        values=values,
                        dimension_values=tuple(sorted((d, blob[d]) for d in dimensions)),
                    )
                )
    return found


def render_access_log(values: dict[str, Any]) -> str:
    """An access-log line as API Gateway writes it in the template's format.

    ``values`` maps ``$context`` variables to their values; others are missing (``-``).
    Rendered by the emulator's gateway, which writes the same lines over HTTP.
    """
    return render(access_log_format(), values)


def subscription_event(
    messages: Iterable[str | tuple[str, str]],
    *,
    timestamp_ms: int = 1_795_582_200_000,
    message_type: str = "DATA_MESSAGE",
    log_group: str = "/aws/apigateway/model-endpoint-dev-access",
) -> dict[str, Any]:
    """A CloudWatch Logs subscription event (gzip + base64), as Lambda receives it.

    Each message is a line, or ``(log event id, line)`` to choose the id.
    """
    log_events = []
    for index, item in enumerate(messages):
        event_id, message = item if isinstance(item, tuple) else (f"{index:056d}", item)
        log_events.append({"id": event_id, "timestamp": timestamp_ms, "message": message})
    payload = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "0123456789abcdef0123456789abcdef",
        "subscriptionFilters": ["model-endpoint-dev-AccessLogSubscription"],
        "logEvents": log_events,
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    return {"awslogs": {"data": data}}


# Template parameters that lift the stage's and the usage plan's throttling, for emulator
# runs that measure or test something else than a 429.
THROTTLING_LIFTED = dict.fromkeys(
    ("ThrottlingRateLimit", "ThrottlingBurstLimit", "UsagePlanRateLimit", "UsagePlanBurstLimit"),
    "1000000",
)

_COLD_INVOKE = """
import json, sys
from tests.support import FakeLambdaContext, load_event
from inference.handler import lambda_handler
response = lambda_handler(load_event(sys.argv[1]), FakeLambdaContext())
print(json.dumps({"status": response["statusCode"]}))
"""


def cold_invoke(event_name: str) -> str:
    """Stdout of a fresh interpreter answering its first request: a real cold start."""
    return fresh_interpreter(_COLD_INVOKE, event_name)


def fresh_interpreter(script: str, *arguments: str) -> str:
    """Stdout of ``script`` run by a new interpreter with the inference code on its path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "inference_fn"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return done.stdout


# Runs one handler of a built package on one event file; prints the handler's result.
INVOKE_BUILT_HANDLER = """
import importlib, json, sys
from dataclasses import dataclass

@dataclass
class Context:
    function_name: str = "built"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:built"
    aws_request_id: str = "built-1"

handler = importlib.import_module(sys.argv[1]).lambda_handler
print("RESULT " + json.dumps(handler(json.load(open(sys.argv[2])), Context())))
"""
