"""Where a model answers: in the function (ONNX Runtime) or behind it (a SageMaker endpoint,
a Bedrock chat model).

Every tensor backend takes the request's validated tensors and returns the model's declared
outputs, with the time the model (or the call to it) took: the handler, the metrics and the
protocol code are the same whichever answers. A chat backend takes a conversation and
returns the reply with its token counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Prediction:
    outputs: dict[str, np.ndarray]
    # Inside ONNX Runtime, or the backend call's round trip: ModelLatency.
    latency_ms: float


class Backend(Protocol):
    def predict(self, feeds: Mapping[str, np.ndarray]) -> Prediction: ...


@dataclass(frozen=True)
class ChatTurn:
    """One turn of a conversation: consecutive messages of one role, merged."""

    role: str  # "user" or "assistant"
    texts: tuple[str, ...]


@dataclass(frozen=True)
class ChatRequest:
    """A conversation and its generation settings, whatever protocol it came in."""

    system: tuple[str, ...]
    turns: tuple[ChatTurn, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatResult:
    text: str
    # The backend's own reason (Converse's stopReason), mapped by the protocol that answers.
    stop_reason: str
    input_tokens: int
    output_tokens: int
    # The backend call's round trip: ModelLatency.
    latency_ms: float


@runtime_checkable
class ChatBackend(Protocol):
    def chat(self, request: ChatRequest) -> ChatResult: ...
