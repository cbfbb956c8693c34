"""Reading the pinned requirements files the package tests check."""

from __future__ import annotations

import re

from dev_support.paths import ROOT

RUNTIME_REQUIREMENTS = ROOT / "requirements-lambda-runtime.txt"


def normalized(name: str) -> str:
    """A distribution name in PEP 503's normal form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]


def runtime_pins() -> dict[str, str]:
    """What requirements-lambda-runtime.txt pins: normalized name -> version."""
    pins = {}
    for line in requirement_lines(RUNTIME_REQUIREMENTS.read_text()):
        name, version = line.split("==")
        pins[normalized(name)] = version
    return pins
