"""The control-plane stand-in answers botocore's own clients as the services would: API
Gateway's GetApiKey, Lambda's Invoke (a function's failure in FunctionError) and CodeDeploy's
PutLifecycleEventHookExecutionStatus, errors with the services' codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.control_plane import ControlPlane
from emulator.stack import LOCAL_CREDENTIALS
from emulator.worker import Invocation


def invoker(name: str, qualifier: str | None, event: dict[str, Any]) -> Invocation | None:
    if name != "InferenceFunction":
        return None
    if event.get("fail"):
        return Invocation("error", {"ok": False, "errorType": "ValueError"}, 1.0, "r", None)
    if event.get("die"):
        return Invocation("crash", None, 1.0, "r", None)
    return Invocation("ok", {"qualifier": qualifier, "event": event}, 1.0, "r", None)


@pytest.fixture
def plane() -> Iterator[ControlPlane]:
    started = ControlPlane(api_keys={"CanaryApiKey": "the-value"}, invoker=invoker).start()
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def test_get_api_key_gives_the_value_only_when_asked(plane: ControlPlane) -> None:
    apigateway = boto3.client("apigateway", endpoint_url=plane.url, region_name="local")

    assert apigateway.get_api_key(apiKey="CanaryApiKey", includeValue=True)["value"] == "the-value"
    assert "value" not in apigateway.get_api_key(apiKey="CanaryApiKey")
    with pytest.raises(ClientError) as error:
        apigateway.get_api_key(apiKey="other", includeValue=True)
    assert error.value.response["Error"]["Code"] == "NotFoundException"


def test_invoke_runs_the_named_version_and_reports_its_failures(plane: ControlPlane) -> None:
    lambda_client = boto3.client("lambda", endpoint_url=plane.url, region_name="local")
    arn = "arn:aws:lambda:local:000000000000:function:InferenceFunction:1"

    answer = lambda_client.invoke(FunctionName=arn, Payload=b'{"x": 1}')
    failed = lambda_client.invoke(FunctionName="InferenceFunction", Payload=b'{"fail": true}')
    died = lambda_client.invoke(FunctionName="InferenceFunction", Payload=b'{"die": true}')

    assert json.loads(answer["Payload"].read()) == {"qualifier": "1", "event": {"x": 1}}
    assert answer["ExecutedVersion"] == "1"
    assert answer.get("FunctionError") is None
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read()) == {"errorType": "ValueError"}
    assert died["FunctionError"] == "Unhandled"
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName="Nothing", Payload=b"{}")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_hooks_status_is_recorded_and_nothing_but_a_verdict_is_taken(
    plane: ControlPlane,
) -> None:
    codedeploy = boto3.client("codedeploy", endpoint_url=plane.url, region_name="local")

    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId="d-1", lifecycleEventHookExecutionId="e-1", status="Failed"
    )
    with pytest.raises(ClientError) as error:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId="d-1", lifecycleEventHookExecutionId="e-2", status="InProgress"
        )

    assert plane.hook_statuses == {"e-1": "Failed"}
    assert error.value.response["Error"]["Code"] == (
        "InvalidLifecycleEventHookExecutionStatusException"
    )
