"""The canary's and the pre-traffic hook's handlers in-process, with the environment the
template gives them: the canary against a loopback API, its key read through a stubbed
API Gateway client; the hook against the real inference handler's answers, returned through
a stubbed Lambda client, and its verdict to a stubbed CodeDeploy client."""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from canary import telemetry
from canary.golden import load_cases
from canary.probe import proxy_event
from dev_support.lambda_events import FakeLambdaContext
from emulator.template import function_environment
from inference.handler import lambda_handler as inference_handler
from tests.support import emf_blobs, readme_metrics

KEY_ID = "abc123key"
KEY_VALUE = "the-canary-key-value-0123456789"
VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:stack-inference:7"
# The stubbed clients sign their requests: any credentials do, never the machine's.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class Api:
    """A loopback stand-in for the stage: answers each infer route as the inference handler
    does, and records the headers it was sent."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.answer: Any = None  # None: the real handler's answer

        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                api.keys.append(self.headers.get("x-api-key"))
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event = {**proxy_event(case_for(self.path)), "body": body.decode()}
                result = api.answer or inference_handler(event, FakeLambdaContext())
                reply = result["body"].encode()
                self.send_response(result["statusCode"])
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/prod"


def case_for(path: str) -> Any:
    (case,) = [c for c in load_cases() if path.endswith(c.infer_path)]
    return case


def fresh(module: str, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``module`` imported anew in ``environment``, as a new execution environment would."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(module, None)
    return importlib.import_module(module)


@pytest.fixture
def api() -> Iterator[Api]:
    stand_in = Api()
    yield stand_in
    stand_in.server.shutdown()


@pytest.fixture
def canary(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, Stubber]]:
    environment = function_environment("CanaryFunction")
    module = fresh(
        "canary.handler",
        {**environment, **CREDENTIALS, "API_URL": api.url, "CANARY_API_KEY_ID": KEY_ID},
        monkeypatch,
    )
    client = boto3.client("apigateway", region_name="us-east-1")
    module.KEY._client = client
    with Stubber(client) as stubber:
        yield module, stubber


def stub_key(stubber: Stubber) -> None:
    stubber.add_response(
        "get_api_key",
        {"id": KEY_ID, "value": KEY_VALUE, "enabled": True},
        {"apiKey": KEY_ID, "includeValue": True},
    )


def run(module: ModuleType, capsys: pytest.CaptureFixture[str]) -> tuple[Any, str]:
    telemetry.logger.registered_handler.stream = sys.stdout  # type: ignore[attr-defined]
    capsys.readouterr()
    result = module.lambda_handler({}, FakeLambdaContext(function_name="stack-canary"))
    return result, capsys.readouterr().out


def test_the_canary_checks_every_model_with_its_key_read_once(
    canary: tuple[ModuleType, Stubber], api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    module, stubber = canary
    stub_key(stubber)  # once: the second run uses the value it holds

    first, out = run(module, capsys)
    second, _ = run(module, capsys)

    assert first == second == {"checked": 3, "failed": []}
    assert api.keys == [KEY_VALUE] * 6
    # The loopback API runs the inference handler here too: its documents are in the output.
    documents = [d for d in emf_blobs(out) if "CanarySuccess" in d]
    assert [(d["model"], d["CanarySuccess"]) for d in documents] == [
        ("diabetes", [1.0]),
        ("digits", [1.0]),
        ("iris", [1.0]),
    ]
    assert KEY_VALUE not in out
    stubber.assert_no_pending_responses()


def test_a_wrong_answer_is_a_failed_model_and_a_warning_without_values(
    canary: tuple[ModuleType, Stubber], api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    module, stubber = canary
    stub_key(stubber)
    body = {
        "model_name": "x",
        "model_version": "1",
        "outputs": [{"name": "label", "data": [9] * 10}],
    }
    api.answer = {"statusCode": 200, "body": json.dumps(body)}

    result, out = run(module, capsys)

    assert result == {"checked": 3, "failed": ["diabetes", "digits", "iris"]}
    successes = {d["model"]: d["CanarySuccess"] for d in emf_blobs(out) if "CanarySuccess" in d}
    assert successes == {"diabetes": [0.0], "digits": [0.0], "iris": [0.0]}
    warnings = [json.loads(line) for line in out.splitlines() if "golden check failed" in line]
    assert {w["model"]: w["problems"] for w in warnings} == {
        "diabetes": ["output 'prediction' is missing"],
        "digits": ["output 'label': 9 of 10 values differ (exactly; first at index 0)"],
        "iris": ["output 'label': 10 values, expected 6"],
    }


def test_a_refused_key_is_read_again_on_the_next_run(
    canary: tuple[ModuleType, Stubber], api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    module, stubber = canary
    stub_key(stubber)
    stub_key(stubber)
    api.answer = {"statusCode": 403, "body": json.dumps({"message": "Forbidden"})}

    result, _ = run(module, capsys)
    api.answer = None
    again, _ = run(module, capsys)

    assert result["failed"] == ["diabetes", "digits", "iris"]
    assert again["failed"] == []
    stubber.assert_no_pending_responses()


def test_the_canary_metrics_table_is_the_declared_contract() -> None:
    declared = {
        spec.name: (spec.unit.value, tuple(sorted(spec.dimensions))) for spec in telemetry.CONTRACT
    }

    assert readme_metrics("### Canary metrics (the canary)") == declared


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, Stubber, Stubber]]:
    environment = {
        **function_environment("PreTrafficHookFunction"),
        **CREDENTIALS,
        "TARGET_FUNCTION_VERSION": VERSION_ARN,
    }
    module = fresh("canary.pre_traffic", environment, monkeypatch)
    with Stubber(module.LAMBDA) as lambda_stub, Stubber(module.CODEDEPLOY) as codedeploy:
        yield module, lambda_stub, codedeploy


def payload(result: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(result).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def lifecycle_event() -> dict[str, str]:
    return {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "hook-execution-1"}


def expect_verdict(codedeploy: Stubber, status: str) -> None:
    codedeploy.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-execution-1"},
        {
            "deploymentId": "d-ABCDEF123",
            "lifecycleEventHookExecutionId": "hook-execution-1",
            "status": status,
        },
    )


def test_the_hook_passes_a_version_that_answers_every_golden_case(
    hook: tuple[ModuleType, Stubber, Stubber],
) -> None:
    module, lambda_stub, codedeploy = hook
    for case in load_cases():
        # What the real handler answers to the event the hook sends.
        answer = inference_handler(proxy_event(case), FakeLambdaContext())
        lambda_stub.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": payload(answer)},
            {"FunctionName": VERSION_ARN, "Payload": ANY},
        )
    expect_verdict(codedeploy, "Succeeded")

    result = module.lambda_handler(lifecycle_event(), FakeLambdaContext())

    assert result == {"status": "Succeeded", "failed": []}
    lambda_stub.assert_no_pending_responses()
    codedeploy.assert_no_pending_responses()


def test_the_hook_fails_a_version_that_answers_wrongly_or_fails(
    hook: tuple[ModuleType, Stubber, Stubber],
) -> None:
    module, lambda_stub, codedeploy = hook
    cases = load_cases()
    wrong = {"statusCode": 200, "body": json.dumps({"outputs": [{"name": "label", "data": [0]}]})}
    crashed = {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": payload({"errorType": "X"}),
    }
    answers = [
        {
            "StatusCode": 200,
            "Payload": payload(inference_handler(proxy_event(cases[0]), FakeLambdaContext())),
        },
        crashed,
        {"StatusCode": 200, "Payload": payload(wrong)},
    ]
    for answer in answers:
        lambda_stub.add_response("invoke", answer, {"FunctionName": VERSION_ARN, "Payload": ANY})
    expect_verdict(codedeploy, "Failed")

    result = module.lambda_handler(lifecycle_event(), FakeLambdaContext())

    assert result == {"status": "Failed", "failed": ["digits", "iris"]}
    codedeploy.assert_no_pending_responses()


def test_the_hook_reports_failed_when_it_cannot_check(
    hook: tuple[ModuleType, Stubber, Stubber],
) -> None:
    module, lambda_stub, codedeploy = hook
    lambda_stub.add_client_error("invoke", "AccessDeniedException", http_status_code=403)
    expect_verdict(codedeploy, "Failed")

    result = module.lambda_handler(lifecycle_event(), FakeLambdaContext())

    assert result == {"status": "Failed", "failed": []}
    codedeploy.assert_no_pending_responses()
