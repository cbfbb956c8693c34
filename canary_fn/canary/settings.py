"""The canary's configuration, read once at init from the environment the template sets."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigurationError(ValueError):
    """The function's environment is missing or holds an invalid setting."""


@dataclass(frozen=True)
class CanarySettings:
    # The stage's base URL: https://{api}.execute-api.{region}.{suffix}/{stage}
    api_url: str
    # The id (not the value) of the canary's own API key; empty when routes take no key.
    api_key_id: str
    # Seconds one request may take before the case counts as failed.
    timeout_s: float
    log_level: str


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"{name} is not set: the function's environment comes from template.yaml"
            " (sam deploy, sam local and the emulator set it); set it to run the handler"
            " elsewhere"
        )
    return value


def log_level(environ: Mapping[str, str]) -> str:
    level = required(environ, "POWERTOOLS_LOG_LEVEL").upper()
    if not isinstance(logging.getLevelNamesMapping().get(level), int):
        raise ConfigurationError(f"POWERTOOLS_LOG_LEVEL must be a log level, got {level!r}")
    return level


def load_settings(environ: Mapping[str, str] = os.environ) -> CanarySettings:
    api_url = required(environ, "API_URL").rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise ConfigurationError(f"API_URL must be an http(s) URL, got {api_url[:80]!r}")
    raw_timeout = required(environ, "CANARY_TIMEOUT_S")
    try:
        timeout = float(raw_timeout)
    except ValueError:
        timeout = 0.0
    if not timeout > 0:
        raise ConfigurationError(f"CANARY_TIMEOUT_S must be a positive number, got {raw_timeout!r}")
    return CanarySettings(
        api_url=api_url,
        api_key_id=environ.get("CANARY_API_KEY_ID", "").strip(),
        timeout_s=timeout,
        log_level=log_level(environ),
    )
