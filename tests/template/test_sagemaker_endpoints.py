"""SageMakerEndpointNames: the function may invoke exactly the endpoints it names."""

from __future__ import annotations

import re

import pytest

from emulator.template import template
from tests.template.test_models_s3 import role_policies

ARN = "arn:aws:sagemaker:local:000000000000:endpoint/"


def test_without_endpoints_the_function_may_invoke_none() -> None:
    policies = role_policies({})

    assert "invoke-sagemaker-endpoints" not in policies
    assert "sagemaker:" not in str(policies)


@pytest.mark.parametrize(
    "names",
    [["local-iris"], ["churn", "fraud-2"], ["a", "b", "c", "d", "e"]],
    ids=["one", "two", "five"],
)
def test_the_function_may_invoke_exactly_the_named_endpoints(names: list[str]) -> None:
    policies = role_policies({"SageMakerEndpointNames": ",".join(names)})

    assert policies["invoke-sagemaker-endpoints"] == [
        {
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": [ARN + name for name in names],
        }
    ]


def test_endpoints_and_models_in_s3_are_granted_side_by_side() -> None:
    policies = role_policies(
        {"SageMakerEndpointNames": "churn", "ModelsS3Uri": "s3://bucket/models/"}
    )

    assert list(policies) == [
        "write-own-logs-and-traces",
        "read-models",
        "invoke-sagemaker-endpoints",
        "invoke-bedrock-models",
    ]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("local-iris", True),
        ("a,b,c,d,e", True),
        ("a,b,c,d,e,f", False),  # a sixth name would have no place in the policy
        ("Churn-Endpoint", False),  # ARNs spell names in lowercase
        ("churn,", False),
        ("churn, fraud", False),
        ("my_endpoint", False),
        ("-churn", False),
        ("*", False),
    ],
)
def test_names_are_lowercase_endpoint_names_five_at_most(value: str, accepted: bool) -> None:
    pattern = template()["Parameters"]["SageMakerEndpointNames"]["AllowedPattern"]

    assert bool(re.fullmatch(pattern, value)) == accepted
