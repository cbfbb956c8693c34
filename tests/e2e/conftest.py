"""The emulator, started in-process on a free port with its own state directory."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from emulator.__main__ import Emulator
from tests.support import ROOT

HOST_BUILD = ROOT / ".aws-sam" / "build-host"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Client:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "default",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["x-api-key"] = self.api_key if key == "default" else key
        request = urllib.request.Request(  # noqa: S310 -- http to the loopback emulator
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return Reply(response.status, json.loads(response.read()), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, json.loads(error.read()), dict(error.headers))


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
        return [json.loads(line) for line in path.read_text().splitlines()]


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


def start_emulator(state_dir: Path, parameters: dict[str, str] | None = None) -> Running:
    if not HOST_BUILD.is_dir():
        message = "the host build is missing: run `make build-host` first"
        if os.environ.get("REQUIRE_BUILDS"):
            pytest.fail(message)
        pytest.skip(message)
    emulator = Emulator(state_dir, HOST_BUILD, port=0, parameters=parameters).start()
    return Running(emulator, Client(emulator.base_url, emulator.api_key), state_dir)


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
