"""The functions run with the environment template.yaml gives them; datagrams stay on loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

from emulator.template import function_environment

# Set before any test imports the function code, which reads it at import (as on Lambda).
os.environ.update(function_environment("InferenceFunction"))
os.environ.update(function_environment("LogProcessorFunction"))
# Powertools' documented test setting (the inference function's X-Ray provider reads it);
# tests/functional/test_tracing.py turns tracing on against a daemon of its own.
os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
# botocore never asks an instance metadata service for credentials or a region: a test whose
# client lacks them fails at once instead of trying a link-local address.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

# pytest-socket (--allow-hosts in pyproject.toml) guards connect() only: a UDP datagram
# needs none. Datagrams, X-Ray segments among them, may go to loopback and nowhere else.
_sendto = socket.socket.sendto


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it could resolve anywhere
        return False


def _loopback_sendto(sock: socket.socket, data: Any, *args: Any) -> int:
    host = str(args[-1][0] if isinstance(args[-1], tuple) else args[-1])
    if not _is_loopback(host):
        raise RuntimeError(f"a test tried to send a datagram to {host}: loopback only")
    sent: int = _sendto(sock, data, *args)
    return sent


socket.socket.sendto = _loopback_sendto  # type: ignore[assignment,method-assign]
