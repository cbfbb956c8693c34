"""The artifacts `sam build` produces: what Lambda would run.

`make test` builds twice first: for Lambda (arm64, .aws-sam/build) and for this
machine (.aws-sam/build-host), so the package is proven to import and answer
here even when the machine cannot execute arm64 code. The packages leave out what
the Lambda runtime provides (boto3 and its dependencies); here, as on Lambda, those
come after the package on the path (.aws-sam/lambda-runtime, `make lambda-runtime`).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dev_support.lambda_events import INVOKE_BUILT_HANDLER, subscription_event
from dev_support.paths import BUILD_DIR, EVENTS_DIR, HOST_BUILD_DIR, LAMBDA_RUNTIME_DIR, ROOT
from emulator.logs import render_access_log
from emulator.template import function_environment, parameter_default
from emulator.worker import lambda_python_path
from tests.package.pins import normalized, runtime_pins

LAMBDA_BUILD = BUILD_DIR / "InferenceFunction"
LAMBDA_LOG_PROCESSOR = BUILD_DIR / "LogProcessorFunction"
HOST_BUILD = HOST_BUILD_DIR / "InferenceFunction"
HOST_LOG_PROCESSOR = HOST_BUILD_DIR / "LogProcessorFunction"
LAMBDA_CANARY = BUILD_DIR / "CanaryFunction"
LAMBDA_HOOK = BUILD_DIR / "PreTrafficHookFunction"
ALL_BUILDS = [
    LAMBDA_BUILD,
    LAMBDA_LOG_PROCESSOR,
    HOST_BUILD,
    HOST_LOG_PROCESSOR,
    LAMBDA_CANARY,
    LAMBDA_HOOK,
]
# Lambda's limit for an unzipped deployment package.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# Targets for the unzipped Lambda (arm64) packages, counted as Lambda counts its limit
# (the files' sizes); with the runtime's packages still in them: 141 and 28 MB.
MB = 1_000_000
INFERENCE_PACKAGE_TARGET = 120 * MB
LOG_PROCESSOR_PACKAGE_TARGET = 15 * MB
# Top-level modules of the runtime's distributions, where the names differ.
MODULE_NAMES = {"python-dateutil": "dateutil"}
DEV_ONLY = ("tools", "tests", "events", "emulator", "bench", "sklearn", "skl2onnx", "pytest")
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


def test_lambda_package_holds_the_models() -> None:
    package = built(LAMBDA_BUILD)

    models = package.glob("inference/models/*/*/model.onnx")
    assert sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in models) == [
        "diabetes/1",
        "digits/1",
        "iris/1",
    ]
    assert package_size(package) < LAMBDA_UNZIPPED_LIMIT


@pytest.mark.parametrize("path", ALL_BUILDS, ids=lambda path: f"{path.parent.name}-{path.name}")
def test_packages_hold_neither_the_runtimes_packages_nor_dev_code(path: Path) -> None:
    package = built(path)
    distributions = {normalized(info.name.split("-")[0]) for info in package.glob("*.dist-info")}

    for name in runtime_pins():
        module = MODULE_NAMES.get(name, name.replace("-", "_"))
        assert not (package / module).exists(), module
        assert not (package / f"{module}.py").exists(), module
        assert name not in distributions, name
    for dev_only in (*DEV_ONLY, "samcli", "mypy", "uv"):
        assert not (package / dev_only).exists(), dev_only


def test_lambda_packages_meet_their_size_targets() -> None:
    inference = package_size(built(LAMBDA_BUILD))
    log_processor = package_size(built(LAMBDA_LOG_PROCESSOR))
    print(f"unzipped: inference {inference / MB:.1f} MB, log processor {log_processor / MB:.1f} MB")

    assert inference <= INFERENCE_PACKAGE_TARGET
    assert log_processor <= LOG_PROCESSOR_PACKAGE_TARGET


def run_built(package: Path, arguments: list[str], env: dict[str, str], *, runtime: bool) -> str:
    """Stdout of Python running ``arguments`` from ``package``, as Lambda would.

    The interpreter the venv was made from, without site-packages (-S): only the
    standard library, the package and then (``runtime``) what the Lambda runtime
    provides are importable, in that order.
    """
    if runtime and not LAMBDA_RUNTIME_DIR.is_dir():
        message = "the Lambda runtime's packages are missing: run `make lambda-runtime` first"
        if os.environ.get("REQUIRE_BUILDS"):
            pytest.fail(message)
        pytest.skip(message)
    python = getattr(sys, "_base_executable", sys.executable)
    path = lambda_python_path(package, LAMBDA_RUNTIME_DIR if runtime else None)
    done = subprocess.run(
        [python, "-S", *arguments],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": path, **env},
        cwd=package,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def invoke_built(package: Path, module: str, event: Path, env: dict[str, str]) -> Any:
    """The result of ``module.lambda_handler`` run from ``package`` and the runtime's packages."""
    stdout = run_built(
        package,
        ["-c", INVOKE_BUILT_HANDLER, module, str(event)],
        {"POWERTOOLS_TRACE_DISABLED": "1", **env},
        runtime=True,
    )
    (line,) = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


# Prints where each module named on the command line would be imported from (or null).
WHERE_FROM = """
import importlib.util, json, sys
specs = {name: importlib.util.find_spec(name) for name in sys.argv[1:]}
print(json.dumps({name: spec.origin if spec else None for name, spec in specs.items()}))
"""


