"""The embedded metric format (EMF) specification's structure, as a JSON schema.

Transcribed from CloudWatch's "Specification: Embedded metric format"; the tests
validate every document our functions print against it.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator

EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"type": "string"},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
_VALIDATOR = Draft7Validator(EMF_SCHEMA)
MAX_VALUES = 100


def emf_errors(document: dict[str, Any]) -> list[str]:
    """Schema violations, plus the rules the schema cannot say: every dimension and
    metric named in the metadata is a root member, and no metric holds over 100 values."""
    errors = [error.message for error in _VALIDATOR.iter_errors(document)]
    for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
        for dimension in {d for dims in directive["Dimensions"] for d in dims}:
            if not isinstance(document.get(dimension), str):
                errors.append(f"dimension {dimension} is not a string member")
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            values = value.get("Values") if isinstance(value, dict) else value
            if isinstance(values, list) and len(values) > MAX_VALUES:
                errors.append(f"{metric['Name']} has {len(values)} values")
            if value is None:
                errors.append(f"metric {metric['Name']} has no value")
    return errors
