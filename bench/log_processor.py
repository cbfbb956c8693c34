"""The log processor on a 10,000-line batch against its floor, measured side by side.

Floor: what any processor must do (base64, gunzip, ``json.loads`` of the envelope and
of every line). Measured: the handler's path (Powertools decoding, parsing,
classification, aggregation, EMF serialisation). Runs alternate, medians are compared.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import time
from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from bench.timing import medians
from dev_support.lambda_events import subscription_event
from emulator.logs import render_access_log
from emulator.template import function_environment
from log_processor.aggregate import MINUTE_MS, minute_of
from log_processor.batch import process_batch
from log_processor.settings import load_settings

LINES = 10_000
ROUTES = [
    ("POST", "/v2/models/{model_name}/infer", "/prod/v2/models/{}/infer"),
    (
        "POST",
        "/v2/models/{model_name}/versions/{model_version}/infer",
        "/prod/v2/models/{}/versions/1/infer",
    ),
    ("GET", "/v2/models/{model_name}", "/prod/v2/models/{}"),
    ("GET", "/v2/health/ready", "/prod/v2/health/ready"),
]


def batch_lines(count: int, seed: int = 7) -> list[str]:
    """Realistic access-log lines: routes, models, statuses and latencies of a busy minute."""
    rng = random.Random(seed)  # noqa: S311 -- test data, not secrets
    # Ten minutes ago, on a minute boundary: the processor refuses request minutes
    # CloudWatch would (more than 14 days before its clock).
    start = minute_of(int(time.time() * 1000)) - 10 * MINUTE_MS
    lines = []
    for index in range(count):
        method, resource, path = rng.choice(ROUTES)
        status, error = rng.choices(
            [("200", "-"), ("400", "-"), ("429", "THROTTLED"), ("400", "BAD_REQUEST_BODY")],
            weights=[90, 4, 4, 2],
        )[0]
        latency = rng.randint(8, 120)
        lines.append(
            render_access_log(
                {
                    "$context.requestId": f"{rng.getrandbits(128):032x}",
                    "$context.requestTimeEpoch": start + index * 12,
                    "$context.httpMethod": method,
                    "$context.resourcePath": resource,
                    "$context.path": path.format(rng.choice(["iris", "digits"])),
                    "$context.status": status,
                    "$context.responseLength": rng.randint(40, 900),
                    "$context.responseLatency": latency,
                    "$context.integrationLatency": latency - rng.randint(1, 6),
                    "$context.integrationStatus": "200",
                    "$context.error.responseType": error,
                    "$context.identity.sourceIp": "198.51.100.7",
                    "$context.identity.userAgent": "python-requests/2.32.3",
                    "$context.identity.apiKeyId": "a1b2c3d4e5",
                    "$context.xrayTraceId": f"1-67891233-{rng.getrandbits(96):024x}",
                }
            )
        )
    return lines


def floor(event: dict[str, Any]) -> int:
    payload = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    return sum(len(json.loads(e["message"])) for e in payload["logEvents"])


def measured(event: dict[str, Any]) -> str:
    settings = SETTINGS
    payload = CloudWatchLogsEvent(event).parse_logs_data()
    result = process_batch(payload.raw_event["logEvents"], settings, int(time.time() * 1000))
    return "\n".join(json.dumps(doc, separators=(",", ":")) for doc in result.documents)


SETTINGS = load_settings(function_environment("LogProcessorFunction"))


def run(rounds: int = 9, line_count: int = LINES) -> dict[str, float]:
    lines = batch_lines(line_count)
    event = subscription_event(lines)
    floor_s, measured_s = medians([lambda: floor(event), lambda: measured(event)], rounds)
    emf = measured(event)
    return {
        "log_processor_ms": round(measured_s * 1000, 2),
        "log_processor_floor_ms": round(floor_s * 1000, 2),
        "log_processor_ratio": round(measured_s / floor_s, 3),
        # Per 10,000 lines whatever the batch size (the smoke test runs a small one).
        "emf_bytes_per_10k_lines": round(len(emf.encode()) * LINES / line_count),
        "input_bytes_per_10k_lines": round(
            sum(len(line.encode()) for line in lines) * LINES / line_count
        ),
    }
