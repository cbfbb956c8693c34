"""The whole monitored chain on one machine, as template.yaml wires it on AWS.

HTTP -> gateway (routes, key, throttling, validation) -> function worker -> access-log
line -> subscription batch -> log-processor worker -> metrics, and X-Ray's segments, all
under a state directory; a SageMaker Runtime stand-in answers models whose backend is an
endpoint, a Bedrock Runtime stand-in the chat models.
"""

from __future__ import annotations

import itertools
import secrets
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dev_support.paths import LAMBDA_RUNTIME_DIR, TEMPLATE_PATH

from .bedrock import BedrockRuntime
from .cloudwatch_logs import CloudWatchLogs
from .control_plane import ControlPlane
from .drift_schedule import DRIFT_FUNCTION, DriftSchedule, log_groups, with_window
from .function import Function
from .gateway import Gateway, serve
from .local_pages import DASHBOARD, LocalPages
from .logs import LogShipper
from .openapi import plain_document
from .sagemaker import SageMakerRuntime
from .service_metrics import SQS, SQS_PERIOD_S, queue_depth
from .sink import Sink
from .template import FunctionSpec, load_app
from .worker import Invocation, Worker
from .xray import XRayDaemon

# What Lambda's environment would hold for the SDK: any credentials do, since the stand-ins
# accept signatures without checking them; never the machine's own.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}

# Template parameters that lift the stage's and the usage plan's throttling, for runs
# that measure or test something other than a 429.
THROTTLING_LIFTED = dict.fromkeys(
    ("ThrottlingRateLimit", "ThrottlingBurstLimit", "UsagePlanRateLimit", "UsagePlanBurstLimit"),
    "1000000",
)
# Execution environments per function when its template reserves none (Lambda's account
# limit is 1,000; this machine runs a few).
MAX_CONCURRENCY = 4


@dataclass(frozen=True)
class HookVerdict:
    """What a simulated deployment's pre-traffic hook reported to CodeDeploy."""

    status: str  # Succeeded or Failed
    outcome: str  # the hook's own invocation: ok, error, timeout, crash
    result: dict[str, Any]


