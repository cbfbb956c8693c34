"""The template's dashboard over local data: what each widget of monitoring/dashboard.yaml
would show in CloudWatch, computed from the emulator's metrics and access log.

Metric widgets: plain metrics (with CloudWatch's ``"..."`` shorthand), ``SEARCH`` and
metric-math expressions, each at its own or the widget's statistic and period; alarm
widgets: the states the alarm evaluator gives; log widgets: the Logs Insights commands the
dashboard uses (``fields``, ``filter``, ``sort``, ``limit``) over the access log; text
widgets: their markdown.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from dev_support.paths import ROOT

from .alarms import CompositeAlarm, MetricAlarm, State, Transition, evaluate_all
from .metric_data import MetricStore, SeriesKey, search_matches
from .metric_math import Series, Unsupported, Value, evaluate_any
from .template import Resolver

BODY_PATH = ROOT / "monitoring" / "dashboard.yaml"
DEFAULT_STAT = "Average"
DEFAULT_PERIOD_S = 300


def dashboard_body(resolve: Resolver) -> dict[str, Any]:
    """monitoring/dashboard.yaml rendered as CloudFormation would, with ``resolve``'s names."""
    body: dict[str, Any] = json.loads(resolve.value(yaml_parse(BODY_PATH.read_text())))
    return body


@dataclass
class Line:
    label: str
    points: list[tuple[int, float]] = field(default_factory=list)


def _label(key: SeriesKey) -> str:
    _, name, dims = key
    return " ".join(value for _, value in dims) or name


@dataclass
class _Searcher:
    """SEARCH over the store, remembering what the last search matched (its labels)."""

    store: MetricStore
    start_ms: int
    end_ms: int
    matched: list[SeriesKey] = field(default_factory=list)

    def __call__(self, query: str, statistic: str, period_s: int) -> list[Series]:
        self.matched = search_matches(query, self.store.series_keys())
        return [
            self.store.datapoints(key, period_s, statistic, self.start_ms, self.end_ms)
            for key in self.matched
        ]


def _plain_metric(entry: Sequence[Any], previous: Sequence[Any]) -> list[Any]:
    """A metric row, CloudWatch's shorthands expanded: "..." repeats the previous row,
    "." the previous row's item at that place."""
    items = [item for item in entry if not isinstance(item, dict)]
    if items and items[0] == "...":
        return list(previous)
    return [previous[i] if item == "." else item for i, item in enumerate(items)]


def metric_lines(
    properties: Mapping[str, Any], store: MetricStore, start_ms: int, end_ms: int
) -> list[Line]:
    """The lines a metric widget draws."""
    default_stat = str(properties.get("stat", DEFAULT_STAT))
    default_period = int(properties.get("period", DEFAULT_PERIOD_S))
    searcher = _Searcher(store, start_ms, end_ms)
    variables: dict[str, Value] = {}
    lines: list[Line] = []
    previous: list[Any] = []
    for index, entry in enumerate(properties["metrics"]):
        options: Mapping[str, Any] = entry[-1] if isinstance(entry[-1], dict) else {}
        identifier = str(options.get("id", f"m{index}"))
        if "expression" in options:
            searcher.matched = []
            value = evaluate_any(str(options["expression"]), variables, searcher)
            labels = [_label(key) for key in searcher.matched]
        else:
            previous = _plain_metric(entry, previous)
            namespace, name, *pairs = previous
            key = (
                str(namespace),
                str(name),
                tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True))),
            )
            value = store.datapoints(
                key,
                int(options.get("period", default_period)),
                str(options.get("stat", default_stat)),
                start_ms,
                end_ms,
            )
            labels = [str(name)]
        variables[identifier] = value
        if not options.get("visible", True):
            continue
        label = options.get("label")
        if isinstance(value, list):
            names = labels if not label else [f"{label} {each}" for each in labels]
            lines += [Line(n, sorted(s.items())) for n, s in zip(names, value, strict=False)]
        elif isinstance(value, dict):
            shown = label or (labels[0] if labels else identifier)
            lines.append(Line(str(shown), sorted(value.items())))
    return lines


# ------------------------------------------------------------------ log widgets

COMMAND = re.compile(r"^\s*(fields|filter|sort|limit)\s+(.*?)\s*$")
CONDITION = re.compile(r"^(@?\w+)\s*(>=|<=|!=|=|>|<)\s*(\"[^\"]*\"|\S+)$")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}


