"""The audit fails closed: a package the feed did not answer for is a failure, not a pass."""

from __future__ import annotations

from tools.audit_packages import verdict

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
