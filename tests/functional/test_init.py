"""A function whose environment lacks a setting the template gives fails init, saying which."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dev_support.paths import ROOT

FUNCTIONS = {
    "inference.handler": (ROOT / "inference_fn", "POWERTOOLS_METRICS_NAMESPACE"),
    "log_processor.handler": (ROOT / "log_processor_fn", "POWERTOOLS_SERVICE_NAME"),
}


@pytest.mark.parametrize("module", FUNCTIONS)
def test_init_fails_naming_the_missing_variable(module: str) -> None:
    code_dir, missing = FUNCTIONS[module]
    env = {name: value for name, value in os.environ.items() if name != missing}
    env["PYTHONPATH"] = str(code_dir)

    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert done.returncode != 0
    assert f"ConfigurationError: {missing} is not set" in done.stderr
