"""Lambda-like workers: one cold start then warm invocations, timeouts, crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.sink import Sink
from emulator.template import FunctionSpec
from emulator.worker import Worker

FUNCTION = """
import os, time
COUNTER = {"invocations": 0}
print("init once")

def handler(event, context):
    COUNTER["invocations"] += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        os._exit(3)
    if event.get("raise"):
        raise ValueError("model exploded")
    return {
        "invocations": COUNTER["invocations"],
        "remaining": context.get_remaining_time_in_millis(),
        "name": context.function_name,
        "env": os.environ.get("GREETING"),
    }
"""


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "fake_function.py").write_text(FUNCTION)
    spec = FunctionSpec(
        "FakeFunction", "fake_function.handler", "python3.13", 1.0, 128, {"GREETING": "hi"}
    )
    return Worker(spec, artifact, Sink(tmp_path / "state"))


def test_first_invocation_is_cold_then_warm(worker: Worker) -> None:
    first = worker.invoke({})
    second = worker.invoke({})
    worker.close()

    assert (first.outcome, second.outcome) == ("ok", "ok")
    assert first.cold_start_ms is not None
    assert second.cold_start_ms is None
    assert (first.result["invocations"], second.result["invocations"]) == (1, 2)
    assert first.result["name"] == "FakeFunction"
    assert first.result["env"] == "hi"
    assert 0 < first.result["remaining"] <= 1000
    log = (worker.sink.logs_dir / "FakeFunction.log").read_text()
    assert log.count("init once") == 1


def test_timeout_discards_the_environment(worker: Worker) -> None:
    slow = worker.invoke({"sleep": 5})
    after = worker.invoke({})
    worker.close()

    assert slow.outcome == "timeout"
    assert 900 < slow.duration_ms < 3000
    assert after.outcome == "ok"
    assert after.cold_start_ms is not None
    assert after.result["invocations"] == 1


def test_crash_is_reported_and_the_worker_replaced(worker: Worker) -> None:
    worker.invoke({})
    crashed = worker.invoke({"exit": True})
    after = worker.invoke({})
    worker.close()

    assert crashed.outcome == "crash"
    assert (after.outcome, after.result["invocations"]) == ("ok", 1)


def test_handler_errors_are_reported_without_losing_the_environment(worker: Worker) -> None:
    failed = worker.invoke({"raise": True})
    after = worker.invoke({})
    worker.close()

    assert failed.outcome == "error"
    assert failed.result["errorType"] == "ValueError"
    assert after.result["invocations"] == 2
    assert "model exploded" in (worker.sink.logs_dir / "FakeFunction.log").read_text()


def test_runtime_packages_come_after_the_function_code(tmp_path: Path) -> None:
    artifact, runtime = tmp_path / "artifact", tmp_path / "runtime"
    for folder, origin in ((artifact, "function"), (runtime, "runtime")):
        folder.mkdir()
        (folder / "shared.py").write_text(f"ORIGIN = {origin!r}\n")
    (runtime / "sdk.py").write_text("NAME = 'sdk'\n")
    (artifact / "app.py").write_text(
        "import sdk, shared\n"
        "def handler(event, context):\n"
        "    return {'shared': shared.ORIGIN, 'sdk': sdk.NAME}\n"
    )
    spec = FunctionSpec("App", "app.handler", "python3.13", 5.0, 128, {})
    worker = Worker(spec, artifact, Sink(tmp_path / "state"), runtime_dir=runtime)

    result = worker.invoke({})
    worker.close()

    # Lambda's order: the function's own modules shadow the runtime's; the rest still import.
    assert result.outcome == "ok"
    assert result.result == {"shared": "function", "sdk": "sdk"}
