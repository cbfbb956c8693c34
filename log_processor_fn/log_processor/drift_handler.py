"""Lambda entry point of the drift job: a scheduled run reads the last closed window of
the inference function's log and prints InputDrift and PredictionDrift as EMF."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from .drift_job import load_drift_settings, run, scheduled_ms

SETTINGS = load_drift_settings()
logger = Logger()
logger.registered_handler.setLevel(SETTINGS.log_level)
LOGS = boto3.client("logs")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    result = run(SETTINGS, LOGS.filter_log_events, scheduled_ms(event, now_ms), now_ms)
    if result.counts.refused:
        logger.warning(
            "drift lines refused: counts the inference function cannot have written, or no"
            " baseline in the window",
            extra={"refused": result.counts.refused, "window_start": result.start_ms},
        )
    if result.documents:
        print("\n".join(json.dumps(doc, separators=(",", ":")) for doc in result.documents))
    return {
        "window_start": result.start_ms,
        "window_end": result.end_ms,
        "lines": result.counts.lines,
        "refused": result.counts.refused,
        "models": sorted({r.model for r in result.results}),
    }
