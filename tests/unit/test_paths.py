"""The build folders are declared once for make and once for Python: the two agree."""

from __future__ import annotations

import re

import pytest

from dev_support import paths

MAKE_VARIABLES = {
    "BUILD_DIR": paths.BUILD_DIR,
    "HOST_BUILD_DIR": paths.HOST_BUILD_DIR,
    "LAMBDA_RUNTIME_DIR": paths.LAMBDA_RUNTIME_DIR,
}


@pytest.mark.parametrize(("variable", "path"), MAKE_VARIABLES.items())
def test_makefile_and_python_name_the_same_build_folder(variable: str, path: object) -> None:
    makefile = (paths.ROOT / "Makefile").read_text()

    (value,) = re.findall(rf"^{variable} := (\S+)$", makefile, flags=re.M)

    assert paths.ROOT / value == path
