"""Deploys do what their parameters say: every change reaches the running API and function.

SAM names the function's published version and the API's deployment after hashes of the
template as written, intrinsics unresolved, so a parameter-only change would otherwise
leave the alias on a version with the old environment and the stage on the old API.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from samtranslator.model import apigateway

from dev_support.paths import TEMPLATE_PATH
from emulator.template import Resolver, template, transform_offline

# A value other than the default for each parameter type used here.
ALTERNATIVES = {
    "AuthMode": "NONE",
    "Architecture": "x86_64",
    "LogLevel": "ERROR",
    "LambdaSystemLogLevel": "INFO",
    "SnapStart": "Enabled",
    # One of its allowed values: the function's timeouts are mapped from it.
    "ChatIntegrationTimeoutMs": "60000",
}


def alternative(name: str) -> str:
    if name in ALTERNATIVES:
        return ALTERNATIVES[name]
    spec = template()["Parameters"][name]
    if spec["Type"] == "Number":
        return str(int(float(spec["Default"])) + 1)
    return f"{spec['Default']}x"


def parameters_in(node: Any, conditions: dict[str, Any]) -> set[str]:
    """The template parameters ``node`` reads, through conditions too."""
    if isinstance(node, list):
        return set().union(*(parameters_in(item, conditions) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and value in template()["Parameters"]:
            found.add(value)
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            names = {part.split("}")[0] for part in text.split("${")[1:]}
            found |= names & set(template()["Parameters"])
        elif key == "Fn::If":
            found |= parameters_in(conditions[value[0]], conditions)
        elif key == "Condition" and isinstance(value, str):
            found |= parameters_in(conditions[value], conditions)
        found |= parameters_in(value, conditions)
    return found


def published_version(parameters: dict[str, str]) -> tuple[str, Any]:
    """What identifies the function version a deploy with ``parameters`` publishes: its
    logical id and the properties whose change replaces it (Description, CodeSha256)."""
    transformed = transform_offline(TEMPLATE_PATH, parameters)
    resolve = Resolver(transformed, parameters, {})
    ((logical_id, version),) = [
        (name, resource)
        for name, resource in transformed["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Version"
    ]
    replacing = {k: v for k, v in version["Properties"].items() if k != "FunctionName"}
    return logical_id, resolve.value(replacing)


def function_parameters() -> set[str]:
    transformed = transform_offline(TEMPLATE_PATH)
    function = transformed["Resources"]["InferenceFunction"]
    return parameters_in(function, transformed["Conditions"])


def test_the_function_reads_the_parameters_this_test_changes() -> None:
    assert {"ServiceName", "MetricsNamespace", "LogLevel", "MaxBatchRows"} <= function_parameters()


@pytest.mark.parametrize("parameter", sorted(function_parameters()))
def test_a_parameter_the_function_reads_publishes_a_new_version(parameter: str) -> None:
    before = published_version({})
    after = published_version({parameter: alternative(parameter)})

    assert after != before, parameter


def test_old_versions_are_deleted_not_kept() -> None:
    transformed = transform_offline(TEMPLATE_PATH)
    versions = [
        resource
        for resource in transformed["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Version"
    ]

    assert [version.get("DeletionPolicy") for version in versions] == ["Delete"]


def deployment_at(
    monkeypatch: pytest.MonkeyPatch, epoch_s: float, parameters: dict[str, str]
) -> str:
    monkeypatch.setattr(apigateway.time, "time", lambda: epoch_s)
    transformed = transform_offline(TEMPLATE_PATH, copy.deepcopy(parameters))
    (name,) = [
        str(name)
        for name, resource in transformed["Resources"].items()
        if resource["Type"] == "AWS::ApiGateway::Deployment"
    ]
    return name


def api_parameters() -> set[str]:
    transformed = transform_offline(TEMPLATE_PATH)
    (api,) = [
        r for r in transformed["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"
    ]
    return parameters_in(api["Properties"]["Body"], transformed["Conditions"])


@pytest.mark.parametrize("parameter", sorted(api_parameters()))
def test_every_deploy_makes_a_new_api_deployment(
    monkeypatch: pytest.MonkeyPatch, parameter: str
) -> None:
    # Each `sam deploy` transforms the template anew, at its own time.
    first = deployment_at(monkeypatch, 1_800_000_000, {})
    second = deployment_at(monkeypatch, 1_800_000_060, {parameter: alternative(parameter)})

    assert second != first
