"""Nothing lost under concurrency: every request is logged once and counted once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from emulator.stack import THROTTLING_LIFTED
from tests.e2e.conftest import start_emulator

REQUESTS = 2000
# Each thread may need an environment of its own, and their inits run at once: eight keep
# them within Lambda's 10 s init limit on a loaded 2-core machine.
THREADS = 8
GOOD = {
    "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]
}


def test_2000_requests_from_8_threads_are_all_logged_and_counted(tmp_path: Path) -> None:
    # Throttling lifted and an environment per thread, so that the run measures the
    # emulator, not the usage plan or the function's concurrency.
    running = start_emulator(tmp_path, THROTTLING_LIFTED, max_concurrency=THREADS)
    client = running.client

    def send(index: int) -> int:
        kind = index % 3
        if kind == 0:
            return client.request("POST", "/v2/models/iris/infer", GOOD).status
        if kind == 1:
            return client.request("POST", "/v2/models/iris/infer", {"inputs": "x"}).status
        return client.request("POST", "/v2/models/iris/infer", GOOD, key="wrong").status

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(send, range(REQUESTS)))
    elapsed = time.perf_counter() - started
    running.stop()

    cold = {name: worker.cold_starts for name, worker in running.emulator.functions.items()}
    print(f"{REQUESTS / elapsed:.0f} requests/s over {elapsed:.1f} s from {THREADS} threads")
    print(f"worker cold starts (ms): {cold}")
    assert sorted(set(statuses)) == [200, 400, 403]
    assert statuses.count(200) == len(range(0, REQUESTS, 3))
    assert len(running.access_log()) == REQUESTS
    requests = sum(
        line["document"]["Requests"] for line in running.metrics() if "Requests" in line["document"]
    )
    assert requests == REQUESTS
    log_lines = sum(
        line["document"]["LogLines"] for line in running.metrics() if "LogLines" in line["document"]
    )
    assert log_lines == REQUESTS
    assert not (tmp_path / "dlq").exists()
