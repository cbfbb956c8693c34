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
from urllib.parse import unquote, urlsplit

from dev_support.paths import (
    HOST_BUILD_DIR,
    LAMBDA_RUNTIME_DIR,
    LOCAL_MODELS_DIR,
    MODELS_DIR,
    STATE_DIR,
)

from .bedrock import BedrockRuntime
from .bedrock import Fault as BedrockFault
from .sagemaker import Fault, SageMakerRuntime
from .stack import MAX_CONCURRENCY, Emulator
from .template import parameter_default


def local_parameters(parameters: dict[str, str]) -> dict[str, str]:
    """The template parameters of a local run: unless given, ModelsS3Uri is the folder of
    models behind the local SageMaker endpoint, and KnownModels names every model served
    from a folder, so that the access-log metrics name them too."""
    chosen = {"ModelsS3Uri": LOCAL_MODELS_DIR.as_uri(), **parameters}
    uri = urlsplit(chosen["ModelsS3Uri"])
    if "KnownModels" not in chosen and uri.scheme == "file":
        folders = [MODELS_DIR, Path(unquote(uri.path))]
        names = {model.name for folder in folders if folder.is_dir() for model in folder.iterdir()}
        chosen["KnownModels"] = ",".join(sorted(name for name in names if not name.startswith(".")))
    return chosen


def banner(emulator: Emulator, state_dir: Path) -> str:
    """What `make run` prints: where things are, and a request to paste."""
    url = emulator.base_url
    key = emulator.api_key
    auth = (
        f"  API key (x-api-key): {key}   (kept in {state_dir / 'api-key'})"
        if key
        else "  no API key: no route asks for one (AuthMode NONE; IAM signatures are not checked)"
    )
    key_header = f"-H 'x-api-key: {key}' " if key else ""
    body = '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}'
    chat = '{"model":"chat","messages":[{"role":"user","content":"Hello there"}]}'
    return "\n".join(
        [
            f"model-endpoint emulator on {url}",
            auth,
            f"  dashboard:           {emulator.dashboard_url}",
            f"  API document:        {url.removesuffix('/' + emulator.app.stage)}/openapi.json",
            f"  access log:          {state_dir / 'logs' / 'access.log'}",
            f"  function logs:       {state_dir / 'logs'}/<function>.log",
            f"  metrics (EMF):       {emulator.sink.metrics_path}   (make report)",
            f"  SageMaker Runtime:   {emulator.sagemaker.url}   (endpoints:"
            f" {', '.join(sorted(emulator.sagemaker.endpoints))})",
            f"  Bedrock Runtime:     {emulator.bedrock.url}   (models:"
            f" {', '.join(sorted(emulator.bedrock.models))})",
            f"  failed log batches:  {state_dir / 'dlq'}",
            f"  drift windows:       {emulator.drift.window_s:g} s   (InputDrift, PredictionDrift)"
            if emulator.drift is not None
            else "  drift windows:       off",
            *[
                f"  scheduled:           {schedule.function} every {schedule.period_s:g} s"
                for schedule in emulator.schedules
            ],
            "",
            f"  curl {key_header}-H 'Content-Type: application/json' \\",
            f"    -d '{body}' {url}/v2/models/iris/infer",
            f"  curl {key_header}-H 'Content-Type: application/json' \\",
            f"    -d '{chat}' {url}/v1/chat/completions",
            "",
            "Ctrl-C stops (pending log lines are processed first).",
        ]
    )


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"a positive number of seconds, not {text!r}")
    return seconds


def pre_traffic(emulator: Emulator) -> int:
    """The pre-traffic hook's verdict on the built function, as a deployment would get it."""
    emulator.start()
    try:
        verdict = emulator.pre_traffic()
    finally:
        emulator.stop()
    failed = verdict.result.get("failed") or []
    print(f"pre-traffic hook: {verdict.status}", flush=True)
    if verdict.outcome != "ok":
        print(f"  the hook itself did not complete ({verdict.outcome}): see its log", flush=True)
    if failed:
        print(f"  golden inputs failed for: {', '.join(map(str, failed))}", flush=True)
    if verdict.status != "Succeeded":
        print("  CodeDeploy would stop here and leave the alias on the old version", flush=True)
        return 1
    return 0


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
        "--max-concurrency",
        type=int,
        default=MAX_CONCURRENCY,
        help="execution environments per function where the template reserves none",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override (repeatable), e.g. AuthMode=NONE",
    )
    parser.add_argument(
        "--sagemaker-fault",
        action="append",
        default=[],
        metavar="ENDPOINT=FAULT",
        help=f"make a local SageMaker endpoint fail: {', '.join(Fault)} (repeatable)",
    )
    parser.add_argument(
        "--bedrock-fault",
        action="append",
        default=[],
        metavar="MODEL_ID=FAULT",
        help=f"make a local Bedrock model fail: {', '.join(BedrockFault)} (repeatable)",
    )
    parser.add_argument(
        "--drift-window-seconds",
        type=_seconds,
        help="length of the drift job's windows (default: the template's DriftWindowMinutes)",
    )
    parser.add_argument(
        "--canary-seconds",
        type=float,
        default=None,
        help="seconds between canary runs (default: the template's CanaryRateMinutes)",
    )
    parser.add_argument(
        "--pre-traffic",
        action="store_true",
        help="run the deployments' pre-traffic hook against the built function, print its"
        " verdict and exit (1 when it fails), as CodeDeploy would before shifting traffic",
    )
    args = parser.parse_args(argv)
    parameters = local_parameters(dict(item.split("=", 1) for item in args.parameter))
    drift_window_s = args.drift_window_seconds or 60.0 * float(
        parameters.get("DriftWindowMinutes", parameter_default("DriftWindowMinutes"))
    )
    sagemaker = SageMakerRuntime.default()
    for item in args.sagemaker_fault:
        endpoint, _, fault = item.partition("=")
        sagemaker.inject(endpoint, Fault(fault))
    bedrock = BedrockRuntime()
    for item in args.bedrock_fault:
        model_id, _, fault = item.partition("=")
        bedrock.inject(model_id, BedrockFault(fault))
    args.state_dir.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(
        args.state_dir,
        args.build_dir,
        port=args.port,
        host=args.host,
        parameters=parameters,
        runtime_dir=args.runtime_dir,
        max_concurrency=args.max_concurrency,
        sagemaker=sagemaker,
        bedrock=bedrock,
        drift_window_s=drift_window_s,
        canary_seconds=args.canary_seconds,
    )
    if args.pre_traffic:
        return pre_traffic(emulator)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    emulator.start()
    print(banner(emulator, args.state_dir), flush=True)
    stopping.wait()
    print("stopping: delivering pending log lines…", flush=True)
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
