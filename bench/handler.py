"""Warm request overhead: the instrumented handler against a bare one, same model, same input.

Bare: parse the body, run the same ONNX session, return plain JSON. Both run in this
process with tracing disabled (as in tests) and their output discarded.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Any

import numpy as np

from bench.timing import medians
from dev_support.lambda_events import FakeLambdaContext, load_event, with_body
from emulator.template import function_environment

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
# The function reads its settings at import, from the environment the template gives it.
for _name, _value in function_environment("InferenceFunction").items():
    os.environ.setdefault(_name, _value)


def infer_event(rows: int) -> dict[str, Any]:
    data = [float(i % 17) for i in range(rows * 64)]
    event = load_event("infer_digits_versioned")
    body = {"inputs": [{"name": "input", "shape": [rows, 64], "datatype": "FP32", "data": data}]}
    return with_body(event, body)


def run(rounds: int = 300) -> dict[str, float]:
    from inference import handler  # noqa: PLC0415 -- after the environment is set
    from inference.telemetry import logger  # noqa: PLC0415

    session = handler.REGISTRY.get("digits").predictor
    sink = io.StringIO()
    logger.registered_handler.stream = sink  # type: ignore[attr-defined]
    context = FakeLambdaContext()

    def bare(event: dict[str, Any]) -> dict[str, Any]:
        (tensor,) = json.loads(event["body"])["inputs"]
        features = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        label, probabilities = session.run(None, {"input": features})
        body = {"label": label.tolist(), "probabilities": probabilities.ravel().tolist()}
        return {"statusCode": 200, "body": json.dumps(body)}

    results: dict[str, float] = {}
    with contextlib.redirect_stdout(sink):
        for rows in (1, 32):
            event = infer_event(rows)
            if handler.lambda_handler(event, context)["statusCode"] != 200:
                raise RuntimeError("the benchmark request failed")

            def instrumented(event: dict[str, Any] = event) -> object:
                return handler.lambda_handler(event, context)

            def floor_run(event: dict[str, Any] = event) -> object:
                return bare(event)

            full, floor = medians([instrumented, floor_run], rounds)
            sink.seek(0)
            sink.truncate()
            results[f"handler_us_b{rows}"] = round(full * 1e6, 1)
            results[f"bare_us_b{rows}"] = round(floor * 1e6, 1)
            results[f"handler_overhead_ratio_b{rows}"] = round(full / floor, 3)
    return results
