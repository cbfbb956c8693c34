"""A warm Lambda-like execution environment: one process per function, replaced on crash."""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import lambda_logs, xray
from .sink import Sink
from .template import FunctionSpec

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# Init has its own limit on Lambda (10 s), separate from the invocation timeout.
INIT_TIMEOUT_S = 10.0


def lambda_python_path(artifact: Path, runtime_dir: Path | None) -> str:
    """PYTHONPATH in Lambda's order: the function's code first, then the runtime's packages."""
    return os.pathsep.join(str(path) for path in (artifact, runtime_dir) if path is not None)


class InitFailed(RuntimeError):
    """The function's init raised or died: its stack trace is in the function's log."""


@dataclass(frozen=True)
class Invocation:
    # "ok", "error" (the handler raised), "timeout", "crash", or "throttled" (never ran)
    outcome: str
    result: Any
    duration_ms: float
    request_id: str
    cold_start_ms: float | None


class Worker:
    """Serves one invocation at a time, like one Lambda execution environment."""

    def __init__(
        self,
        spec: FunctionSpec,
        artifact: Path,
        sink: Sink,
        *,
        python: str | None = None,
        runtime_dir: Path | None = None,
        daemon: xray.XRayDaemon | None = None,
        tmp_dir: Path | None = None,
        environment: dict[str, str] | None = None,
    ):
        self.spec = spec
        self.artifact = artifact
        self.sink = sink
        # The interpreter the dev venv was made from, without site-packages (-S): only
        # the standard library, the built artifact and then runtime_dir, as on Lambda.
        self.python: str = python or str(getattr(sys, "_base_executable", sys.executable))
        self.runtime_dir = runtime_dir
        # Where the function's X-Ray subsegments go, and its segment (Lambda's part).
        self.daemon = daemon
        # The environment's own /tmp (TMPDIR), emptied for each new environment as on Lambda.
        self.tmp_dir = tmp_dir
        # What the emulator adds to Lambda's environment: where its service stand-ins are.
        self.environment = dict(environment or {})
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._results_fd = -1
        self._buffer = b""
        self.cold_starts: list[float] = []

    @property
    def pid(self) -> int | None:
        """The running environment's process id (a new one after each cold start)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def _start(self) -> float:
        read_fd, write_fd = os.pipe()
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir.mkdir(parents=True)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": lambda_python_path(self.artifact, self.runtime_dir),
            "PYTHONUNBUFFERED": "1",
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_REGION": "local",
            "AWS_DEFAULT_REGION": "local",
            **({"AWS_XRAY_DAEMON_ADDRESS": self.daemon.address} if self.daemon else {}),
            **({"TMPDIR": str(self.tmp_dir)} if self.tmp_dir is not None else {}),
            **self.environment,
            # What Lambda sets from the function's LoggingConfig.
            **(
                {
                    "AWS_LAMBDA_LOG_FORMAT": "JSON",
                    "AWS_LAMBDA_LOG_LEVEL": self.spec.application_log_level,
                }
                if self.spec.application_log_level
                else {}
            ),
            "EMULATOR_RESULT_FD": str(write_fd),
            **self.spec.environment,
        }
        self._process = subprocess.Popen(  # noqa: S603 -- our interpreter, our bootstrap
            [self.python, "-S", str(BOOTSTRAP), self.spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.artifact,
            pass_fds=(write_fd,),
            # Its own process group: Ctrl-C reaches the emulator, which stops workers last.
            process_group=0,
        )
        os.close(write_fd)
        self._results_fd = read_fd
        self._buffer = b""
        for stream in (self._process.stdout, self._process.stderr):
            threading.Thread(
                target=self.sink.consume,
                args=(self.spec.logical_id, stream, self.spec.application_log_level),
                daemon=True,
            ).start()
        started = time.perf_counter()
        ready = self._read_result(time.monotonic() + INIT_TIMEOUT_S)
        if ready is None or not ready.get("ready"):
            self._stop()
            raise InitFailed(f"{self.spec.logical_id} failed to initialise")
        cold_ms = (time.perf_counter() - started) * 1000
        self.cold_starts.append(cold_ms)
        return cold_ms

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        if self._results_fd >= 0:
            os.close(self._results_fd)
            self._results_fd = -1

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.stdin is not None:
                self._process.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=5)
            self._stop()

    def _read_result(self, deadline: float) -> dict[str, Any] | None:
        """The next result line, or None on timeout or when the process died."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._results_fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._results_fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        result: dict[str, Any] = json.loads(line)
        return result

    def _init_report(self, status: str, duration_ms: float) -> None:
        self._platform(
            "platform.initReport",
            {
                "initializationType": "on-demand",
                "phase": "init",
                "status": status,
                "metrics": {"durationMs": round(duration_ms, 3)},
            },
        )

    def _platform(self, event: str, record: dict[str, Any]) -> None:
        if lambda_logs.emitted(event, self.spec.system_log_level):
            self.sink.write(self.spec.logical_id, lambda_logs.line(event, record))

    def _max_memory_mb(self) -> int:
        """The environment's peak resident memory, as Lambda's report gives it."""
        if self._process is None:
            return 0
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{self._process.pid}/status").read_text()
            for row in status.splitlines():
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) // 1024
        return 0

    def invoke(
        self, event: dict[str, Any], timeout_s: float | None = None, trace_header: str | None = None
    ) -> Invocation:
        """One invocation; ``trace_header`` is the caller's (API Gateway's), if it traces."""
        timeout = min(timeout_s or self.spec.timeout_s, self.spec.timeout_s)
        request_id = str(uuid.uuid4())
        # With active tracing, Lambda records the function's segment, in the caller's trace
        # or a new one, and hands the function a header naming that segment as parent.
        root, caller = xray.parse_trace_header(trace_header) if trace_header else (None, None)
        segment_id = xray.new_segment_id()
        if self.spec.tracing:
            root = root or xray.new_trace_id()
            trace_header = xray.trace_header(root, segment_id)
        invocation = self._invoke(event, timeout, request_id, trace_header)
        if self.spec.tracing and root is not None and self.daemon is not None:
            # From its end: the invocation's clock starts once the environment is free.
            started_at = time.time() - invocation.duration_ms / 1000
            self.daemon.record(self._segment(invocation, segment_id, root, caller, started_at))
        metrics: dict[str, Any] = {
            "durationMs": round(invocation.duration_ms - (invocation.cold_start_ms or 0), 3),
            "billedDurationMs": math.ceil(invocation.duration_ms),
            "memorySizeMB": self.spec.memory_mb,
            "maxMemoryUsedMB": self._max_memory_mb(),
        }
        if invocation.cold_start_ms is not None:
            metrics["initDurationMs"] = round(invocation.cold_start_ms, 3)
        status = lambda_logs.STATUS[invocation.outcome]
        self._platform(
            "platform.runtimeDone",
            {
                "requestId": request_id,
                "status": status,
                "metrics": {"durationMs": metrics["durationMs"]},
            },
        )
        self._platform(
            "platform.report",
            {
                "requestId": request_id,
                "metrics": metrics,
                **lambda_logs.tracing(trace_header),
                "status": status,
            },
        )
        return invocation

    def _segment(
        self,
        invocation: Invocation,
        segment_id: str,
        trace_id: str,
        parent_id: str | None,
        started_at: float,
    ) -> dict[str, Any]:
        """The function's segment, as Lambda records it: a cold start's init as a subsegment."""
        fields: dict[str, Any] = {"aws": {"request_id": invocation.request_id}}
        if invocation.outcome != "ok":
            fields["fault"] = True
        if invocation.cold_start_ms is not None:
            fields["subsegments"] = [
                {
                    "name": "Initialization",
                    "id": xray.new_segment_id(),
                    "start_time": started_at,
                    "end_time": started_at + invocation.cold_start_ms / 1000,
                }
            ]
        return xray.segment(
            self.spec.logical_id,
            segment_id,
            trace_id,
            started_at,
            started_at + invocation.duration_ms / 1000,
            origin="AWS::Lambda::Function",
            parent_id=parent_id,
            fields=fields,
        )

    def _invoke(
        self, event: dict[str, Any], timeout: float, request_id: str, trace_header: str | None
    ) -> Invocation:
        with self._lock:
            # A cold start is part of the integration latency, as on Lambda.
            started = time.perf_counter()
            cold_ms = None
            if self._process is None or self._process.poll() is not None:
                self._stop()
                self._platform(
                    "platform.initStart",
                    {
                        "initializationType": "on-demand",
                        "phase": "init",
                        "functionName": self.spec.logical_id,
                    },
                )
                try:
                    cold_ms = self._start()
                except InitFailed:
                    # As on Lambda: the invocation fails (API Gateway answers 502), and the
                    # next one tries init again in a new environment.
                    init_ms = (time.perf_counter() - started) * 1000
                    self._init_report("error", init_ms)
                    return Invocation("crash", None, init_ms, request_id, None)
                self._init_report("success", cold_ms)
            process = self._process
            if process is None or process.stdin is None:
                raise RuntimeError(f"{self.spec.logical_id} has no running process")
            self._platform(
                "platform.start",
                {
                    "requestId": request_id,
                    "version": "$LATEST",
                    **lambda_logs.tracing(trace_header),
                },
            )
            message = {
                "event": event,
                "request_id": request_id,
                "deadline": time.time() + timeout,
                "trace_header": trace_header,
            }
            try:
                process.stdin.write(json.dumps(message).encode() + b"\n")
                process.stdin.flush()
            except BrokenPipeError:
                self._stop()
                return Invocation("crash", None, 0.0, request_id, cold_ms)
            deadline = time.monotonic() + timeout
            result = self._read_result(deadline)
            duration_ms = (time.perf_counter() - started) * 1000
            if result is None:
                # End of the results pipe before the deadline is a death, even when the
                # process has not been reaped yet.
                timed_out = time.monotonic() >= deadline and process.poll() is None
                # A timed-out environment is discarded, as Lambda does; so is a dead one.
                self._stop()
                outcome = "timeout" if timed_out else "crash"
                return Invocation(outcome, None, duration_ms, request_id, cold_ms)
            if result.get("ok"):
                return Invocation("ok", result["result"], duration_ms, request_id, cold_ms)
            return Invocation("error", result, duration_ms, request_id, cold_ms)
