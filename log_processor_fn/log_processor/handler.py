"""Lambda entry point: decode the CloudWatch Logs subscription payload, print EMF."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from .batch import Malformed, process_batch
from .settings import load_settings

SETTINGS = load_settings()
# A storm of bad lines must not become a storm of warnings: lines and fields together.
MAX_WARNINGS_PER_BATCH = 20

logger = Logger()
# Lambda passes lines at INFO and above (EMF lines carry no level) and Powertools follows
# Lambda's level over its own: the handler applies LogLevel, so WARN and ERROR take effect.
logger.registered_handler.setLevel(SETTINGS.log_level)
# No Powertools Tracer: Lambda's active tracing records each invocation's segment, and the
# processor calls no other service, so a subsegment would only repeat that segment.


def _warn(message: str, found: Malformed) -> None:
    logger.warning(
        message,
        extra={
            "log_event_id": found.log_event_id,
            "reason": found.reason,
            "excerpt": found.excerpt,
        },
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    payload = CloudWatchLogsEvent(event).parse_logs_data()
    if payload.message_type == "CONTROL_MESSAGE":
        return {"lines": 0, "valid": 0, "malformed": 0, "malformed_fields": 0, "duplicates": 0}
    result = process_batch(payload.raw_event["logEvents"], SETTINGS, int(time.time() * 1000))
    lines = result.malformed[:MAX_WARNINGS_PER_BATCH]
    fields = result.malformed_fields[: MAX_WARNINGS_PER_BATCH - len(lines)]
    for line in lines:
        _warn("malformed access-log line", line)
    for found in fields:
        _warn("malformed access-log field", found)
    not_shown = len(result.malformed) + len(result.malformed_fields) - len(lines) - len(fields)
    if not_shown:
        logger.warning("more malformed access-log lines or fields", extra={"not_shown": not_shown})
    # EMF goes to stdout, one document per line: CloudWatch Logs extracts the metrics.
    print("\n".join(json.dumps(doc, separators=(",", ":")) for doc in result.documents))
    return {
        "lines": result.lines,
        "valid": result.valid,
        "malformed": len(result.malformed),
        "malformed_fields": len(result.malformed_fields),
        "duplicates": result.duplicates,
    }
