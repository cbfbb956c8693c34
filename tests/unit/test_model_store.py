"""Models from outside the package: where they are, and refusing any whose SHA-256 differs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dev_support.paths import MODELS_DIR
from inference.model_registry import ModelLoadError, ModelsDirectory, load_registry
from inference.model_store import ModelStoreError, fetch, split_s3_uri, verify_checksum
from tests.models import MIXED_TYPES_METADATA, mixed_types_model, write_model


def outside(path: Path) -> list[ModelsDirectory]:
    """The package's models, and ``path`` as ModelsS3Uri's would be."""
    return [
        ModelsDirectory(MODELS_DIR, "the package"),
        ModelsDirectory(path, "s3://bucket/models/", checksums_required=True),
    ]


def test_a_model_from_outside_with_its_checksum_is_served_beside_the_package(
    tmp_path: Path,
) -> None:
    write_model(tmp_path, "mixed", "1", mixed_types_model(), **MIXED_TYPES_METADATA)

    registry = load_registry(outside(tmp_path))

    assert registry.names == ["chat", "diabetes", "digits", "iris", "mixed"]


def test_a_model_whose_checksum_differs_is_refused(tmp_path: Path) -> None:
    folder = write_model(tmp_path, "mixed", "1", mixed_types_model(), **MIXED_TYPES_METADATA)
    with (folder / "model.onnx").open("ab") as model:
        model.write(b"\0")  # a byte more than what the metadata describes

    with pytest.raises(ModelStoreError, match=r"SHA-256 is [0-9a-f]{64}, its metadata\.json says"):
        load_registry(outside(tmp_path))


def test_a_model_from_outside_must_name_its_checksum(tmp_path: Path) -> None:
    folder = write_model(tmp_path, "mixed", "1", mixed_types_model(), **MIXED_TYPES_METADATA)
    metadata_file = folder / "metadata.json"
    raw = json.loads(metadata_file.read_text())
    del raw["sha256"]
    metadata_file.write_text(json.dumps(raw))

    with pytest.raises(ModelLoadError, match="field 'sha256' is missing: models from s3://"):
        load_registry(outside(tmp_path))


def test_a_name_in_the_package_and_outside_fails(tmp_path: Path) -> None:
    shutil.copytree(MODELS_DIR / "iris", tmp_path / "iris")

    with pytest.raises(
        ModelLoadError, match="model 'iris' is both in the package and in s3://bucket/models/"
    ):
        load_registry(outside(tmp_path))


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    folder = write_model(tmp_path, "mixed", "1", mixed_types_model(), **MIXED_TYPES_METADATA)
    (folder / "model.onnx").unlink()

    with pytest.raises(ModelStoreError, match=r"model\.onnx is missing"):
        verify_checksum(folder / "model.onnx", "0" * 64)


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://bucket/models/", "bucket", "models/"),
        ("s3://bucket/a/b", "bucket", "a/b/"),
        ("s3://bucket", "bucket", ""),
    ],
)
def test_s3_uris_split_into_bucket_and_folder_prefix(uri: str, bucket: str, prefix: str) -> None:
    assert split_s3_uri(uri) == (bucket, prefix)


def test_a_file_uri_is_read_in_place(tmp_path: Path) -> None:
    assert fetch(f"file://{tmp_path}", tmp_path / "scratch") == tmp_path


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:///no/such/folder", "no such folder"),
        ("https://bucket.s3.amazonaws.com/models/", "ModelsS3Uri must be s3://bucket/prefix/"),
        ("models/", "ModelsS3Uri must be s3://bucket/prefix/"),
    ],
)
def test_other_uris_are_refused(tmp_path: Path, uri: str, message: str) -> None:
    with pytest.raises(ModelStoreError, match=message):
        fetch(uri, tmp_path)
