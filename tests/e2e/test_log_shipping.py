"""Access-log lines reach the subscriber in batches; a failing batch ends in the DLQ."""

from __future__ import annotations

import json
from pathlib import Path

from emulator.logs import RETRIES, LogShipper
from emulator.sink import Sink
from emulator.template import FunctionSpec
from emulator.worker import Worker
from tests.e2e.conftest import start_emulator

SUBSCRIBER = """
import base64, gzip, json, os

def handler(event, context):
    payload = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    with open(os.environ["SEEN"], "a") as seen:
        seen.write(json.dumps(payload) + "\\n")
    if os.environ.get("FAIL"):
        raise RuntimeError("processor down")
    return {"lines": len(payload["logEvents"])}
"""


def shipper(tmp_path: Path, fail: bool) -> tuple[LogShipper, Path]:
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "subscriber.py").write_text(SUBSCRIBER)
    seen = tmp_path / "seen.jsonl"
    env = {"SEEN": str(seen), **({"FAIL": "1"} if fail else {})}
    spec = FunctionSpec("Subscriber", "subscriber.handler", "python3.13", 5.0, 128, env)
    worker = Worker(spec, artifact, Sink(tmp_path / "state"))
    return LogShipper(worker, tmp_path / "access.log", tmp_path / "dlq", "/group"), seen


def test_lines_are_delivered_as_subscription_batches(tmp_path: Path) -> None:
    logs, seen = shipper(tmp_path, fail=False)
    for index in range(1200):
        logs.submit(json.dumps({"n": index}), 1_795_582_200_000)
    logs.close()

    payloads = [json.loads(line) for line in seen.read_text().splitlines()]
    events = [event for payload in payloads for event in payload["logEvents"]]
    assert [json.loads(event["message"])["n"] for event in events] == list(range(1200))
    assert len({event["id"] for event in events}) == 1200
    assert all(len(payload["logEvents"]) <= 500 for payload in payloads)
    assert {payload["messageType"] for payload in payloads} == {"DATA_MESSAGE"}
    assert len((tmp_path / "access.log").read_text().splitlines()) == 1200
    assert logs.delivered == 1200
    assert not (tmp_path / "dlq").exists()


def test_a_batch_failing_every_retry_lands_in_the_dlq(tmp_path: Path) -> None:
    logs, seen = shipper(tmp_path, fail=True)
    logs.submit('{"n": 1}', 1_795_582_200_000)
    logs.close()

    attempts = seen.read_text().splitlines()
    assert len(attempts) == 1 + RETRIES
    (dead,) = (tmp_path / "dlq").iterdir()
    record = json.loads(dead.read_text())
    assert [event["message"] for event in record["payload"]["logEvents"]] == ['{"n": 1}']
    assert "processor down" in record["error"]
    assert logs.dead_lettered == 1


def test_usage_plan_throttling_answers_429_throttled(tmp_path: Path) -> None:
    running = start_emulator(tmp_path, {"UsagePlanRateLimit": "1", "UsagePlanBurstLimit": "2"})

    statuses = [running.client.request("GET", "/v2/models/iris").status for _ in range(5)]
    running.stop()

    assert statuses[:2] == [200, 200]
    assert 429 in statuses[2:]
    throttled = [line for line in running.access_log() if line["status"] == "429"]
    assert {line["errorType"] for line in throttled} == {"THROTTLED"}
