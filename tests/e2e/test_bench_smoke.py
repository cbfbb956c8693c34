"""`make bench`'s emulator and package figures: the code runs and reports every key (tiny sizes)."""

from __future__ import annotations

import pytest

from bench import monitoring, package
from dev_support.paths import HOST_BUILD_DIR


def test_monitoring_run_accounts_for_every_request_and_prices_its_bytes() -> None:
    if not HOST_BUILD_DIR.is_dir():
        pytest.skip("the host build is missing")

    results = monitoring.run(requests=60, seconds=0.5, clients=3, chat_requests=30)

    assert results["cost_run_requests"] == 60
    assert results["chat_cost_run_requests"] == 30
    parts = ("access_log", "inference", "log_processor")
    for mix in ("", "chat_"):
        total = sum(results[f"{mix}{part}_bytes_per_request"] for part in parts)
        assert all(results[f"{mix}{part}_bytes_per_request"] > 0 for part in parts)
        assert results[f"{mix}log_bytes_per_request"] == pytest.approx(total, abs=0.2)
        assert results[f"{mix}monitoring_usd_per_million"] == pytest.approx(
            results[f"{mix}log_bytes_per_request"] * 1e6 / 1e9 * 0.50, rel=1e-3
        )
    # A completion's line carries more metrics than an inference's.
    assert results["chat_inference_bytes_per_request"] > results["inference_bytes_per_request"]
    assert results["custom_metric_series"] > 0
    assert results["emulator_rps"] > 0


def test_package_sizes_are_read_from_the_lambda_build() -> None:
    if not package.BUILD.is_dir():
        pytest.skip("the Lambda build is missing")

    results = package.run()

    assert 0 < results["package_mb_log_processor"] < results["package_mb_inference"] < 250
