"""The README's tables of the template: every parameter with its default, every checkov skip."""

from __future__ import annotations

import re

from dev_support.paths import ROOT
from emulator.template import template


def readme_parameters() -> dict[str, str | None]:
    """Parameter -> documented default (None where the row refers elsewhere, e.g. Alarms)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("### Parameters")
    documented: dict[str, str | None] = {}
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if not line.startswith("| `"):
            continue
        names_cell, default_cell = (cell.strip() for cell in line.strip("|").split("|")[:2])
        names = re.findall(r"`([A-Za-z0-9]+)`", names_cell)
        if default_cell == "empty":
            defaults: list[str | None] = [""] * len(names)
        else:
            found = re.findall(r"`([^`]*)`", default_cell)
            defaults = list(found) if len(found) == len(names) else [None] * len(names)
        documented.update(zip(names, defaults, strict=True))
    return documented


def test_the_readme_documents_every_parameter_and_no_other() -> None:
    assert set(readme_parameters()) == set(template()["Parameters"])


def test_documented_defaults_are_the_template_defaults() -> None:
    parameters = template()["Parameters"]

    for name, default in readme_parameters().items():
        if default is not None:
            assert default == str(parameters[name].get("Default", "")), name


def test_the_readme_lists_every_checkov_skip_of_the_template() -> None:
    skips = {
        (skip["id"], name)
        for name, resource in template()["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    readme = (ROOT / "README.md").read_text()

    documented = set(re.findall(r"^\| (CKV_\w+) \([^)]*\) \| `(\w+)` \|", readme, flags=re.M))

    assert documented == skips
