"""`make test` gives the same verdict on any later day: once its pinned packages are
installed, nothing it runs asks a registry or an online service what is true today.

Read from the recipes `make test` would run (`make --dry-run --always-make test`), so a
target added to it later is checked too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from functools import cache
from pathlib import Path

import pytest

from dev_support.paths import ROOT
from tests.package.pins import normalized, requirement_lines
from tests.support import run_ok

# What a step asks the network about today: advisories, or the latest releases.
TODAYS_ANSWERS = [
    pytest.param(r"audit", "audits read today's advisory feeds (make audit)", id="audit"),
    pytest.param(
        r"--upgrade\b|(^|\s)-U(\s|$)", "an upgrade installs what is latest today", id="upgrade"
    ),
    pytest.param(
        r"\buv\s+(lock|sync)\b|\bpip\s+compile\b",
        "re-resolving reads today's releases (make lock)",
        id="resolve",
    ),
    pytest.param(
        r"\bpip\s+(index|download|search)\b", "asks a registry what it has today", id="query"
    ),
    pytest.param(r"\b(curl|wget)\b|https?://", "fetches from the network", id="fetch"),
]
PINNED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+( ; .+)?")
INSTALLERS = re.compile(r"\b(pip|uv pip) install\b")


def make(*arguments: str) -> str:
    """make's output in this repository, with none of the caller's make or tool settings."""
    executable = shutil.which("make")
    assert executable, "make is not on PATH"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT))}
    return run_ok([executable, "--no-print-directory", *arguments], env=env, timeout=60)


@cache
def make_test_recipes() -> tuple[str, ...]:
    """Every command `make test` runs from scratch, continuation lines joined."""
    text = make("--dry-run", "--always-make", "PYTHON=python3.13", "test")
    return tuple(line for line in text.replace("\\\n", " ").splitlines() if line.strip())


def installs() -> list[list[str]]:
    return [shlex.split(line) for line in make_test_recipes() if INSTALLERS.search(line)]


def installed_lists() -> set[str]:
    return {words[i + 1] for words in installs() for i, word in enumerate(words) if word == "-r"}


def pins(path: Path) -> dict[str, str]:
    """name -> version of each ``name==version`` line (its extras and markers left out)."""
    found = {}
    for line in requirement_lines(path.read_text()):
        if "==" in line and not line.startswith("-"):
            name, version = line.split(";")[0].strip().split("==")
            found[normalized(name.split("[")[0])] = version
    return found


def test_make_test_is_read_from_its_recipes() -> None:
    commands = " ".join(make_test_recipes())

    for step in ("ruff check", "mypy", "sam validate", "checkov", "sam build", "pytest"):
        assert step in commands


@pytest.mark.parametrize(("pattern", "why"), TODAYS_ANSWERS)
def test_make_test_runs_nothing_that_asks_what_is_true_today(pattern: str, why: str) -> None:
    offending = [line for line in make_test_recipes() if re.search(pattern, line)]

    assert not offending, f"{why}: {offending}"


def test_checkov_runs_without_downloading_its_policies() -> None:
    checkov = [line for line in make_test_recipes() if re.search(r"bin/checkov\s", line)]

    assert checkov
    assert all("--skip-download" in line for line in checkov)


def test_every_install_takes_exactly_a_requirements_list() -> None:
    for words in installs():
        # --no-deps: a dependency the list lacks is not looked up as "latest" either.
        assert "--no-deps" in words, words
        start = words.index("install") + 1
        options_with_values = {"-r", "--python", "--target"}
        loose = [
            word
            for previous, word in zip(words[start - 1 :], words[start:], strict=False)
            if not word.startswith("-") and previous not in options_with_values
        ]
        assert not loose, f"installs packages by name, not from a pinned list: {words}"
    assert {"requirements-dev.txt", "requirements-scan.txt"} <= installed_lists()


def test_every_installed_list_pins_every_package() -> None:
    for name in sorted(installed_lists()):
        lines = requirement_lines((ROOT / name).read_text())

        assert lines, name
        unpinned = [line for line in lines if not PINNED.fullmatch(line.strip())]
        assert not unpinned, f"{name}: not name==version: {unpinned}"


@pytest.mark.parametrize("compiled", ["requirements-dev.txt", "requirements-scan.txt"])
def test_compiled_lists_hold_every_pin_of_their_source(compiled: str) -> None:
    source = ROOT / compiled.replace(".txt", ".in")
    included = re.findall(r"^-r\s+(\S+)", source.read_text(), flags=re.MULTILINE)
    wanted = pins(source)
    for name in included:
        wanted |= pins(source.parent / name)
    locked = pins(ROOT / compiled)

    behind = {name: version for name, version in wanted.items() if locked.get(name) != version}
    assert wanted
    assert not behind, f"{compiled} is behind {source.name}: run `make lock`"
