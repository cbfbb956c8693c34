"""The models an environment serves: metadata and backends, loaded once at init.

Models come from the package (``models/<name>/<version>/``) and, when ``ModelsS3Uri`` is
set, from the same layout fetched at init (``model_store``). Any model that cannot be
served fails init, naming it: an endpoint never serves some of its models silently.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backends import Backend, ChatBackend, ChatRequest, ChatResult, Prediction
from .backends import onnx as onnx_backend
from .backends.bedrock import BedrockBackend, BedrockClients
from .backends.sagemaker import SageMakerBackend, SageMakerClients
from .errors import BadRequest, NotFound, clip
from .metadata import (
    METADATA_FILE,
    MODEL_FILE,
    BedrockBackendSpec,
    ModelMetadata,
    OnnxBackendSpec,
    SageMakerBackendSpec,
    read_metadata,
)
from .model_store import fetch, verify_checksum
from .settings import Settings


@dataclass(frozen=True)
class LoadedModel:
    metadata: ModelMetadata
    backend: Backend

    def predict(self, feeds: Mapping[str, np.ndarray]) -> Prediction:
        return self.backend.predict(feeds)

    def chat(self, request: ChatRequest) -> ChatResult:
        backend = self.backend
        if not isinstance(backend, ChatBackend):
            raise BadRequest(
                f"model '{self.metadata.name}' is not a chat model: send it Open Inference"
                " Protocol requests at POST /v2/models/{name}/infer"
            )
        return backend.chat(request)


def _version_key(version: str) -> tuple[int, int | str]:
    # Numeric versions order numerically ("10" after "9"); others after them, by name.
    return (0, int(version)) if version.isdigit() else (1, version)


class ModelRegistry:
    def __init__(self, models: Iterable[LoadedModel]) -> None:
        self._models: dict[str, dict[str, LoadedModel]] = {}
        for model in models:
            self._models.setdefault(model.metadata.name, {})[model.metadata.version] = model
        for name, versions in self._models.items():
            self._models[name] = dict(
                sorted(versions.items(), key=lambda item: _version_key(item[0]))
            )

    def __contains__(self, name: object) -> bool:
        return name in self._models

    @property
    def names(self) -> list[str]:
        return sorted(self._models)

    def versions(self, name: str) -> list[str]:
        return list(self._get_versions(name))

    def chat_models(self) -> list[ModelMetadata]:
        """The latest version of each chat model, by name (GET /v1/models)."""
        latest = (self.get(name).metadata for name in self.names)
        return [metadata for metadata in latest if metadata.is_chat]

    def get(self, name: str, version: str | None = None) -> LoadedModel:
        """The model at ``version``, or its latest version when none is asked for."""
        versions = self._get_versions(name)
        if version is None:
            return versions[next(reversed(versions))]
        try:
            return versions[version]
        except KeyError:
            raise NotFound(f"model '{clip(name)}' has no version '{clip(version)}'") from None

    def _get_versions(self, name: str) -> dict[str, LoadedModel]:
        try:
            return self._models[name]
        except KeyError:
            raise NotFound(f"model '{clip(name)}' not found") from None


@dataclass(frozen=True)
class ModelsDirectory:
    """A folder of ``<name>/<version>/metadata.json`` (and ``model.onnx``)."""

    path: Path
    # Where its models come from, for messages: "the package" or the ModelsS3Uri.
    origin: str
    # Models from outside the package must say which model.onnx they go with (sha256).
    checksums_required: bool = False


# Converse's read timeout where no settings say otherwise (tools and tests loading a folder).
DEFAULT_CONVERSE_TIMEOUT_MS = 25_000


class ModelLoadError(ValueError):
    """A model the function cannot serve: init fails, naming it."""


class _Loader:
    """Turns each model's metadata into its backend; what backends share (ONNX Runtime's
    options, SageMaker's clients) is made once, SageMaker's only when a model needs it."""

    def __init__(self, sagemaker: SageMakerClients | None, bedrock: BedrockClients) -> None:
        self._onnx_options = onnx_backend.session_options()
        self._sagemaker = sagemaker
        self._bedrock = bedrock

    def load(self, metadata_file: Path, directory: ModelsDirectory) -> LoadedModel:
        metadata = read_metadata(metadata_file)
        spec = metadata.backend
        if isinstance(spec, OnnxBackendSpec):
            model_file = metadata_file.with_name(MODEL_FILE)
            if directory.checksums_required and metadata.sha256 is None:
                raise ModelLoadError(
                    f"{metadata_file}: field 'sha256' is missing: models from"
                    f" {directory.origin} must name the model.onnx they go with"
                    " (tools/describe_model.py writes it)"
                )
            if metadata.sha256 is not None:
                verify_checksum(model_file, metadata.sha256)
            return LoadedModel(
                metadata, onnx_backend.load(model_file, metadata, self._onnx_options)
            )
        if isinstance(spec, SageMakerBackendSpec):
            if self._sagemaker is None:
                self._sagemaker = SageMakerClients()
            return LoadedModel(metadata, SageMakerBackend(spec, metadata, self._sagemaker))
        if isinstance(spec, BedrockBackendSpec):
            return LoadedModel(metadata, BedrockBackend(spec, metadata, self._bedrock))
        raise ModelLoadError(f"{metadata_file}: backend {spec.type!r} has no loader")


def load_registry(
    directories: Sequence[ModelsDirectory] | Path,
    *,
    sagemaker: SageMakerClients | None = None,
    bedrock: BedrockClients | None = None,
) -> ModelRegistry:
    """Every ``<name>/<version>/`` of ``directories``; a name in two directories fails.
    ``sagemaker`` and ``bedrock`` make the backends' clients (tests hand in stubbed ones);
    Bedrock's client is made when a chat request first needs it."""
    if isinstance(directories, Path):
        directories = [ModelsDirectory(directories, str(directories))]
    loader = _Loader(sagemaker, bedrock or BedrockClients(DEFAULT_CONVERSE_TIMEOUT_MS))
    models: list[LoadedModel] = []
    origins: dict[str, str] = {}
    for directory in directories:
        files = sorted(directory.path.glob(f"*/*/{METADATA_FILE}"))
        if not files:
            raise FileNotFoundError(f"no models under {directory.path} ({directory.origin})")
        for metadata_file in files:
            name = metadata_file.parent.parent.name
            if origins.setdefault(name, directory.origin) != directory.origin:
                raise ModelLoadError(
                    f"model '{name}' is both in {origins[name]} and in {directory.origin}:"
                    " rename one"
                )
            models.append(loader.load(metadata_file, directory))
    return ModelRegistry(models)


def load_models(settings: Settings) -> ModelRegistry:
    """The package's models and, with ``ModelsS3Uri``, those it names (fetched into the
    environment's temporary folder: Lambda's ``/tmp``)."""
    directories = [ModelsDirectory(settings.models_dir, "the package")]
    if settings.models_s3_uri:
        fetched = fetch(settings.models_s3_uri, Path(tempfile.gettempdir()))
        directories.append(
            ModelsDirectory(fetched, settings.models_s3_uri, checksums_required=True)
        )
    return load_registry(directories, bedrock=BedrockClients(settings.converse_timeout_ms))
