"""Deployment package sizes after `sam build` for Lambda (arm64 by default), unzipped."""

from __future__ import annotations

from pathlib import Path

from dev_support.paths import BUILD_DIR

BUILD = BUILD_DIR
FUNCTIONS = {"inference": "InferenceFunction", "log_processor": "LogProcessorFunction"}


def megabytes(folder: Path) -> float:
    """What Lambda counts against its 250 MB limit: the sum of the files' sizes."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def run(build: Path = BUILD) -> dict[str, float]:
    missing = [name for name in FUNCTIONS.values() if not (build / name).is_dir()]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not built in {build}: run `make build` first")
    return {
        f"package_mb_{key}": round(megabytes(build / name), 1) for key, name in FUNCTIONS.items()
    }
