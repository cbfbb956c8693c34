"""Describe your ONNX model for the function: its folder, with metadata.json written from the
model itself (input and output names, datatypes, shapes) and its SHA-256.

Development only. The folder it writes (``OUT/NAME/VERSION/model.onnx`` and
``metadata.json``) is what ``ModelsS3Uri`` holds, so the next steps are ``aws s3 sync OUT
s3://bucket/prefix/`` and a deploy with that URI (or ``make run MODELS_URI=file://OUT``)::

    .venv/bin/python tools/describe_model.py model.onnx --name churn --version 1 --out my-models

With ``--sagemaker-endpoint NAME``, the model runs in that endpoint (a Triton or KServe
container serving this ONNX file): only ``metadata.json`` is written, naming the endpoint.

ONNX Runtime reads the model here as the function will: a model it cannot load, or a
signature the function cannot serve (no batch dimension, a type the protocol lacks),
fails now rather than at the function's init.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The function's own tables and reader: what it would refuse, this refuses.
sys.path.insert(0, str(ROOT / "inference_fn"))

import onnxruntime as ort  # noqa: E402

from inference.datatypes import BY_ONNX_TYPE  # noqa: E402
from inference.metadata import METADATA_FILE, MODEL_FILE, parse_metadata  # noqa: E402


class DescribeError(ValueError):
    """A model the function could not serve as it is."""


def tensors(args: list[Any], kind: str) -> list[dict[str, Any]]:
    """The protocol's description of a session's inputs or outputs (``NodeArg``s)."""
    described = []
    for arg in args:
        datatype = BY_ONNX_TYPE.get(arg.type)
        if datatype is None:
            raise DescribeError(
                f"{kind} '{arg.name}' is {arg.type}, which the Open Inference Protocol has no"
                f" datatype for: {', '.join(sorted(BY_ONNX_TYPE))}"
            )
        shape = [dim if isinstance(dim, int) else -1 for dim in arg.shape]
        if not shape:
            raise DescribeError(
                f"{kind} '{arg.name}' is a scalar: the function reads the first dimension as"
                " the batch (rows); export it with one"
            )
        described.append({"name": arg.name, "datatype": datatype.name, "shape": shape})
    return described


def describe(
    model: Path,
    name: str,
    version: str,
    *,
    platform: str,
    labels: list[str],
    backend: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata of ``model``: run in the function (``backend`` None) or elsewhere."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    document: dict[str, Any] = {
        "name": name,
        "version": version,
        "platform": platform,
        "inputs": tensors(session.get_inputs(), "input"),
        "outputs": tensors(session.get_outputs(), "output"),
    }
    if backend is None:
        with model.open("rb") as stream:
            document["sha256"] = hashlib.file_digest(stream, "sha256").hexdigest()
        document["backend"] = {"type": "onnx"}
    else:
        document["backend"] = backend
    if labels:
        document["labels"] = labels
    parse_metadata(document, f"{name}/{version}/{METADATA_FILE}")
    return document


def write(model: Path, document: dict[str, Any], out: Path) -> Path:
    folder = out / str(document["name"]) / str(document["version"])
    folder.mkdir(parents=True, exist_ok=True)
    runs_here = document["backend"]["type"] == "onnx"
    if runs_here and (folder / MODEL_FILE).resolve() != model.resolve():
        shutil.copyfile(model, folder / MODEL_FILE)
    (folder / METADATA_FILE).write_text(json.dumps(document, indent=2) + "\n")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the ONNX file")
    parser.add_argument("--name", required=True, help="the model's name in the API's routes")
    parser.add_argument("--version", default="1", help="its version (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="the models folder to write into")
    parser.add_argument("--platform", default="onnxruntime_onnx", help="what the metadata says")
    parser.add_argument("--labels", default="", help="class names, comma-separated, in order")
    parser.add_argument(
        "--sagemaker-endpoint", help="the SageMaker endpoint that serves it (OIP v2 over JSON)"
    )
    parser.add_argument("--target-model", help="with --sagemaker-endpoint: TargetModel")
    parser.add_argument("--timeout-ms", type=int, help="with --sagemaker-endpoint: its timeout")
    args = parser.parse_args()
    labels = [label for label in args.labels.split(",") if label]
    backend = None
    if args.sagemaker_endpoint:
        backend = {"type": "sagemaker", "endpoint_name": args.sagemaker_endpoint}
        if args.target_model:
            backend["target_model"] = args.target_model
        if args.timeout_ms is not None:
            backend["timeout_ms"] = args.timeout_ms
    try:
        document = describe(
            args.model,
            args.name,
            args.version,
            platform=args.platform,
            labels=labels,
            backend=backend,
        )
    except (DescribeError, ValueError) as error:
        print(f"{args.model}: {error}", file=sys.stderr)
        return 1
    folder = write(args.model, document, args.out)
    for tensor in document["inputs"]:
        if tensor["shape"][0] != -1:
            print(
                f"note: input '{tensor['name']}' takes exactly {tensor['shape'][0]} row(s) per"
                " request; export a dynamic first axis to take batches",
                file=sys.stderr,
            )
    if backend is None:
        print(f"{folder}: {MODEL_FILE} and {METADATA_FILE} (sha256 {document['sha256']})")
    else:
        print(f"{folder}: {METADATA_FILE} (backend: SageMaker endpoint {args.sagemaker_endpoint})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
