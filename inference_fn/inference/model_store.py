"""Models from ``ModelsS3Uri``: the package's ``<name>/<version>/`` layout, fetched at init.

``s3://bucket/prefix/``: every ``<name>/<version>/metadata.json`` and ``model.onnx`` under
the prefix is listed and downloaded into the environment's ``/tmp`` (``EphemeralStorageMB``),
after checking they fit. ``file:///path``: the folder is read where it is (``make run``,
tests and benchmarks). Either way, a ``model.onnx`` is served only if its SHA-256 is the
one its ``metadata.json`` names.

boto3 is imported only for an ``s3://`` URI: a function without one pays nothing for it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .metadata import METADATA_FILE, MODEL_FILE, NAME_PATTERN

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The two files a model folder may hold; anything else under the prefix is not downloaded.
MODEL_FILES = frozenset({METADATA_FILE, MODEL_FILE})
DOWNLOAD_FOLDER = "models"


class ModelStoreError(ValueError):
    """Models that cannot be fetched or trusted: init fails with this message."""


def verify_checksum(model_file: Path, expected: str) -> None:
    """Refuse a ``model.onnx`` whose SHA-256 is not the one its metadata names."""
    try:
        with model_file.open("rb") as stream:
            actual = hashlib.file_digest(stream, "sha256").hexdigest()
    except FileNotFoundError:
        raise ModelStoreError(f"{model_file} is missing: its metadata.json names it") from None
    if actual != expected:
        raise ModelStoreError(
            f"{model_file}: SHA-256 is {actual}, its metadata.json says {expected}:"
            " refusing to serve it (upload the model and its metadata together)"
        )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` as (bucket, prefix), the prefix ending with ``/`` unless empty."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ModelStoreError(f"not an s3://bucket/prefix/ URI: {uri!r}")
    prefix = parts.path.lstrip("/")
    return parts.netloc, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def fetch(uri: str, scratch: Path, client: S3Client | None = None) -> Path:
    """The local folder holding the models of ``uri`` (downloaded under ``scratch``)."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        folder = Path(unquote(parts.path))
        if not folder.is_dir():
            raise ModelStoreError(f"{uri}: no such folder")
        return folder
    if parts.scheme == "s3":
        bucket, prefix = split_s3_uri(uri)
        return download(bucket, prefix, scratch / DOWNLOAD_FOLDER, client)
    raise ModelStoreError(
        f"ModelsS3Uri must be s3://bucket/prefix/ (or file:///path here): {uri!r}"
    )


def _listing(client: S3Client, bucket: str, prefix: str) -> list[tuple[str, str, int]]:
    """(key, path under the prefix, size) of each model file under ``prefix``."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            parts = relative.split("/")
            # Names and versions as metadata.json allows them: never "..", so every file
            # lands inside the destination, whatever keys the bucket holds.
            if (
                len(parts) == 3
                and parts[2] in MODEL_FILES
                and all(NAME_PATTERN.fullmatch(part) for part in parts[:2])
            ):
                found.append((item["Key"], relative, item["Size"]))
    return found


def _s3_client() -> S3Client:
    import boto3  # noqa: PLC0415 -- only functions with ModelsS3Uri pay for the SDK's import
    from botocore.config import Config  # noqa: PLC0415

    # Init has 10 s on Lambda: fail a stuck connection fast, retry transient errors twice.
    config = Config(
        connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
    )
    return boto3.client("s3", config=config)


def download(bucket: str, prefix: str, destination: Path, client: S3Client | None = None) -> Path:
    """Every model file under ``s3://bucket/prefix`` into ``destination`` (emptied first:
    a runtime restarted in the same environment finds the last attempt's files there)."""
    client = client or _s3_client()
    objects = _listing(client, bucket, prefix)
    if not objects:
        raise ModelStoreError(
            f"s3://{bucket}/{prefix} holds no <name>/<version>/{METADATA_FILE}: nothing to serve"
        )
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    needed = sum(size for _, _, size in objects)
    free = shutil.disk_usage(destination).free
    if needed > free:
        raise ModelStoreError(
            f"s3://{bucket}/{prefix} holds {needed / 1e6:.0f} MB of models; {destination} has"
            f" {free / 1e6:.0f} MB free: raise EphemeralStorageMB"
        )
    for key, relative, _ in objects:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(target))
    return destination
