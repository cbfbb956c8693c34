"""The drift job's schedule, locally: the template's DriftFunction invoked at the end of
each window (plus the job's grace), as EventBridge Scheduler would with the input the
template gives it, over windows of ``--drift-window-seconds``.

The job reads the inference function's lines from the CloudWatch Logs stand-in
(``cloudwatch_logs``) and prints InputDrift and PredictionDrift as EMF, which the sink
keeps as it keeps every function's metrics: the same code as on AWS, on shorter windows.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .function import Function
from .template import FunctionSpec

DRIFT_FUNCTION = "DriftFunction"
WINDOW_VARIABLE = "DRIFT_WINDOW_MINUTES"
# The drift job's wait after a window closes (drift_job.GRACE_MS), capped at half a window.
GRACE_S = 120.0


def with_window(specs: Mapping[str, FunctionSpec], window_s: float) -> dict[str, FunctionSpec]:
    """The functions' specs with every drift window setting made ``window_s`` long."""
    minutes = repr(window_s / 60)
    return {
        name: replace(spec, environment={**spec.environment, WINDOW_VARIABLE: minutes})
        if WINDOW_VARIABLE in spec.environment
        else spec
        for name, spec in specs.items()
    }


def log_groups(template: Mapping[str, Any], logs_dir: Path) -> dict[str, Path]:
    """Each function's log group, as a Ref to it resolves here (its logical id), to the
    file the sink writes its lines to."""
    groups = {}
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        group = resource.get("Properties", {}).get("LoggingConfig", {}).get("LogGroup")
        if isinstance(group, dict) and isinstance(group.get("Ref"), str):
            groups[group["Ref"]] = logs_dir / f"{name}.log"
    return groups


class DriftSchedule:
    """Invokes the drift function once per window, at its end plus the grace."""

    def __init__(self, function: Function, window_s: float) -> None:
        self.function = function
        self.window_s = window_s
        self.grace_s = min(GRACE_S, window_s / 2)
        self.runs = 0
        # The end of the last window a run has read (epoch ms): what the metrics now hold.
        self.runs_through_ms = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> DriftSchedule:
        self._thread.start()
        return self

    def _loop(self) -> None:
        done = -1  # the last window end run for, in windows since the epoch
        while True:
            now = time.time()
            end = max(math.ceil((now - self.grace_s) / self.window_s), done + 1)
            due = end * self.window_s + self.grace_s
            if self._stopping.wait(max(0.0, due - now)):
                return
            self.run_at(due)
            done = end

    def run_at(self, scheduled_s: float) -> None:
        """One run, as scheduled at ``scheduled_s`` (the input carries it in milliseconds)."""
        when = datetime.fromtimestamp(scheduled_s, UTC)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        self.function.invoke({"scheduled_time": stamp}, timeout_s=self.function.spec.timeout_s)
        self.runs += 1
        window_ms = self.window_s * 1000
        self.runs_through_ms = int(
            (scheduled_s * 1000 - self.grace_s * 1000) // window_ms * window_ms
        )

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join()
