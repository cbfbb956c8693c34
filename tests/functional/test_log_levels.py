"""LogLevel means what it says, under the environment Lambda sets, and never drops metrics.

Lambda hands each function its ApplicationLogLevel (``AWS_LAMBDA_LOG_LEVEL``) and keeps
only the JSON lines at that level or above, reading a line without a level (an EMF
document) as INFO. Each handler runs here in a fresh interpreter with that environment,
and its output goes through the same filter (the emulator's) before it is read.
"""

from __future__ import annotations

import os
import sys

import pytest

from dev_support.paths import ROOT
from emulator.lambda_logs import application_line_kept
from emulator.template import function_environment, load_app
from tests.support import emf_blobs, json_lines, run_ok

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")

LOG_PROCESSOR_BATCH = """
from dev_support.lambda_events import FakeLambdaContext, subscription_event
from emulator.logs import render_access_log
from log_processor.handler import lambda_handler
line = render_access_log({"$context.requestId": "r-1", "$context.status": "200",
                          "$context.requestTimeEpoch": "1795582200000"})
lambda_handler(subscription_event([line, "not an access-log line"]), FakeLambdaContext())
"""

INFERENCE_FAILURE = """
from dev_support.lambda_events import FakeLambdaContext, load_event
from inference import handler
def explode(*arguments):
    raise RuntimeError("the model exploded")
type(handler.REGISTRY.get("iris")).predict = explode
handler.lambda_handler(load_event("infer_iris"), FakeLambdaContext())
"""


def kept_lines(function: str, code_dir: str, script: str, log_level: str) -> list[str]:
    """What reaches the function's log stream when it runs ``script`` at ``log_level``."""
    spec = load_app(parameters={"LogLevel": log_level}).functions[function]
    assert spec.application_log_level is not None
    env = {
        **os.environ,
        **function_environment(function),
        "POWERTOOLS_LOG_LEVEL": log_level,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": spec.application_log_level,
        "PYTHONPATH": os.pathsep.join([str(ROOT / code_dir), str(ROOT)]),
    }
    stdout = run_ok([sys.executable, "-c", script], env=env)
    return [
        line
        for line in stdout.splitlines()
        if application_line_kept(line, spec.application_log_level)
    ]


@pytest.mark.parametrize("log_level", LEVELS)
def test_the_log_processor_warns_only_at_warn_or_below(log_level: str) -> None:
    kept = kept_lines("LogProcessorFunction", "log_processor_fn", LOG_PROCESSOR_BATCH, log_level)

    warnings = [
        doc
        for doc in json_lines("\n".join(kept))
        if doc.get("message") == "malformed access-log line"
    ]
    assert len(warnings) == (0 if log_level == "ERROR" else 1)
    # The batch's metrics are published whatever the level.
    metrics = {name for doc in emf_blobs("\n".join(kept)) for name in doc if name[0].isupper()}
    assert {"LogLines", "MalformedLogLines", "Requests"} <= metrics


@pytest.mark.parametrize("log_level", LEVELS)
def test_the_inference_function_logs_failures_and_metrics_at_every_level(log_level: str) -> None:
    kept = kept_lines("InferenceFunction", "inference_fn", INFERENCE_FAILURE, log_level)

    errors = [doc for doc in json_lines("\n".join(kept)) if doc.get("level") == "ERROR"]
    assert [error["message"] for error in errors] == ["unexpected failure"]
    (document,) = [doc for doc in emf_blobs("\n".join(kept)) if "InferenceErrors" in doc]
    assert document["status"] == 500
