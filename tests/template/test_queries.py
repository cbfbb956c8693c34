"""Saved Logs Insights queries and Contributor Insights rules read fields that exist."""

from __future__ import annotations

import json
import re

from emulator.template import access_log_format, template
from tests.template.conftest import properties_of

ACCESS_FIELDS = set(
    json.loads(
        access_log_format().replace(
            "$context.error.messageString", '"$context.error.messageString"'
        )
    )
)
# Fields the inference function's lines carry: its EMF line per request and Powertools'
# error lines (see the functional tests).
FUNCTION_FIELDS = {"correlation_id", "level", "message", "model", "error", "status"}
LOGS_INSIGHTS_WORDS = {
    "fields",
    "filter",
    "stats",
    "sort",
    "limit",
    "by",
    "as",
    "desc",
    "asc",
    "count",
    "sum",
    "pct",
    "or",
    "and",
    "parse",
}
# A stats function takes a field (or *), and pct a percentile: what Logs Insights documents.
STATS_CALL = re.compile(r"\b(count|sum|avg|min|max|pct)\(([^)]*)\)")
STATS_ARGUMENT = re.compile(r"^(\*|\w+)(, \d+)?$")


def identifiers(query: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"|/[^/]*/', "", query)
    return {
        word
        for word in re.findall(r"(?<![@\w])[A-Za-z_]\w*", without_strings)
        if word not in LOGS_INSIGHTS_WORDS
    }


def test_saved_queries_cover_the_usual_questions_on_the_right_log_groups() -> None:
    queries = properties_of("AWS::Logs::QueryDefinition")
    groups = {
        name for name, r in template()["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"
    }
    titles = {q["Name"]["Fn::Sub"].split("/", 1)[1] for q in queries.values()}

    assert {
        "slowest requests",
        "errors by type",
        "latency percentiles by route",
        "traffic by API key",
    } <= titles
    assert any(title.startswith("the whole story of one request") for title in titles)
    for name, query in queries.items():
        for group in query["LogGroupNames"]:
            assert group["Ref"] in groups, name
        used = identifiers(query["QueryString"])
        known = ACCESS_FIELDS | (FUNCTION_FIELDS if len(query["LogGroupNames"]) > 1 else set())
        aliases = set(re.findall(r"\bas (\w+)|\(\?<(\w+)>", query["QueryString"]))
        defined = {alias for pair in aliases for alias in pair if alias}
        assert used - defined <= known, (name, used - defined - known)


def test_saved_queries_aggregate_fields_not_expressions() -> None:
    for name, query in properties_of("AWS::Logs::QueryDefinition").items():
        for function, argument in STATS_CALL.findall(query["QueryString"]):
            assert STATS_ARGUMENT.match(argument), (name, f"{function}({argument})")


def test_contributor_insights_rules_count_access_log_fields() -> None:
    rules = {
        name: rule
        for name, rule in properties_of("AWS::CloudWatch::InsightRule").items()
        if "${AccessLogGroup}" in rule["RuleBody"]["Fn::Sub"]
    }

    # (and one over the function's log: tests/template/test_chat_endpoints.py)
    assert len(rules) == 3
    for name, rule in rules.items():
        body = json.loads(rule["RuleBody"]["Fn::Sub"].replace("${AccessLogGroup}", "group"))
        assert body["LogGroupNames"] == ["group"]
        assert body["LogFormat"] == "JSON"
        paths = body["Contribution"]["Keys"] + [f["Match"] for f in body["Contribution"]["Filters"]]
        for path in paths:
            assert path.removeprefix("$.") in ACCESS_FIELDS, (name, path)
