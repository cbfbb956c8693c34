"""The audit's verdict: a known vulnerability fails it; a package no feed answered for is
listed and fails it only in strict mode; a folder with nothing audited is no evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.audit_packages import Verdict, from_project_pages, main, unreachable, verdict

CLEAN = {"name": "numpy", "version": "2.5.5", "vulns": []}
CLEAN_TOO = {"name": "wrapt", "version": "2.5.2", "vulns": []}
SKIP_REASON = "Dependency not found on PyPI and could not be audited: packaging (26.3)"
SKIPPED = {"name": "packaging", "skip_reason": SKIP_REASON}
VULNERABLE = {
    "name": "urllib3",
    "version": "1.26.0",
    "vulns": [{"id": "PYSEC-2021-59", "fix_versions": ["1.26.5"], "aliases": []}],
}
DEPLOYED = {"numpy": "2.5.5", "wrapt": "2.5.2", "packaging": "26.3", "urllib3": "1.26.0"}


def pages(**projects: tuple[str, list[dict[str, Any]]]) -> Any:
    """A project-page lookup answering for ``projects`` only (the others: unreachable)."""
    return projects.get


def test_clean_packages_pass_and_are_listed() -> None:
    result = verdict({"dependencies": [CLEAN, CLEAN_TOO]})

    assert result.passed(strict=True)
    assert result.audited == ("numpy 2.5.5", "wrapt 2.5.2")


def test_a_known_vulnerability_fails_naming_package_version_advisory_and_fix() -> None:
    result = verdict({"dependencies": [CLEAN, VULNERABLE]})

    assert not result.passed(strict=False)
    assert result.vulnerabilities == ("urllib3 1.26.0: PYSEC-2021-59 (fixed in: 1.26.5)",)


def test_a_package_not_audited_is_listed_and_passes_unless_strict() -> None:
    result = from_project_pages(verdict({"dependencies": [CLEAN, SKIPPED]}), DEPLOYED, pages())

    assert result.passed(strict=False)
    assert result.unaudited == (f"packaging 26.3: {SKIP_REASON}; project page: unreachable",)


def test_strict_mode_fails_on_a_package_not_audited() -> None:
    result = from_project_pages(verdict({"dependencies": [CLEAN, SKIPPED]}), DEPLOYED, pages())

    assert result.failures(strict=True) == ("not audited (strict): 1",)


def test_a_folder_with_nothing_audited_fails_even_without_strict() -> None:
    empty = verdict({"dependencies": []})
    all_skipped = from_project_pages(verdict({"dependencies": [SKIPPED]}), DEPLOYED, pages())

    assert not empty.passed(strict=False)
    assert not all_skipped.passed(strict=False)
    assert all_skipped.unaudited


def test_an_unreachable_feed_leaves_each_deployed_package_to_its_project_page() -> None:
    no_report = unreachable({"numpy": "2.5.5", "wrapt": "2.5.2"}, "pip-audit: ConnectionError")

    result = from_project_pages(no_report, DEPLOYED, pages(numpy=("2.5.5", [])))

    assert result.audited == ("numpy 2.5.5 (project page)",)
    assert result.unaudited == (
        "wrapt 2.5.2: pip-audit: ConnectionError; project page: unreachable",
    )
    assert result.passed(strict=False)
    assert not result.passed(strict=True)


def test_an_unreachable_feed_and_no_project_page_fail_the_audit() -> None:
    no_report = unreachable({"numpy": "2.5.5"}, "pip-audit: ConnectionError")

    result = from_project_pages(no_report, DEPLOYED, pages())

    assert result.failures(strict=False) == ("nothing audited, which is no evidence either way",)


def test_a_skipped_latest_release_is_audited_from_its_project_page() -> None:
    skipped = verdict({"dependencies": [CLEAN, SKIPPED]})

    result = from_project_pages(skipped, DEPLOYED, pages(packaging=("26.3", [])))

    assert result.passed(strict=True)
    assert result.audited == ("numpy 2.5.5", "packaging 26.3 (project page)")


def test_advisories_on_the_project_page_fail_the_audit_unless_withdrawn() -> None:
    advisory = {"id": "GHSA-xxxx", "fixed_in": ["26.4"], "withdrawn": None}
    withdrawn = {"id": "GHSA-yyyy", "fixed_in": [], "withdrawn": "2026-01-01T00:00:00Z"}
    skipped = verdict({"dependencies": [SKIPPED]})

    result = from_project_pages(skipped, DEPLOYED, pages(packaging=("26.3", [advisory, withdrawn])))

    assert not result.passed(strict=False)
    assert result.vulnerabilities == ("packaging 26.3: GHSA-xxxx (fixed in: 26.4)",)


def test_an_older_release_stays_unaudited_with_the_latest_named() -> None:
    skipped = verdict({"dependencies": [CLEAN, SKIPPED]})

    result = from_project_pages(skipped, DEPLOYED, pages(packaging=("26.4", [])))

    assert result.audited == ("numpy 2.5.5",)
    assert result.unaudited == (
        f"packaging 26.3: {SKIP_REASON}; project page: latest release is 26.4",
    )


PARTLY_AUDITED = from_project_pages(verdict({"dependencies": [CLEAN, SKIPPED]}), DEPLOYED, pages())


@pytest.mark.parametrize(("strict", "exit_code"), [([], 0), (["--strict"], 1)])
def test_the_command_lists_what_it_audited_and_fails_on_unaudited_only_when_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strict: list[str], exit_code: int
) -> None:
    code = main([*strict, str(tmp_path)], auditor=lambda _: PARTLY_AUDITED)

    out = capsys.readouterr().out
    assert code == exit_code
    assert "  audited     numpy 2.5.5" in out.splitlines()
    assert f"  NOT AUDITED packaging 26.3: {SKIP_REASON}; project page: unreachable" in out


def test_the_command_fails_on_a_vulnerability_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vulnerable: Verdict = verdict({"dependencies": [VULNERABLE]})

    code = main([str(tmp_path)], auditor=lambda _: vulnerable)

    assert code == 1
    assert "VULNERABLE  urllib3 1.26.0: PYSEC-2021-59 (fixed in: 1.26.5)" in capsys.readouterr().out
