"""samconfig.toml: a dev and a production environment, safe settings in production."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

from dev_support.paths import ROOT
from emulator.template import template


def samconfig() -> dict[str, Any]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text())


def overrides(environment: str) -> dict[str, str]:
    raw = samconfig()[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in shlex.split(raw))


def test_production_keeps_payloads_out_of_logs_and_keeps_logs_longer() -> None:
    prod, dev = overrides("prod"), overrides("default")

    assert prod["LoggingLevel"] == "ERROR"
    assert prod["DataTraceEnabled"] == "false"
    assert int(prod["LogRetentionInDays"]) > int(dev["LogRetentionInDays"])
    assert samconfig()["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    # A log storm must not starve production's other functions; dev keeps the default (none).
    assert int(prod["LogProcessorReservedConcurrency"]) > 0
    assert "LogProcessorReservedConcurrency" not in dev


def test_environments_have_their_own_stacks_and_stages() -> None:
    config = samconfig()

    stacks = {env: config[env]["global"]["parameters"]["stack_name"] for env in ("default", "prod")}
    assert len(set(stacks.values())) == 2
    assert overrides("default")["StageName"] != overrides("prod")["StageName"]


def test_overrides_name_real_parameters_with_allowed_values() -> None:
    parameters = template()["Parameters"]

    for environment in ("default", "prod"):
        for name, value in overrides(environment).items():
            assert name in parameters, (environment, name)
            allowed = parameters[name].get("AllowedValues")
            assert allowed is None or value in [str(v) for v in allowed], (environment, name)


def test_build_is_cached_and_parallel_and_validate_lints() -> None:
    for environment in ("default", "prod"):
        config = samconfig()[environment]
        # beta_features: the functions' python-uv build method, without a prompt.
        assert config["build"]["parameters"] == {
            "cached": True,
            "parallel": True,
            "beta_features": True,
        }
        assert config["validate"]["parameters"]["lint"] is True
        assert config["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"
