"""Pages the emulator serves beside the stage, outside the API and its access log: the API
document and the template's dashboard drawn from this run's data."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from .alarms import CompositeAlarm, MetricAlarm, load_alarms
from .dashboard import dashboard_body, page_data
from .metric_data import load_store
from .template import Resolver

PAGE_DIR = Path(__file__).with_name("page")
DASHBOARD = "/_dashboard"
STATIC = {
    f"{DASHBOARD}/": ("dashboard.html", "text/html; charset=utf-8"),
    f"{DASHBOARD}/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
}
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Page:
    status: int
    content_type: str
    body: bytes
    location: str | None = None


class LocalPages:
    def __init__(
        self,
        state_dir: Path,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        api_document: Mapping[str, Any],
    ) -> None:
        self.metrics_path = state_dir / "metrics.jsonl"
        self.access_log = state_dir / "logs" / "access.log"
        names = {logical_id: logical_id for logical_id in template["Resources"]}
        self.body = dashboard_body(Resolver(dict(template), dict(parameters), names))
        self.alarms: tuple[list[MetricAlarm], list[CompositeAlarm]] = load_alarms(
            parameters, template
        )
        self.document = json.dumps(api_document).encode()

    def answer(self, method: str, path: str, query: str) -> Page | None:
        """The page at ``path``, or None when it is not one of these (the API's, then)."""
        if method not in ("GET", "HEAD"):
            return None
        if path == "/openapi.json":
            return Page(200, JSON_TYPE, self.document)
        if path == DASHBOARD:
            return Page(302, "text/plain", b"", location=f"{DASHBOARD}/")
        if path in STATIC:
            name, content_type = STATIC[path]
            return Page(200, content_type, (PAGE_DIR / name).read_bytes())
        if path == f"{DASHBOARD}/data":
            minutes = parse_qs(query).get("minutes", ["15"])[0]
            return Page(200, JSON_TYPE, json.dumps(self.data(minutes)).encode())
        return None

    def data(self, minutes: str, now_ms: int | None = None) -> dict[str, Any]:
        """The dashboard's widgets over the last ``minutes`` (or the whole run: "all")."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        lines = self.metrics_path.read_text().splitlines() if self.metrics_path.exists() else []
        store, _ = load_store(lines)
        records = [
            json.loads(line)
            for line in (
                self.access_log.read_text().splitlines() if self.access_log.exists() else []
            )
            if line.startswith("{")
        ]
        if minutes == "all":
            first = [int(r["epochMs"]) for r in records if str(r.get("epochMs", "")).isdigit()]
            start = min(first, default=now - 15 * 60_000)
        else:
            start = now - max(1, int(minutes)) * 60_000 if minutes.isdigit() else now - 900_000
        # Whole minutes, and the minute under way, as CloudWatch's graphs show them.
        start -= start % 60_000
        end = now - now % 60_000 + 60_000
        return page_data(
            body=self.body,
            store=store,
            access_records=records,
            alarms=self.alarms,
            start_ms=start,
            end_ms=end,
        )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
