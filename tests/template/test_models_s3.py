"""ModelsS3Uri and EphemeralStorageMB: the function's models from S3, read with the least IAM."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dev_support.paths import TEMPLATE_PATH
from emulator.template import Resolver, template, transform_offline


def role_policies(parameters: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The inference function's inline policies, resolved for ``parameters``: name -> statements."""
    transformed = transform_offline(TEMPLATE_PATH, parameters)
    resolve = Resolver(transformed, parameters, {})
    role = transformed["Resources"]["InferenceFunctionRole"]["Properties"]
    return {
        policy["PolicyName"]: policy["PolicyDocument"]["Statement"]
        for policy in resolve.value(role["Policies"])
    }


def test_without_models_in_s3_the_function_gets_no_s3_permission() -> None:
    policies = role_policies({})

    # (and the bundled chat model's Bedrock grant, tests/template/test_chat_endpoints.py)
    assert list(policies) == ["write-own-logs-and-traces", "invoke-bedrock-models"]
    assert "s3:" not in str(policies)


@pytest.mark.parametrize(
    ("uri", "objects", "bucket", "prefix"),
    [
        ("s3://my-bucket/models/", "my-bucket/models/*", "my-bucket", "models/*"),
        ("s3://my.bucket/team/models/", "my.bucket/team/models/*", "my.bucket", "team/models/*"),
        ("s3://b12/a/b/c-1/", "b12/a/b/c-1/*", "b12", "a/b/c-1/*"),
    ],
)
def test_models_in_s3_are_readable_under_their_prefix_and_nothing_else(
    uri: str, objects: str, bucket: str, prefix: str
) -> None:
    policies = role_policies({"ModelsS3Uri": uri})

    assert policies["read-models"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{objects}"},
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": prefix}},
        },
    ]


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("", True),
        ("s3://my-bucket/models/", True),
        ("s3://my-bucket/a/b/c/", True),
        ("s3://my-bucket/", False),  # the whole bucket
        ("s3://my-bucket/models", False),  # a prefix that is not a folder
        ("s3://my-bucket/a/b/c/d/", False),
        ("s3://my-bucket/mod*/", False),  # IAM would read a wildcard
        ("s3://My_Bucket/models/", False),
        ("https://my-bucket.s3.amazonaws.com/models/", False),
    ],
)
def test_the_uri_must_be_a_bucket_and_one_to_three_folders(uri: str, accepted: bool) -> None:
    pattern = template()["Parameters"]["ModelsS3Uri"]["AllowedPattern"]

    assert bool(re.fullmatch(pattern, uri)) == accepted


def test_the_function_reads_the_uri_and_gets_the_storage() -> None:
    parameters = {"ModelsS3Uri": "s3://my-bucket/models/", "EphemeralStorageMB": "2048"}
    transformed = transform_offline(TEMPLATE_PATH, parameters)
    function = transformed["Resources"]["InferenceFunction"]["Properties"]
    resolve = Resolver(transformed, parameters, {})

    assert resolve.value(function["Environment"]["Variables"]["MODELS_S3_URI"]) == (
        "s3://my-bucket/models/"
    )
    assert resolve.value(function["EphemeralStorage"]) == {"Size": "2048"}


def test_defaults_are_no_models_in_s3_and_lambdas_default_storage() -> None:
    parameters = template()["Parameters"]

    assert parameters["ModelsS3Uri"]["Default"] == ""
    assert (
        parameters["EphemeralStorageMB"]["Default"],
        parameters["EphemeralStorageMB"]["MinValue"],
        parameters["EphemeralStorageMB"]["MaxValue"],
    ) == (512, 512, 10240)


def test_snap_start_refuses_more_than_the_default_storage() -> None:
    (rule,) = template()["Rules"].values()

    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "Enabled"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "EphemeralStorageMB"}, "512"]}
