"""Lambda entry point of the deployments' PreTraffic hook: every golden case against the new
version of the inference function, invoked directly, before any traffic shifts to it.

CodeDeploy calls it with the deployment's and the hook execution's ids and waits for the
verdict: Succeeded lets traffic shift, Failed stops the deployment and leaves the alias on
the old version. Any mismatch fails, and so does anything that keeps the check from running.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from .golden import load_cases
from .probe import Outcome, VersionTransport, run_cases
from .settings import log_level, required
from .telemetry import logger

# The version the deployment shifts traffic to: its ARN, with the version number.
TARGET_VERSION = required(os.environ, "TARGET_FUNCTION_VERSION")
logger.registered_handler.setLevel(log_level(os.environ))
CASES = load_cases()
LAMBDA = boto3.client("lambda")
CODEDEPLOY = boto3.client("codedeploy")
SUCCEEDED, FAILED = "Succeeded", "Failed"


def verdict(outcomes: list[Outcome]) -> str:
    return SUCCEEDED if outcomes and all(o.passed for o in outcomes) else FAILED


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes: list[Outcome] = []
    try:
        outcomes = run_cases(CASES, VersionTransport(TARGET_VERSION, LAMBDA))
    except Exception:
        # Reported, not raised: CodeDeploy would otherwise wait out the hook's timeout.
        logger.exception("the golden checks could not run", extra={"version": TARGET_VERSION})
    status = verdict(outcomes)
    for outcome in outcomes:
        if not outcome.passed:
            logger.error(
                "golden check failed on the new version",
                extra={
                    "version": TARGET_VERSION,
                    "model": outcome.model,
                    "model_version": outcome.version,
                    "problems": list(outcome.problems),
                },
            )
    logger.info(
        "pre-traffic verdict",
        extra={"version": TARGET_VERSION, "status": status, "checked": len(outcomes)},
    )
    CODEDEPLOY.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status, "failed": sorted({o.model for o in outcomes if not o.passed})}
