"""`make openapi`: the API as plain OpenAPI 3.0 that standard tools read, for each AuthMode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from emulator.openapi import AUTH_MODES, main
from tests.template.conftest import AUTH_MODES as TEMPLATE_AUTH_MODES

SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "API_KEY": [{"api_key": []}],
    "IAM": [{"sigv4": []}],
    "NONE": [],
}


def written(tmp_path: Path, auth_mode: str) -> dict[str, Any]:
    out = tmp_path / "openapi.json"
    assert main(["--auth-mode", auth_mode, "--out", str(out)]) == 0
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def test_every_auth_mode_of_the_template_has_a_document() -> None:
    assert set(AUTH_MODES) == set(TEMPLATE_AUTH_MODES)


@pytest.mark.parametrize("auth_mode", AUTH_MODES)
def test_the_document_is_valid_openapi_without_intrinsics(tmp_path: Path, auth_mode: str) -> None:
    document = written(tmp_path, auth_mode)

    validate(document)
    text = json.dumps(document)
    assert "Fn::" not in text
    assert "x-amazon-apigateway" not in text


@pytest.mark.parametrize("auth_mode", AUTH_MODES)
def test_security_is_the_modes_and_health_stays_open(tmp_path: Path, auth_mode: str) -> None:
    document = written(tmp_path, auth_mode)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            expected = [] if path.startswith("/v2/health/") else SECURITY[auth_mode]
            assert operation["security"] == expected, (method, path)
    schemes = document["components"].get("securitySchemes", {})
    assert set(schemes) == {name for requirement in SECURITY[auth_mode] for name in requirement}


def test_the_key_is_a_header_and_the_stage_is_the_base_path(tmp_path: Path) -> None:
    document = written(tmp_path, "API_KEY")

    assert document["components"]["securitySchemes"]["api_key"] == {
        "type": "apiKey",
        "name": "x-api-key",
        "in": "header",
    }
    assert [server["url"] for server in document["servers"]] == [
        "https://{restApiId}.execute-api.{region}.amazonaws.com/prod",
        "http://127.0.0.1:3000/prod",
    ]
