"""The whole monitored chain on one machine, as template.yaml wires it on AWS.

HTTP -> gateway (routes, key, throttling, validation) -> function worker -> access-log
line -> subscription batch -> log-processor worker -> metrics, and X-Ray's segments, all
under a state directory; a SageMaker Runtime stand-in answers models whose backend is an
endpoint.
"""

from __future__ import annotations

import secrets
import sys
import threading
from pathlib import Path

from dev_support.paths import LAMBDA_RUNTIME_DIR, TEMPLATE_PATH

from .gateway import Gateway, serve
from .logs import LogShipper
from .sagemaker import SageMakerRuntime
from .sink import Sink
from .template import load_app
from .worker import Worker
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
        sagemaker: SageMakerRuntime | None = None,
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
        self.sink = Sink(state_dir)
        self.daemon = XRayDaemon(state_dir / "traces.jsonl")
        # The functions' botocore finds it as SageMaker Runtime's endpoint.
        self.sagemaker = (sagemaker or SageMakerRuntime.default()).start()
        services = {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.sagemaker.url, **LOCAL_CREDENTIALS}
        self.workers = {
            name: Worker(
                spec,
                build_dir / name,
                self.sink,
                runtime_dir=runtime_dir,
                daemon=self.daemon,
                tmp_dir=state_dir / "tmp" / name,
                environment=services,
            )
            for name, spec in self.app.functions.items()
        }
        here = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for name, worker in self.workers.items():
            if worker.spec.runtime != here:
                raise SystemExit(f"{name} runs on {worker.spec.runtime}; the emulator has {here}")
            if not worker.artifact.is_dir():
                raise SystemExit(
                    f"{worker.artifact} is missing: run `make build-host` first ({name})"
                )
        subscriber = self.workers.get(self.app.subscriber) if self.app.subscriber else None
        self.shipper = LogShipper(
            subscriber,
            state_dir / "logs" / "access.log",
            state_dir / "dlq",
            log_group="/aws/apigateway/local-access",
        )
        # The usage plan's default client key, where routes ask for one (AuthMode=API_KEY).
        self.api_key = self._api_key() if any(r.needs_api_key for r in self.app.routes) else None
        self.gateway = Gateway(self.app, self.workers, self.shipper, self.api_key, self.daemon)
        self.server = serve(self.gateway, host, port)
        host_name, self.port = self.server.server_address[:2]
        self.host = host_name if isinstance(host_name, str) else host_name.decode()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._stopped = False

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

    def start(self) -> Emulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop taking requests, deliver and process every pending log line, then stop workers."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self.shipper.close()
        for worker in self.workers.values():
            worker.close()
        self.sagemaker.stop()
        self.daemon.close()
        self.sink.close()
