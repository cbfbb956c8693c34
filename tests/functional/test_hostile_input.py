"""Hostile requests at the handler: each gets a 4xx JSON error, never a 500 or a trace.

Given an event from ``events/`` carrying a body (or path, header, query) built to hurt,
when the real handler answers it, then the answer is a 4xx ``{"error", "request_id"}``,
the request still writes its one EMF line (its record), and no output is a trace.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from dev_support.lambda_events import load_event, with_body
from tests.functional.conftest import Invocation, Invoke
from tests.support import LIMITS, emf_blobs

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
DIGITS_ROW = [float(i % 17) for i in range(64)]


Answer = Invocation
Call = Invoke


@pytest.fixture
def call(invoke: Invoke) -> Call:
    """The handler in-process, with its stdout and stderr (logging's failures land there)."""
    return invoke


def iris(**tensor: Any) -> dict[str, Any]:
    base = {"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}
    return {"inputs": [{**base, **tensor}]}


def iris_text(data: str) -> str:
    """An iris request whose ``data`` is written verbatim (tokens json.dumps cannot write)."""
    return (
        '{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": ' + data + "}]}"
    )


def nested(depth: int) -> list[Any]:
    value: list[Any] = IRIS_ROW
    for _ in range(depth):
        value = [value]
    return value


def base64_event(raw: bytes, name: str = "infer_iris") -> dict[str, Any]:
    return {
        **load_event(name),
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }


def assert_refused(answer: Answer, status: int, request_id: str) -> None:
    """A 4xx JSON error, the request's EMF record, and no trace anywhere."""
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error", "request_id"}
    assert answer.body["request_id"] == request_id
    assert "Traceback" not in answer.body["error"]
    assert "Traceback" not in answer.stdout
    assert "Traceback" not in answer.stderr
    assert "Logging error" not in answer.stderr
    records = [blob for blob in emf_blobs(answer.stdout) if "correlation_id" in blob]
    assert [(r["status"], r["correlation_id"], "error" in r) for r in records] == [
        (status, request_id, True)
    ]


REQUEST_ID = load_event("infer_iris")["requestContext"]["requestId"]

HOSTILE_BODIES: dict[str, Any] = {
    # Deeply nested `data`: past numpy's 64 dimensions, and past the parser's recursion.
    "data nested 3 deep": iris(data=nested(3)),
    "data nested 63 deep": iris(data=nested(63)),
    "data nested 65 deep": iris(data=nested(65)),
    "data nested 900 deep": iris(data=nested(900)),
    "data nested 200,000 deep": iris_text("[" * 200_000 + "]" * 200_000),
    "parameters nested 100,000 deep": '{"parameters": ' + '{"a":' * 100_000 + "1" + "}" * 100_001,
    "ragged inside": iris(shape=[2, 4], data=[IRIS_ROW, [IRIS_ROW]]),
    # Not finite, or not an FP32.
    "NaN": iris_text("[5.1, NaN, 1.4, 0.2]"),
    "Infinity": iris_text("[Infinity, 3.5, 1.4, 0.2]"),
    "-Infinity": iris_text("[5.1, 3.5, -Infinity, 0.2]"),
    "1e400 (parses as inf)": iris_text("[5.1, 3.5, 1.4, 1e400]"),
    "-1e400": iris_text("[-1e400, 3.5, 1.4, 0.2]"),
    "just over FP32 max": iris(data=[5.1, 3.5, 1.4, 3.5e38]),
    "2**64": iris(data=[2**64, 3.5, 1.4, 0.2]),
    "10**400": iris(data=[10**400, 3.5, 1.4, 0.2]),
    "a 5,000-digit integer": iris_text("[" + "9" * 5000 + ", 3.5, 1.4, 0.2]"),
    # Strings (and other things) where numbers belong.
    "string in data": iris(data=[5.1, "3.5", 1.4, 0.2]),
    "'NaN' as a string": iris(data=["NaN", 3.5, 1.4, 0.2]),
    "strings nested in data": iris(data=[["5.1", "3.5", "1.4", "0.2"]]),
    "objects in data": iris(data=[{"v": 5.1}, 3.5, 1.4, 0.2]),
    "null in data": iris(data=[None, 3.5, 1.4, 0.2]),
    "booleans in data": iris(data=[True, False, True, False]),
    "string shape": iris(shape=["1", "4"]),
    "float shape": iris(shape=[1.0, 4]),
    "boolean shape": iris(shape=[True, 4]),
    "shape of 10**30 columns": iris(shape=[1, 10**30]),
    "string datatype of 100,000 chars": iris(datatype="F" * 100_000),
    # Names: duplicated, invented, huge, or not valid Unicode.
    "duplicate input name": {"inputs": [iris()["inputs"][0]] * 2},
    "duplicate JSON key": '{"inputs": [], "inputs": ' + json.dumps(iris()["inputs"]) + "}",
    "duplicate key inside an input": iris_text('[5.1, 3.5, 1.4, 0.2], "data": [1, 1, 1, 1]'),
    "input name of 100,000 chars": iris(name="x" * 100_000),
    "input name with a lone surrogate": iris_text("[5.1, 3.5, 1.4, 0.2]").replace(
        '"input"', '"\\ud800input"'
    ),
    "datatype with a lone surrogate": iris_text("[5.1, 3.5, 1.4, 0.2]").replace(
        '"FP32"', '"\\udfff"'
    ),
    "input name with NUL": iris(name="in\x00put"),
    "output name with a lone surrogate": '{"outputs": [{"name": "\\ud800"}], "inputs": '
    + json.dumps(iris()["inputs"])
    + "}",
    # Not an inference request at all.
    "JSON null": "null",
    "JSON string": '"inputs"',
    "form-encoded": "inputs=input&shape=1,4&data=5.1,3.5,1.4,0.2",
    "XML": "<inputs><input name='input'/></inputs>",
    "truncated JSON": json.dumps(iris())[:-3],
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_bodies_get_400(call: Call, body: Any) -> None:
    answer = call(with_body(load_event("infer_iris"), body))

    assert_refused(answer, 400, REQUEST_ID)


def padded(document: dict[str, Any], size: int) -> str:
    """``document`` as JSON, padded with trailing spaces to exactly ``size`` bytes."""
    text = json.dumps(document)
    return text + " " * (size - len(text.encode()))


def test_body_at_the_byte_limit_is_served(call: Call) -> None:
    body = padded(iris(), LIMITS.max_body_bytes)
    assert len(body.encode()) == LIMITS.max_body_bytes

    assert call(with_body(load_event("infer_iris"), body)).status == 200
    assert call(base64_event(body.encode())).status == 200


@pytest.mark.parametrize("base64_encoded", [False, True], ids=["text", "base64"])
def test_body_one_byte_over_the_limit_gets_413(call: Call, base64_encoded: bool) -> None:
    body = padded(iris(), LIMITS.max_body_bytes + 1)
    event = (
        base64_event(body.encode()) if base64_encoded else with_body(load_event("infer_iris"), body)
    )

    answer = call(event)

    assert_refused(answer, 413, REQUEST_ID)
    assert str(LIMITS.max_body_bytes) in answer.body["error"]


def test_body_under_the_limit_in_characters_but_over_in_bytes_gets_413(call: Call) -> None:
    # 3 UTF-8 bytes per character: a third of the limit in characters is over it in bytes.
    document = {**iris(), "id": "€" * (LIMITS.max_body_bytes // 3)}
    body = json.dumps(document, ensure_ascii=False)
    assert len(body) < LIMITS.max_body_bytes < len(body.encode())

    assert_refused(call(with_body(load_event("infer_iris"), body)), 413, REQUEST_ID)


def test_batch_at_the_row_limit_is_served(call: Call) -> None:
    rows = LIMITS.max_batch_rows
    body = {"inputs": [{"name": "input", "shape": [rows, 64], "datatype": "FP32",
                        "data": [DIGITS_ROW] * rows}]}  # fmt: skip
    event = with_body(load_event("infer_digits_versioned"), body)

    answer = call(event)

    assert answer.status == 200
    assert answer.body["outputs"][0]["shape"] == [rows]


@pytest.mark.parametrize(
    ("rows", "data_rows"),
    [
        (LIMITS.max_batch_rows + 1, LIMITS.max_batch_rows + 1),
        # Declared rows are refused before the data is read: no need to send them.
        (10**12, 1),
        (10**30, 1),
    ],
)
def test_batch_over_the_row_limit_gets_413(call: Call, rows: int, data_rows: int) -> None:
    body = iris(shape=[rows, 4], data=IRIS_ROW * data_rows)

    answer = call(with_body(load_event("infer_iris"), body))

    assert_refused(answer, 413, REQUEST_ID)
    assert str(LIMITS.max_batch_rows) in answer.body["error"]


def with_raw_id(raw_id: bytes) -> bytes:
    return json.dumps({**iris(), "id": "a"}).encode().replace(b'"a"', b'"' + raw_id + b'"')


INVALID_UTF8: dict[str, bytes] = {
    "0xff in a name": json.dumps(iris()).encode().replace(b"input", b"inp\xffut"),
    "truncated 3-byte sequence": json.dumps(iris()).encode()[:-2] + b"\xe2\x82]}",
    "overlong '/'": with_raw_id(b"\xc0\xaf"),
    "encoded surrogate": with_raw_id(b"\xed\xa0\x80"),
    "Latin-1 text": with_raw_id("café".encode("latin-1")),
}


@pytest.mark.parametrize("raw", INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
def test_invalid_utf8_gets_400(call: Call, raw: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")

    answer = call(base64_event(raw))

    assert_refused(answer, 400, REQUEST_ID)


NOT_BASE64: dict[str, str] = {
    "punctuation": "not*base64!",
    "missing padding": base64.b64encode(json.dumps(iris()).encode()).decode().rstrip("="),
    "padding only": "====",
    "line breaks": base64.encodebytes(json.dumps(iris()).encode()).decode(),
    "URL-safe alphabet": base64.urlsafe_b64encode(
        b"\xfb\xff" + json.dumps(iris()).encode()
    ).decode(),
    "a data URL": "data:application/json;base64," + base64.b64encode(b"{}").decode(),
    "JSON sent as is": json.dumps(iris()),
}


@pytest.mark.parametrize("body", NOT_BASE64.values(), ids=NOT_BASE64.keys())
def test_base64_flagged_body_that_is_not_base64_gets_400(call: Call, body: str) -> None:
    event = {**load_event("infer_digits_base64"), "body": body}
    assert event["isBase64Encoded"] is True

    answer = call(event)

    assert_refused(answer, 400, event["requestContext"]["requestId"])
    assert "base64" in answer.body["error"]


def test_base64_of_something_that_is_not_json_gets_400(call: Call) -> None:
    answer = call(base64_event(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))

    assert_refused(answer, 400, REQUEST_ID)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"],
)
def test_wrong_content_type_with_a_body_that_is_not_json_gets_400(
    call: Call, content_type: str
) -> None:
    event = with_body(load_event("infer_iris"), "inputs=input&data=5.1,3.5,1.4,0.2")
    event["headers"] = {**event["headers"], "Content-Type": content_type}
    event["multiValueHeaders"] = {**event["multiValueHeaders"], "Content-Type": [content_type]}

    assert_refused(call(event), 400, REQUEST_ID)


def test_wrong_content_type_with_a_valid_json_body_is_read_as_json(call: Call) -> None:
    # The body is judged by what it is: API Gateway passes any Content-Type through, and
    # the same body answers the same whatever the label (no second parser to confuse).
    event = load_event("infer_iris")
    relabelled = {
        **event,
        "headers": {**event["headers"], "Content-Type": "text/plain"},
        "multiValueHeaders": {**event["multiValueHeaders"], "Content-Type": ["text/plain"]},
    }

    assert call(relabelled).body == call(event).body


def with_query(event: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
    return {
        **event,
        "queryStringParameters": {name: values[-1] for name, values in query.items()},
        "multiValueQueryStringParameters": query,
    }


HOSTILE_QUERY = {
    "debug": ["true"],
    "model_name": ["digits"],
    "__proto__": ["x"],
    "x" * 2000: ["y" * 8000],
    "inputs": ['[{"name": "input"}]', "again"],
}


def test_unknown_query_parameters_change_nothing(call: Call) -> None:
    event = load_event("infer_iris")

    plain, queried = call(event), call(with_query(event, HOSTILE_QUERY))

    assert queried.status == 200
    assert queried.body == plain.body
    assert "x" * 2000 not in queried.stdout


def test_unknown_query_parameters_do_not_rescue_a_bad_body(call: Call) -> None:
    event = with_query(with_body(load_event("infer_iris"), iris(data="5.1")), HOSTILE_QUERY)

    assert_refused(call(event), 400, REQUEST_ID)


def test_very_long_model_name_in_the_path_gets_404_and_is_not_echoed_whole(call: Call) -> None:
    name = "m" * 100_000
    event = with_body(load_event("infer_iris"), iris())
    event = {
        **event,
        "path": f"/v2/models/{name}/infer",
        "pathParameters": {"model_name": name},
    }

    answer = call(event)

    assert_refused(answer, 404, REQUEST_ID)
    assert len(answer.body["error"]) < 200
    assert name not in answer.stdout


def test_very_long_path_on_no_route_gets_404(call: Call) -> None:
    event = {**load_event("model_metadata"), "path": "/v2/" + "a/" * 50_000, "resource": "/{x+}"}

    answer = call(event)

    assert answer.status == 404
    assert set(answer.body) == {"error", "request_id"}
    assert len(answer.body["error"]) < 300
    assert "Traceback" not in answer.stderr


def test_very_long_model_version_in_the_path_is_not_logged_whole(call: Call) -> None:
    version = "7" * 20_000
    event = with_body(load_event("infer_iris"), iris())
    event = {
        **event,
        "path": f"/v2/models/iris/versions/{version}/infer",
        "resource": "/v2/models/{model_name}/versions/{model_version}/infer",
        "pathParameters": {"model_name": "iris", "model_version": version},
    }

    answer = call(event)

    assert_refused(answer, 404, REQUEST_ID)
    assert version not in answer.stdout
    assert "7" * 100 not in answer.stdout


def test_very_long_and_many_header_values_change_nothing(call: Call) -> None:
    event = load_event("infer_iris")
    junk = {f"X-Junk-{i}": "v" * 1000 for i in range(200)}
    junk["User-Agent"] = "u" * 100_000
    junk["X-Amzn-Trace-Id"] = "Root=" + "1" * 10_000
    hostile = {
        **event,
        "headers": {**event["headers"], **junk},
        "multiValueHeaders": {
            **event["multiValueHeaders"],
            **{name: [value] for name, value in junk.items()},
        },
    }

    plain, answered = call(event), call(hostile)

    assert answered.status == 200
    assert answered.body == plain.body
    assert "u" * 1000 not in answered.stdout


def test_the_function_still_serves_after_every_hostile_input(call: Call) -> None:
    for body in HOSTILE_BODIES.values():
        assert 400 <= call(with_body(load_event("infer_iris"), body)).status < 500

    answer = call(load_event("infer_iris"))

    assert answer.status == 200
    assert answer.body["outputs"][0]["data"] == [0, 1, 2]