def _comparable(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def log_rows(query: str, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A Logs Insights query of the commands dashboards use here, over JSON log records
    (``@timestamp`` is the record's ``epochMs``)."""
    rows = [{"@timestamp": record.get("epochMs"), **record} for record in records]
    shown: list[str] | None = None
    for part in query.split("|")[1:]:
        command = COMMAND.match(part)
        if command is None:
            raise Unsupported(f"Logs Insights command {part.strip()!r} is not run locally")
        verb, argument = command.groups()
        if verb == "fields":
            shown = [name.strip() for name in argument.split(",")]
        elif verb == "filter":
            condition = CONDITION.match(argument)
            if condition is None:
                raise Unsupported(f"filter {argument!r} is not run locally")
            name, symbol, raw = condition.groups()
            wanted = _comparable(raw.strip('"'))
            compare = OPERATORS[symbol]
            rows = [r for r in rows if r.get(name) is not None and _safe(compare, r[name], wanted)]
        elif verb == "sort":
            name, _, direction = argument.partition(" ")
            rows.sort(key=lambda r: _comparable(r.get(name)) or 0, reverse=direction == "desc")
        else:
            rows = rows[: int(argument)]
    return [_shown(row, shown) for row in rows]


def _shown(row: Mapping[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """A result row as Logs Insights shows it: the fields asked for, times in UTC."""
    kept = {k: row.get(k) for k in fields} if fields else dict(row)
    stamp = kept.get("@timestamp")
    if isinstance(stamp, int | str) and str(stamp).isdigit():
        moment = datetime.fromtimestamp(int(stamp) / 1000, UTC)
        kept["@timestamp"] = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return kept


def _safe(compare: Callable[[Any, Any], bool], value: Any, wanted: Any) -> bool:
    try:
        return compare(_comparable(value), wanted)
    except TypeError:  # a number against a string: no match, as in Logs Insights
        return False


# ------------------------------------------------------------------ the whole page


def alarm_panel(
    results: Mapping[str, list[Transition] | str],
    alarms: tuple[list[MetricAlarm], list[CompositeAlarm]],
) -> list[dict[str, Any]]:
    """Every alarm of the template: its state now and when it last changed."""
    names = {a.logical_id: a.name for a in alarms[0]} | {c.logical_id: c.name for c in alarms[1]}
    panel: list[dict[str, Any]] = []
    for logical_id, name in names.items():
        result = results[logical_id]
        if isinstance(result, str):
            panel.append({"id": logical_id, "name": name, "state": None, "reason": result})
            continue
        last = result[-1] if result else None
        panel.append(
            {
                "id": logical_id,
                "name": name,
                "state": str(last.state if last else State.INSUFFICIENT_DATA),
                "since_ms": last.at_ms if last else None,
            }
        )
    return panel


def page_data(
    *,
    body: Mapping[str, Any],
    store: MetricStore,
    access_records: Sequence[Mapping[str, Any]],
    alarms: tuple[list[MetricAlarm], list[CompositeAlarm]],
    start_ms: int,
    end_ms: int,
) -> dict[str, Any]:
    """Everything the local dashboard page draws, for the window [start, end)."""
    results = evaluate_all(store, start_ms, end_ms, alarms)
    panel = alarm_panel(results, alarms)
    states = {row["id"]: row for row in panel}
    widgets: list[dict[str, Any]] = []
    for widget in body["widgets"]:
        kind, properties = widget["type"], widget["properties"]
        shown: dict[str, Any] = {key: widget[key] for key in ("type", "x", "y", "width", "height")}
        shown["title"] = properties.get("title", "")
        if kind == "metric":
            lines = metric_lines(properties, store, start_ms, end_ms)
            shown |= {
                "stacked": bool(properties.get("stacked", False)),
                "lines": [{"label": line.label, "points": line.points} for line in lines],
            }
        elif kind == "alarm":
            shown["alarms"] = [states[arn.split(":")[-1]] for arn in properties["alarms"]]
        elif kind == "log":
            shown["rows"] = log_rows(properties["query"], access_records)
        else:
            shown["markdown"] = properties.get("markdown", "")
        widgets.append(shown)
    return {"start_ms": start_ms, "end_ms": end_ms, "widgets": widgets, "alarms": panel}
