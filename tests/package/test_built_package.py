"""The artifacts `sam build` produces: what Lambda would run.

`make test` builds twice first: for Lambda (arm64, .aws-sam/build) and for this
machine (.aws-sam/build-host), so the package is proven to import and answer
here even when the machine cannot execute arm64 code.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import INVOKE_BUILT_HANDLER, ROOT, access_log_format, parameter_default

LAMBDA_BUILD = ROOT / ".aws-sam" / "build" / "InferenceFunction"
HOST_BUILD = ROOT / ".aws-sam" / "build-host" / "InferenceFunction"
HOST_LOG_PROCESSOR = ROOT / ".aws-sam" / "build-host" / "LogProcessorFunction"
# Lambda's limit for an unzipped deployment package.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
ELF_MACHINES = {0xB7: "arm64", 0x3E: "x86_64"}


def built(path: Path) -> Path:
    if not path.is_dir():
        message = f"{path.relative_to(ROOT)} is missing: run `make build build-host` first"
        if os.environ.get("REQUIRE_BUILDS"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def elf_machine(path: Path) -> str:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), "other")


def package_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def test_lambda_package_is_built_for_the_default_architecture() -> None:
    package = built(LAMBDA_BUILD)
    extensions = list(package.rglob("*.so"))

    assert extensions
    assert {elf_machine(extension) for extension in extensions} == {
        parameter_default("Architecture")
    }
    assert all("cpython-313" in ext.name for ext in extensions if ".cpython-" in ext.name), (
        "extension modules must be built for CPython 3.13"
    )


def test_lambda_package_holds_the_models_and_no_dev_code() -> None:
    package = built(LAMBDA_BUILD)

    assert sorted(p.parent.name for p in package.glob("inference/models/*/*/model.onnx")) == [
        "1",
        "1",
    ]
    for dev_only in ("tools", "tests", "events", "sklearn", "skl2onnx", "pytest", "samcli"):
        assert not (package / dev_only).exists(), dev_only
    size = package_size(package)
    print(f"unzipped package: {size / 1e6:.1f} MB")
    assert size < LAMBDA_UNZIPPED_LIMIT


def invoke_built(package: Path, module: str, event: str, env: dict[str, str]) -> Any:
    """The result of ``module.lambda_handler`` run from ``package`` alone.

    The interpreter the venv was made from, without site-packages (-S): only the
    standard library and the package are importable, as on Lambda.
    """
    python = getattr(sys, "_base_executable", sys.executable)
    base_env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(package)}
    done = subprocess.run(
        [python, "-S", "-c", INVOKE_BUILT_HANDLER, module, str(ROOT / "events" / event)],
        capture_output=True,
        text=True,
        env={**base_env, "POWERTOOLS_TRACE_DISABLED": "1", **env},
        cwd=package,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def test_host_build_imports_and_answers_with_nothing_but_the_package() -> None:
    package = built(HOST_BUILD)
    host_arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    assert elf_machine(next(package.rglob("onnxruntime_pybind11_state*.so"))) == host_arch

    response = invoke_built(
        package,
        "inference.handler",
        "infer_iris.json",
        {"POWERTOOLS_SERVICE_NAME": "model-endpoint", "AWS_DEFAULT_REGION": "eu-west-1"},
    )

    assert response["statusCode"] == 200
    # The event carries iris rows 0, 50 and 100: one of each class, in class order.
    assert json.loads(response["body"])["outputs"][0]["data"] == [0, 1, 2]


def test_host_build_of_the_log_processor_processes_a_batch() -> None:
    package = built(HOST_LOG_PROCESSOR)
    assert not (package / "onnxruntime").exists()

    result = invoke_built(
        package,
        "log_processor.handler",
        "access_log_subscription.json",
        {
            "POWERTOOLS_SERVICE_NAME": "model-endpoint",
            "ACCESS_LOG_FORMAT": access_log_format(),
            "KNOWN_MODELS": "digits,iris",
        },
    )

    assert result["lines"] == result["valid"] > 0
    print(f"log processor package: {package_size(package) / 1e6:.1f} MB")
