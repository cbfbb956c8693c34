"""Warm request overhead: the instrumented handler against a bare one, same model, same input.

Bare: parse the body, run the same ONNX session, return plain JSON. Both run in this
process, their output discarded. The handler is measured twice: untraced (no trace
header: what every request not sampled costs) and traced as on Lambda (a sampled trace
header, its subsegments sent to a daemon: a separate process reading a local UDP port).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from bench.timing import medians
from dev_support.lambda_events import FakeLambdaContext, load_event, with_body
from emulator.template import function_environment

# The function reads its settings at import, from the environment the template gives it.
for _name, _value in function_environment("InferenceFunction").items():
    os.environ.setdefault(_name, _value)

SAMPLED = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
# The X-Ray daemon's part: read every datagram, keep none.
DAEMON = """
import socket, sys
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
print(daemon.getsockname()[1], flush=True)
while True:
    daemon.recv(65536)
"""


@contextlib.contextmanager
def xray_daemon() -> Iterator[str]:
    """A daemon process on a free local port; its address, as Lambda gives it."""
    daemon = subprocess.Popen(  # noqa: S603 -- our interpreter, our code
        [sys.executable, "-c", DAEMON], stdout=subprocess.PIPE, text=True
    )
    try:
        port = daemon.stdout.readline().strip() if daemon.stdout is not None else ""
        yield f"127.0.0.1:{port}"
    finally:
        daemon.kill()
        daemon.wait()


def infer_event(rows: int) -> dict[str, Any]:
    data = [float(i % 17) for i in range(rows * 64)]
    event = load_event("infer_digits_versioned")
    body = {"inputs": [{"name": "input", "shape": [rows, 64], "datatype": "FP32", "data": data}]}
    return with_body(event, body)


def run(rounds: int = 300) -> dict[str, float]:
    with xray_daemon() as address:
        # Read at import, as Lambda sets it before init.
        os.environ.setdefault("AWS_XRAY_DAEMON_ADDRESS", address)
        return _run(rounds)


def _run(rounds: int) -> dict[str, float]:
    from inference import handler  # noqa: PLC0415 -- after the environment is set
    from inference.backends.onnx import OnnxBackend  # noqa: PLC0415
    from inference.telemetry import logger, tracer  # noqa: PLC0415

    backend = handler.REGISTRY.get("digits").backend
    if not isinstance(backend, OnnxBackend):
        raise TypeError("the benchmark runs the bundled digits model in ONNX Runtime")
    session = backend.session
    sink = io.StringIO()
    logger.registered_handler.stream = sink  # type: ignore[attr-defined]
    context = FakeLambdaContext()

    def bare(event: dict[str, Any]) -> dict[str, Any]:
        (tensor,) = json.loads(event["body"])["inputs"]
        features = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        label, probabilities = session.run(None, {"input": features})
        body = {"label": label.tolist(), "probabilities": probabilities.ravel().tolist()}
        return {"statusCode": 200, "body": json.dumps(body)}

    def invoke(event: dict[str, Any], trace_header: str | None) -> dict[str, Any]:
        # Lambda's runtime sets (or clears) the header before each invocation.
        if trace_header is None:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        else:
            os.environ["_X_AMZN_TRACE_ID"] = trace_header
        response: dict[str, Any] = handler.lambda_handler(event, context)
        return response

    results: dict[str, float] = {}
    with contextlib.redirect_stdout(sink):
        for rows in (1, 32):
            event = infer_event(rows)
            if invoke(event, SAMPLED)["statusCode"] != 200:
                raise RuntimeError("the benchmark request failed")

            def untraced(event: dict[str, Any] = event) -> object:
                return invoke(event, None)

            def traced(event: dict[str, Any] = event) -> object:
                return invoke(event, SAMPLED)

            def floor_run(event: dict[str, Any] = event) -> object:
                return bare(event)

            full, full_traced, floor = medians([untraced, traced, floor_run], rounds)
            sink.seek(0)
            sink.truncate()
            results[f"handler_us_b{rows}"] = round(full * 1e6, 1)
            results[f"handler_traced_us_b{rows}"] = round(full_traced * 1e6, 1)
            results[f"bare_us_b{rows}"] = round(floor * 1e6, 1)
            results[f"handler_overhead_ratio_b{rows}"] = round(full / floor, 3)
            results[f"handler_overhead_ratio_traced_b{rows}"] = round(full_traced / floor, 3)
    os.environ.pop("_X_AMZN_TRACE_ID", None)
    # Datagrams the provider could not send: should be none.
    results["xray_datagrams_dropped"] = getattr(tracer.provider, "dropped", 0)
    return results
