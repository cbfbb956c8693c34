"""The local dashboard in a real headless browser (Debian's chromium), after real traffic:
every widget of the template's dashboard is drawn, in its order, with data; the alarms panel
lists every alarm of the template; the range selector works; the page logs no error.

Runs where a Chromium is found (or CHROMIUM names one); REQUIRE_BROWSER=1 makes a missing
browser a failure instead of a skip, as CI does (.ci/run installs Debian's chromium).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from dev_support.paths import LOCAL_MODELS_DIR, STATE_DIR
from emulator.sagemaker import Fault
from emulator.stack import THROTTLING_LIFTED
from tests.e2e.conftest import Running, start_emulator

CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
# Root in a container needs --no-sandbox; the rest keep Chromium off the (closed) network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = STATE_DIR / "dashboard.png"
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "What does an API gateway do?"}]}
DRIFT_WINDOW_S = 2.0
IRIS = {
    "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]
}


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    message = "no Chromium found (apt-get install chromium, or CHROMIUM=<path>)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {message}")
    pytest.skip(f"{message}: the dashboard page was not tested in a browser")


@pytest.fixture(scope="module")
def after_traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """An emulator after a few hundred requests of every kind, each access-log line processed."""
    # One environment: the opening burst is throttled, which gives the 5xx widgets data.
    # Short drift windows, a value from any rows: the drift widgets' data.
    running = start_emulator(
        tmp_path_factory.mktemp("state"),
        {**THROTTLING_LIFTED, "ModelsS3Uri": LOCAL_MODELS_DIR.as_uri(), "DriftMinRows": "1"},
        max_concurrency=1,
        drift_window_s=DRIFT_WINDOW_S,
    )
    # One canary run (3 models, 3 more access-log lines): the canary widget's data.
    running.emulator.functions["CanaryFunction"].invoke({})
    client = running.client
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: client.request("POST", "/v2/models/iris/infer", IRIS), range(4)))
    for index in range(300):
        kind = index % 6
        if kind in (0, 1, 2):
            client.request("POST", "/v2/models/iris/infer", IRIS)
        elif kind == 3:
            client.request("POST", "/v2/models/iris/infer", {"inputs": []})  # 400, the gateway's
        elif kind == 4:
            client.request("POST", "/v2/models/iris/infer", IRIS, key="wrong")  # 403
        else:
            client.request("GET", "/v2/models/nope")  # 404, the function's
    # The model behind the local SageMaker endpoint, throttled: the backend widget's data.
    running.emulator.sagemaker.inject("local-iris", Fault.THROTTLE)
    for _ in range(3):
        client.request("POST", "/v2/models/iris-sagemaker/infer", IRIS)
    running.emulator.sagemaker.inject("local-iris", None)
    # Chat completions through the Bedrock stand-in: the chat row's data.
    for _ in range(3):
        client.request("POST", "/v1/chat/completions", CHAT)
    deadline = time.monotonic() + 30
    while running.emulator.shipper.delivered < 310:
        assert time.monotonic() < deadline, "the access log was not processed within 30 s"
        time.sleep(0.1)
    while not any(line["function"] == "DriftFunction" for line in running.metrics()):
        assert time.monotonic() < deadline, "no drift window was computed within 30 s"
        time.sleep(0.1)
    yield running
    running.stop()


def widgets(page: Page) -> list[dict[str, Any]]:
    drawn: list[dict[str, Any]] = page.eval_on_selector_all(
        "#grid .widget",
        "boxes => boxes.map(b => ({type: b.dataset.type, title: b.dataset.title,"
        " points: Number(b.dataset.points || 0)}))",
    )
    return drawn


def test_the_page_draws_every_widget_with_data_and_every_alarm(
    chromium: str, after_traffic: Running
) -> None:
    pages = after_traffic.emulator.pages
    expected = [
        (widget["type"], widget["properties"].get("title", "")) for widget in pages.body["widgets"]
    ]
    alarm_ids = {a.logical_id for a in pages.alarms[0]} | {c.logical_id for c in pages.alarms[1]}
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.goto(after_traffic.emulator.dashboard_url)
        page.wait_for_selector("#alarms tr")
        drawn = widgets(page)
        panel = set(
            page.eval_on_selector_all("#alarms tr", "rows => rows.map(r => r.dataset.alarm)")
        )
        states = set(
            page.eval_on_selector_all("#alarms .state", "cells => cells.map(c => c.textContent)")
        )
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # The range selector asks for the whole run and draws it.
        with page.expect_response(lambda response: "minutes=all" in response.url) as answer:
            page.click("button[data-minutes='all']")
        assert answer.value.ok
        page.wait_for_function(
            "document.querySelector(\"button[data-minutes='all']\")"
            ".getAttribute('aria-pressed') === 'true'"
        )
        whole_run = widgets(page)
        browser.close()

    assert [(w["type"], w["title"]) for w in drawn] == expected
    empty = [w["title"] for w in drawn if w["type"] != "text" and w["points"] == 0]
    assert empty == []
    assert panel == alarm_ids
    assert states <= {"OK", "ALARM", "INSUFFICIENT_DATA", "not evaluated"}
    assert [w["title"] for w in whole_run] == [title for _, title in expected]
    assert all(w["points"] > 0 for w in whole_run if w["type"] != "text")
    assert problems == []
    assert SCREENSHOT.stat().st_size > 10_000
