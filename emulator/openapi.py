"""The API as a plain OpenAPI 3.0 document, for standard tools (client generators, Swagger UI,
schemathesis): ``make openapi`` writes it, the emulator serves it at ``/openapi.json``.

api/openapi.yaml is what API Gateway imports: it carries CloudFormation intrinsics (the
security of each operation depends on ``AuthMode``) and API Gateway's extensions. Here
the intrinsics are resolved for one ``AuthMode`` at the template's defaults, API Gateway's
extensions are left out (they say how the API is deployed, not how to call it), only the
security schemes in use are declared, and the stage's base path is the server.

    python -m emulator.openapi [--auth-mode API_KEY|IAM|NONE] [--out PATH]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from dev_support.paths import STATE_DIR

from .template import AppSpec, load_app

AUTH_MODES = ("API_KEY", "IAM", "NONE")
GATEWAY_EXTENSIONS = "x-amazon-apigateway-"
LOCAL_PORT = 3000


def _without_gateway_extensions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _without_gateway_extensions(value)
            for key, value in node.items()
            if not key.startswith(GATEWAY_EXTENSIONS)
        }
    if isinstance(node, list):
        return [_without_gateway_extensions(item) for item in node]
    return copy.copy(node)


def plain_document(app: AppSpec, servers: list[dict[str, Any]]) -> dict[str, Any]:
    """``app``'s API document (its intrinsics already resolved) as plain OpenAPI 3.0."""
    document: dict[str, Any] = _without_gateway_extensions(app.openapi)
    used = {
        scheme
        for item in document["paths"].values()
        for operation in item.values()
        for requirement in operation.get("security", [])
        for scheme in requirement
    }
    components = document.setdefault("components", {})
    schemes = {
        name: scheme
        for name, scheme in components.get("securitySchemes", {}).items()
        if name in used
    }
    if schemes:
        components["securitySchemes"] = schemes
    else:
        components.pop("securitySchemes", None)
    document["servers"] = servers
    return document


def stage_servers(stage: str) -> list[dict[str, Any]]:
    """Where the stage answers: on AWS (the stack output ``ApiUrl``), and under `make run`."""
    return [
        {
            "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/" + stage,
            "description": "the deployed stage (the stack output ApiUrl)",
            "variables": {
                "restApiId": {
                    "default": "REST_API_ID",
                    "description": "the API's id, the host's first label in ApiUrl",
                },
                "region": {"default": "us-east-1"},
            },
        },
        {"url": f"http://127.0.0.1:{LOCAL_PORT}/{stage}", "description": "make run"},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.openapi", description=__doc__)
    parser.add_argument("--auth-mode", choices=AUTH_MODES, default="API_KEY")
    parser.add_argument("--out", type=Path, default=STATE_DIR / "openapi.json")
    args = parser.parse_args(argv)
    app = load_app(parameters={"AuthMode": args.auth_mode})
    document = plain_document(app, stage_servers(app.stage))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{args.out}: OpenAPI {document['openapi']}, AuthMode={args.auth_mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
