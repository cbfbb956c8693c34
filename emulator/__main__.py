"""`make run`: the monitored endpoint on this machine, from template.yaml and the built functions.

HTTP -> gateway (routes, key, throttling, validation) -> function worker -> access-log
line -> subscription batch -> log-processor worker -> metrics, all under the state
directory (default .local/).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from dev_support.paths import HOST_BUILD_DIR, LAMBDA_RUNTIME_DIR, STATE_DIR

from .stack import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    parser.add_argument("--build-dir", type=Path, default=HOST_BUILD_DIR)
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
