"""CloudWatch metric math, for the expressions alarms and dashboards use, over local data.

A time series is a mapping from timestamp (epoch ms) to value. As in CloudWatch,
arithmetic and comparisons between two series keep the timestamps both have; with a
number they apply to every point; a comparison is 1 when true and 0 when false.
``IF(condition, a, b)`` takes ``a`` where the condition is non-zero and ``b`` elsewhere;
``SUM``, ``AVG``, ``MIN`` and ``MAX`` of an array of series combine, at each timestamp,
the series that have a value there. A division by zero gives no point. Any other
function is refused with ``Unsupported``: a test fails if the template uses one.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Series = dict[int, float]
Value = Series | float | str | list[Series]
# SEARCH(query, statistic, period): the series of every metric the query matches.
Search = Callable[[str, str, int], list[Series]]

TOKEN = re.compile(
    r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z_]\w*)|'((?:[^'\\]|\\.)*)'|(<=|>=|==|!=|[-+*/(),<>\[\]]))"
)
BINARY: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "<": lambda a, b: float(a < b),
    ">": lambda a, b: float(a > b),
    "<=": lambda a, b: float(a <= b),
    ">=": lambda a, b: float(a >= b),
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
}
COMPARISONS = ("<", ">", "<=", ">=", "==", "!=")
AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "AVG": lambda values: sum(values) / len(values),
    "MIN": min,
    "MAX": max,
}


class Unsupported(ValueError):
    """The expression uses something this evaluator does not reproduce."""


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]  # (kind, text): number, name, string or symbol
    variables: Mapping[str, Value]
    search: Search | None = None
    position: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise Unsupported("the expression ends too early")
        token = self.tokens[self.position]
        if expected is not None and token[1] != expected:
            raise Unsupported(f"expected {expected!r}, found {token[1]!r}")
        self.position += 1
        return token

    def expression(self) -> Value:
        left = self.additive()
        if self.peek() in COMPARISONS:
            symbol = self.take()[1]
            left = combine(BINARY[symbol], left, self.additive())
        return left

    def additive(self) -> Value:
        value = self.term()
        while self.peek() in ("+", "-"):
            symbol = self.take()[1]
            value = combine(BINARY[symbol], value, self.term())
        return value

    def term(self) -> Value:
        value = self.unary()
        while self.peek() in ("*", "/"):
            symbol = self.take()[1]
            value = combine(BINARY[symbol], value, self.unary())
        return value

    def unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            return combine(operator.sub, 0.0, self.unary())
        return self.primary()

    def primary(self) -> Value:
        kind, text = self.take()
        if kind == "number":
            return float(text)
        if kind == "string":
            return text.replace("\\'", "'")
        if text == "(":
            value = self.expression()
            self.take(")")
            return value
        if text == "[":
            items = [self.expression()]
            while self.peek() == ",":
                self.take()
                items.append(self.expression())
            self.take("]")
            return [_series(item) for item in items]
        if kind == "name" and self.peek() == "(":
            return self.call(text)
        if kind == "name":
            if text not in self.variables:
                raise Unsupported(f"{text} names no metric or expression of this query")
            return self.variables[text]
        raise Unsupported(f"unexpected {text!r}")

    def call(self, function: str) -> Value:
        self.take("(")
        arguments = [self.expression()]
        while self.peek() == ",":
            self.take()
            arguments.append(self.expression())
        self.take(")")
        if function == "IF" and len(arguments) == 3:
            return _if(*arguments)
        if function == "SEARCH" and self.search is not None and len(arguments) == 3:
            query, statistic, period = arguments
            if isinstance(query, str) and isinstance(statistic, str) and isinstance(period, float):
                return self.search(query, statistic, int(period))
        if function in AGGREGATES and len(arguments) == 1 and isinstance(arguments[0], list):
            return _across(AGGREGATES[function], arguments[0])
        raise Unsupported(f"{function}() is not evaluated locally")


def _series(value: Value) -> Series:
    if not isinstance(value, dict):
        raise Unsupported("an array holds time series")
    return value


def _apply(function: Callable[[float, float], float], left: float, right: float) -> float | None:
    # Division by zero gives no point: CloudWatch leaves it out, and IF guards the usual case.
    try:
        return function(left, right)
    except ZeroDivisionError:
        return None


def combine(function: Callable[[float, float], float], left: Value, right: Value) -> Value:
    if isinstance(left, list | str) or isinstance(right, list | str):
        raise Unsupported("arithmetic on an array of series or a string")
    if isinstance(left, dict):
        if isinstance(right, dict):
            points = {t: _apply(function, v, right[t]) for t, v in left.items() if t in right}
        else:
            points = {t: _apply(function, v, right) for t, v in left.items()}
    elif isinstance(right, dict):
        points = {t: _apply(function, left, v) for t, v in right.items()}
    else:
        value = _apply(function, left, right)
        if value is None:
            raise Unsupported("division by zero")
        return value
    return {t: v for t, v in points.items() if v is not None}


def _at(value: Value, timestamp: int) -> float | None:
    if isinstance(value, dict):
        return value.get(timestamp)
    if isinstance(value, list | str):
        raise Unsupported("an array or a string where a value is expected")
    return value


def _if(condition: Value, when_true: Value, when_false: Value) -> Value:
    if not isinstance(condition, dict):
        return when_true if _at(condition, 0) else when_false
    result: Series = {}
    for timestamp, flag in condition.items():
        # Only the branch taken is computed: IF(requests > 0, x / requests, 0) never divides by 0.
        value = _at(when_true if flag else when_false, timestamp)
        if value is not None:
            result[timestamp] = value
    return result


def _across(function: Callable[[list[float]], float], series: list[Series]) -> Series:
    timestamps = sorted({t for one in series for t in one})
    return {t: function([one[t] for one in series if t in one]) for t in timestamps}


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expression.rstrip()):
        found = TOKEN.match(expression, position)
        if found is None:
            raise Unsupported(f"cannot read {expression[position:]!r}")
        number, name, string, symbol = found.groups()
        if number is not None:
            tokens.append(("number", number))
        elif name is not None:
            tokens.append(("name", name))
        elif string is not None:
            tokens.append(("string", string))
        else:
            tokens.append(("symbol", symbol))
        position = found.end()
    return tokens


def evaluate_any(
    expression: str, variables: Mapping[str, Value], search: Search | None = None
) -> Series | list[Series]:
    """What ``expression`` computes from ``variables`` (metric ids -> series): one time
    series, or several (a ``SEARCH``, on a dashboard)."""
    parser = _Parser(_tokens(expression), variables, search)
    value = parser.expression()
    if parser.peek() is not None:
        raise Unsupported(f"unexpected {parser.peek()!r}")
    if not isinstance(value, dict | list):
        raise Unsupported("an expression must give time series")
    return value


def evaluate(expression: str, variables: Mapping[str, Value]) -> Series:
    """The one time series an alarm's ``expression`` computes from ``variables``."""
    value = evaluate_any(expression, variables)
    if not isinstance(value, dict):
        raise Unsupported("an alarm's expression must give one time series")
    return value


def supported(expression: str, names: set[str]) -> str | None:
    """Why ``expression`` cannot be evaluated here (None when it can)."""
    try:
        evaluate(expression, {name: {} for name in names})
    except Unsupported as error:
        return str(error)
    return None
