"""A function's execution environments, scaled out as Lambda scales them.

An invocation takes a warm environment that is free; when every one is busy, a new one
starts (a cold start), up to the function's reserved concurrency or the emulator's
limit; beyond that the invocation is throttled and never runs. Each invocation's share
of Lambda's metrics is published as CloudWatch would record it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import service_metrics
from .template import FunctionSpec
from .worker import Invocation, Worker

# Outcomes Lambda counts in Errors: the function ran and did not return.
FAILED = frozenset({"error", "timeout", "crash"})
# The version an alias's invocations run locally (on AWS, the one the deploy published).
ALIAS_VERSION = "1"


class Function:
    def __init__(
        self,
        spec: FunctionSpec,
        artifact: Path,
        new_environment: Callable[[FunctionSpec, Path], Worker],
        publish: Callable[[str, dict[str, Any]], None],
        limit: int,
    ) -> None:
        self._spec, self._artifact = spec, artifact
        self._new_environment = new_environment
        self._publish = publish
        reserved = spec.reserved_concurrency
        self.limit = max(1, min(limit, reserved) if reserved is not None else limit)
        self._lock = threading.Lock()
        self.environments: list[Worker] = []
        self._idle: list[Worker] = []
        self.busy = 0
        self.throttles = 0

    @property
    def spec(self) -> FunctionSpec:
        return self._spec

    @spec.setter
    def spec(self, spec: FunctionSpec) -> None:
        """A new configuration, for every environment from its next start on."""
        self._spec = spec
        for environment in self.environments:
            environment.spec = spec

    @property
    def artifact(self) -> Path:
        return self._artifact

    @artifact.setter
    def artifact(self, artifact: Path) -> None:
        self._artifact = artifact
        for environment in self.environments:
            environment.artifact = artifact

    @property
    def cold_starts(self) -> list[float]:
        """Every environment's init durations (ms)."""
        return [ms for environment in self.environments for ms in environment.cold_starts]

    @property
    def pid(self) -> int | None:
        """The first environment's process id: the only one while requests come one by one."""
        return self.environments[0].pid if self.environments else None

    def _acquire(self) -> tuple[Worker, int] | None:
        """A free environment (the most recently used: Lambda reuses warm ones) and the
        concurrency with it, or None when the function is at its limit."""
        with self._lock:
            if self._idle:
                environment = self._idle.pop()
            elif len(self.environments) < self.limit:
                environment = self._new_environment(self._spec, self._artifact)
                self.environments.append(environment)
            else:
                self.throttles += 1
                return None
            self.busy += 1
            return environment, self.busy

    def _release(self, environment: Worker) -> None:
        with self._lock:
            self.busy -= 1
            self._idle.append(environment)

    def invoke(
        self,
        event: dict[str, Any],
        timeout_s: float | None = None,
        trace_header: str | None = None,
        qualifier: str | None = None,
    ) -> Invocation:
        """One invocation of the function (through alias ``qualifier`` if given)."""
        taken = self._acquire()
        if taken is None:
            invocation = Invocation("throttled", None, 0.0, str(uuid.uuid4()), None)
            self._record(invocation, qualifier, concurrent=self.limit)
            return invocation
        environment, concurrent = taken
        try:
            invocation = environment.invoke(event, timeout_s, trace_header)
        finally:
            self._release(environment)
        self._record(invocation, qualifier, concurrent)
        return invocation

    def _record(self, invocation: Invocation, qualifier: str | None, concurrent: int) -> None:
        throttled = invocation.outcome == "throttled"
        self._publish(
            service_metrics.LAMBDA,
            service_metrics.lambda_invocation(
                function_name=self._spec.logical_id,
                alias=qualifier,
                version=ALIAS_VERSION,
                timestamp_ms=int(time.time() * 1000),
                # Lambda's Duration leaves init out.
                duration_ms=None
                if throttled
                else invocation.duration_ms - (invocation.cold_start_ms or 0.0),
                error=invocation.outcome in FAILED,
                throttled=throttled,
                concurrent=concurrent,
            ),
        )

    def close(self) -> None:
        for environment in self.environments:
            environment.close()
