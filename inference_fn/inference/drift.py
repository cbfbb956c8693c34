"""What a request tells about drift, as bin counts: never a feature value or a prediction.

A model's baseline (``metadata.json``'s ``baseline``) holds, for each numeric input
feature, the inner edges of up to 10 quantile bins of its training data (the outer bins
open-ended) and the training share of each bin; and the training share of each predicted
class (classifiers) or prediction bin (regressions). A request's rows are counted into
those bins here; the counts travel in the request's log line (``encode_counts``) and the
drift job sums a window's lines and compares them with the baseline (PSI).

Bin ``i`` of edges ``e`` holds the values ``v`` with ``e[i-1] <= v < e[i]``: bin 0 is
``v < e[0]``, the last bin ``v >= e[-1]``. Values are compared with the edges in their own
float type. Not-a-number values never get here: the protocol refuses NaN and infinities.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Quantile bins per feature and per regression prediction: 9 inner edges at 10 %, ..., 90 %.
BINS = 10
# Shares as the metadata file keeps them.
SHARE_DIGITS = 4
# Significant digits of a regression's prediction edges.
PREDICTION_DIGITS = 4


@dataclass(frozen=True)
class FeatureBaseline:
    """One column of one input tensor: its bin edges and the training share of each bin."""

    input: str
    column: int
    edges: tuple[float, ...]
    shares: tuple[float, ...]


@dataclass(frozen=True)
class PredictionBaseline:
    """The output whose distribution is watched: class shares (``edges`` empty, the output's
    value is the class index) or prediction bins."""

    output: str
    shares: tuple[float, ...]
    edges: tuple[float, ...] = ()

    @property
    def is_classes(self) -> bool:
        return not self.edges


@dataclass(frozen=True)
class _InputPlan:
    """The features of one input tensor, binned together: one comparison of every row's
    columns with an edge matrix (padded with +inf) per request, not one call per feature."""

    input: str
    positions: np.ndarray  # the features' places in the baseline
    columns: np.ndarray
    edges: np.ndarray  # (features, widest) float64
    # The columns are the tensor's, all of them in order: no copy to take them.
    every_column: bool
    # The edges in each float type requests have come in (FP32 ones for an FP32 input).
    typed: dict[np.dtype[Any], np.ndarray] = field(default_factory=dict, compare=False)

    lists: dict[np.dtype[Any], list[list[float]]] = field(default_factory=dict, compare=False)

    def edges_as(self, dtype: np.dtype[Any]) -> np.ndarray:
        edges = self.typed.get(dtype)
        if edges is None:
            edges = self.typed[dtype] = self.edges.astype(dtype)
        return edges

    def typed_lists(self, dtype: np.dtype[Any]) -> list[list[float]]:
        """Each feature's own edges (no padding) as Python floats of their ``dtype`` value."""
        lists = self.lists.get(dtype)
        if lists is None:
            typed = self.edges_as(dtype).tolist()
            lists = self.lists[dtype] = [
                [edge for edge in row if edge != float("inf")] for row in typed
            ]
        return lists


