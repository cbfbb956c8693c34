"""ModelsS3Uri: listing and downloading a prefix of models from S3 (moto, in-process), and a
function whose init does it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dev_support.paths import ROOT
from inference.model_store import ModelStoreError, download
from tests.models import MIXED_TYPES_METADATA, mixed_types_model, write_model

DiskUsage = namedtuple("DiskUsage", "total used free")
BUCKET = "models-bucket"
PREFIX = "team/models/"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def models(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    write_model(root, "mixed", "1", mixed_types_model(), **MIXED_TYPES_METADATA)
    return root


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def upload(client: Any, root: Path, prefix: str = PREFIX) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, prefix + path.relative_to(root).as_posix())


def test_every_model_file_under_the_prefix_is_downloaded_and_nothing_else(
    s3: Any, models: Path, tmp_path: Path
) -> None:
    upload(s3, models)
    for key in (
        f"{PREFIX}README.md",  # not a model folder
        f"{PREFIX}mixed/1/notes.txt",  # not a model file
        f"{PREFIX}../1/metadata.json",  # not a name: it would land outside the folder
        "other/mixed/1/metadata.json",  # outside the prefix
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    destination = tmp_path / "tmp" / "models"

    fetched = download(BUCKET, PREFIX, destination, s3)

    assert fetched == destination
    assert sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    ) == [
        "models/mixed/1/metadata.json",
        "models/mixed/1/model.onnx",
        "tmp/models/mixed/1/metadata.json",
        "tmp/models/mixed/1/model.onnx",
    ]
    assert (destination / "mixed/1/model.onnx").read_bytes() == (
        models / "mixed/1/model.onnx"
    ).read_bytes()


def test_a_previous_attempts_files_are_removed_first(s3: Any, models: Path, tmp_path: Path) -> None:
    upload(s3, models)
    stale = tmp_path / "models-dl" / "old" / "1" / "metadata.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")

    download(BUCKET, PREFIX, tmp_path / "models-dl", s3)

    assert not stale.exists()


def test_a_prefix_without_models_fails(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}README.md", Body=b"nothing here")

    with pytest.raises(ModelStoreError, match=r"holds no <name>/<version>/metadata\.json"):
        download(BUCKET, PREFIX, tmp_path / "dl", s3)


def test_models_larger_than_the_free_space_fail_before_downloading(
    s3: Any, models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(s3, models)
    # A /tmp of 512 bytes, 12 of them free: less than the model.
    monkeypatch.setattr(shutil, "disk_usage", lambda path: DiskUsage(total=512, used=500, free=12))

    with pytest.raises(ModelStoreError, match="MB free: raise EphemeralStorageMB"):
        download(BUCKET, PREFIX, tmp_path / "dl", s3)
    assert list((tmp_path / "dl").iterdir()) == []


# A cold start in a fresh interpreter, as Lambda runs it: S3 (moto) holds the models before
# the handler module is imported, whose init downloads them.
_INIT_FROM_S3 = """
import json, sys
from pathlib import Path
import boto3
from moto import mock_aws
with mock_aws():
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=sys.argv[2])
    root = Path(sys.argv[1])
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), sys.argv[2], sys.argv[3] + path.relative_to(root).as_posix())
    from dev_support.lambda_events import FakeLambdaContext, load_event, with_body
    from inference.handler import lambda_handler
    event = load_event("infer_iris")
    event = {**event, "path": "/v2/models/mixed/infer", "pathParameters": {"model_name": "mixed"}}
    body = {"inputs": [
        {"name": "count", "shape": [1, 2], "datatype": "INT32", "data": [1, 2]},
        {"name": "mask", "shape": [1, 2], "datatype": "BOOL", "data": [True, True]},
        {"name": "scale", "shape": [1, 1], "datatype": "FP16", "data": [2]},
    ]}
    response = lambda_handler(with_body(event, body), FakeLambdaContext())
    print("RESPONSE " + json.dumps(response))
"""


def cold_start_from_s3(models: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **FAKE_CREDENTIALS,
        "MODELS_S3_URI": f"s3://{BUCKET}/{PREFIX}",
        "TMPDIR": str(scratch),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "inference_fn"), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-c", _INIT_FROM_S3, str(models), BUCKET, PREFIX],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_init_downloads_the_models_and_serves_them_beside_the_bundled_ones(
    models: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    done = cold_start_from_s3(models, scratch)

    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESPONSE ")]
    response = json.loads(line.removeprefix("RESPONSE "))
    assert response["statusCode"] == 200
    outputs = {output["name"]: output["data"] for output in json.loads(response["body"])["outputs"]}
    assert outputs == {"masked": [1, 2], "scaled": [2, 4], "negated": [False, False], "total": [3]}
    assert (scratch / "models" / "mixed" / "1" / "model.onnx").is_file()


def test_init_refuses_a_model_whose_checksum_differs(models: Path, tmp_path: Path) -> None:
    with (models / "mixed" / "1" / "model.onnx").open("ab") as model:
        model.write(b"\0")
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    done = cold_start_from_s3(models, scratch)

    assert done.returncode != 0
    assert "ModelStoreError" in done.stderr
    assert "mixed/1/model.onnx: SHA-256 is" in done.stderr
    assert "RESPONSE" not in done.stdout
