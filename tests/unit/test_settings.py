from __future__ import annotations

from pathlib import Path

import pytest

from inference.settings import (
    BUNDLED_MODELS_DIR,
    DEFAULT_MAX_BATCH_ROWS,
    DEFAULT_MAX_BODY_BYTES,
    load_settings,
)


def test_defaults_when_the_environment_says_nothing() -> None:
    settings = load_settings({})

    assert settings.limits.max_batch_rows == DEFAULT_MAX_BATCH_ROWS
    assert settings.limits.max_body_bytes == DEFAULT_MAX_BODY_BYTES
    assert settings.models_dir == BUNDLED_MODELS_DIR


def test_environment_overrides() -> None:
    settings = load_settings(
        {"MAX_BATCH_ROWS": "8", "MAX_BODY_BYTES": "4096", "MODELS_DIR": "/opt/models"}
    )

    assert (settings.limits.max_batch_rows, settings.limits.max_body_bytes) == (8, 4096)
    assert settings.models_dir == Path("/opt/models")


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_invalid_limits_fail_at_init(value: str) -> None:
    with pytest.raises(ValueError, match="MAX_BATCH_ROWS"):
        load_settings({"MAX_BATCH_ROWS": value})
