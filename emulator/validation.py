"""Request body validation as API Gateway reports it: its JSON Schema draft 4 messages.

API Gateway validates bodies with a draft 4 validator and puts what failed, in that
validator's wording, in ``$context.error.validationErrorString``: the messages in square
brackets, separated by ", ". Keywords this API's schemas do not use keep jsonschema's own
message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from jsonschema import Draft4Validator, ValidationError


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# JSON types by Python type, most specific first: a bool is an int to Python.
_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _type_name(instance: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(instance, kind)), "null")


def _allowed_types(value: Any) -> list[str]:
    names = value if isinstance(value, list) else [value]
    # "number" admits integers, and says so.
    return sorted({*names, "integer"} if "number" in names else set(names))


MESSAGES: dict[str, Callable[[ValidationError], str]] = {
    "type": lambda e: (
        f"instance type ({_type_name(e.instance)}) does not match any allowed primitive type"
        f" (allowed: {_json(_allowed_types(e.validator_value))})"
    ),
    "enum": lambda e: (
        f"instance value ({_json(e.instance)}) not found in enum"
        f" (possible values: {_json(e.validator_value)})"
    ),
    "minItems": lambda e: (
        f"array is too short: must have at least {e.validator_value} elements"
        f" but instance has {len(e.instance)} elements"
    ),
    "maxItems": lambda e: (
        f"array is too long: must have at most {e.validator_value} elements"
        f" but instance has {len(e.instance)} elements"
    ),
    "minLength": lambda e: (
        f'string "{e.instance}" is too short (length: {len(e.instance)},'
        f" required minimum: {e.validator_value})"
    ),
    "maxLength": lambda e: (
        f'string "{e.instance}" is too long (length: {len(e.instance)},'
        f" maximum allowed: {e.validator_value})"
    ),
    "minimum": lambda e: (
        "numeric instance is lower than the required minimum"
        f" (minimum: {e.validator_value}, found: {e.instance})"
    ),
    "maximum": lambda e: (
        "numeric instance is greater than the required maximum"
        f" (maximum: {e.validator_value}, found: {e.instance})"
    ),
    "additionalProperties": lambda e: (
        "object instance has properties which are not allowed by the schema: "
        + _json(sorted(set(e.instance) - set(e.schema.get("properties", {}))))
    ),
}


def _messages(errors: Iterable[ValidationError]) -> list[str]:
    messages: list[str] = []
    missing_reported: set[tuple[str | int, ...]] = set()
    for error in sorted(errors, key=lambda e: [str(part) for part in e.absolute_path]):
        if error.validator == "required":
            # One message per object, naming every missing property.
            path = tuple(error.absolute_path)
            if path in missing_reported:
                continue
            missing_reported.add(path)
            missing = [name for name in error.validator_value if name not in error.instance]
            messages.append(f"object has missing required properties ({_json(missing)})")
            continue
        render = MESSAGES.get(str(error.validator))
        messages.append(render(error) if render else error.message)
    return messages


def validation_error_string(validator: Draft4Validator, body: bytes) -> str | None:
    """``$context.error.validationErrorString`` for ``body``, or None when it is valid."""
    try:
        document = json.loads(body)
        messages = _messages(validator.iter_errors(document))
    except ValueError as error:
        return f"[Invalid JSON: {error}]"
    except RecursionError:
        return "[request body is nested too deeply to validate]"
    return f"[{', '.join(messages)}]" if messages else None
