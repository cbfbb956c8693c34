"""Known vulnerabilities in what the functions really deploy: pip-audit on the built folders.

Run with the scanners' venv (``make audit``)::

    .venv-checkov/bin/python tools/audit_packages.py [--strict] .aws-sam/build/InferenceFunction ...

Auditing the built folders instead of the requirements files covers the transitive
dependencies exactly as ``sam build`` resolved them.

The verdict, for each folder:

- a known vulnerability fails the audit, naming the package, its version, the advisory
  and the versions that fix it;
- a package no feed answered for (the feed unreachable, or its version not served) is
  listed as NOT AUDITED with the reason; it fails the audit only with ``--strict``, since
  whether a feed answers today says nothing about the package;
- a folder in which nothing at all was audited fails: that is no evidence either way
  (a wrong folder, or no feed reachable).

pip-audit asks PyPI about each release (``/pypi/<name>/<version>/json``). Where that
page is not served (some mirrors and proxies serve only project pages), a skipped
package is looked up on its project page (``/pypi/<name>/json``), which carries PyPI's
advisories for the project's latest release: a pinned version that is the latest is
audited from there; any other stays NOT AUDITED.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE = "pypi"
FEED = "https://pypi.org/pypi/<name>/<version>/json"
PROJECT_PAGE = "https://pypi.org/pypi/{name}/json"


@dataclass(frozen=True)
class Skipped:
    """A distribution pip-audit could not audit, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    # "name version" of each distribution audited.
    audited: tuple[str, ...]
    # "name version: advisory id (fixed in: versions)".
    vulnerabilities: tuple[str, ...]
    # "name version: reason".
    unaudited: tuple[str, ...] = ()
    # What pip-audit skipped, still to be looked up on the project pages.
    skipped: tuple[Skipped, ...] = ()

    def failures(self, *, strict: bool = False) -> tuple[str, ...]:
        """Why this folder fails the audit; empty when it passes."""
        reasons = []
        if not self.audited:
            reasons.append("nothing audited, which is no evidence either way")
        if self.vulnerabilities:
            reasons.append(f"known vulnerabilities: {len(self.vulnerabilities)}")
        if strict and (self.unaudited or self.skipped):
            count = len(self.unaudited) + len(self.skipped)
            reasons.append(f"not audited (strict): {count}")
        return tuple(reasons)

    def passed(self, *, strict: bool = False) -> bool:
        return not self.failures(strict=strict)


def _advisory(name: str, advisory_id: str, fixes: list[str]) -> str:
    return f"{name}: {advisory_id} (fixed in: {', '.join(fixes) or 'no release yet'})"


def verdict(report: dict[str, Any]) -> Verdict:
    """Read pip-audit's JSON report: what was audited, found, or skipped."""
    audited: list[str] = []
    found: list[str] = []
    skipped: list[Skipped] = []
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            skipped.append(Skipped(dependency["name"], dependency["skip_reason"]))
            continue
        name = f"{dependency['name']} {dependency['version']}"
        audited.append(name)
        for vuln in dependency.get("vulns", []):
            found.append(_advisory(name, vuln["id"], vuln.get("fix_versions") or []))
    return Verdict(tuple(audited), tuple(found), skipped=tuple(skipped))


def unreachable(versions: Mapping[str, str], reason: str) -> Verdict:
    """pip-audit gave no report at all: every deployed distribution is skipped."""
    return Verdict((), (), skipped=tuple(Skipped(name, reason) for name in sorted(versions)))


# The advisories of a project's latest release: (latest version, advisories), or None.
ProjectPage = Callable[[str], tuple[str, list[dict[str, Any]]] | None]


def from_project_pages(result: Verdict, versions: Mapping[str, str], page: ProjectPage) -> Verdict:
    """``result`` with each skipped distribution audited from its project page, where the
    deployed version is the project's latest release; the others are NOT AUDITED."""
    audited, found = list(result.audited), list(result.vulnerabilities)
    unaudited = list(result.unaudited)
    for skipped in result.skipped:
        version = versions.get(_normalized(skipped.name), "unknown version")
        name = f"{skipped.name} {version}"
        answer = page(skipped.name)
        if answer is None or answer[0] != version:
            latest = "unreachable" if answer is None else f"latest release is {answer[0]}"
            unaudited.append(f"{name}: {skipped.reason}; project page: {latest}")
            continue
        audited.append(f"{name} (project page)")
        for vuln in answer[1]:
            if not vuln.get("withdrawn"):
                found.append(_advisory(name, vuln["id"], vuln.get("fixed_in") or []))
    return Verdict(tuple(audited), tuple(found), tuple(unaudited))


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_page(name: str) -> tuple[str, list[dict[str, Any]]] | None:
    try:
        with urllib.request.urlopen(PROJECT_PAGE.format(name=name), timeout=30) as response:
            data = json.load(response)
    except (OSError, ValueError):
        return None
    return str(data["info"]["version"]), list(data.get("vulnerabilities") or [])


def deployed_versions(path: Path) -> dict[str, str]:
    return {
        _normalized(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions(path=[str(path)])
    }


def pip_audit(path: Path) -> dict[str, Any] | str:
    """pip-audit's JSON report on ``path``, or why there is none."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--path",
            str(path),
            "--vulnerability-service",
            SERVICE,
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:]
        return f"pip-audit produced no report ({SERVICE}, {FEED}): {''.join(last) or 'no output'}"
    return report


def audit(path: Path, page: ProjectPage = project_page) -> Verdict:
    versions = deployed_versions(path)
    report = pip_audit(path)
    first = unreachable(versions, report) if isinstance(report, str) else verdict(report)
    return from_project_pages(first, versions, page)


def main(argv: list[str] | None = None, auditor: Callable[[Path], Verdict] = audit) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="built function folders")
    parser.add_argument(
        "--strict", action="store_true", help="fail on distributions that could not be audited"
    )
    args = parser.parse_args(argv)
    failures: list[str] = []
    not_audited = 0
    for path in args.paths:
        if not path.is_dir():
            raise SystemExit(f"{path} is missing: build the functions first (make build)")
        result = auditor(path)
        print(
            f"{path}: {len(result.audited)} distributions audited,"
            f" {len(result.vulnerabilities)} known vulnerabilities,"
            f" {len(result.unaudited)} not audited"
        )
        for line in result.audited:
            print(f"  audited     {line}")
        for line in result.vulnerabilities:
            print(f"  VULNERABLE  {line}")
        for line in result.unaudited:
            print(f"  NOT AUDITED {line}")
        not_audited += len(result.unaudited)
        failures.extend(f"{path}: {reason}" for reason in result.failures(strict=args.strict))
    if failures:
        print("audit failed:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    if not_audited:
        print(f"audit passed; NOT AUDITED: {not_audited} (AUDIT_STRICT=1 fails on them)")
    else:
        print("audit passed: every deployed distribution audited, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
