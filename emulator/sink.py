"""Where the workers' output goes: CloudWatch's part, on disk under the state directory.

Every line a function writes goes to its log stream, ``logs/<function>.log``, as
CloudWatch Logs keeps it (EMF documents included); the EMF documents are also extracted
into ``metrics.jsonl`` (one ``{"function", "document"}`` per line), as CloudWatch
extracts metrics from the log stream. What CloudWatch publishes for the services the
emulator stands in for goes there too (``{"publisher": <namespace>, "document"}``, see
service_metrics.py). Each session (one ``make run``) begins with a
``{"session": {"started_ms"}}`` line, so a report can tell runs apart.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any

from . import lambda_logs


class Sink:
    def __init__(self, state_dir: Path) -> None:
        self.logs_dir = state_dir / "logs"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path = state_dir / "metrics.jsonl"
        self._lock = threading.Lock()
        self._metrics = self.metrics_path.open("a", encoding="utf-8")
        self._metrics.write(json.dumps({"session": {"started_ms": int(time.time() * 1000)}}) + "\n")
        self._metrics.flush()
        self._logs: dict[str, IO[str]] = {}
        # Bytes each function's log stream would ingest (EMF and log lines alike).
        self.bytes_written: dict[str, int] = {}

    def consume(
        self, function: str, stream: IO[bytes] | None, minimum_level: str | None = None
    ) -> None:
        """Read one worker stream to its end (the thread ends with the process), keeping
        what Lambda's application log-level filter keeps (``minimum_level``; None: all)."""
        if stream is None:
            return
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if minimum_level is None or lambda_logs.application_line_kept(line, minimum_level):
                self.write(function, line)

    def write(self, function: str, line: str) -> None:
        document = None
        if line.startswith("{") and '"_aws"' in line:
            try:
                document = json.loads(line)
            except ValueError:
                document = None
        with self._lock:
            self.bytes_written[function] = self.bytes_written.get(function, 0) + len(
                line.encode("utf-8")
            )
            if isinstance(document, dict) and "_aws" in document:
                self._metrics.write(json.dumps({"function": function, "document": document}) + "\n")
                self._metrics.flush()
            log = self._logs.get(function)
            if log is None:
                log = self._logs[function] = (self.logs_dir / f"{function}.log").open(
                    "a", encoding="utf-8"
                )
            log.write(line + "\n")
            log.flush()

    def publish(self, publisher: str, document: dict[str, Any]) -> None:
        """A service's metrics (API Gateway's, Lambda's): beside the EMF, in no log stream."""
        line = json.dumps({"publisher": publisher, "document": document}) + "\n"
        with self._lock:
            self._metrics.write(line)
            self._metrics.flush()

    def close(self) -> None:
        with self._lock:
            self._metrics.close()
            for log in self._logs.values():
                log.close()
