"""Access logs: rendered in the stage's format, written, and shipped to the subscriber.

Shipping mirrors CloudWatch Logs subscriptions: batches (every second or 500 lines,
and at shutdown) as gzip + base64 ``DATA_MESSAGE`` events with unique event ids.
A batch that still fails after two retries is written to the DLQ directory, never
dropped.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import re
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from .template import access_log_format
from .worker import Invocation

_VARIABLE = re.compile(r"\$context(?:\.[A-Za-z]+)+")
_PRE_QUOTED = "$context.error.messageString"
# json.dumps with its defaults, without building an encoder per call.
_ENCODE = json.JSONEncoder().encode
BATCH_LINES = 500
BATCH_SECONDS = 1.0
RETRIES = 2
# How long a throttled batch waits before it is tried again.
THROTTLED_RETRY_S = 0.1


@cache
def _segments(log_format: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The format split once into its literal text and the variables between it."""
    return tuple(_VARIABLE.split(log_format)), tuple(_VARIABLE.findall(log_format))


def render(log_format: str, values: dict[str, Any], missing: str = "-") -> str:
    """``log_format`` with API Gateway's ``$context`` variables substituted, JSON-escaped.

    Access-log lines write a missing value as "-"; gateway responses take ``missing=""``.
    """
    texts, variables = _segments(log_format)
    parts = [texts[0]]
    for variable, text in zip(variables, texts[1:], strict=True):
        value = values.get(variable)
        if isinstance(value, int) and variable != _PRE_QUOTED:
            parts += (str(value), text)  # digits need no escaping
            continue
        escaped = _ENCODE(missing if value is None or value == "" else str(value))
        # API Gateway quotes messageString itself; every other variable sits in quotes.
        parts += (escaped if variable == _PRE_QUOTED else escaped[1:-1], text)
    return "".join(parts)


def render_access_log(values: dict[str, Any]) -> str:
    """A line in the template's own access-log format; ``values`` maps ``$context`` variables."""
    return render(access_log_format(), values)


class Subscriber(Protocol):
    """What the subscription invokes: a function, or one environment of it in tests."""

    def invoke(self, event: dict[str, Any]) -> Invocation: ...


class LogShipper:
    def __init__(
        self,
        subscriber: Subscriber | None,
        access_log: Path,
        dlq_dir: Path,
        log_group: str,
    ) -> None:
        self.subscriber = subscriber
        self.dlq_dir = dlq_dir
        self.log_group = log_group
        access_log.parent.mkdir(parents=True, exist_ok=True)
        self._file = access_log.open("a", encoding="utf-8")
        self._pending: list[dict[str, Any]] = []
        self._condition = threading.Condition()
        self._closing = False
        self._ids = itertools.count(int(time.time() * 1000) * 1000)
        self.delivered = 0
        self.dead_lettered = 0
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()

    def submit(self, line: str, timestamp_ms: int) -> None:
        with self._condition:
            self._file.write(line + "\n")
            self._file.flush()
            self._pending.append(
                {"id": f"{next(self._ids):056d}", "timestamp": timestamp_ms, "message": line}
            )
            if len(self._pending) >= BATCH_LINES:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                if not self._closing and len(self._pending) < BATCH_LINES:
                    self._condition.wait(BATCH_SECONDS)
                batch, self._pending = self._pending[:BATCH_LINES], self._pending[BATCH_LINES:]
                done = self._closing and not batch and not self._pending
            if batch:
                self._deliver(batch)
            if done:
                return

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        payload = {
            "messageType": "DATA_MESSAGE",
            "owner": "000000000000",
            "logGroup": self.log_group,
            "logStream": "local",
            "subscriptionFilters": ["local-subscription"],
            "logEvents": batch,
        }
        event = {
            "awslogs": {
                "data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
            }
        }
        failure = "no subscriber"
        if self.subscriber is not None:
            attempts = 0
            while attempts < 1 + RETRIES:
                invocation = self.subscriber.invoke(event)
                if invocation.outcome == "ok":
                    self.delivered += len(batch)
                    return
                if invocation.outcome == "throttled":
                    # Lambda keeps a throttled asynchronous event and tries it again later,
                    # without spending one of its retries.
                    time.sleep(THROTTLED_RETRY_S)
                    continue
                attempts += 1
                failure = f"{invocation.outcome}: {invocation.result}"
        self.dlq_dir.mkdir(parents=True, exist_ok=True)
        name = f"{int(time.time() * 1000)}-{batch[0]['id'][-12:]}.json"
        record = {"error": failure, "attempts": 1 + RETRIES, "payload": payload}
        (self.dlq_dir / name).write_text(json.dumps(record) + "\n")
        self.dead_lettered += len(batch)

    def close(self) -> None:
        """Deliver everything pending, then stop."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join()
        self._file.close()
