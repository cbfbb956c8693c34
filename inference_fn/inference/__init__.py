"""Open Inference Protocol (v2) service over bundled ONNX models."""

import time

__version__ = "0.1.0"

# Python runs this before any other module of the package, so the InitDuration
# metric covers every import and the model loading that follow.
INIT_STARTED_AT = time.perf_counter()
