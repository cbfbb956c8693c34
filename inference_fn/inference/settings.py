"""Configuration read once from the environment the template sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BATCH_ROWS = 256
# Well under Lambda's 6 MB synchronous payload limit; a full digits batch is ~80 KB.
DEFAULT_MAX_BODY_BYTES = 1_048_576
BUNDLED_MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class Limits:
    max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


@dataclass(frozen=True)
class Settings:
    limits: Limits
    models_dir: Path


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    return Settings(
        limits=Limits(
            max_batch_rows=_positive_int(environ, "MAX_BATCH_ROWS", DEFAULT_MAX_BATCH_ROWS),
            max_body_bytes=_positive_int(environ, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        ),
        models_dir=Path(environ.get("MODELS_DIR") or BUNDLED_MODELS_DIR),
    )
