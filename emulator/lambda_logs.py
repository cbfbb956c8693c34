"""Lambda's own log lines (platform events), as Lambda writes them in the JSON log format.

Only what the function's ``SystemLogLevel`` lets through is written, so the bytes in a
function's log stream, and their cost, are those of the deployed configuration.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

LEVELS = {"DEBUG": 0, "INFO": 1, "WARN": 2}
# The level at which Lambda emits each platform event.
EVENT_LEVELS = {
    "platform.initStart": "INFO",
    "platform.initReport": "INFO",
    "platform.start": "INFO",
    "platform.runtimeDone": "DEBUG",
    "platform.report": "INFO",
}
# Lambda's status for each outcome of an invocation.
STATUS = {"ok": "success", "error": "error", "timeout": "timeout", "crash": "error"}


# Lambda's application log levels, least severe first. Python's logging names two of them
# differently; a line with no level, or one Lambda does not know, counts as INFO.
APPLICATION_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
PYTHON_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}


def application_line_kept(line: str, minimum: str) -> bool:
    """Whether Lambda's log-level filter (ApplicationLogLevel, JSON format) keeps ``line``."""
    level = "INFO"
    if line.startswith("{"):
        try:
            document = json.loads(line)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("level"), str):
            named = document["level"].upper()
            named = PYTHON_LEVEL_NAMES.get(named, named)
            level = named if named in APPLICATION_LEVELS else "INFO"
    return APPLICATION_LEVELS.index(level) >= APPLICATION_LEVELS.index(minimum)


def emitted(event: str, system_log_level: str) -> bool:
    return LEVELS[EVENT_LEVELS[event]] >= LEVELS.get(system_log_level, LEVELS["INFO"])


def line(event: str, record: dict[str, Any]) -> str:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    return json.dumps({"time": stamp, "type": event, "record": record}, separators=(",", ":"))


def tracing(header: str | None) -> dict[str, Any]:
    if header is None:
        return {}
    return {"tracing": {"spanId": secrets.token_hex(8), "type": "X-Amzn-Trace-Id", "value": header}}
