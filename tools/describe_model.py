"""Describe your ONNX model for the function: its folder, with metadata.json written from the
model itself (input and output names, datatypes, shapes) and its SHA-256.

Development only. The folder it writes (``OUT/NAME/VERSION/model.onnx`` and
``metadata.json``) is what ``ModelsS3Uri`` holds, so the next steps are ``aws s3 sync OUT
s3://bucket/prefix/`` and a deploy with that URI (or ``make run MODELS_URI=file://OUT``)::

    .venv/bin/python tools/describe_model.py model.onnx --name churn --version 1 --out my-models

With ``--sagemaker-endpoint NAME``, the model runs in that endpoint (a Triton or KServe
container serving this ONNX file): only ``metadata.json`` is written, naming the endpoint.

With ``--baseline-sample rows.npy`` (or ``.csv``: one row a line, comma-separated, a header
line allowed), rows like those the model was trained on, the metadata gets a drift
``baseline``: quantile bins of each feature and the model's predictions on the sample (the
share of each class, with ``--labels``; quantile bins for one number per row). The function
then publishes InputDrift and PredictionDrift for the model.

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

import numpy as np
import onnxruntime as ort

# The function's own tables and reader (on the venv's path, see make venv): what it would
# refuse, this refuses.
from inference.datatypes import BY_ONNX_TYPE, DATATYPES
from inference.drift import compute_baseline
from inference.metadata import METADATA_FILE, MODEL_FILE, parse_metadata


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


def _numbers(line: str) -> bool:
    try:
        [float(cell) for cell in line.split(",")]
    except ValueError:
        return False
    return True


def read_sample(path: Path) -> np.ndarray:
    """Rows of a ``.npy`` file, or of a ``.csv`` file (a first line that is not numbers is a
    header)."""
    if path.suffix == ".npy":
        rows = np.load(path, allow_pickle=False)
    elif path.suffix == ".csv":
        first = next(iter(path.read_text().splitlines()), "")
        rows = np.loadtxt(path, delimiter=",", skiprows=0 if _numbers(first) else 1, ndmin=2)
    else:
        raise DescribeError(f"{path}: a baseline sample is a .npy or .csv file")
    if rows.ndim == 1:
        rows = rows.reshape(-1, 1)
    if rows.shape[0] < 2:
        raise DescribeError(f"{path}: a baseline sample needs rows, a thousand or more ideally")
    return np.asarray(rows)


def baseline_from_sample(
    model: Path, document: dict[str, Any], sample: np.ndarray
) -> dict[str, Any]:
    """The drift baseline of the model's one numeric input over ``sample``, with its
    predictions: classes if it has labels and an integer output of one value a row, bins if
    its first output is one number a row, none otherwise."""
    (tensor, *others) = document["inputs"]
    datatype = DATATYPES[tensor["datatype"]]
    if others or tensor["datatype"] in ("BYTES", "BOOL"):
        raise DescribeError(
            "--baseline-sample takes models of one numeric input; this one has"
            f" {', '.join(t['name'] + ' ' + t['datatype'] for t in document['inputs'])}"
        )
    width = int(np.prod(tensor["shape"][1:])) if len(tensor["shape"]) > 1 else 1
    if width > 0 and sample.shape[1] != width:
        raise DescribeError(
            f"the sample has {sample.shape[1]} columns; input '{tensor['name']}' takes {width}"
        )
    rows = sample.astype(datatype.numpy).reshape(
        [sample.shape[0], *[dim if dim > 0 else -1 for dim in tensor["shape"][1:]]]
    )
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    output = document["outputs"][0]
    (predictions,) = session.run([output["name"]], {tensor["name"]: rows})
    predictions = np.asarray(predictions)
    one_a_row = predictions.ndim == 1 or (predictions.ndim == 2 and predictions.shape[1] == 1)
    labels = document.get("labels", [])
    # The features as the function will see them (FP32 rows binned as FP32).
    features = {tensor["name"]: rows}
    if one_a_row and labels and predictions.dtype.kind in "iu":
        return compute_baseline(features, output["name"], predictions, len(labels))
    if one_a_row and predictions.dtype.kind == "f":
        return compute_baseline(features, output["name"], predictions, None)
    return compute_baseline(features, None, None, None)


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
    parser.add_argument(
        "--baseline-sample",
        type=Path,
        help="rows like the training data (.npy or .csv): adds the drift baseline",
    )
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
        if args.baseline_sample is not None:
            sample = read_sample(args.baseline_sample)
            document["baseline"] = baseline_from_sample(args.model, document, sample)
            parse_metadata(document, f"{args.name}/{args.version}/{METADATA_FILE}")
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
    if "baseline" in document:
        watched = "and its predictions" if "prediction" in document["baseline"] else "only"
        print(
            f"drift baseline: {len(document['baseline']['features'])} feature(s) {watched},"
            f" from {document['baseline']['rows']} rows of {args.baseline_sample}",
            file=sys.stderr,
        )
    if backend is None:
        print(f"{folder}: {MODEL_FILE} and {METADATA_FILE} (sha256 {document['sha256']})")
    else:
        print(f"{folder}: {METADATA_FILE} (backend: SageMaker endpoint {args.sagemaker_endpoint})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
