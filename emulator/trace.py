"""One request's story from the local run: the gateway's timings, then its trace as a tree.

Finds the request's access-log line (``logs/access.log``), and through its ``traceId`` the
segments of its trace in ``traces.jsonl``: the stage's, the function's (Lambda's part) and
the function's own subsegments, each with its start, duration, annotations and failure.

    python -m emulator.trace [--state-dir DIR] REQUEST_ID
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dev_support.paths import STATE_DIR

from .template import access_log_format

# The $context variables the story reads from an access-log line; the template's format
# names the fields they are written under.
GATEWAY_FIELDS = {
    "request_id": "$context.requestId",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "status": "$context.status",
    "bytes": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integration_latency": "$context.integrationLatency",
    "error_type": "$context.error.responseType",
    "trace_id": "$context.xrayTraceId",
}


class NotFound(LookupError):
    """The request id or its trace is not in the state directory."""


def field_names(log_format: str) -> dict[str, str]:
    """``$context`` variable -> the access-log field the format writes it to."""
    declared: dict[str, str] = json.loads(log_format)
    return {variable: name for name, variable in declared.items()}


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("{"):
                try:
                    document = json.loads(line)
                except ValueError:
                    continue
                if isinstance(document, dict):
                    yield document


def gateway_line(access_log: Path, request_id: str, log_format: str) -> dict[str, str]:
    """The request's access-log line, keyed by ``GATEWAY_FIELDS`` ("-" for missing)."""
    names = field_names(log_format)
    wanted = {key: names.get(variable, "") for key, variable in GATEWAY_FIELDS.items()}
    for document in _json_lines(access_log):
        if document.get(wanted["request_id"]) == request_id:
            return {key: str(document.get(name, "-")) for key, name in wanted.items()}
    raise NotFound(f"no request {request_id!r} in {access_log}")


def _flatten(documents: Iterable[dict[str, Any]], parent: str | None) -> Iterator[dict[str, Any]]:
    """Each document and its embedded subsegments, every one with its parent's id."""
    for document in documents:
        entry = dict(document)
        if parent is not None and "parent_id" not in entry:
            entry["parent_id"] = parent
        yield entry
        yield from _flatten(document.get("subsegments", ()), document.get("id"))


def trace_segments(traces: Path, trace_id: str) -> list[dict[str, Any]]:
    """Every segment and subsegment of the trace, embedded ones included."""
    return list(_flatten((d for d in _json_lines(traces) if d.get("trace_id") == trace_id), None))


def _label(entry: dict[str, Any]) -> str:
    details = [f"{key}={value}" for key, value in sorted(entry.get("annotations", {}).items())]
    if "origin" in entry:
        details.insert(0, entry["origin"])
    status = entry.get("http", {}).get("response", {}).get("status")
    if status is not None:
        details.append(f"status {status}")
    for flag in ("fault", "error", "throttle"):
        if entry.get(flag):
            details.append(flag.upper())
    causes = entry.get("cause", {}).get("exceptions", [])
    details += [f"raised {cause['type']}" for cause in causes if "type" in cause]
    return "  ".join(details)


def tree(segments: list[dict[str, Any]]) -> list[str]:
    """One line per segment, children under their parent, in start order: name, start
    (ms after the trace's first segment), duration and what it says."""
    if not segments:
        return []
    origin = min(entry["start_time"] for entry in segments)
    ids = {entry.get("id") for entry in segments}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for entry in segments:
        parent = entry.get("parent_id")
        children.setdefault(parent if parent in ids else None, []).append(entry)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for entry in sorted(children.get(parent, []), key=lambda e: e["start_time"]):
            start = (entry["start_time"] - origin) * 1000
            end = entry.get("end_time")
            duration = (
                "in progress" if end is None else f"{(end - entry['start_time']) * 1000:.1f} ms"
            )
            name = "  " * depth + str(entry.get("name"))
            lines.append(f"  {name:<36} +{start:8.1f} ms  {duration:>11}  {_label(entry)}".rstrip())
            walk(entry.get("id"), depth + 1)

    walk(None, 0)
    return lines


def story(state_dir: Path, request_id: str, log_format: str) -> str:
    line = gateway_line(state_dir / "logs" / "access.log", request_id, log_format)
    gateway = f"  gateway: {line['latency']} ms in all, {line['bytes']} bytes answered"
    if line["latency"].isdigit() and line["integration_latency"].isdigit():
        overhead = int(line["latency"]) - int(line["integration_latency"])
        gateway += (
            f"; {line['integration_latency']} ms waiting for the function,"
            f" {overhead} ms the gateway's own"
        )
    else:
        gateway += "; the function was not called"
    out = [
        f"request {line['request_id']}: {line['method']} {line['path']} -> {line['status']}"
        + ("" if line["error_type"] == "-" else f" ({line['error_type']})"),
        gateway,
    ]
    if line["trace_id"] == "-":
        out.append("  no trace: the stage does not trace (TracingEnabled)")
        return "\n".join(out) + "\n"
    segments = trace_segments(state_dir / "traces.jsonl", line["trace_id"])
    out.append(f"  trace {line['trace_id']}: {len(segments)} segments")
    out += tree(segments) or ["  (no segment recorded for it)"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator.trace", description="One request's story from the local run."
    )
    parser.add_argument("request_id", help="an x-amzn-RequestId, or an access-log requestId")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(story(args.state_dir, args.request_id, access_log_format()))
    except (NotFound, FileNotFoundError) as missing:
        print(f"{missing}: run `make run` and send a request first.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
