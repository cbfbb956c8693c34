"""Configuration read once from the environment the template sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .access_log import FieldMap, field_map
from .metrics import DEFAULT_NAMESPACE

DEFAULT_LATENCY_SLO_MS = 1000.0


@dataclass(frozen=True)
class Settings:
    namespace: str
    service: str
    default_stage: str
    known_models: frozenset[str]
    client_api_keys: frozenset[str]
    fields: FieldMap
    # Requests slower than this (responseLatency, ms) count as SlowRequests.
    latency_objective_ms: float


def _names(raw: str) -> frozenset[str]:
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    return Settings(
        namespace=environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
        service=environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined",
        default_stage=environ.get("STAGE_NAME") or "unknown",
        known_models=_names(environ.get("KNOWN_MODELS", "")),
        client_api_keys=_names(environ.get("CLIENT_API_KEY_IDS", "")),
        fields=field_map(environ.get("ACCESS_LOG_FORMAT")),
        latency_objective_ms=float(environ.get("LATENCY_SLO_MS") or DEFAULT_LATENCY_SLO_MS),
    )
