"""The runtime loop inside a worker process: init once, then invoke many (as Lambda does).

Runs with the function's built artifact on ``sys.path`` and nothing else of the
emulator's: invocations arrive as JSON lines on stdin, results leave on the file
descriptor named by ``EMULATOR_RESULT_FD``; the function's own stdout and stderr
are its logs.
"""

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class Context:
    """The attributes and method of Lambda's context object that handlers use."""

    def __init__(self, request_id: str, deadline: float, function_name: str, memory: int) -> None:
        self.aws_request_id = request_id
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.time()) * 1000), 0)


def main() -> None:
    results = os.fdopen(int(os.environ["EMULATOR_RESULT_FD"]), "w", buffering=1)
    module_name, function_name = sys.argv[1].rsplit(".", 1)
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), function_name)
    init_ms = (time.perf_counter() - started) * 1000
    results.write(json.dumps({"ready": True, "init_ms": init_ms}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        # Lambda sets the trace header of each invocation in the environment.
        if request.get("trace_header"):
            os.environ["_X_AMZN_TRACE_ID"] = request["trace_header"]
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = Context(
            request["request_id"],
            request["deadline"],
            os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
        )
        try:
            outcome: dict[str, Any] = {"ok": True, "result": handler(request["event"], context)}
        except Exception as error:  # reported like Lambda's Unhandled error, not hidden
            traceback.print_exc()
            outcome = {"ok": False, "errorType": type(error).__name__, "errorMessage": str(error)}
        sys.stdout.flush()
        sys.stderr.flush()
        results.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    main()
