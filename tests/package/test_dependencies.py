"""The functions' dependencies: declared once, locked, and without what Lambda provides.

Each function folder declares its dependencies in pyproject.toml; uv.lock pins them and
`sam build` installs the lock. requirements-inference.txt and requirements-log-processor.txt
are the lock written out for pip (`make lock`); requirements-lambda-runtime.txt lists
what the Lambda runtime already has, which the locks leave out.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path

import pytest

from dev_support.paths import ROOT
from tests.package.pins import normalized, requirement_lines, runtime_pins
from tests.support import run_ok

FUNCTIONS = {
    "inference_fn": ROOT / "requirements-inference.txt",
    "log_processor_fn": ROOT / "requirements-log-processor.txt",
    "canary_fn": ROOT / "requirements-canary.txt",
}
UV = Path(sys.executable).with_name("uv")


def uv(*arguments: str) -> str:
    """uv's output for ``arguments``, offline and with the interpreter the venv was made from."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(ROOT)),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_OFFLINE": "1",
    }
    return run_ok([str(UV), *arguments], env=env)


@pytest.mark.parametrize("function_dir", sorted(FUNCTIONS))
def test_lock_is_current_with_the_declared_dependencies(function_dir: str) -> None:
    python = str(getattr(sys, "_base_executable", sys.executable))

    uv("lock", "--check", "--project", function_dir, "--python", python)


@pytest.mark.parametrize(("function_dir", "requirements"), sorted(FUNCTIONS.items()))
def test_requirements_file_is_the_lock_written_out(function_dir: str, requirements: Path) -> None:
    exported = uv(
        "export", "--frozen", "--no-emit-project", "--no-hashes", "--project", function_dir
    )

    assert requirement_lines(requirements.read_text()) == requirement_lines(exported), (
        f"{requirements.name} is behind {function_dir}/uv.lock: run `make lock`"
    )


@pytest.mark.parametrize(("function_dir", "requirements"), sorted(FUNCTIONS.items()))
def test_locks_leave_out_exactly_what_the_runtime_provides(
    function_dir: str, requirements: Path
) -> None:
    project = tomllib.loads((ROOT / function_dir / "pyproject.toml").read_text())
    excluded = {normalized(name) for name in project["tool"]["uv"]["exclude-dependencies"]}
    locked = {
        normalized(line.split("==")[0]) for line in requirement_lines(requirements.read_text())
    }

    assert excluded == set(runtime_pins())
    assert not excluded & locked
    # What is left is pinned exactly, so every build installs the same files.
    assert all("==" in line for line in requirement_lines(requirements.read_text()))


def test_runtime_list_is_the_sdk_and_its_dependencies_pinned() -> None:
    pins = runtime_pins()

    assert {"boto3", "botocore", "s3transfer", "jmespath", "urllib3"} <= set(pins)
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.]*", version) for version in pins.values())
