"""`make bench`: every benchmark, a readable table, and the figures as JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench import log_processor


def main() -> None:
    out = Path(os.environ.get("BENCH_OUT") or ".bench/results.json")
    results: dict[str, float] = {}
    results.update(log_processor.run())
    ratio = results["emf_bytes_per_10k_lines"] / results["input_bytes_per_10k_lines"]
    rows = [
        ("log processor, 10,000 lines", f"{results['log_processor_ms']:.1f} ms"),
        ("floor (base64 + gunzip + json.loads)", f"{results['log_processor_floor_ms']:.1f} ms"),
        ("log_processor_ratio (target <= 1.5)", f"{results['log_processor_ratio']:.2f}"),
        ("EMF bytes per 10,000 lines", f"{results['emf_bytes_per_10k_lines']:,}"),
        ("input bytes per 10,000 lines", f"{results['input_bytes_per_10k_lines']:,}"),
        ("EMF / input (target < 1%)", f"{ratio:.3%}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>14}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
