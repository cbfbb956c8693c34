"""Configuration read once, at init, from the environment the template sets.

Every value has one default, the template parameter's: a variable the template sets
but the environment lacks fails init with its name, rather than a second default here
quietly disagreeing with the template.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BUNDLED_MODELS_DIR = Path(__file__).resolve().parent / "models"


class ConfigurationError(ValueError):
    """The function's environment is missing or holds an invalid setting."""


@dataclass(frozen=True)
class Limits:
    max_batch_rows: int
    max_body_bytes: int


@dataclass(frozen=True)
class Settings:
    service: str
    namespace: str
    # LogLevel, applied by the function itself (Lambda's own filter stays at INFO).
    log_level: str
    limits: Limits
    models_dir: Path
    # ModelsS3Uri: "" (the package's models only), s3://bucket/prefix/, or file:///path here.
    models_s3_uri: str
    # The Converse client's read timeout: below the function's timeout, itself below the
    # chat route's integration timeout (the template derives all three from one parameter).
    converse_timeout_ms: int = 25_000
    # ClientMetricsApiKeyIds: the API key ids whose tokens get their own ClientTokens series.
    client_api_key_ids: frozenset[str] = frozenset()
    # DriftWindowMinutes, in seconds: each environment writes a model's baseline shares in
    # its first line of each window, for the drift job.
    drift_window_s: float = 3600.0


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"{name} is not set: the function's environment comes from template.yaml"
            " (sam deploy, sam local and the emulator set it); set it to run the handler"
            " elsewhere"
        )
    return value


def present(environ: Mapping[str, str], name: str) -> str:
    """A variable the template always sets, possibly to an empty value."""
    if name not in environ:
        raise ConfigurationError(
            f"{name} is not set: the function's environment comes from template.yaml"
            " (set it, empty if unused, to run the handler elsewhere)"
        )
    return environ[name].strip()


def _log_level(environ: Mapping[str, str], name: str) -> str:
    level = required(environ, name).upper()
    if not isinstance(logging.getLevelNamesMapping().get(level), int):
        raise ConfigurationError(f"{name} must be a log level such as INFO or WARN, got {level!r}")
    return level


def _positive_int(environ: Mapping[str, str], name: str) -> int:
    raw = required(environ, name)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def _positive_minutes(environ: Mapping[str, str], name: str) -> float:
    # Fractions of a minute too: the emulator's short windows (--drift-window-seconds).
    raw = required(environ, name)
    try:
        minutes = float(raw)
    except ValueError:
        minutes = 0.0
    if not 0 < minutes < float("inf"):
        raise ConfigurationError(f"{name} must be a positive number of minutes, got {raw!r}")
    return minutes * 60.0


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    return Settings(
        service=required(environ, "POWERTOOLS_SERVICE_NAME"),
        namespace=required(environ, "POWERTOOLS_METRICS_NAMESPACE"),
        log_level=_log_level(environ, "POWERTOOLS_LOG_LEVEL"),
        limits=Limits(
            max_batch_rows=_positive_int(environ, "MAX_BATCH_ROWS"),
            max_body_bytes=_positive_int(environ, "MAX_BODY_BYTES"),
        ),
        models_dir=Path(environ.get("MODELS_DIR") or BUNDLED_MODELS_DIR),
        models_s3_uri=present(environ, "MODELS_S3_URI"),
        converse_timeout_ms=_positive_int(environ, "CONVERSE_TIMEOUT_MS"),
        client_api_key_ids=frozenset(
            item.strip()
            for item in present(environ, "CLIENT_API_KEY_IDS").split(",")
            if item.strip()
        ),
        drift_window_s=_positive_minutes(environ, "DRIFT_WINDOW_MINUTES"),
    )
