"""Known vulnerabilities in what the functions really deploy: pip-audit on the built folders.

Run with the scanners' venv (``make audit``)::

    .venv-checkov/bin/python tools/audit_packages.py .aws-sam/build/InferenceFunction ...

Auditing the built folders instead of the requirements files covers the transitive
dependencies exactly as ``sam build`` resolved them. pip-audit reports a package its
vulnerability feed does not answer for as "skipped" and still exits 0; here a skipped
package fails the audit, so an unreachable feed can never look like a clean result.

pip-audit asks PyPI about each release (``/pypi/<name>/<version>/json``). Where that
page is not served (some mirrors and proxies serve only project pages), a skipped
package is looked up on its project page (``/pypi/<name>/json``), which carries PyPI's
advisories for the project's latest release: a pinned version that is the latest is
audited from there; any other stays unaudited, and fails the audit.
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SERVICE = "pypi"
FEED = "https://pypi.org/pypi/<name>/<version>/json"
PROJECT_PAGE = "https://pypi.org/pypi/{name}/json"


@dataclass(frozen=True)
class Verdict:
    audited: int
    vulnerabilities: tuple[str, ...]
    unaudited: tuple[str, ...]
    # Names of the distributions pip-audit skipped (unaudited holds the reasons).
    skipped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        # Nothing audited (a wrong or empty folder) is no evidence of anything.
        return self.audited > 0 and not self.vulnerabilities and not self.unaudited


def verdict(report: dict[str, Any]) -> Verdict:
    """Read pip-audit's JSON report: what was audited, found, or could not be audited."""
    audited = 0
    found: list[str] = []
    unaudited: list[str] = []
    skipped: list[str] = []
    for dependency in report.get("dependencies", []):
        name = f"{dependency['name']} {dependency.get('version', '')}".strip()
        if "skip_reason" in dependency:
            unaudited.append(f"{name}: {dependency['skip_reason']}")
            skipped.append(dependency["name"])
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            found.append(f"{name}: {vuln['id']} (fixed in: {fixes})")
    return Verdict(audited, tuple(found), tuple(unaudited), tuple(skipped))


# The advisories of a project's latest release: (latest version, advisories), or None.
ProjectPage = Callable[[str], tuple[str, list[dict[str, Any]]] | None]


def from_project_pages(result: Verdict, versions: Mapping[str, str], page: ProjectPage) -> Verdict:
    """``result`` with each skipped distribution audited from its project page, where the
    deployed version is the project's latest release; the others stay unaudited."""
    audited, found, unaudited = result.audited, list(result.vulnerabilities), []
    for name in result.skipped:
        version = versions.get(_normalized(name))
        answer = page(name)
        if version is None or answer is None or answer[0] != version:
            latest = "unknown" if answer is None else answer[0]
            unaudited.append(f"{name} {version}: not on PyPI's release feed, latest is {latest}")
            continue
        audited += 1
        for vuln in answer[1]:
            if vuln.get("withdrawn"):
                continue
            fixes = ", ".join(vuln.get("fixed_in") or []) or "none yet"
            found.append(f"{name} {version}: {vuln['id']} (fixed in: {fixes})")
    return replace(
        result,
        audited=audited,
        vulnerabilities=tuple(found),
        unaudited=tuple(unaudited),
        skipped=(),
    )


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


def audit(path: Path) -> Verdict:
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
        report = json.loads(done.stdout)
    except ValueError:
        # No report at all: pip-audit could not talk to the feed (or failed otherwise).
        sys.stderr.write(done.stderr)
        raise SystemExit(
            f"pip-audit produced no report for {path}: the vulnerability service"
            f" ({SERVICE}, {FEED}) could not be reached. Nothing was audited."
        ) from None
    return from_project_pages(verdict(report), deployed_versions(path), project_page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="built function folders")
    args = parser.parse_args(argv)
    failed = False
    for path in args.paths:
        if not path.is_dir():
            raise SystemExit(f"{path} is missing: build the functions first (make build)")
        result = audit(path)
        print(
            f"{path}: {result.audited} distributions audited ({SERVICE}),"
            f" {len(result.vulnerabilities)} known vulnerabilities,"
            f" {len(result.unaudited)} not audited"
        )
        for line in result.vulnerabilities:
            print(f"  VULNERABLE {line}")
        for line in result.unaudited:
            print(f"  NOT AUDITED {line}")
        failed = failed or not result.ok
    if failed:
        print(
            "audit failed: known vulnerabilities, or packages the vulnerability service did not"
            f" answer for (is {FEED} reachable from here?)",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