class Emulator:
    def __init__(
        self,
        state_dir: Path,
        build_dir: Path,
        *,
        port: int = 3000,
        host: str = "127.0.0.1",
        template: Path = TEMPLATE_PATH,
        parameters: dict[str, str] | None = None,
        runtime_dir: Path = LAMBDA_RUNTIME_DIR,
        max_concurrency: int = MAX_CONCURRENCY,
        sagemaker: SageMakerRuntime | None = None,
        bedrock: BedrockRuntime | None = None,
        drift_window_s: float | None = None,
        canary_seconds: float | None = None,
    ) -> None:
        # Workers run inside their artifact's folder: every path must be absolute.
        state_dir, build_dir = state_dir.resolve(), build_dir.resolve()
        runtime_dir = runtime_dir.resolve()
        if not runtime_dir.is_dir():
            raise SystemExit(
                f"{runtime_dir} is missing: run `make lambda-runtime` first "
                "(the packages the Lambda runtime provides)"
            )
        self.state_dir = state_dir
        self.app = load_app(template, parameters)
        if drift_window_s is not None:
            self.app = replace(self.app, functions=with_window(self.app.functions, drift_window_s))
        self.sink = Sink(state_dir)
        self.daemon = XRayDaemon(state_dir / "traces.jsonl")
        # The functions' botocore finds it as SageMaker Runtime's endpoint.
        self.sagemaker = (sagemaker or SageMakerRuntime.default()).start()
        # And Bedrock Runtime's (the chat models' Converse).
        self.bedrock = (bedrock or BedrockRuntime()).start()
        # API Gateway's key reads, Lambda's Invoke and CodeDeploy's hook status: the canary's
        # and the pre-traffic hook's calls. Each function key's value is made per run.
        self.control_plane = ControlPlane(
            api_keys={key: secrets.token_urlsafe(30) for key in self.app.function_keys}
        ).start()
        services = {
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.sagemaker.url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock.url,
            **self.control_plane.environment(),
            **LOCAL_CREDENTIALS,
        }
        # The drift job's FilterLogEvents reads the functions' log files.
        self.cloudwatch_logs = CloudWatchLogs(
            log_groups(self.app.template, self.sink.logs_dir), host
        ).start()
        services["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = self.cloudwatch_logs.url
        environments = itertools.count(1)

        def environment(spec: FunctionSpec, artifact: Path) -> Worker:
            return Worker(
                spec,
                artifact,
                self.sink,
                runtime_dir=runtime_dir,
                daemon=self.daemon,
                # Each environment has a /tmp of its own, as on Lambda.
                tmp_dir=state_dir / "tmp" / spec.logical_id / str(next(environments)),
                environment=services,
            )

        self.functions = {
            name: Function(spec, build_dir / name, environment, self.sink.publish, max_concurrency)
            for name, spec in self.app.functions.items()
        }
        here = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for name, function in self.functions.items():
            if function.spec.runtime != here:
                raise SystemExit(f"{name} runs on {function.spec.runtime}; the emulator has {here}")
            if not function.artifact.is_dir():
                raise SystemExit(
                    f"{function.artifact} is missing: run `make build-host` first ({name})"
                )
        subscriber = self.functions.get(self.app.subscriber) if self.app.subscriber else None
        self.shipper = LogShipper(
            subscriber,
            state_dir / "logs" / "access.log",
            state_dir / "dlq",
            log_group="/aws/apigateway/local-access",
        )
        # The usage plan's default client key, where routes ask for one (AuthMode=API_KEY).
        self.api_key = self._api_key() if any(r.needs_api_key for r in self.app.routes) else None
        # Beside the stage: the API document for standard tools, and the dashboard.
        self.pages = LocalPages(
            state_dir,
            self.app.template,
            parameters or {},
            plain_document(self.app, [{"url": f"/{self.app.stage}"}]),
        )
        self.gateway = Gateway(
            self.app,
            self.functions,
            self.shipper,
            self.api_key,
            daemon=self.daemon,
            pages=self.pages,
            publish=self.sink.publish,
            function_keys=self.control_plane.api_keys,
        )
        self.server = serve(self.gateway, host, port)
        host_name, self.port = self.server.server_address[:2]
        self.host = host_name if isinstance(host_name, str) else host_name.decode()
        self._answer_invoke_url()
        self.control_plane.invoker = self._invoke_function
        # Each schedule's period: the template's, or canary_seconds (tests, short runs). The
        # drift job keeps to its windows (below), which its schedule's period is.
        self.schedules = [
            replace(schedule, period_s=canary_seconds or schedule.period_s)
            for schedule in self.app.schedules
            if schedule.function != DRIFT_FUNCTION
        ]
        self._schedule_threads = [
            threading.Thread(target=self._run_schedule, args=(i,), daemon=True)
            for i in range(len(self.schedules))
        ]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._stopping = threading.Event()
        self._queue_thread = threading.Thread(target=self._sample_queue, daemon=True)
        # Drift windows run only when asked for (make run: DriftWindowMinutes's).
        drift_function = self.functions.get(DRIFT_FUNCTION)
        self.drift = (
            DriftSchedule(drift_function, drift_window_s)
            if drift_window_s is not None and drift_function is not None
            else None
        )
        self._stopped = False

    def _answer_invoke_url(self) -> None:
        """The stage's execute-api URL, in the functions' environment, is this server's."""
        remote = self.app.invoke_url
        for function in self.functions.values():
            environment = {
                name: self.base_url + value.removeprefix(remote)
                if value.startswith(remote)
                else value
                for name, value in function.spec.environment.items()
            }
            if environment != function.spec.environment:
                function.spec = replace(function.spec, environment=environment)

    def _invoke_function(
        self, name: str, qualifier: str | None, event: dict[str, object]
    ) -> Invocation | None:
        """Lambda's Invoke, for the control-plane stand-in: a function of the stack, its
        alias or its published version."""
        function = self.functions.get(name)
        if function is None:
            return None
        return function.invoke(event, qualifier=qualifier)

    def _run_schedule(self, index: int) -> None:
        """EventBridge Scheduler's rate: an invocation at the end of each period."""
        schedule = self.schedules[index]
        function = self.functions[schedule.function]
        while not self._stopping.wait(schedule.period_s):
            function.invoke(dict(schedule.event))

    def pre_traffic(self) -> HookVerdict:
        """What CodeDeploy does before shifting the alias: invoke the pre-traffic hook with a
        lifecycle event and wait for the status it reports (Failed if it reports none)."""
        if self.app.pre_traffic_hook is None:
            raise SystemExit("the template has no pre-traffic hook")
        execution_id = str(uuid.uuid4())
        event = {
            "DeploymentId": f"d-LOCAL{secrets.token_hex(4).upper()}",
            "LifecycleEventHookExecutionId": execution_id,
        }
        invocation = self.functions[self.app.pre_traffic_hook].invoke(event)
        status = self.control_plane.hook_statuses.get(execution_id, "Failed")
        result = invocation.result if isinstance(invocation.result, dict) else {}
        return HookVerdict(status, invocation.outcome, result)

    def _api_key(self) -> str:
        # Kept across runs, so curl commands and scripts keep working.
        path = self.state_dir / "api-key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(30) + "\n")
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/{self.app.stage}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.host}:{self.port}{DASHBOARD}/"

    def start(self) -> Emulator:
        self._thread.start()
        self._publish_queue_depth()
        self._queue_thread.start()
        if self.drift is not None:
            self.drift.start()
        for thread in self._schedule_threads:
            thread.start()
        return self

    def _publish_queue_depth(self) -> None:
        """What SQS publishes each minute for the on-failure queue: ``dlq/``'s messages."""
        if self.app.failure_queue is None:
            return
        dead_letters = self.state_dir / "dlq"
        visible = len(list(dead_letters.glob("*.json"))) if dead_letters.is_dir() else 0
        self.sink.publish(
            SQS,
            queue_depth(
                queue_name=self.app.failure_queue,
                timestamp_ms=int(time.time() * 1000),
                visible=visible,
            ),
        )

    def _sample_queue(self) -> None:
        while not self._stopping.wait(SQS_PERIOD_S):
            self._publish_queue_depth()

    def stop(self) -> None:
        """Stop taking requests, deliver and process every pending log line, then stop workers."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.shipper.close()
        if self.drift is not None:
            self.drift.stop()
        if self._queue_thread.ident is not None:  # it was started
            self._queue_thread.join()
            self._publish_queue_depth()  # with the last batches' outcome
        for thread in self._schedule_threads:
            if thread.ident is not None:
                thread.join()
        for function in self.functions.values():
            function.close()
        self.sagemaker.stop()
        self.bedrock.stop()
        self.cloudwatch_logs.stop()
        self.control_plane.stop()
        self.daemon.close()
        self.sink.close()
