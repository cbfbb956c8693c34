"""CloudWatch Logs' part the drift job calls: FilterLogEvents on a local port, over the
functions' log streams the sink writes (``logs/<function>.log``), so the job's own boto3
call runs.

The wire protocol is botocore's ``logs`` service model (JSON 1.1): ``POST /`` with
``X-Amz-Target: Logs_20140328.FilterLogEvents``; errors carry their code in ``__type``.
Signatures are accepted without being checked. A log event's timestamp is its EMF
document's ``_aws.Timestamp`` (the sink keeps no other); lines without one are not
served. Filter patterns: the empty pattern, and a JSON field's presence,
``{ $.name = "*" }``, the one the drift job sends; any other is refused rather than
read differently from CloudWatch.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .loopback import server_url, start_serving, stop_serving

TARGET = "Logs_20140328.FilterLogEvents"
# FilterLogEvents' largest page (its `limit` default and maximum).
PAGE_EVENTS = 10_000
_FIELD_PRESENT = re.compile(r'\{\s*\$\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"\*"\s*\}')


class InvalidParameter(ValueError):
    pass


def _present(pattern: str) -> str | None:
    """The field a pattern asks for (None: every event)."""
    if not pattern.strip():
        return None
    match = _FIELD_PRESENT.fullmatch(pattern.strip())
    if match is None:
        raise InvalidParameter(
            f"filter pattern {pattern[:80]!r}: only '' and '{{ $.field = \"*\" }}' are served here"
        )
    return match.group(1)


def _events(path: Path, field: str | None) -> Iterator[tuple[int, str]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            text = line.rstrip("\n")
            if '"_aws"' not in text or (field is not None and f'"{field}"' not in text):
                continue
            try:
                document = json.loads(text)
                timestamp = int(document["_aws"]["Timestamp"])
            except (ValueError, KeyError, TypeError):
                continue
            if field is None or field in document:
                yield timestamp, text


class CloudWatchLogs:
    """Serves each log group named in ``groups`` from its function's log file."""

    def __init__(self, groups: Mapping[str, Path], host: str = "127.0.0.1") -> None:
        self.groups = dict(groups)
        self.calls = 0
        self._server = _serve(self, host)

    @property
    def url(self) -> str:
        return server_url(self._server, "CloudWatch Logs")

    def start(self) -> CloudWatchLogs:
        start_serving(self._server)
        return self

    def stop(self) -> None:
        stop_serving(self._server)

    def filter_log_events(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self.calls += 1
        group = request.get("logGroupName")
        if not isinstance(group, str) or group not in self.groups:
            raise LookupError(f"The specified log group does not exist: {group!r}")
        field = _present(str(request.get("filterPattern", "")))
        start = int(request.get("startTime", 0))
        end = int(request.get("endTime", 2**62))
        offset = int(request["nextToken"]) if request.get("nextToken") else 0
        limit = min(int(request.get("limit", PAGE_EVENTS)), PAGE_EVENTS)
        matched = [
            (timestamp, text)
            for timestamp, text in _events(self.groups[group], field)
            if start <= timestamp <= end
        ]
        page = matched[offset : offset + limit]
        answer: dict[str, Any] = {
            "events": [
                {
                    "logStreamName": "local",
                    "timestamp": timestamp,
                    "message": text,
                    "ingestionTime": timestamp,
                    "eventId": f"{offset + index}",
                }
                for index, (timestamp, text) in enumerate(page)
            ],
            "searchedLogStreams": [],
        }
        if offset + limit < len(matched):
            answer["nextToken"] = str(offset + limit)
        return answer


def _serve(logs: CloudWatchLogs, host: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, answer = 200, {}
            if self.headers.get("X-Amz-Target") != TARGET:
                target = self.headers.get("X-Amz-Target")
                status, answer = 400, {"__type": "UnknownOperationException", "message": target}
            else:
                try:
                    answer = logs.filter_log_events(json.loads(body or b"{}"))
                except LookupError as error:
                    status = 400
                    answer = {"__type": "ResourceNotFoundException", "message": str(error)}
                except (InvalidParameter, ValueError) as error:
                    status = 400
                    answer = {"__type": "InvalidParameterException", "message": str(error)}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    return server
