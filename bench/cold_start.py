"""Cold start: fresh Python processes answering their first request, side by side.

The built inference function (host build), traced as on Lambda, against its floor
(numpy and ONNX Runtime imported, every bundled model's session created, as the function
does: what its first request cannot do without), a hello-world Powertools handler
(logger, metrics, tracer, no model) and a Python that imports nothing; and the function
again with a 100 MB model of the user's from a ``file://`` models folder (``ModelsS3Uri``
as ``make run`` takes it: checksum and session, no download).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from bench.handler import SAMPLED, xray_daemon
from bench.timing import medians
from dev_support.lambda_events import INVOKE_BUILT_HANDLER
from dev_support.paths import HOST_BUILD_DIR, LAMBDA_RUNTIME_DIR, ROOT
from emulator.template import function_environment
from emulator.worker import lambda_python_path

BUILD = HOST_BUILD_DIR / "InferenceFunction"
EVENT = ROOT / "events" / "infer_iris.json"

# Its tracer is Powertools' with the function's X-Ray provider: the build has no X-Ray SDK
# for Powertools' default provider (and with it, it would measure the SDK's import again).
HELLO = """
from aws_lambda_powertools import Logger, Metrics, Tracer
from inference.xray import LambdaXRayProvider
logger, metrics = Logger(), Metrics(namespace="Bench")
tracer = Tracer(provider=LambdaXRayProvider.from_environment(), disabled=False, auto_patch=False)

@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    metrics.add_metric(name="Hello", unit="Count", value=1)
    return {"statusCode": 200, "body": "hello"}
"""


# What init cannot do without: the model registry the function loads, and nothing else.
FLOOR = """
import sys
from pathlib import Path
from inference.model_registry import load_registry
load_registry(Path(sys.argv[1]))
"""


def first_request(module: str) -> list[str]:
    return ["-c", INVOKE_BUILT_HANDLER, module, str(EVENT)]


# 5000 x 5000 FP32 weights: 100 MB, the size of a mid-sized tabular or text model.
BIG_MODEL_FEATURES = 5000


def big_model(models: Path) -> Path:
    """``models/big/1``: one 100 MB matrix product and its metadata, written once."""
    folder = models / "big" / "1"
    if (folder / "metadata.json").is_file():
        return models
    folder.mkdir(parents=True, exist_ok=True)
    size = BIG_MODEL_FEATURES
    weights = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "weights"], ["output"])],
        "big",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", size])],
        initializer=[numpy_helper.from_array(weights, name="weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    raw = model.SerializeToString()
    (folder / "model.onnx").write_bytes(raw)
    tensor = {"datatype": "FP32", "shape": [-1, size]}
    metadata = {
        "name": "big",
        "version": "1",
        "inputs": [{"name": "input", **tensor}],
        "outputs": [{"name": "output", **tensor}],
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return models


def _process(
    arguments: list[str],
    path: str | None,
    daemon_address: str,
    extra: dict[str, str] | None = None,
) -> None:
    python = getattr(sys, "_base_executable", sys.executable)
    # The function's environment from the template, for all of them: the same work at init;
    # and Lambda's with active tracing: the first request is sampled, its subsegments sent.
    env = {
        **function_environment("InferenceFunction"),
        "LAMBDA_TASK_ROOT": str(BUILD),
        "AWS_XRAY_DAEMON_ADDRESS": daemon_address,
        "_X_AMZN_TRACE_ID": SAMPLED,
        **(extra or {}),
    }
    if path is not None:
        env["PYTHONPATH"] = path
    subprocess.run(  # noqa: S603 -- our interpreter, our code
        [python, "-S", *arguments], env=env, check=True, capture_output=True, cwd=ROOT
    )


def run(rounds: int = 7, scratch: Path = ROOT / ".bench") -> dict[str, float]:
    if not BUILD.is_dir():
        raise SystemExit("the host build is missing: run `make build-host` first")
    if not LAMBDA_RUNTIME_DIR.is_dir():
        raise SystemExit("the Lambda runtime's packages are missing: run `make lambda-runtime`")
    hello_dir = scratch / "hello"
    hello_dir.mkdir(parents=True, exist_ok=True)
    (hello_dir / "hello_handler.py").write_text(HELLO)
    # Both import from the built package first, then the runtime's packages, as on Lambda;
    # the hello handler takes Powertools from the same built package.
    model_path = lambda_python_path(BUILD, LAMBDA_RUNTIME_DIR)
    hello_path = os.pathsep.join([str(hello_dir), model_path])
    models = str(BUILD / "inference" / "models")
    big = {"MODELS_S3_URI": big_model(scratch / "models").as_uri()}
    with xray_daemon() as daemon:
        model, floor, hello, bare, with_big = medians(
            [
                lambda: _process(first_request("inference.handler"), model_path, daemon),
                lambda: _process(["-c", FLOOR, models], model_path, daemon),
                lambda: _process(first_request("hello_handler"), hello_path, daemon),
                lambda: _process(["-c", "pass"], None, daemon),
                lambda: _process(first_request("inference.handler"), model_path, daemon, big),
            ],
            rounds,
            warmup=1,
        )
    return {
        "cold_start_ms": round(model * 1000, 1),
        "hello_cold_start_ms": round(hello * 1000, 1),
        "cold_start_floor_ms": round(floor * 1000, 1),
        "cold_start_floor_ratio": round(model / floor, 3),
        "cold_start_ratio": round(model / hello, 3),
        "bare_python_start_ms": round(bare * 1000, 1),
        "cold_start_100mb_model_ms": round(with_big * 1000, 1),
        "cold_start_100mb_model_extra_ms": round((with_big - model) * 1000, 1),
    }
