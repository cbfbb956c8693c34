"""`make bench`'s code runs and reports every key (tiny sizes: a smoke test, not a benchmark)."""

from __future__ import annotations

from bench import handler, log_processor


def test_handler_benchmark_reports_both_batch_sizes() -> None:
    results = handler.run(rounds=2)

    for rows in (1, 32):
        assert results[f"handler_overhead_ratio_b{rows}"] > 0
        assert results[f"handler_overhead_ratio_traced_b{rows}"] > 0
        assert results[f"handler_us_b{rows}"] > 0
        assert results[f"handler_traced_us_b{rows}"] > 0
        assert results[f"bare_us_b{rows}"] > 0
    assert results["xray_datagrams_dropped"] == 0


def test_log_processor_benchmark_reports_ratio_and_bytes() -> None:
    results = log_processor.run(rounds=1, line_count=200)

    assert results["log_processor_ratio"] > 0
    assert 0 < results["emf_bytes_per_10k_lines"] < results["input_bytes_per_10k_lines"]
