"""The audit fails closed: a package the feed did not answer for is a failure, not a pass."""

from __future__ import annotations

from typing import Any

from tools.audit_packages import from_project_pages, verdict

CLEAN = {"name": "numpy", "version": "2.5.5", "vulns": []}
SKIPPED = {
    "name": "numpy",
    "skip_reason": "Dependency not found on PyPI and could not be audited: numpy (2.5.5)",
}
VULNERABLE = {
    "name": "urllib3",
    "version": "1.26.0",
    "vulns": [{"id": "PYSEC-2021-59", "fix_versions": ["1.26.5"], "aliases": []}],
}


def test_clean_packages_pass() -> None:
    result = verdict({"dependencies": [CLEAN, CLEAN]})

    assert result.ok
    assert result.audited == 2


def test_a_package_the_feed_did_not_answer_for_fails() -> None:
    result = verdict({"dependencies": [CLEAN, SKIPPED]})

    assert not result.ok
    assert result.audited == 1
    assert result.unaudited == (f"numpy: {SKIPPED['skip_reason']}",)


def test_a_known_vulnerability_fails_and_names_the_fix() -> None:
    result = verdict({"dependencies": [VULNERABLE]})

    assert not result.ok
    assert result.vulnerabilities == ("urllib3 1.26.0: PYSEC-2021-59 (fixed in: 1.26.5)",)


def test_a_folder_with_nothing_to_audit_fails() -> None:
    assert not verdict({"dependencies": []}).ok


def pages(**projects: tuple[str, list[dict[str, Any]]]) -> Any:
    return projects.get


def test_a_skipped_latest_release_is_audited_from_its_project_page() -> None:
    skipped = verdict({"dependencies": [CLEAN, SKIPPED]})

    result = from_project_pages(skipped, {"numpy": "2.5.5"}, pages(numpy=("2.5.5", [])))

    assert result.ok
    assert result.audited == 2


def test_advisories_on_the_project_page_fail_the_audit() -> None:
    advisory = {"id": "GHSA-xxxx", "fixed_in": ["2.5.6"], "withdrawn": None}
    skipped = verdict({"dependencies": [SKIPPED]})

    result = from_project_pages(skipped, {"numpy": "2.5.5"}, pages(numpy=("2.5.5", [advisory])))

    assert not result.ok
    assert result.vulnerabilities == ("numpy 2.5.5: GHSA-xxxx (fixed in: 2.5.6)",)


def test_an_older_release_or_an_unreachable_page_stays_unaudited() -> None:
    skipped = verdict({"dependencies": [SKIPPED]})

    older = from_project_pages(skipped, {"numpy": "2.5.5"}, pages(numpy=("2.6.0", [])))
    unreachable = from_project_pages(skipped, {"numpy": "2.5.5"}, pages())

    assert not older.ok
    assert not unreachable.ok
    assert older.audited == unreachable.audited == 0
