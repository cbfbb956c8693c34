"""What `make run` serves unless told otherwise: the models behind the local SageMaker
endpoint, and every served model named in the access-log metrics; drift windows it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from dev_support.paths import LOCAL_MODELS_DIR
from emulator.__main__ import local_parameters, main


def test_by_default_the_models_behind_the_local_endpoint_are_served_and_named() -> None:
    parameters = local_parameters({"AuthMode": "NONE"})

    assert parameters == {
        "AuthMode": "NONE",
        "ModelsS3Uri": LOCAL_MODELS_DIR.as_uri(),
        "KnownModels": "chat,diabetes,digits,iris,iris-sagemaker",
    }


def test_a_folder_of_your_models_replaces_them_and_is_named(tmp_path: Path) -> None:
    (tmp_path / "churn" / "1").mkdir(parents=True)

    parameters = local_parameters({"ModelsS3Uri": tmp_path.as_uri()})

    assert parameters["KnownModels"] == "chat,churn,diabetes,digits,iris"


def test_what_is_given_is_kept() -> None:
    given = {"ModelsS3Uri": "", "KnownModels": "iris"}

    assert local_parameters(given) == given


@pytest.mark.parametrize("value", ["0", "-3", "nan", "soon"])
def test_drift_windows_must_last_a_positive_number_of_seconds(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--drift-window-seconds", value])

    assert stopped.value.code == 2
    assert "a positive number of seconds" in capsys.readouterr().err
