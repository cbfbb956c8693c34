"""The fault the canary and the pre-traffic hook exist for: a model exported wrong.

``mislabelled`` is the bundled iris model with its label map shuffled, as an export that
mixed up ``classlabels_ints`` would write it: the same scores, other class names. Served as
a new version of the inference function, it answers 200 with wrong classes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx

from dev_support.paths import MODELS_DIR

# Each class's label moved one place: every row's predicted class changes.
SHUFFLE = (1, 2, 0)


def mislabelled(model_file: Path) -> onnx.ModelProto:
    model = onnx.load(model_file)
    (classifier,) = [node for node in model.graph.node if node.op_type == "LinearClassifier"]
    (labels,) = [a for a in classifier.attribute if a.name == "classlabels_ints"]
    original = list(labels.ints)
    del labels.ints[:]
    labels.ints.extend(original[i] for i in SHUFFLE)
    onnx.checker.check_model(model)
    return model


def build_with_mislabelled_iris(build_dir: Path, out: Path) -> Path:
    """A copy of ``build_dir`` whose inference function bundles the mislabelled iris model:
    the other functions and the inference function's dependencies linked, its package
    copied (it finds its models next to its own files) with that one file replaced."""
    out.mkdir(parents=True)
    for artifact in build_dir.iterdir():
        if artifact.name != "InferenceFunction":
            (out / artifact.name).symlink_to(artifact)
    function = out / "InferenceFunction"
    function.mkdir()
    for entry in (build_dir / "InferenceFunction").iterdir():
        if entry.name == "inference":
            shutil.copytree(
                entry, function / entry.name, ignore=shutil.ignore_patterns("__pycache__")
            )
        elif entry.name != "__pycache__":
            (function / entry.name).symlink_to(entry)
    iris = function / "inference" / MODELS_DIR.name / "iris" / "1" / "model.onnx"
    iris.write_bytes(mislabelled(MODELS_DIR / "iris" / "1" / "model.onnx").SerializeToString())
    return out
