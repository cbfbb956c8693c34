"""Drift over a window: the inference function's bin counts summed, compared with the
models' baselines by the population stability index (PSI).

Each successful infer request of a model with a baseline writes its rows' bin counts in
its log line (``drift``: ``"2|6|1|9/0"``, one part per feature, ``/`` then the
prediction's; see ``inference/drift.py``, which writes them), and an environment's first
line of a window also writes the baseline's shares (``drift_baseline``). Nothing else is
read: no feature value ever leaves the inference function.

PSI of shares ``a`` (the window) against ``e`` (the baseline) is
``sum((a[i] - e[i]) * ln(a[i] / e[i]))``; a share of 0 on either side counts as
``EMPTY_SHARE`` (0.0001), so an empty bin adds a finite term instead of infinity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# What an empty bin's share counts as (both sides), a common choice: small enough that a
# bin empty in the window and in training adds nothing, large enough that a bin training
# never filled adds a large but finite term.
EMPTY_SHARE = 0.0001


def psi(actual: Sequence[float], expected: Sequence[float]) -> float:
    """Population stability index of ``actual`` counts (or shares) against ``expected`` shares."""
    if len(actual) != len(expected):
        raise ValueError(f"{len(actual)} bins against a baseline of {len(expected)}")
    total = sum(actual)
    if total <= 0:
        raise ValueError("no rows to compare")
    index = 0.0
    for count, share in zip(actual, expected, strict=True):
        a = max(count / total, EMPTY_SHARE)
        e = max(share, EMPTY_SHARE)
        index += (a - e) * math.log(a / e)
    return index


class CountsError(ValueError):
    """A ``drift`` value the inference function cannot have written."""


def _part(text: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    if not text:
        return counts
    for item in text.split(","):
        bin_text, _, rows_text = item.partition(":")
        if not bin_text.isdigit() or not (rows_text == "" or rows_text.isdigit()):
            raise CountsError(f"bad bin {item[:20]!r}")
        counts[int(bin_text)] = counts.get(int(bin_text), 0) + (int(rows_text) if rows_text else 1)
    return counts


@dataclass(frozen=True)
class RequestCounts:
    features: tuple[dict[int, int], ...]
    prediction: dict[int, int] | None

    @property
    def rows(self) -> int:
        if self.features:
            return sum(self.features[0].values())
        return sum(self.prediction.values()) if self.prediction else 0


def decode_counts(text: str) -> RequestCounts:
    """The inverse of the inference function's ``encode_counts``."""
    features_text, slash, prediction_text = text.partition("/")
    features = tuple(_part(part) for part in features_text.split("|")) if features_text else ()
    return RequestCounts(features, _part(prediction_text) if slash else None)


@dataclass(frozen=True)
class BaselineShares:
    features: tuple[tuple[float, ...], ...]
    prediction: tuple[float, ...] | None

    @classmethod
    def from_line(cls, raw: Any) -> BaselineShares:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("features"), list):
            raise CountsError("drift_baseline must be an object with a features list")
        features = tuple(_shares(item) for item in raw["features"])
        prediction = _shares(raw["prediction"]) if "prediction" in raw else None
        return cls(features, prediction)


def _shares(raw: Any) -> tuple[float, ...]:
    if not isinstance(raw, list) or not raw or not all(type(v) in (int, float) for v in raw):
        raise CountsError("shares must be a non-empty list of numbers")
    return tuple(float(v) for v in raw)


def _check(into: list[int], counts: Mapping[int, int]) -> None:
    for index in counts:
        if index >= len(into):
            raise CountsError(f"bin {index} beyond the baseline's {len(into)} bins")


def _add(into: list[int], counts: Mapping[int, int]) -> None:
    for index, rows in counts.items():
        into[index] += rows


