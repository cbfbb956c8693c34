"""Helpers the test tiers share: the EMF a handler printed, a cold start, the raw API document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from dev_support.paths import OPENAPI_PATH, ROOT
from emulator.template import function_environment
from inference.settings import load_settings

# The inference function's limits at the template's defaults (MaxBatchRows, MaxBodyBytes).
LIMITS = load_settings(function_environment("InferenceFunction")).limits


def openapi() -> dict[str, Any]:
    """api/openapi.yaml as written, intrinsics and all (the template includes it)."""
    parsed: dict[str, Any] = yaml_parse(OPENAPI_PATH.read_text())
    return parsed


def readme_metrics(heading: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The metrics table under ``heading`` in the README: name -> (unit, sorted dimensions)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index(heading)
    table: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            dimensions = tuple(sorted(cells[2].replace("`", "").split(", ")))
            table[cells[0].strip("`")] = (cells[1], dimensions)
    return table


def json_lines(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.startswith("{"):
            yield json.loads(line)


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    return [doc for doc in json_lines(stdout) if "_aws" in doc]


def log_records(stdout: str) -> list[dict[str, Any]]:
    return [doc for doc in json_lines(stdout) if "_aws" not in doc and "level" in doc]


@dataclass(frozen=True)
class EmittedMetric:
    namespace: str
    unit: str
    dimensions: tuple[str, ...]
    values: tuple[float, ...]
    dimension_values: tuple[tuple[str, str], ...]


def emitted_metrics(stdout: str) -> dict[str, list[EmittedMetric]]:
    """Every metric in the EMF blobs of ``stdout``, by name."""
    found: dict[str, list[EmittedMetric]] = {}
    for blob in emf_blobs(stdout):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimensions, definition in (
                (dims, definition)
                for dims in directive["Dimensions"]
                for definition in directive["Metrics"]
            ):
                raw = blob[definition["Name"]]
                values = tuple(raw if isinstance(raw, list) else [raw])
                found.setdefault(definition["Name"], []).append(
                    EmittedMetric(
                        namespace=directive["Namespace"],
                        unit=definition["Unit"],
                        dimensions=tuple(sorted(dimensions)),
                        values=values,
                        dimension_values=tuple(sorted((d, blob[d]) for d in dimensions)),
                    )
                )
    return found


_COLD_INVOKE = """
import json, sys
from dev_support.lambda_events import FakeLambdaContext, load_event
from inference.handler import lambda_handler
response = lambda_handler(load_event(sys.argv[1]), FakeLambdaContext())
print(json.dumps({"status": response["statusCode"]}))
"""


def cold_invoke(event_name: str) -> str:
    """Stdout of a fresh interpreter answering its first request: a real cold start."""
    return fresh_interpreter(_COLD_INVOKE, event_name)


def run_ok(
    arguments: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 120
) -> str:
    """Stdout of ``arguments`` run in the repository; a failure fails the test with stderr."""
    done = subprocess.run(
        list(arguments),
        capture_output=True,
        text=True,
        env=None if env is None else dict(env),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{arguments[0]} failed:\n{done.stderr}"
    return done.stdout


def fresh_interpreter(script: str, *arguments: str) -> str:
    """Stdout of ``script`` run by a new interpreter with the inference code on its path
    (and the test run's environment: the function's, from the template)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "inference_fn"), str(ROOT)])}
    return run_ok([sys.executable, "-c", script, *arguments], env=env)
