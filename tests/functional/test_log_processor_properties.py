"""Whatever a batch holds, the processor never fails on data and accounts for every line."""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dev_support.lambda_events import FakeLambdaContext, subscription_event
from emulator.logs import render_access_log
from log_processor.handler import lambda_handler
from tests.emf import emf_errors
from tests.support import emf_blobs

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# The handler reads its own clock: request times around it, well inside and outside
# CloudWatch's window (14 days back, 2 hours ahead).
NOW_MS = int(time.time() * 1000)
statuses = st.one_of(st.integers(-5, 700).map(str), st.sampled_from(["-", "", "2OO", "1e3"]))
# Numbers API Gateway writes, and values it cannot have written.
numbers = st.one_of(
    st.floats(allow_nan=True),
    st.integers(-10, 10**7),
    st.sampled_from(["-", "-12", "NaN", "Infinity", "1e400", "-0", "abc", "[1]"]),
)
epochs = st.one_of(
    st.integers(-20 * DAY_MS, 5 * HOUR_MS).map(lambda offset: NOW_MS + offset),
    st.integers(0, 2**45),
    st.just("-"),
    st.text(max_size=5),
)
valid_lines = st.builds(
    lambda request_id, status, latency, fn_latency, length, fn_status, epoch, agent: (
        render_access_log(
            {
                "$context.requestId": request_id,
                "$context.status": status,
                "$context.responseLatency": latency,
                "$context.integrationLatency": fn_latency,
                "$context.responseLength": length,
                "$context.integrationStatus": fn_status,
                "$context.requestTimeEpoch": epoch,
                "$context.identity.userAgent": agent,
                "$context.httpMethod": "POST",
                "$context.resourcePath": "/v2/models/{model_name}/infer",
                "$context.path": "/prod/v2/models/iris/infer",
            }
        )
    ),
    st.text(min_size=1, max_size=12).filter(lambda text: text not in ("-",)),
    statuses,
    numbers,
    numbers,
    numbers,
    statuses,
    epochs,
    st.text(max_size=30),
)
messages = st.one_of(
    valid_lines,
    json_values.map(json.dumps),
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")),
)
batches = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), messages), max_size=30
)


# Derandomized: the same 300 examples every run, so CI never fails by chance.
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(batch=batches)
def test_any_batch_is_processed_and_every_line_accounted_for(batch: list[tuple[str, str]]) -> None:
    stdout = io.StringIO()
    before = int(time.time() * 1000)

    with contextlib.redirect_stdout(stdout):
        result = lambda_handler(subscription_event(batch), FakeLambdaContext())

    after = int(time.time() * 1000)
    documents = emf_blobs(stdout.getvalue())
    assert result["lines"] == len(batch)
    assert result["lines"] == result["valid"] + result["malformed"] + result["duplicates"]

    def total(metric: str) -> float:
        return float(sum(d[metric] for d in documents if metric in d))

    assert total("LogLines") == result["lines"]
    assert total("MalformedLogLines") == result["malformed"]
    assert total("MalformedLogFields") == result["malformed_fields"]
    assert total("DuplicateLogEvents") == result["duplicates"]
    requests: Any = total("Requests")
    assert requests == total("StageRequests") == result["valid"]
    for document in documents:
        assert emf_errors(document) == []
        # Nothing CloudWatch would refuse, so no document is lost.
        assert before - 14 * DAY_MS <= document["_aws"]["Timestamp"] <= after + 2 * HOUR_MS
        for figure in ("Latency", "IntegrationLatency", "GatewayOverhead", "ResponseBytes"):
            if figure in document:
                assert document[figure]["Min"] >= 0
                assert math.isfinite(document[figure]["Sum"])
        assert ("SlowRequests" in document) == ("StageRequests" in document)
