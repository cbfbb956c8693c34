"""Lambda entry point: decode the CloudWatch Logs subscription payload, print EMF."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from .batch import process_batch
from .settings import load_settings

SETTINGS = load_settings()
# A storm of bad lines must not become a storm of warnings.
MAX_WARNINGS_PER_BATCH = 20

logger = Logger()
# Lambda passes lines at INFO and above (EMF lines carry no level) and Powertools follows
# Lambda's level over its own: the handler applies LogLevel, so WARN and ERROR take effect.
logger.registered_handler.setLevel(SETTINGS.log_level)
# No Powertools Tracer: Lambda's active tracing records each invocation's segment, and the
# processor calls no other service, so a subsegment would only repeat that segment.


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    payload = CloudWatchLogsEvent(event).parse_logs_data()
    if payload.message_type == "CONTROL_MESSAGE":
        return {"lines": 0, "valid": 0, "malformed": 0, "duplicates": 0}
    result = process_batch(payload.raw_event["logEvents"], SETTINGS, int(time.time() * 1000))
    for line in result.malformed[:MAX_WARNINGS_PER_BATCH]:
        logger.warning(
            "malformed access-log line",
            extra={
                "log_event_id": line.log_event_id,
                "reason": line.reason,
                "excerpt": line.excerpt,
            },
        )
    if len(result.malformed) > MAX_WARNINGS_PER_BATCH:
        logger.warning(
            "more malformed access-log lines",
            extra={"not_shown": len(result.malformed) - MAX_WARNINGS_PER_BATCH},
        )
    # EMF goes to stdout, one document per line: CloudWatch Logs extracts the metrics.
    print("\n".join(json.dumps(doc, separators=(",", ":")) for doc in result.documents))
    return {
        "lines": result.lines,
        "valid": result.valid,
        "malformed": len(result.malformed),
        "duplicates": result.duplicates,
    }
