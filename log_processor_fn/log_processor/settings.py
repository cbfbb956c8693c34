"""Configuration read once, at init, from the environment the template sets.

Every value has one default, the template parameter's: a variable the template sets
but the environment lacks fails init with its name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .access_log import FieldMap, field_map


class ConfigurationError(ValueError):
    """The function's environment is missing or holds an invalid setting."""


# The OpenAI-compatible chat route: completions take seconds, and have their own objective.
CHAT_ROUTE = "POST /v1/chat/completions"


@dataclass(frozen=True)
class Settings:
    namespace: str
    service: str
    # LogLevel, applied by the function itself (Lambda's own filter stays at INFO).
    log_level: str
    default_stage: str
    known_models: frozenset[str]
    client_api_keys: frozenset[str]
    fields: FieldMap
    # Requests slower than this (responseLatency, ms) count as SlowRequests...
    latency_objective_ms: float
    # ...except chat completions, which have their own objective (ChatLatencySloThresholdMs).
    chat_latency_objective_ms: float = 10_000.0
    # Keys whose requests no access-log metric counts: the stack's canary's.
    excluded_api_keys: frozenset[str] = frozenset()

    def objective_ms(self, route: str) -> float:
        """The latency objective of ``route`` (``METHOD /resource``)."""
        return self.chat_latency_objective_ms if route == CHAT_ROUTE else self.latency_objective_ms


def _names(raw: str) -> frozenset[str]:
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"{name} is not set: the function's environment comes from template.yaml"
            " (sam deploy, sam local and the emulator set it); set it to run the handler"
            " elsewhere"
        )
    return value


def _log_level(environ: Mapping[str, str], name: str) -> str:
    level = required(environ, name).upper()
    if not isinstance(logging.getLevelNamesMapping().get(level), int):
        raise ConfigurationError(f"{name} must be a log level such as INFO or WARN, got {level!r}")
    return level


def _positive_number(environ: Mapping[str, str], name: str) -> float:
    raw = required(environ, name)
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ConfigurationError(f"{name} must be a positive number, got {raw!r}")
    return value


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    return Settings(
        namespace=required(environ, "POWERTOOLS_METRICS_NAMESPACE"),
        service=required(environ, "POWERTOOLS_SERVICE_NAME"),
        log_level=_log_level(environ, "POWERTOOLS_LOG_LEVEL"),
        default_stage=required(environ, "STAGE_NAME"),
        # Empty lists are meaningful: no model names known, no per-client metrics.
        known_models=_names(environ.get("KNOWN_MODELS", "")),
        client_api_keys=_names(environ.get("CLIENT_API_KEY_IDS", "")),
        fields=field_map(environ.get("ACCESS_LOG_FORMAT")),
        latency_objective_ms=_positive_number(environ, "LATENCY_SLO_MS"),
        chat_latency_objective_ms=_positive_number(environ, "CHAT_LATENCY_SLO_MS"),
        excluded_api_keys=_names(environ.get("EXCLUDED_API_KEY_IDS", "")),
    )
