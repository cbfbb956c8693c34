"""`make run`: the monitored endpoint on this machine, from template.yaml and the built functions.

HTTP -> gateway (routes, key, throttling, validation) -> function worker -> access-log
line -> subscription batch -> log-processor worker -> metrics, all under the state
directory (default .local/).
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .gateway import Gateway, serve
from .logs import LogShipper
from .sink import Sink
from .template import load_app
from .worker import LAMBDA_RUNTIME_DIR, Worker

ROOT = Path(__file__).resolve().parents[1]


class Emulator:
    def __init__(
        self,
        state_dir: Path,
        build_dir: Path,
        *,
        port: int = 3000,
        host: str = "127.0.0.1",
        template: Path = ROOT / "template.yaml",
        parameters: dict[str, str] | None = None,
        runtime_dir: Path = LAMBDA_RUNTIME_DIR,
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
        self.workers = {
            name: Worker(spec, build_dir / name, self.sink, runtime_dir=runtime_dir)
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
        self.api_key = self._api_key()
        self.gateway = Gateway(self.app, self.workers, self.shipper, self.api_key)
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
        self.sink.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build-host")
    parser.add_argument(
        "--runtime-dir",
        type=Path,
        default=LAMBDA_RUNTIME_DIR,
        help="what the Lambda runtime provides (boto3 …), on the path after each function",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override (repeatable), e.g. AuthMode=NONE",
    )
    args = parser.parse_args(argv)
    parameters = dict(item.split("=", 1) for item in args.parameter)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(
        args.state_dir,
        args.build_dir,
        port=args.port,
        host=args.host,
        parameters=parameters,
        runtime_dir=args.runtime_dir,
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    emulator.start()
    url = emulator.base_url
    print(
        f"model-endpoint emulator on {url}\n"
        f"  API key (x-api-key): {emulator.api_key}\n"
        f"  access log:          {args.state_dir / 'logs' / 'access.log'}\n"
        f"  function logs:       {args.state_dir / 'logs'}/<function>.log\n"
        f"  metrics (EMF):       {emulator.sink.metrics_path}   (make report)\n"
        f"  failed log batches:  {args.state_dir / 'dlq'}\n\n"
        f"  curl -H 'x-api-key: {emulator.api_key}' -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"inputs":[{{"name":"input","shape":[1,4],"datatype":"FP32",'
        f'"data":[5.1,3.5,1.4,0.2]}}]}}\' {url}/v2/models/iris/infer\n\n'
        "Ctrl-C stops (pending log lines are processed first).",
        flush=True,
    )
    stopping.wait()
    print("stopping: delivering pending log lines…", flush=True)
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
