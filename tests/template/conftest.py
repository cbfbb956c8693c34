from __future__ import annotations

import copy
from functools import cache
from typing import Any

from samtranslator.translator.transform import transform

from tests.support import openapi, template

AUTH_MODES = ("API_KEY", "IAM", "NONE")


class NoManagedPolicies:
    """The template attaches no managed policies, so the translator never needs IAM."""

    def load(self) -> dict[str, str]:
        return {}


@cache
def transformed(auth_mode: str = "API_KEY") -> dict[str, Any]:
    """template.yaml as CloudFormation would hold it after the SAM transform."""
    document = copy.deepcopy(template())
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        # What `sam package` does: code locations become S3 objects.
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = "s3://artifacts/function.zip"
        # What CloudFormation does before the SAM transform: AWS::Include inlines the file.
        if properties.get("DefinitionBody", {}).get("Fn::Transform", {}).get("Name") == (
            "AWS::Include"
        ):
            properties["DefinitionBody"] = openapi()
    result: dict[str, Any] = transform(document, {"AuthMode": auth_mode}, NoManagedPolicies())
    return result


def resources_of(kind: str, auth_mode: str = "API_KEY") -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in transformed(auth_mode)["Resources"].items()
        if resource["Type"] == kind
    }


def properties_of(kind: str, auth_mode: str = "API_KEY") -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources_of(kind, auth_mode).items()}


def policy_statements(auth_mode: str = "API_KEY") -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy statement of the transformed template, with its role."""
    found = []
    for name, role in properties_of("AWS::IAM::Role", auth_mode).items():
        for policy in role.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                found.append((name, statement))
    return found
