"""Both functions read their settings from the template's environment and fail init without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.template import function_environment
from inference.settings import BUNDLED_MODELS_DIR, ConfigurationError
from inference.settings import load_settings as inference_settings
from log_processor.settings import ConfigurationError as LogProcessorConfigurationError
from log_processor.settings import load_settings as log_processor_settings

INFERENCE_ENV = function_environment("InferenceFunction")
LOG_PROCESSOR_ENV = function_environment("LogProcessorFunction")


def test_the_inference_function_reads_what_the_template_sets() -> None:
    settings = inference_settings(INFERENCE_ENV)

    assert settings.service == INFERENCE_ENV["POWERTOOLS_SERVICE_NAME"]
    assert settings.namespace == INFERENCE_ENV["POWERTOOLS_METRICS_NAMESPACE"]
    assert settings.limits.max_batch_rows == int(INFERENCE_ENV["MAX_BATCH_ROWS"])
    assert settings.limits.max_body_bytes == int(INFERENCE_ENV["MAX_BODY_BYTES"])
    assert settings.models_dir == BUNDLED_MODELS_DIR
    assert settings.models_s3_uri == ""


def test_models_in_s3_are_a_setting_the_template_always_gives() -> None:
    environ = {key: value for key, value in INFERENCE_ENV.items() if key != "MODELS_S3_URI"}

    with pytest.raises(ConfigurationError, match=r"MODELS_S3_URI is not set.*template\.yaml"):
        inference_settings(environ)
    uri = "s3://bucket/models/"
    assert inference_settings({**INFERENCE_ENV, "MODELS_S3_URI": uri}).models_s3_uri == uri


def test_environment_overrides() -> None:
    settings = inference_settings(
        {**INFERENCE_ENV, "MAX_BATCH_ROWS": "8", "MAX_BODY_BYTES": "4096", "MODELS_DIR": "/opt/m"}
    )

    assert (settings.limits.max_batch_rows, settings.limits.max_body_bytes) == (8, 4096)
    assert settings.models_dir == Path("/opt/m")


@pytest.mark.parametrize(
    "name",
    ["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "MAX_BATCH_ROWS", "MAX_BODY_BYTES"],
)
def test_a_setting_the_template_gives_fails_init_when_missing(name: str) -> None:
    environ = {key: value for key, value in INFERENCE_ENV.items() if key != name}

    with pytest.raises(ConfigurationError, match=f"{name} is not set.*template.yaml"):
        inference_settings(environ)


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_invalid_limits_fail_at_init(value: str) -> None:
    with pytest.raises(ConfigurationError, match="MAX_BATCH_ROWS must be a positive integer"):
        inference_settings({**INFERENCE_ENV, "MAX_BATCH_ROWS": value})


@pytest.mark.parametrize(
    "name",
    ["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "STAGE_NAME", "LATENCY_SLO_MS"],
)
def test_the_log_processor_fails_init_without_a_setting_the_template_gives(name: str) -> None:
    environ = {key: value for key, value in LOG_PROCESSOR_ENV.items() if key != name}

    with pytest.raises(LogProcessorConfigurationError, match=f"{name} is not set"):
        log_processor_settings(environ)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_the_latency_objective_must_be_a_positive_number(value: str) -> None:
    with pytest.raises(LogProcessorConfigurationError, match="LATENCY_SLO_MS must be"):
        log_processor_settings({**LOG_PROCESSOR_ENV, "LATENCY_SLO_MS": value})


def test_empty_model_and_client_lists_are_settings_not_omissions() -> None:
    settings = log_processor_settings(
        {**LOG_PROCESSOR_ENV, "KNOWN_MODELS": "", "CLIENT_API_KEY_IDS": ""}
    )

    assert settings.known_models == frozenset()
    assert settings.client_api_keys == frozenset()


@pytest.mark.parametrize("value", ["LOUD", "", "3"])
def test_a_log_level_python_does_not_know_fails_init(value: str) -> None:
    with pytest.raises(ConfigurationError, match="POWERTOOLS_LOG_LEVEL"):
        inference_settings({**INFERENCE_ENV, "POWERTOOLS_LOG_LEVEL": value})
    with pytest.raises(LogProcessorConfigurationError, match="POWERTOOLS_LOG_LEVEL"):
        log_processor_settings({**LOG_PROCESSOR_ENV, "POWERTOOLS_LOG_LEVEL": value})
