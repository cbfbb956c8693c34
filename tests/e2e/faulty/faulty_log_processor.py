"""The log processor, failing on batches that hold a request with a fault user agent.

``RAISES``: the batch raises on every attempt; ``DIES``: the process exits on the
batch's first attempt only.
Attempts are written to ``FAULT_STATE_DIR``, which outlives the process.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from pathlib import Path
from typing import Any

from log_processor import handler as packaged

from . import DIES, RAISES


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    payload = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    lines = "\n".join(log_event["message"] for log_event in payload["logEvents"])
    fault = "raises" if RAISES in lines else "dies" if DIES in lines else "none"
    state = Path(os.environ["FAULT_STATE_DIR"])
    with (state / "attempts.log").open("a") as attempts:
        attempts.write(f"{fault} {len(payload['logEvents'])}\n")
    if fault == "raises":
        raise RuntimeError("injected fault: the log processor raised")
    if fault == "dies" and not (state / "died").exists():
        (state / "died").touch()
        os._exit(137)
    result: dict[str, int] = packaged.lambda_handler(event, context)
    return result
