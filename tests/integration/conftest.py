"""The HTTP behaviour tests' target: the local emulator, or a deployed stack.

Set ``AWS_SAM_STACK_NAME`` (and AWS credentials) to run them against a stack deployed
with ``sam deploy``: the API URL and key are found from the stack's outputs, as SAM's
own templates do. Without it they run against the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dev_support.http_client import Client
from tests.e2e.conftest import start_emulator

STACK_ENV = "AWS_SAM_STACK_NAME"


def deployed_client(stack_name: str) -> Client:
    import boto3  # noqa: PLC0415 -- only for the deployed variant

    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in boto3.client("cloudformation").describe_stacks(StackName=stack_name)[
            "Stacks"
        ][0]["Outputs"]
    }
    key = boto3.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)
    return Client(outputs["ApiUrl"], key["value"])


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    stack_name = os.environ.get(STACK_ENV)
    if stack_name:
        yield deployed_client(stack_name)
        return
    running = start_emulator(tmp_path_factory.mktemp("emulator"))
    yield running.client
    running.stop()
