"""The CloudWatch Logs stand-in answers botocore's own FilterLogEvents calls, over HTTP, from
a function's log file: the events carrying a field, in a time range, page by page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from emulator import cloudwatch_logs
from emulator.cloudwatch_logs import CloudWatchLogs


def emf(timestamp: int, **fields: Any) -> str:
    return json.dumps({"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": []}, **fields})


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    log = tmp_path / "InferenceFunction.log"
    stand_in = CloudWatchLogs({"InferenceLogGroup": log}).start()
    client = botocore.session.get_session().create_client(
        "logs",
        region_name="us-east-1",
        endpoint_url=stand_in.url,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 -- accepted unchecked, locally
    )
    yield client, log
    stand_in.stop()


def test_events_with_the_field_in_the_time_range_are_served(logs: tuple[Any, Path]) -> None:
    client, log = logs
    log.write_text(
        "\n".join(
            [
                '{"time":"...","type":"platform.start"}',
                emf(999, drift="0", n=0),
                emf(1000, drift="1", n=1),
                emf(1500, other="x", n=2),
                emf(2000, drift="2", n=3),
                emf(2001, drift="3", n=4),
                "not json",
            ]
        )
        + "\n"
    )

    answer = client.filter_log_events(
        logGroupName="InferenceLogGroup",
        startTime=1000,
        endTime=2000,
        filterPattern='{ $.drift = "*" }',
    )

    assert [(e["timestamp"], json.loads(e["message"])["n"]) for e in answer["events"]] == [
        (1000, 1),
        (2000, 3),
    ]
    assert "nextToken" not in answer


def test_pages_follow_next_token(logs: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    client, log = logs
    monkeypatch.setattr(cloudwatch_logs, "PAGE_EVENTS", 2)
    log.write_text("".join(emf(1000 + i, drift=str(i)) + "\n" for i in range(5)))

    pages = client.get_paginator("filter_log_events").paginate(logGroupName="InferenceLogGroup")

    assert [[e["timestamp"] for e in page["events"]] for page in pages] == [
        [1000, 1001],
        [1002, 1003],
        [1004],
    ]


def test_unknown_groups_and_patterns_are_refused_as_cloudwatch_logs_refuses(
    logs: tuple[Any, Path],
) -> None:
    client, _ = logs

    with pytest.raises(ClientError) as missing:
        client.filter_log_events(logGroupName="nope")
    with pytest.raises(ClientError) as pattern:
        client.filter_log_events(logGroupName="InferenceLogGroup", filterPattern="ERROR")

    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert pattern.value.response["Error"]["Code"] == "InvalidParameterException"
