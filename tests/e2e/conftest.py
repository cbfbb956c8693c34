"""The emulator, started in-process on a free port with its own state directory."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from dev_support.http_client import Client
from dev_support.paths import HOST_BUILD_DIR
from emulator.function import Function
from emulator.stack import MAX_CONCURRENCY, Emulator


@dataclass
class Running:
    emulator: Emulator
    client: Client
    state_dir: Path

    def stop(self) -> None:
        self.emulator.stop()

    def access_log(self) -> list[dict[str, Any]]:
        lines = (self.state_dir / "logs" / "access.log").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def metrics(self) -> list[dict[str, Any]]:
        path = self.state_dir / "metrics.jsonl"
        """The functions' EMF (not the services' metrics nor the session markers)."""
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        return [line for line in lines if "function" in line]

    def service_metrics(self, publisher: str) -> list[dict[str, Any]]:
        """The documents of what CloudWatch publishes for ``publisher`` (AWS/Lambda ...)."""
        path = self.state_dir / "metrics.jsonl"
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        return [line["document"] for line in lines if line.get("publisher") == publisher]


def sums(metrics: list[dict[str, Any]], metric: str, *dims: str) -> Counter[tuple[str, ...]]:
    found: Counter[tuple[str, ...]] = Counter()
    for line in metrics:
        document = line["document"]
        if metric in document:
            value = document[metric]
            total = (
                value["Count"]
                if isinstance(value, dict)
                else sum(value)
                if isinstance(value, list)
                else value
            )
            found[tuple(document[d] for d in dims)] += total
    return found


def start_emulator(
    state_dir: Path,
    parameters: dict[str, str] | None = None,
    max_concurrency: int = MAX_CONCURRENCY,
    drift_window_s: float | None = None,
    *,
    build_dir: Path = HOST_BUILD_DIR,
    canary_seconds: float | None = None,
) -> Running:
    if not HOST_BUILD_DIR.is_dir():
        message = "the host build is missing: run `make build-host` first"
        if os.environ.get("REQUIRE_BUILDS"):
            pytest.fail(message)
        pytest.skip(message)
    emulator = Emulator(
        state_dir,
        build_dir,
        port=0,
        parameters=parameters,
        max_concurrency=max_concurrency,
        drift_window_s=drift_window_s,
        canary_seconds=canary_seconds,
    ).start()
    return Running(emulator, Client(emulator.base_url, emulator.api_key), state_dir)


FAULTY = Path(__file__).with_name("faulty")


def run_faulty(function: Function, module: str, work_dir: Path, **changes: Any) -> None:
    """Run ``function`` from a copy of its artifact with ``faulty/`` added, ``module`` its handler.

    The copy links the artifact's entries (its bytecode cache aside, so nothing is
    written into the build); ``changes`` replace fields of the function's spec.
    """
    artifact = work_dir / function.spec.logical_id
    artifact.mkdir()
    for entry in function.artifact.iterdir():
        if entry.name != "__pycache__":
            (artifact / entry.name).symlink_to(entry)
    shutil.copytree(FAULTY, artifact / "faulty", ignore=shutil.ignore_patterns("__pycache__"))
    function.artifact = artifact
    function.spec = replace(function.spec, handler=f"faulty.{module}.lambda_handler", **changes)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    run = start_emulator(tmp_path)
    yield run
    run.stop()


@dataclass
class FuzzTally:
    """What the fuzzing sent, for the run's summary: requests per operation, statuses, time."""

    examples: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0


FUZZ_TALLY = FuzzTally()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FUZZ_TALLY.examples:
        return
    total = sum(FUZZ_TALLY.examples.values())
    terminalreporter.section("API fuzzing (schemathesis)")
    terminalreporter.write_line(
        f"{total} examples over {len(FUZZ_TALLY.examples)} operations in {FUZZ_TALLY.seconds:.1f} s"
    )
    for operation, count in sorted(FUZZ_TALLY.examples.items()):
        terminalreporter.write_line(f"  {count:6d}  {operation}")
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(FUZZ_TALLY.statuses.items()))
    terminalreporter.write_line(f"answers by status: {statuses}")
