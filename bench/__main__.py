"""`make bench`: every benchmark, a readable table, and the figures as JSON.

Each figure is the median of repeated runs after warm-up, measured side by side with
its floor in the same run; absolute times are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench import cold_start, handler, log_processor, monitoring, package


def main() -> None:
    out = Path(os.environ.get("BENCH_OUT") or ".bench/results.json")
    results: dict[str, float] = {}
    results.update(handler.run())
    results.update(cold_start.run())
    results.update(log_processor.run())
    results.update(package.run())
    results.update(monitoring.run())
    emf_share = results["emf_bytes_per_10k_lines"] / results["input_bytes_per_10k_lines"]
    rows = [
        ("warm request, 1 row: handler / bare", "handler_overhead_ratio_b1", "target <= 3.0"),
        ("  traced (sampled, sent to a daemon)", "handler_overhead_ratio_traced_b1", ""),
        (
            "  handler µs / traced µs / bare µs",
            None,
            f"{results['handler_us_b1']} / {results['handler_traced_us_b1']}"
            f" / {results['bare_us_b1']}",
        ),
        ("warm request, 32 rows: handler / bare", "handler_overhead_ratio_b32", "target <= 1.5"),
        ("  traced (sampled, sent to a daemon)", "handler_overhead_ratio_traced_b32", ""),
        (
            "  handler µs / traced µs / bare µs",
            None,
            f"{results['handler_us_b32']} / {results['handler_traced_us_b32']}"
            f" / {results['bare_us_b32']}",
        ),
        ("cold start: function / floor", "cold_start_floor_ratio", "target <= 1.5"),
        ("cold start: function / hello Powertools", "cold_start_ratio", "reported"),
        (
            "  ms: function / floor / hello / bare Python",
            None,
            f"{results['cold_start_ms']} / {results['cold_start_floor_ms']}"
            f" / {results['hello_cold_start_ms']} / {results['bare_python_start_ms']}",
        ),
        ("cold start with a 100 MB model (file://), ms", "cold_start_100mb_model_ms", "reported"),
        ("  of which the 100 MB model, ms", "cold_start_100mb_model_extra_ms", ""),
        ("log processor, 10,000 lines / floor", "log_processor_ratio", "target <= 1.5"),
        (
            "  ms: processor / floor",
            None,
            f"{results['log_processor_ms']} / {results['log_processor_floor_ms']}",
        ),
        ("EMF bytes / input bytes", None, f"{emf_share:.3%} (target < 1%)"),
        ("package MB, inference (arm64, unzipped)", "package_mb_inference", "target <= 120"),
        ("package MB, log processor", "package_mb_log_processor", "target <= 15"),
        ("log bytes per request", "log_bytes_per_request", ""),
        (
            "  access log / inference / log processor",
            None,
            f"{results['access_log_bytes_per_request']} / {results['inference_bytes_per_request']}"
            f" / {results['log_processor_bytes_per_request']}",
        ),
        ("monitoring USD per million requests", "monitoring_usd_per_million", "target <= 0.50"),
        (
            "  share of API Gateway's $3.50 per million",
            None,
            f"{results['monitoring_share_of_api_bill']:.1%} (target < 15%)",
        ),
        (
            "custom metric series seen / USD a month",
            None,
            f"{results['custom_metric_series']:.0f} / {results['custom_metrics_usd_per_month']}",
        ),
        ("chat: log bytes per request", "chat_log_bytes_per_request", ""),
        (
            "  access log / inference / log processor",
            None,
            f"{results['chat_access_log_bytes_per_request']}"
            f" / {results['chat_inference_bytes_per_request']}"
            f" / {results['chat_log_processor_bytes_per_request']}",
        ),
        ("chat: monitoring USD per million requests", "chat_monitoring_usd_per_million", ""),
        ("emulator requests/s, 8 clients, 10 s", "emulator_rps", "nothing lost"),
    ]
    for label, key, note in rows:
        value = f"{results[key]:.2f}" if key else ""
        print(f"{label:<42} {value:>8}  {note}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
