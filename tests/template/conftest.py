from __future__ import annotations

from functools import cache
from typing import Any

from dev_support.paths import TEMPLATE_PATH
from emulator.template import transform_offline

AUTH_MODES = ("API_KEY", "IAM", "NONE")


@cache
def transformed(auth_mode: str = "API_KEY") -> dict[str, Any]:
    """template.yaml as CloudFormation would hold it after the SAM transform."""
    return transform_offline(TEMPLATE_PATH, {"AuthMode": auth_mode})


def resources_of(kind: str, auth_mode: str = "API_KEY") -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in transformed(auth_mode)["Resources"].items()
        if resource["Type"] == kind
    }


def properties_of(kind: str, auth_mode: str = "API_KEY") -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources_of(kind, auth_mode).items()}


def policy_statements(
    auth_mode: str = "API_KEY", *, conditional: bool = True
) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy statement of the transformed template, with its role; with
    ``conditional``, those of policies a parameter adds (``Fn::If``) too."""
    found = []
    for name, role in properties_of("AWS::IAM::Role", auth_mode).items():
        for policy in role.get("Policies", []):
            if "Fn::If" in policy:
                branches = [
                    branch
                    for branch in policy["Fn::If"][1:]
                    if conditional and isinstance(branch, dict) and "PolicyDocument" in branch
                ]
            else:
                branches = [policy]
            for branch in branches:
                for statement in branch["PolicyDocument"]["Statement"]:
                    found.append((name, statement))
    return found
