"""Lambda entry point of the canary: on its schedule, every golden case through the public
API with the canary's own key; CanarySuccess and CanaryLatency per model.

A failed check is the canary doing its job: the run still succeeds, and the metrics and a
warning per failed model say what failed. Only the canary's own faults fail the invocation.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .api_key import ApiKeySource
from .golden import load_cases
from .probe import HttpTransport, run_cases
from .settings import load_settings, required
from .telemetry import logger, record_outcome

SETTINGS = load_settings()
NAMESPACE = required(os.environ, "POWERTOOLS_METRICS_NAMESPACE")
SERVICE = required(os.environ, "POWERTOOLS_SERVICE_NAME")
logger.registered_handler.setLevel(SETTINGS.log_level)
CASES = load_cases()
KEY = ApiKeySource(SETTINGS.api_key_id)
TRANSPORT = HttpTransport(SETTINGS.api_url, KEY.headers, SETTINGS.timeout_s)
# No Powertools Tracer: Lambda's active tracing records each run's segment, and API
# Gateway traces each request the canary sends.


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = run_cases(CASES, TRANSPORT)
    for outcome in outcomes:
        record_outcome(outcome, NAMESPACE, SERVICE)
        if not outcome.passed:
            logger.warning(
                "golden check failed",
                extra={
                    "model": outcome.model,
                    "model_version": outcome.version,
                    "problems": list(outcome.problems),
                },
            )
    if any(outcome.status == HTTPStatus.FORBIDDEN for outcome in outcomes):
        # A regenerated key: read it again on the next run.
        KEY.forget()
    failed = sorted({o.model for o in outcomes if not o.passed})
    return {"checked": len(outcomes), "failed": failed}