@dataclass
class ModelWindow:
    """One model version's counts over a window."""

    rows: int = 0
    features: list[list[int]] = field(default_factory=list)
    prediction: list[int] | None = None
    baseline: BaselineShares | None = None
    # Lines counted before the baseline was seen: kept until it is.
    pending: list[RequestCounts] = field(default_factory=list)

    def add(self, counts: RequestCounts) -> None:
        if self.baseline is None:
            self.pending.append(counts)
            return
        if len(counts.features) != len(self.baseline.features):
            raise CountsError(
                f"{len(counts.features)} features against a baseline of"
                f" {len(self.baseline.features)}"
            )
        # Checked whole before any of it is added: a refused line adds nothing.
        for into, feature in zip(self.features, counts.features, strict=True):
            _check(into, feature)
        if self.prediction is not None and counts.prediction is not None:
            _check(self.prediction, counts.prediction)
        for into, feature in zip(self.features, counts.features, strict=True):
            _add(into, feature)
        if self.prediction is not None and counts.prediction is not None:
            _add(self.prediction, counts.prediction)
        self.rows += counts.rows

    def set_baseline(self, baseline: BaselineShares) -> list[RequestCounts]:
        """Adopts the baseline; returns the pending lines for the caller to add."""
        if self.baseline is not None:
            return []
        self.baseline = baseline
        self.features = [[0] * len(shares) for shares in baseline.features]
        self.prediction = None if baseline.prediction is None else [0] * len(baseline.prediction)
        pending, self.pending = self.pending, []
        return pending


@dataclass(frozen=True)
class Drift:
    model: str
    version: str
    rows: int
    # Largest PSI over the features; None below the minimum rows.
    input_drift: float | None
    prediction_drift: float | None
    feature_psi: tuple[float, ...]


@dataclass
class WindowCounts:
    """A window's lines, summed per model version."""

    models: dict[tuple[str, str], ModelWindow] = field(default_factory=dict)
    lines: int = 0
    # Lines whose drift fields the inference function cannot have written, or without a
    # baseline anywhere in the window.
    refused: int = 0

    def add_line(self, document: Mapping[str, Any], counted: bool = True) -> None:
        """One of the inference function's log lines (a parsed EMF document); ``counted``
        False reads only its baseline (a line from before the window)."""
        model, version = document.get("model"), document.get("model_version")
        text = document.get("drift")
        if not isinstance(model, str) or not isinstance(version, str) or not isinstance(text, str):
            return
        window = self.models.setdefault((model, version), ModelWindow())
        try:
            if "drift_baseline" in document:
                for pending in window.set_baseline(
                    BaselineShares.from_line(document["drift_baseline"])
                ):
                    window.add(pending)
            if counted:
                self.lines += 1
                window.add(decode_counts(text))
        except CountsError:
            self.refused += 1

    def drift(self, min_rows: int) -> list[Drift]:
        """Each model version's drift; ``input_drift`` and ``prediction_drift`` are None
        with fewer than ``min_rows`` rows (no value, not zero)."""
        results = []
        for (model, version), window in sorted(self.models.items()):
            if window.baseline is None:
                self.refused += len(window.pending)
                window.pending = []
                continue
            if window.rows == 0:
                continue
            enough = window.rows >= min_rows
            feature_psi = tuple(
                psi(counts, shares)
                for counts, shares in zip(window.features, window.baseline.features, strict=True)
            )
            prediction_drift = None
            predicted = window.prediction is not None and sum(window.prediction) > 0
            if enough and predicted and window.baseline.prediction:
                prediction_drift = psi(window.prediction or [], window.baseline.prediction)
            results.append(
                Drift(
                    model,
                    version,
                    window.rows,
                    max(feature_psi) if enough and feature_psi else None,
                    prediction_drift,
                    feature_psi if enough else (),
                )
            )
        return results


def window_counts(
    documents: Iterable[tuple[int, Mapping[str, Any]]], start_ms: int, end_ms: int
) -> WindowCounts:
    """The window ``[start_ms, end_ms)`` of ``(timestamp_ms, document)`` lines; earlier
    lines give their baselines only."""
    counts = WindowCounts()
    for timestamp, document in documents:
        if timestamp < end_ms:
            counts.add_line(document, counted=timestamp >= start_ms)
    return counts


def window_of(now_ms: int, window_ms: int, grace_ms: int) -> tuple[int, int]:
    """The latest window that closed at least ``grace_ms`` before ``now_ms``: windows are
    aligned on multiples of their length since the epoch."""
    end = (now_ms - grace_ms) // window_ms * window_ms
    return end - window_ms, end