@pytest.mark.parametrize("path", [HOST_BUILD, HOST_LOG_PROCESSOR], ids=lambda path: path.name)
def test_host_build_takes_the_sdk_from_the_runtime_after_its_own_code(path: Path) -> None:
    package = built(path)
    modules = ["boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk"]

    alone = json.loads(run_built(package, ["-c", WHERE_FROM, *modules], {}, runtime=False))
    on_lambda = json.loads(run_built(package, ["-c", WHERE_FROM, *modules], {}, runtime=True))

    # No SDK of its own: without the runtime's packages there is none to import.
    assert (alone["boto3"], alone["botocore"]) == (None, None)
    assert Path(on_lambda["boto3"]).is_relative_to(LAMBDA_RUNTIME_DIR)
    assert Path(on_lambda["botocore"]).is_relative_to(LAMBDA_RUNTIME_DIR)
    # Its own dependencies, from the package; no X-Ray SDK anywhere (inference/xray.py).
    assert Path(on_lambda["aws_lambda_powertools"]).is_relative_to(package)
    assert on_lambda["aws_xray_sdk"] is None


def test_host_build_imports_and_answers_with_the_package_and_the_runtime() -> None:
    package = built(HOST_BUILD)
    host_arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    assert elf_machine(next(package.rglob("onnxruntime_pybind11_state*.so"))) == host_arch

    response = invoke_built(
        package,
        "inference.handler",
        EVENTS_DIR / "infer_iris.json",
        function_environment("InferenceFunction"),
    )

    assert response["statusCode"] == 200
    # The event carries iris rows 0, 50 and 100: one of each class, in class order.
    assert json.loads(response["body"])["outputs"][0]["data"] == [0, 1, 2]


def test_host_build_of_the_log_processor_processes_a_batch(tmp_path: Path) -> None:
    package = built(HOST_LOG_PROCESSOR)
    assert not (package / "onnxruntime").exists()
    # Requests of a minute ago, not the sample event's: the processor refuses request times
    # more than 14 days before its clock, and a fixed sample falls behind.
    requested_ms = int(time.time() * 1000) - 60_000
    lines = [
        render_access_log(
            {
                "$context.requestId": f"r-{index}",
                "$context.requestTimeEpoch": requested_ms,
                "$context.status": "200",
                "$context.responseLatency": "41",
            }
        )
        for index in range(3)
    ]
    event = tmp_path / "access_log_subscription.json"
    event.write_text(json.dumps(subscription_event(lines)))

    result = invoke_built(
        package, "log_processor.handler", event, function_environment("LogProcessorFunction")
    )

    assert result["lines"] == result["valid"] == 3


# The built handler's first answer (INVOKE_BUILT_HANDLER), then every module it had loaded.
LOADED_MODULES = INVOKE_BUILT_HANDLER + 'print("LOADED " + json.dumps(sorted(sys.modules)))\n'


def test_the_built_handler_traces_without_the_xray_sdk_or_botocore() -> None:
    package = built(HOST_BUILD)
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    root = "1-67891233-abcdef012345678912345678"
    env = {
        **function_environment("InferenceFunction"),
        # What Lambda sets with active tracing, for init and a sampled invocation.
        "LAMBDA_TASK_ROOT": str(package),
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        "_X_AMZN_TRACE_ID": f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1",
    }

    stdout = run_built(
        package,
        ["-c", LOADED_MODULES, "inference.handler", str(ROOT / "events" / "infer_iris.json")],
        env,
        runtime=True,
    )
    datagrams = [daemon.recv(65536) for _ in range(2)]
    daemon.close()

    (line,) = [line for line in stdout.splitlines() if line.startswith("LOADED ")]
    loaded = json.loads(line.removeprefix("LOADED "))
    assert [module for module in loaded if module.split(".")[0] == "aws_xray_sdk"] == []
    # Powertools imports botocore's package (its __init__ alone, about 1 ms) to register a
    # user-agent hook for AWS clients; no client, session or other botocore module loads.
    assert [module for module in loaded if module.split(".")[0] == "botocore"] == ["botocore"]
    documents = [json.loads(datagram.partition(b"\n")[2]) for datagram in datagrams]
    assert sorted(d["name"] for d in documents) == ["## lambda_handler", "## predict"]
    assert {d["trace_id"] for d in documents} == {root}


@pytest.mark.parametrize("path", [LAMBDA_CANARY, LAMBDA_HOOK], ids=lambda path: path.name)
def test_the_canary_packages_carry_the_golden_cases_as_files(path: Path) -> None:
    package = built(path)
    cases = sorted(package.glob("canary/cases/*/*/golden.json"))

    assert [f"{p.parent.parent.name}/{p.parent.name}" for p in cases] == [
        "diabetes/1",
        "digits/1",
        "iris/1",
    ]
    # sam build copies what the links point to: the committed files, not links.
    for case in cases:
        assert not case.is_symlink()
        relative = case.relative_to(package / "canary" / "cases")
        assert case.read_bytes() == (ROOT / "inference_fn/inference/models" / relative).read_bytes()
    # Powertools and the function's code only: no model, no ONNX Runtime.
    assert not list(package.rglob("*.onnx"))
    assert package_size(package) <= LOG_PROCESSOR_PACKAGE_TARGET
