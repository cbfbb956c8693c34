"""X-Ray's part: a daemon on a local UDP port, and the segments API Gateway and Lambda record.

The functions send their subsegments to ``AWS_XRAY_DAEMON_ADDRESS`` as on Lambda (the
daemon's header line, then a JSON segment document, in one datagram); the emulator
records the segments the services would (the stage's, and each traced function's, which
the function's subsegments hang from). Every document goes to ``traces.jsonl``, one per
line, where X-Ray would keep the trace.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DAEMON_HEADER = {"format": "json", "version": 1}


def new_trace_id() -> str:
    """An X-Ray trace id: version, epoch seconds in hex, 96 random bits."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def new_segment_id() -> str:
    """A segment id: 64 bits in 16 hex digits."""
    return secrets.token_hex(8)


def trace_header(trace_id: str, parent_id: str) -> str:
    """The trace header of a sampled request, as services pass it downstream."""
    return f"Root={trace_id};Parent={parent_id};Sampled=1"


def parse_trace_header(header: str) -> tuple[str | None, str | None]:
    """Root and Parent of a trace header (either may be missing)."""
    fields = dict(part.strip().partition("=")[::2] for part in header.split(";"))
    return fields.get("Root") or None, fields.get("Parent") or None


def segment(
    name: str,
    segment_id: str,
    trace_id: str,
    start_time: float,
    end_time: float,
    *,
    origin: str,
    parent_id: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete segment document (X-Ray's field names)."""
    document: dict[str, Any] = {
        "name": name,
        "id": segment_id,
        "trace_id": trace_id,
        "start_time": start_time,
        "end_time": end_time,
        "origin": origin,
    }
    if parent_id is not None:
        document["parent_id"] = parent_id
    return {**document, **(fields or {})}


def status_flags(status: int) -> dict[str, bool]:
    """X-Ray's flags for an HTTP status: error (4xx), throttle (429), fault (5xx)."""
    if status >= 500:
        return {"fault": True}
    if status == 429:
        return {"error": True, "throttle": True}
    if status >= 400:
        return {"error": True}
    return {}


class XRayDaemon:
    """Listens on 127.0.0.1 (a free port) and appends every document to ``path``."""

    def __init__(self, path: Path, host: str = "127.0.0.1") -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, 0))
        # Short waits, so that close() finds the loop quickly once the socket is drained.
        self._socket.settimeout(0.1)
        self.address = f"{host}:{self._socket.getsockname()[1]}"
        # Datagrams that were not a daemon header and a JSON object: counted, not kept.
        self.rejected = 0
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="xray-daemon", daemon=True)
        self._thread.start()

    def record(self, document: dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(document, separators=(",", ":")) + "\n")
            self._file.flush()

    def _receive(self) -> None:
        while True:
            try:
                datagram = self._socket.recv(65536)
            except TimeoutError:
                if self._closing.is_set():
                    return
                continue
            header, _, body = datagram.partition(b"\n")
            try:
                document = json.loads(body) if json.loads(header) == DAEMON_HEADER else None
            except ValueError:
                document = None
            if isinstance(document, dict):
                self.record(document)
            else:
                self.rejected += 1

    def close(self) -> None:
        """Keep what was already sent (the socket is read until empty), then stop."""
        self._closing.set()
        self._thread.join()
        self._socket.close()
        with self._lock:
            self._file.close()
