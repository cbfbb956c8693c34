"""`make trace`: one request's story from an access-log line and the segments of its trace."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.logs import render_access_log
from emulator.template import access_log_format
from emulator.trace import main, story
from emulator.xray import XRayDaemon

TRACE = "1-6b100938-b2f10563dfe3286a20b0ccbe"
T0 = 1_796_213_048.0


def access_line(request_id: str, **values: Any) -> str:
    context = {
        "$context.requestId": request_id,
        "$context.httpMethod": "POST",
        "$context.path": "/prod/v2/models/iris/infer",
        "$context.status": 200,
        "$context.responseLength": 239,
        "$context.responseLatency": 12,
        "$context.integrationLatency": 9,
        "$context.xrayTraceId": TRACE,
        **values,
    }
    return render_access_log(context)


def write_state(state: Path, lines: list[str], documents: list[dict[str, Any]]) -> Path:
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "access.log").write_text("".join(line + "\n" for line in lines))
    (state / "traces.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents))
    return state


SEGMENTS: list[dict[str, Any]] = [
    # Order on disk is arrival order: the function's subsegments first, the stage's last.
    {
        "name": "## predict",
        "id": "c" * 16,
        "trace_id": TRACE,
        "parent_id": "b" * 16,
        "type": "subsegment",
        "start_time": T0 + 0.0065,
        "end_time": T0 + 0.0068,
        "annotations": {"model": "iris", "model_version": "1"},
        "fault": True,
        "cause": {"exceptions": [{"id": "d" * 16, "type": "RuntimeError"}]},
    },
    {
        "name": "## lambda_handler",
        "id": "b" * 16,
        "trace_id": TRACE,
        "parent_id": "f" * 16,
        "type": "subsegment",
        "start_time": T0 + 0.006,
        "end_time": T0 + 0.009,
        "annotations": {"cold_start": False},
    },
    {
        "name": "InferenceFunction",
        "id": "f" * 16,
        "trace_id": TRACE,
        "parent_id": "a" * 16,
        "start_time": T0 + 0.002,
        "end_time": T0 + 0.011,
        "origin": "AWS::Lambda::Function",
        "subsegments": [
            {
                "name": "Initialization",
                "id": "e" * 16,
                "start_time": T0 + 0.002,
                "end_time": T0 + 0.005,
            }
        ],
    },
    {
        "name": "local/prod",
        "id": "a" * 16,
        "trace_id": TRACE,
        "start_time": T0,
        "end_time": T0 + 0.012,
        "origin": "AWS::ApiGateway::Stage",
        "http": {"request": {"method": "POST"}, "response": {"status": 500}},
        "fault": True,
    },
    {"name": "another trace", "id": "9" * 16, "trace_id": "1-00000000-x", "start_time": T0},
]


def test_the_story_is_the_gateways_timings_and_the_trace_as_a_tree(tmp_path: Path) -> None:
    state = write_state(
        tmp_path,
        [access_line("r-0", **{"$context.xrayTraceId": "1-00000000-x"}), access_line("r-1")],
        SEGMENTS,
    )

    told = story(state, "r-1", access_log_format())

    assert told.splitlines() == [
        "request r-1: POST /prod/v2/models/iris/infer -> 200",
        "  gateway: 12 ms in all, 239 bytes answered; 9 ms waiting for the function,"
        " 3 ms the gateway's own",
        f"  trace {TRACE}: 5 segments",
        "  local/prod                           +     0.0 ms      12.0 ms"
        "  AWS::ApiGateway::Stage  status 500  FAULT",
        "    InferenceFunction                  +     2.0 ms       9.0 ms  AWS::Lambda::Function",
        "      Initialization                   +     2.0 ms       3.0 ms",
        "      ## lambda_handler                +     6.0 ms       3.0 ms  cold_start=False",
        "        ## predict                     +     6.5 ms       0.3 ms"
        "  model=iris  model_version=1  FAULT  raised RuntimeError",
    ]


def test_a_request_refused_at_the_gateway_has_a_one_segment_story(tmp_path: Path) -> None:
    refused = access_line(
        "r-2",
        **{
            "$context.status": 403,
            "$context.integrationLatency": None,
            "$context.error.responseType": "INVALID_API_KEY",
        },
    )
    stage = {**SEGMENTS[3], "http": {"response": {"status": 403}}, "fault": False, "error": True}
    state = write_state(tmp_path, [refused], [stage])

    lines = story(state, "r-2", access_log_format()).splitlines()

    assert lines[0] == "request r-2: POST /prod/v2/models/iris/infer -> 403 (INVALID_API_KEY)"
    assert lines[1] == "  gateway: 12 ms in all, 239 bytes answered; the function was not called"
    assert lines[3].endswith("status 403  ERROR")
    assert len(lines) == 4


def test_an_unknown_request_id_fails_saying_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = write_state(tmp_path, [access_line("r-1")], SEGMENTS)

    assert main(["--state-dir", str(state), "r-unknown"]) == 1
    assert "no request 'r-unknown'" in capsys.readouterr().err
    assert main(["--state-dir", str(tmp_path / "nothing"), "r-1"]) == 1


def test_the_daemon_keeps_documents_and_counts_what_is_not_one(tmp_path: Path) -> None:
    daemon = XRayDaemon(tmp_path / "traces.jsonl")
    host, port = daemon.address.split(":")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    document = {"name": "## predict", "id": "c" * 16, "trace_id": TRACE}
    sender.sendto(
        b'{"format": "json", "version": 1}\n' + json.dumps(document).encode(), (host, int(port))
    )
    sender.sendto(b'{"format": "binary"}\n{}', (host, int(port)))
    sender.sendto(b"no header at all", (host, int(port)))
    daemon.record({"name": "local/prod", "trace_id": TRACE, "start_time": time.time()})
    sender.close()

    daemon.close()

    kept = [json.loads(line) for line in (tmp_path / "traces.jsonl").read_text().splitlines()]
    assert document in kept
    assert [d["name"] for d in kept if d["name"] == "local/prod"] == ["local/prod"]
    assert len(kept) == 2
    assert daemon.rejected == 2
