"""A real Open Inference Protocol client against the emulator: tritonclient over HTTP/JSON."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import tritonclient.http as triton
from sklearn.datasets import load_diabetes, load_digits, load_iris

from dev_support.paths import LOCAL_MODELS_DIR
from tests.e2e.conftest import Running, start_emulator


def test_tritonclient_health_metadata_and_inference(running: Running) -> None:
    url = urlsplit(running.client.base_url)
    # tritonclient speaks to host:port; the gateway also serves the routes without the stage.
    client = triton.InferenceServerClient(url=url.netloc)
    headers = {"x-api-key": running.client.api_key}

    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("iris", headers=headers)
    metadata = client.get_model_metadata("digits", headers=headers)
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}]

    for name, bunch in (("iris", load_iris()), ("digits", load_digits())):
        rows = bunch.data[:20].astype(np.float32)
        tensor = triton.InferInput("input", list(rows.shape), "FP32")
        tensor.set_data_from_numpy(rows, binary_data=False)
        wanted = [triton.InferRequestedOutput("label", binary_data=False)]

        result = client.infer(name, [tensor], outputs=wanted, headers=headers)

        labels = result.as_numpy("label")
        assert labels is not None
        assert labels.tolist() == bunch.target[:20].tolist()
    client.close()


def test_tritonclient_with_the_regression_and_the_model_behind_sagemaker(tmp_path: Path) -> None:
    run = start_emulator(tmp_path, {"ModelsS3Uri": LOCAL_MODELS_DIR.as_uri()})
    client = triton.InferenceServerClient(url=urlsplit(run.client.base_url).netloc)
    headers = {"x-api-key": run.client.api_key}
    try:
        assert client.is_model_ready("iris-sagemaker", headers=headers)
        metadata = client.get_model_metadata("iris-sagemaker", headers=headers)
        iris = load_iris()
        rows = iris.data[:20].astype(np.float32)
        tensor = triton.InferInput("input", list(rows.shape), "FP32")
        tensor.set_data_from_numpy(rows, binary_data=False)
        wanted = [triton.InferRequestedOutput("label", binary_data=False)]
        labels = client.infer("iris-sagemaker", [tensor], outputs=wanted, headers=headers)
        features = load_diabetes().data[:2].astype(np.float32)
        tensor = triton.InferInput("input", list(features.shape), "FP32")
        tensor.set_data_from_numpy(features, binary_data=False)
        wanted = [triton.InferRequestedOutput("prediction", binary_data=False)]
        predictions = client.infer("diabetes", [tensor], outputs=wanted, headers=headers)
    finally:
        client.close()
        run.stop()

    assert metadata["platform"] == "onnxruntime_onnx"
    label = labels.as_numpy("label")
    assert label is not None
    assert label.tolist() == iris.target[:20].tolist()
    prediction = predictions.as_numpy("prediction")
    assert prediction is not None
    # The committed model's answers for these rows (tests/e2e/test_models.py).
    assert np.allclose(prediction, [209.998, 67.450], atol=1e-2)