@dataclass(frozen=True)
class Baseline:
    rows: int
    features: tuple[FeatureBaseline, ...]
    prediction: PredictionBaseline | None
    # Bins of the widest feature: the width of a request's count matrix.
    width: int = field(init=False, compare=False, repr=False)
    plans: tuple[_InputPlan, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        widest = max((len(feature.edges) for feature in self.features), default=0)
        by_input: dict[str, list[int]] = {}
        for position, feature in enumerate(self.features):
            by_input.setdefault(feature.input, []).append(position)
        plans = []
        for name, positions in by_input.items():
            edges = np.full((len(positions), widest), np.inf)
            for row, position in enumerate(positions):
                feature_edges = self.features[position].edges
                edges[row, : len(feature_edges)] = feature_edges
            columns = np.array([self.features[p].column for p in positions], dtype=np.intp)
            every = bool(np.array_equal(columns, np.arange(len(columns))))
            plans.append(
                _InputPlan(name, np.array(positions, dtype=np.intp), columns, edges, every)
            )
        object.__setattr__(self, "width", widest + 1)
        object.__setattr__(self, "plans", tuple(plans))


def _comparable(values: np.ndarray) -> np.ndarray:
    """Values in a float type, their own if they have one: edges are compared in it, so an
    edge written as 1.4 is the FP32 value 1.4 to an FP32 feature and a row of 1.4 falls in
    the bin at the edge, as it did in training."""
    return values if values.dtype.kind == "f" else values.astype(np.float64)


def _bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each value's bin: how many edges are at or below it (NaN, below none, in bin 0).
    ``values`` (rows, k) against ``edges`` (k, e) in the values' type, or (rows,) against (e,)."""
    bounds = edges.astype(values.dtype, copy=False)
    # One comparison of every value per edge: with 10 bins at most, faster than one
    # (rows, features, edges) comparison and a count along its last axis.
    bins = np.zeros(values.shape, dtype=np.intp)
    for edge in range(bounds.shape[-1]):
        bins += values >= bounds[..., edge]
    return bins


def bin_counts(values: np.ndarray, edges: Sequence[float]) -> list[int]:
    """How many of ``values`` fall in each of the ``len(edges) + 1`` bins."""
    flat = _comparable(np.asarray(values).reshape(-1))
    indices = _bins(flat, np.asarray(edges, dtype=np.float64))
    return [int(n) for n in np.bincount(indices, minlength=len(edges) + 1)]


def class_counts(values: np.ndarray, classes: int) -> list[int]:
    """How many rows predicted each class index; an index outside the baseline's classes
    is not counted (the baseline cannot say what it should be)."""
    flat = np.asarray(values).reshape(-1).astype(np.int64, copy=False)
    flat = flat[(flat >= 0) & (flat < classes)]
    return [int(n) for n in np.bincount(flat, minlength=classes)]


@dataclass(frozen=True)
class RequestCounts:
    # One row of bin counts per feature (a matrix as wide as the widest feature's bins).
    features: np.ndarray | Sequence[Sequence[int]]
    prediction: Sequence[int] | None


def _feature_counts(baseline: Baseline, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
    width = baseline.width
    counts = np.zeros((len(baseline.features), width), dtype=np.int64)
    for plan in baseline.plans:
        tensor = feeds[plan.input]
        table = tensor.reshape(tensor.shape[0], -1)
        values = _comparable(table if plan.every_column else table[:, plan.columns])
        flat = _bins(values, plan.edges_as(values.dtype)) + np.arange(len(plan.columns)) * width
        totals = np.bincount(flat.reshape(-1), minlength=len(plan.columns) * width)
        counts[plan.positions] = totals.reshape(-1, width)
    return counts


def count_request(
    baseline: Baseline, feeds: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]
) -> RequestCounts:
    """One request's rows in the baseline's bins: per feature, and per class or prediction bin."""
    features = _feature_counts(baseline, feeds)
    prediction = None
    watched = baseline.prediction
    if watched is not None and watched.output in outputs:
        values = outputs[watched.output]
        prediction = (
            class_counts(values, len(watched.shares))
            if watched.is_classes
            else bin_counts(values, watched.edges)
        )
    return RequestCounts(features, prediction)


def _sparse(counts: Sequence[int]) -> str:
    # "3" is one row in bin 3; "3:12" twelve rows. Empty bins are left out.
    return ",".join(str(index) if n == 1 else f"{index}:{n}" for index, n in enumerate(counts) if n)


def _sparse_rows(counts: np.ndarray) -> list[str]:
    """``_sparse`` of each row of a count matrix."""
    return [_sparse(row) for row in counts.tolist()]


def encode_counts(counts: RequestCounts) -> str:
    """The counts as the log line carries them: features separated by ``|``, then ``/`` and
    the prediction's bins; each part lists its non-empty bins as ``bin`` (one row) or
    ``bin:rows``. One iris row: ``"2|6|1|9/0"``."""
    features = counts.features
    if isinstance(features, np.ndarray):
        text = "|".join(_sparse_rows(features))
    else:
        text = "|".join(_sparse(feature) for feature in features)
    if counts.prediction is not None:
        text += "/" + _sparse(counts.prediction)
    return text


def _one_row(
    baseline: Baseline, feeds: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]
) -> str:
    """``encode_counts(count_request(...))`` for a request of one row, in plain Python: for
    one row, numpy's fixed cost per call would be most of the work."""
    parts: list[str] = [""] * len(baseline.features)
    for plan in baseline.plans:
        tensor = feeds[plan.input]
        table = _comparable(tensor.reshape(tensor.shape[0], -1))
        # Python floats of the values and of the edges in the values' type: compared as
        # doubles, they order as they do in that type.
        (row,) = table.tolist()
        edges = plan.typed_lists(table.dtype)
        for position, column, feature_edges in zip(
            plan.positions.tolist(), plan.columns.tolist(), edges, strict=True
        ):
            parts[position] = str(bisect_right(feature_edges, row[column]))
    text = "|".join(parts)
    watched = baseline.prediction
    if watched is not None and watched.output in outputs:
        (value,) = np.asarray(outputs[watched.output]).reshape(-1).tolist()
        if watched.is_classes:
            text += "/" + (str(value) if 0 <= value < len(watched.shares) else "")
        else:
            predicted = _comparable(np.asarray(outputs[watched.output]).reshape(-1))
            bounds = np.asarray(watched.edges, dtype=predicted.dtype).tolist()
            text += "/" + str(bisect_right(bounds, predicted.tolist()[0]))
    return text


