"""No secret and no payload in anything the stack writes: logs, metrics, access log, DLQ.

Given the emulator with a known API key value, when requests carry that key (and a
wrong one) and payloads full of distinctive markers, then after it stops no file under
its state directory but the key file itself contains a key value or a marker, while the
key id and the request ids are there (so the search is not looking at empty files).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from tests.e2e.conftest import start_emulator

INFER = "/v2/models/iris/infer"


def test_key_values_and_payloads_are_never_written(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    key = "KEY" + secrets.token_hex(16)
    (state_dir / "api-key").write_text(key + "\n")
    wrong_key = "WRONGKEY" + secrets.token_hex(16)
    number = f"{secrets.randbelow(10**9):09d}"
    data_value = float(f"3.{number}")
    marker = "MARKER" + secrets.token_hex(8)
    markers = [number, marker, key, wrong_key]

    running = start_emulator(state_dir)
    assert running.client.api_key == key
    client = running.client

    def body(**overrides: Any) -> dict[str, Any]:
        tensor = {
            "name": "input",
            "shape": [1, 4],
            "datatype": "FP32",
            "data": [5.1, 3.5, 1.4, data_value],
            "parameters": {"note": f"{marker}-tensor"},
        }
        return {
            "id": f"{marker}-id",
            "parameters": {"note": f"{marker}-request"},
            "inputs": [{**tensor, **overrides}],
        }

    replies = [
        client.request("POST", INFER, body()),
        client.request("POST", "/v2/models/digits/versions/1/infer", body()),
        client.request("POST", INFER, body(shape=[2, 4])),
        client.request("POST", INFER, body(data=[data_value, "x", 1.0, 2.0])),
        client.request("POST", INFER, body(data=[data_value, 1e39, 1.0, 2.0])),
        # Not labelled JSON, so the gateway does not validate it: the function refuses it.
        client.request(
            "POST",
            INFER,
            {"id": f"{marker}-id", "inputs": []},
            headers={"Content-Type": "text/plain"},
        ),
        client.request("POST", f"{INFER}?note={marker}-query", body()),
        client.request("POST", INFER, body(), key=wrong_key),
        client.request("GET", "/v2/models/iris", key=wrong_key),
        client.request("GET", "/v2/models/iris"),
        client.request("GET", "/v2/health/ready", key=None),
    ]
    running.stop()

    assert [reply.status for reply in replies] == [
        200, 400, 400, 400, 400, 400, 200, 403, 403, 200, 200,
    ]  # fmt: skip
    assert replies[0].body["id"] == f"{marker}-id"

    written = {
        path.relative_to(state_dir): path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(state_dir.rglob("*"))
        if path.is_file() and path.name != "api-key"
    }
    # Function logs are there too when the functions wrote any line (their own or Lambda's).
    assert {Path("logs/access.log"), Path("metrics.jsonl"), Path("traces.jsonl")} <= set(written)
    for path, text in written.items():
        for secret in markers:
            assert secret not in text, f"{secret} found in {path}"

    # Positive controls: the same files do name the key's id and every request.
    access = written[Path("logs/access.log")]
    assert access.count('"apiKeyId":"local-default-client"') == 8
    request_ids = [reply.headers["x-amzn-RequestId"] for reply in replies]
    assert all(request_id in access for request_id in request_ids)
    # The seven infer requests that reached the function each wrote their record (EMF).
    correlated = {line["document"].get("correlation_id") for line in running.metrics()}
    assert set(request_ids[:7]) <= correlated
