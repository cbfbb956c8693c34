"""Monitoring cost and throughput, from the emulator running the built functions.

A run of mixed requests (good and bad, every kind of answer) measures the bytes each
request adds to CloudWatch Logs: its access-log line and every line of each function's
log stream, EMF included, with Lambda's own lines at the template's system log level.
Then 8 clients send requests for a fixed time: requests per second, nothing lost.
"""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dev_support.paths import HOST_BUILD_DIR
from emulator.stack import THROTTLING_LIFTED, Emulator

# CloudWatch Logs ingestion (standard class) and custom metrics, us-east-1 list prices.
USD_PER_GB_INGESTED = 0.50
USD_PER_SERIES_MONTH = 0.30
# API Gateway REST API requests, first 333 million a month.
API_USD_PER_MILLION = 3.50
GB = 1e9
# What a typical SDK client sends (browsers send over 100 bytes); it lands in the access log.
USER_AGENT = "python-requests/2.32.3"
# Traffic before a throughput measurement, so that every environment it needs is warm.
WARM_UP_S = 3.0

Request = tuple[str, str, bytes | None, bool]


def _infer(model: str, rows: int, width: int) -> bytes:
    data = [round(0.1 * (i % 17), 1) for i in range(rows * width)]
    tensor = {"name": "input", "shape": [rows, width], "datatype": "FP32", "data": data}
    return json.dumps({"inputs": [tensor]}).encode()


# What a day of traffic looks like, by weight: mostly successful inferences, some
# metadata and health checks, and each kind of failure a client can cause.
MIX: list[tuple[int, Request]] = [
    (40, ("POST", "/v2/models/iris/infer", _infer("iris", 1, 4), True)),
    (15, ("POST", "/v2/models/digits/infer", _infer("digits", 1, 64), True)),
    (10, ("POST", "/v2/models/digits/versions/1/infer", _infer("digits", 8, 64), True)),
    (5, ("GET", "/v2/models/iris", None, True)),
    (5, ("GET", "/v2/models/digits/ready", None, True)),
    (8, ("GET", "/v2/health/ready", None, False)),
    (5, ("POST", "/v2/models/iris/infer", b'{"inputs": "none"}', True)),
    (4, ("POST", "/v2/models/iris/infer", _infer("iris", 1, 5), True)),
    (3, ("POST", "/v2/models/resnet/infer", _infer("iris", 1, 4), True)),
    (3, ("POST", "/v2/models/iris/infer", _infer("iris", 1, 4), False)),
    (2, ("GET", "/v2/nowhere", None, True)),
]
SCHEDULE: list[Request] = [request for weight, request in MIX for _ in range(weight)]


def _chat(messages: list[dict[str, str]], **fields: Any) -> bytes:
    return json.dumps({"model": "chat", "messages": messages, **fields}).encode()


QUESTION = [
    {"role": "system", "content": "You answer in one sentence."},
    {"role": "user", "content": "What does an API gateway do, in a few words?"},
]
# A day of an LLM endpoint's traffic, by weight: completions (the emulator's Bedrock stand-in
# answers them), the models list OpenAI clients ask for, and the refusals clients cause.
CHAT_MIX: list[tuple[int, Request]] = [
    (80, ("POST", "/v1/chat/completions", _chat(QUESTION, max_tokens=200), True)),
    (
        8,
        (
            "POST",
            "/v1/chat/completions",
            _chat(
                [
                    *QUESTION,
                    {"role": "assistant", "content": "It routes and guards API requests."},
                    {"role": "user", "content": "And a usage plan?"},
                ],
                temperature=0.2,
            ),
            True,
        ),
    ),
    (5, ("GET", "/v1/models", None, True)),
    (4, ("POST", "/v1/chat/completions", _chat(QUESTION, stream=True), True)),
    (
        3,
        (
            "POST",
            "/v1/chat/completions",
            json.dumps({"model": "gpt-x", "messages": QUESTION}).encode(),
            True,
        ),
    ),
]
CHAT_SCHEDULE: list[Request] = [request for weight, request in CHAT_MIX for _ in range(weight)]


class Client:
    """One keep-alive connection, as a load generator or SDK would hold."""

    def __init__(self, emulator: Emulator) -> None:
        self.connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=60)
        self.prefix = f"/{emulator.app.stage}"
        self.key = emulator.api_key

    def send(self, request: Request) -> int:
        method, path, body, keyed = request
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if keyed and self.key:
            headers["x-api-key"] = self.key
        self.connection.request(method, self.prefix + path, body=body, headers=headers)
        response = self.connection.getresponse()
        response.read()
        return response.status


def _documents(metrics_path: Path) -> list[dict[str, Any]]:
    """The functions' EMF documents of a run (not the services' metrics, which cost nothing,
    nor the session markers)."""
    records = [json.loads(raw) for raw in metrics_path.read_text().splitlines()]
    return [record["document"] for record in records if "function" in record]


def _custom_series(metrics_path: Path) -> int:
    series = set()
    for document in _documents(metrics_path):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                values = tuple((name, document[name]) for name in dimensions)
                for metric in directive["Metrics"]:
                    series.add((directive["Namespace"], metric["Name"], values))
    return len(series)


