"""A real Open Inference Protocol client against the emulator: tritonclient over HTTP/JSON."""

from __future__ import annotations

from urllib.parse import urlsplit

import numpy as np
import tritonclient.http as triton
from sklearn.datasets import load_digits, load_iris

from tests.e2e.conftest import Running


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
