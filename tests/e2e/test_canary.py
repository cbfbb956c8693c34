"""The golden-input canary and the pre-traffic hook, from template.yaml, end to end.

Given the built functions, the canary runs on its schedule (shortened to a second), calls the
emulated public API with its own key and publishes CanarySuccess and CanaryLatency per model;
the pre-traffic hook, invoked as CodeDeploy would, invokes the inference function's published
version through the Lambda stand-in and reports its verdict to the CodeDeploy stand-in.
Then the same with an inference function whose iris model was exported with a shuffled label
map: it answers 200, and both must catch it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dev_support.paths import HOST_BUILD_DIR, ROOT
from tests.e2e.conftest import Running, start_emulator, sums
from tests.golden import build_with_mislabelled_iris

CANARY_SECONDS = 1.0
BUNDLED = ("diabetes", "digits", "iris")
CANARY_KEY_ID = "CanaryApiKey"


def canary_runs(
    run: Running, runs: int, timeout_s: float = 90.0
) -> dict[str, list[dict[str, Any]]]:
    """The canary's metric documents per model, once every bundled model has ``runs``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found: dict[str, list[dict[str, Any]]] = {}
        for line in run.metrics():
            document = line["document"]
            if line["function"] == "CanaryFunction" and "CanarySuccess" in document:
                found.setdefault(document["model"], []).append(document)
        if all(len(found.get(model, [])) >= runs for model in BUNDLED):
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"the canary ran { ({m: len(d) for m, d in found.items()}) } times")
        time.sleep(0.2)


def values(documents: list[dict[str, Any]], metric: str) -> list[float]:
    return [value for document in documents for value in document[metric]]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    run = start_emulator(tmp_path_factory.mktemp("canary"), canary_seconds=CANARY_SECONDS)
    yield run
    run.stop()


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HOST_BUILD_DIR.is_dir():
        pytest.skip("the host build is missing: run `make build-host` first")
    return build_with_mislabelled_iris(HOST_BUILD_DIR, tmp_path_factory.mktemp("b") / "build")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, broken_build: Path) -> Iterator[Running]:
    run = start_emulator(
        tmp_path_factory.mktemp("broken"), build_dir=broken_build, canary_seconds=CANARY_SECONDS
    )
    yield run
    run.stop()


def test_the_canary_is_green_on_every_bundled_model(healthy: Running) -> None:
    runs = canary_runs(healthy, 2)

    assert sorted(runs) == list(BUNDLED)
    for model, documents in runs.items():
        assert values(documents, "CanarySuccess") == [1.0] * len(documents), model
        assert all(latency > 0 for latency in values(documents, "CanaryLatency")), model
        (directive,) = documents[0]["_aws"]["CloudWatchMetrics"]
        assert sorted(map(sorted, directive["Dimensions"])) == [["model", "service"], ["service"]]
        assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
            "CanarySuccess": "Count",
            "CanaryLatency": "Milliseconds",
        }


def test_the_canary_calls_the_public_api_with_its_own_key(healthy: Running) -> None:
    canary_runs(healthy, 1)
    lines = [line for line in healthy.access_log() if line["apiKeyId"] == CANARY_KEY_ID]

    assert {line["path"] for line in lines} == {
        f"/prod/v2/models/{model}/versions/1/infer" for model in BUNDLED
    }
    assert {line["status"] for line in lines} == {"200"}
    # The key's value reached the gateway, never the canary's configuration or log.
    canary = healthy.emulator.functions["CanaryFunction"].spec.environment
    key = healthy.emulator.control_plane.api_keys[CANARY_KEY_ID]
    assert key not in json.dumps(canary)
    assert key not in (healthy.state_dir / "logs" / "CanaryFunction.log").read_text()


def test_the_pre_traffic_hook_passes_the_built_function(healthy: Running) -> None:
    verdict = healthy.emulator.pre_traffic()

    assert (verdict.status, verdict.outcome, verdict.result["failed"]) == ("Succeeded", "ok", [])


def test_the_access_log_metrics_leave_the_canary_out(healthy: Running) -> None:
    canary_runs(healthy, 1)
    client = healthy.client.request(
        "POST",
        "/v2/models/iris/infer",
        {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
    )
    assert client.status == 200
    healthy.stop()  # delivers every pending access-log line

    lines = healthy.access_log()
    canary = [line for line in lines if line["apiKeyId"] == CANARY_KEY_ID]
    requests = sum(sums(healthy.metrics(), "StageRequests").values())
    assert canary
    assert requests == len(lines) - len(canary)


def test_the_canary_turns_red_on_a_mislabelled_model(broken: Running) -> None:
    runs = canary_runs(broken, 2)

    assert values(runs["iris"], "CanarySuccess") == [0.0] * len(runs["iris"])
    for model in ("diabetes", "digits"):
        assert values(runs[model], "CanarySuccess") == [1.0] * len(runs[model])
    warnings = [
        json.loads(line)
        for line in (broken.state_dir / "logs" / "CanaryFunction.log").read_text().splitlines()
        if '"golden check failed"' in line
    ]
    assert {warning["model"] for warning in warnings} == {"iris"}
    assert warnings[0]["problems"] == [
        "output 'label': 6 of 6 values differ (exactly; first at index 0)"
    ]


def test_the_pre_traffic_hook_blocks_the_mislabelled_model(broken: Running) -> None:
    verdict = broken.emulator.pre_traffic()

    assert (verdict.status, verdict.result["failed"]) == ("Failed", ["iris"])


def test_make_pre_traffic_fails_on_the_mislabelled_model(
    broken_build: Path, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "emulator", "--pre-traffic", "--port", "0"]
    command += ["--state-dir", str(tmp_path), "--build-dir", str(broken_build)]

    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )

    assert result.returncode == 1, result.stderr
    assert "pre-traffic hook: Failed" in result.stdout
    assert "golden inputs failed for: iris" in result.stdout