def _sum_metric(metrics_path: Path, name: str) -> float:
    total = 0.0
    for document in _documents(metrics_path):
        value = document.get(name)
        if isinstance(value, dict):
            total += value["Sum"]
        elif isinstance(value, list):
            total += sum(value)
        elif isinstance(value, int | float):
            total += value
    return total


class Run:
    """One emulator with its own state directory; on exit, every request is accounted for."""

    def __init__(self, scratch: Path, clients: int) -> None:
        # Throttling lifted and an environment per client: the run measures the monitoring,
        # not the usage plan or the function's concurrency.
        self.state = scratch
        self.emulator = Emulator(
            scratch,
            HOST_BUILD_DIR,
            port=0,
            parameters=THROTTLING_LIFTED,
            max_concurrency=clients,
        ).start()
        self.sent = 0

    def clients(self, count: int, work: Callable[[Client, int], int]) -> None:
        with ThreadPoolExecutor(count) as pool:
            self.sent += sum(pool.map(lambda i: work(Client(self.emulator), i), range(count)))

    def stop(self) -> Path:
        """Stop (every pending line is processed), check nothing was lost; the metrics file."""
        self.emulator.stop()
        metrics = self.state / "metrics.jsonl"
        logged = len((self.state / "logs" / "access.log").read_text().splitlines())
        counted = _sum_metric(metrics, "LogLines")
        dead = list((self.state / "dlq").glob("*")) if (self.state / "dlq").exists() else []
        if not logged == counted == self.sent or dead:
            raise RuntimeError(
                f"requests lost: sent {self.sent}, logged {logged}, counted {counted:.0f},"
                f" dead-lettered batches {len(dead)}"
            )
        return metrics

    def stream_bytes(self) -> dict[str, int]:
        """Bytes in each log stream: the access log's lines and each function's."""
        lines = (self.state / "logs" / "access.log").read_bytes().splitlines()
        streams = {"access_log": sum(len(line) for line in lines)}
        for name in self.emulator.functions:
            streams[_snake(name)] = self.emulator.sink.bytes_written.get(name, 0)
        return streams


def cost(
    requests: int, clients: int, schedule: list[Request] = SCHEDULE, prefix: str = ""
) -> dict[str, float]:
    """Log bytes per request over a mixed run (each environment's cold start included);
    ``prefix`` names the figures of another mix (``chat_``)."""
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as scratch:
        run = Run(Path(scratch), clients)

        def mixed(client: Client, index: int) -> int:
            return len(
                [client.send(schedule[n % len(schedule)]) for n in range(index, requests, clients)]
            )

        try:
            run.clients(clients, mixed)
        finally:
            metrics = run.stop()
        series = _custom_series(metrics)
        per_request = {name: size / run.sent for name, size in run.stream_bytes().items()}
    total = sum(per_request.values())
    usd_per_million = total * 1e6 / GB * USD_PER_GB_INGESTED
    results: dict[str, float] = {
        f"{name}_bytes_per_request": round(value, 1) for name, value in sorted(per_request.items())
    }
    results.update(
        {
            "log_bytes_per_request": round(total, 1),
            "monitoring_usd_per_million": round(usd_per_million, 4),
            "monitoring_share_of_api_bill": round(usd_per_million / API_USD_PER_MILLION, 4),
            "custom_metric_series": series,
            "custom_metrics_usd_per_month": round(series * USD_PER_SERIES_MONTH, 2),
            "cost_run_requests": run.sent,
        }
    )
    return {f"{prefix}{name}": value for name, value in results.items()}


def chat_cost(requests: int, clients: int) -> dict[str, float]:
    """The same figures for the chat mix (``chat_log_bytes_per_request``, ...)."""
    return cost(requests, clients, CHAT_SCHEDULE, prefix="chat_")


def throughput(seconds: float, clients: int) -> dict[str, float]:
    """Requests per second from ``clients`` keep-alive clients, once the functions have as
    many warm environments as the traffic asks for."""
    with tempfile.TemporaryDirectory(prefix="bench-rps-") as scratch:
        run = Run(Path(scratch), clients)
        try:
            finished: list[float] = []
            lock = threading.Lock()

            def steady(for_seconds: float) -> int:
                stop_at = time.perf_counter() + for_seconds

                def client_loop(client: Client, _: int) -> int:
                    sent = 0
                    while time.perf_counter() < stop_at:
                        client.send(SCHEDULE[0])
                        sent += 1
                    with lock:
                        finished.append(time.perf_counter())
                    return sent

                before = run.sent
                run.clients(clients, client_loop)
                return run.sent - before

            steady(WARM_UP_S)  # the cold starts, outside the measurement
            finished.clear()
            started = time.perf_counter()
            steady_sent = steady(seconds)
            elapsed = max(finished) - started
        finally:
            run.stop()
    return {"emulator_rps": round(steady_sent / elapsed, 1), "emulator_rps_requests": steady_sent}


def run(
    requests: int = 10_000, seconds: float = 10.0, clients: int = 8, chat_requests: int = 2_000
) -> dict[str, float]:
    if not HOST_BUILD_DIR.is_dir():
        raise SystemExit("the host build is missing: run `make build-host` first")
    return {
        **cost(requests, clients),
        **chat_cost(chat_requests, clients),
        **throughput(seconds, clients),
    }


def _snake(logical_id: str) -> str:
    name = logical_id.removesuffix("Function")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
