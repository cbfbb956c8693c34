"""The inference function, with the fault a request names in its fault header.

``model-raises``: ONNX Runtime raises; ``model-hangs``: it never returns;
``worker-dies``: the process exits in the middle of the model call; ``model-slow``: it
answers after a second.
"""

from __future__ import annotations

import os
import time
from typing import Any

import onnxruntime

from inference import handler as packaged

from . import HEADER

SLOW_S = 1.0
_fault: dict[str, str | None] = {"kind": None}
_run = onnxruntime.InferenceSession.run


def _faulty_run(self: Any, output_names: Any, input_feed: Any, run_options: Any = None) -> Any:
    kind = _fault["kind"]
    if kind == "model-raises":
        raise RuntimeError("injected fault: the model raised")
    if kind == "model-hangs":
        time.sleep(3600)
    if kind == "worker-dies":
        os._exit(137)
    if kind == "model-slow":
        time.sleep(SLOW_S)
    return _run(self, output_names, input_feed, run_options)


# At the class: the sessions the registry loaded at init are instances of it.
onnxruntime.InferenceSession.run = _faulty_run


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _fault["kind"] = (event.get("headers") or {}).get(HEADER)
    response: dict[str, Any] = packaged.lambda_handler(event, context)
    return response
