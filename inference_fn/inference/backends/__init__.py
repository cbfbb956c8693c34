"""Where a model answers: in the function (ONNX Runtime) or behind it (a SageMaker endpoint).

Every backend takes the request's validated tensors and returns the model's declared
outputs, with the time the model (or the call to it) took: the handler, the metrics and
the protocol code are the same whichever answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Prediction:
    outputs: dict[str, np.ndarray]
    # Inside ONNX Runtime, or the backend call's round trip: ModelLatency.
    latency_ms: float


class Backend(Protocol):
    def predict(self, feeds: Mapping[str, np.ndarray]) -> Prediction: ...
