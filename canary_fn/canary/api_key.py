"""The canary's API key value: read from API Gateway when first needed, kept in memory.

The environment holds the key's id, never its value. The function's role may read that
one key (``apigateway:GET`` on ``/apikeys/<id>``) and nothing else of API Gateway: no
secret to store, rotate or pay for, and the value never reaches a log, a trace or the
function's configuration. A key regenerated under the same id is read again after the API
refuses the one held (``forget``).
"""

from __future__ import annotations

from typing import Any

import boto3


class ApiKeySource:
    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        self._client = client
        self._value: str | None = None

    def value(self) -> str:
        if self._value is None:
            if self._client is None:
                self._client = boto3.client("apigateway")
            answer = self._client.get_api_key(apiKey=self.key_id, includeValue=True)
            self._value = str(answer["value"])
        return self._value

    def forget(self) -> None:
        self._value = None

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.value()} if self.key_id else {}