def encode_request(
    baseline: Baseline, feeds: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]
) -> str:
    """What an infer request writes as ``drift``: its rows' bin counts, encoded."""
    rows = next(iter(feeds.values())).shape[0] if feeds else 0
    if rows == 1:
        return _one_row(baseline, feeds, outputs)
    return encode_counts(count_request(baseline, feeds, outputs))


def encode_baseline(baseline: Baseline) -> dict[str, object]:
    """The shares the drift job compares a window with, as a log line carries them."""
    document: dict[str, object] = {"features": [list(f.shares) for f in baseline.features]}
    if baseline.prediction is not None:
        document["prediction"] = list(baseline.prediction.shares)
    return document


def quantile_edges(
    values: np.ndarray, bins: int = BINS, significant: int | None = None
) -> list[float]:
    """Inner edges of ``bins`` quantile bins of ``values``; repeated quantiles (a feature
    with few distinct values) are merged, so a bin is never empty by construction.
    ``significant`` rounds them (a regression's predictions, which move in the last digits
    with the BLAS kernel that trained the model)."""
    flat = _comparable(np.asarray(values).reshape(-1))
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return []
    # Quantiles that are values of the sample ("higher"), not between two of them: a feature
    # of a few distinct values gets one bin per value, none empty between them.
    quantiles = np.quantile(flat.astype(np.float64), np.arange(1, bins) / bins, method="higher")
    # Each edge written as the shortest decimal that is the same value in the sample's type
    # (1.4, not 1.399999976 for FP32): readable, and a row equal to it falls in its bin.
    kind = flat.dtype.type
    edges = sorted(
        {
            float(f"{edge:.{significant}g}")
            if significant
            else float(np.format_float_positional(kind(edge), unique=True, trim="-"))
            for edge in quantiles
        }
    )
    # An edge at the minimum would leave bin 0 empty: it holds values below every training one.
    lowest = flat.min()
    return [edge for edge in edges if flat.dtype.type(edge) > lowest]


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [round(n / total, SHARE_DIGITS) if total else 0.0 for n in counts]


def compute_baseline(
    features: Mapping[str, np.ndarray],
    prediction_output: str | None,
    predictions: np.ndarray | None,
    classes: int | None,
) -> dict[str, object]:
    """The ``baseline`` of ``metadata.json`` from a sample: ``features`` maps each numeric
    input to its rows (2-D: one feature a column), ``predictions`` are the model's on those
    rows; ``classes`` is the number of classes of a classifier (None: a regression)."""
    rows = 0
    described: list[dict[str, object]] = []
    for name, tensor in features.items():
        table = np.asarray(tensor)
        table = table.reshape(table.shape[0], -1)
        rows = max(rows, table.shape[0])
        for column in range(table.shape[1]):
            edges = quantile_edges(table[:, column])
            described.append(
                {
                    "input": name,
                    "column": column,
                    "edges": edges,
                    "shares": _shares(bin_counts(table[:, column], edges)),
                }
            )
    baseline: dict[str, object] = {"rows": rows, "features": described}
    if prediction_output is not None and predictions is not None:
        if classes is not None:
            baseline["prediction"] = {
                "output": prediction_output,
                "shares": _shares(class_counts(predictions, classes)),
            }
        else:
            edges = quantile_edges(predictions, significant=PREDICTION_DIGITS)
            baseline["prediction"] = {
                "output": prediction_output,
                "edges": edges,
                "shares": _shares(bin_counts(predictions, edges)),
            }
    return baseline
