"""Where the project's files and builds are, declared once for Python.

The Makefile declares the build folders once for make; a test checks the two agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "template.yaml"
OPENAPI_PATH = ROOT / "api" / "openapi.yaml"
EVENTS_DIR = ROOT / "events"
MODELS_DIR = ROOT / "inference_fn" / "inference" / "models"
# What `make run` serves as ModelsS3Uri unless told otherwise: iris-sagemaker, whose backend
# is the emulator's SageMaker endpoint.
LOCAL_MODELS_DIR = ROOT / "emulator" / "models"
# Where `make run` keeps its state: logs, metrics, failed batches, the local API key.
STATE_DIR = ROOT / ".local"

# `sam build` for Lambda (arm64 unless overridden): what `sam deploy` uploads.
BUILD_DIR = ROOT / ".aws-sam" / "build"
# `sam build` for this machine's architecture: what the emulator and benchmarks run.
HOST_BUILD_DIR = ROOT / ".aws-sam" / "build-host"
# What the Lambda runtime puts on the path after the function's code (boto3 and its
# dependencies, which the packages leave out), installed by `make lambda-runtime`.
LAMBDA_RUNTIME_DIR = (
    ROOT
    / ".aws-sam"
    / "lambda-runtime"
    / f"python{sys.version_info.major}.{sys.version_info.minor}"
)
