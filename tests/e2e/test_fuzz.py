"""Schemathesis against the emulator: every operation of api/openapi.yaml, valid and invalid.

Each answer must be one the document describes (status, content type, body schema),
never a server error; invalid requests must be refused with a 4xx. ``FUZZ_EXAMPLES``
sets the examples per operation (``make fuzz`` runs more). The run is derandomized;
Hypothesis also draws on constants in the modules imported, so the same selection of
tests sends the same requests.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from dev_support.paths import MODELS_DIR
from emulator.openapi import plain_document
from emulator.stack import THROTTLING_LIFTED
from emulator.template import load_app
from tests.e2e.conftest import FUZZ_TALLY, Running, start_emulator, sums

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FRAMING = {"content-length", "transfer-encoding"}
# The plain document the emulator serves at /openapi.json (AuthMode=API_KEY, the default).
DOCUMENT = plain_document(load_app(), [{"url": "/prod"}])
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
            "checks": {
                # API Gateway answers a method with no route 403 MISSING_AUTHENTICATION_TOKEN,
                # not 405: asserted in the test itself.
                "unsupported_method": {"enabled": False},
                # The schema cannot say which shapes a model takes: the function refuses
                # schema-valid tensors of the wrong shape (400) or size (413), as documented.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "403", "404", "413"]
                },
            },
        }
    ),
)

# The bundled models and their versions: inference_fn/inference/models/<name>/<version>/.
BUNDLED = {
    "model_name": sorted(model.name for model in MODELS_DIR.iterdir()),
    "model_version": sorted({version.name for version in MODELS_DIR.glob("*/*")}),
}


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    # A generated name is almost never a bundled model's: without these, generated bodies
    # would only ever meet the 404 answer, never the function's checks of their tensors.
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([*BUNDLED.get(name, []), value])
            for name, value in path_parameters.items()
        }
    )


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    # Throttling lifted: a 429 is documented, but it would stand in for the answer under test.
    run = start_emulator(
        tmp_path_factory.mktemp("fuzz"),
        THROTTLING_LIFTED,
    )
    # What the fuzzing reads is what the emulator serves to any tool.
    url = run.client.base_url.removesuffix("/prod") + "/openapi.json"
    with urllib.request.urlopen(url) as served:  # noqa: S310 -- the loopback emulator
        assert json.load(served) == DOCUMENT
    started = time.perf_counter()
    yield run
    FUZZ_TALLY.seconds += time.perf_counter() - started
    run.stop()
    # The fuzzed requests reach the log processor too, as access-log lines: it counts
    # every one of them and fails on none.
    metrics = run.metrics()
    assert sums(metrics, "LogLines", "service")[("model-endpoint",)] == len(run.access_log())
    assert sum(sums(metrics, "MalformedLogLines", "service").values()) == 0
    assert not (run.state_dir / "dlq").exists()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_answer_is_documented(case: schemathesis.Case[Any], fuzzed: Running) -> None:
    # These frame the HTTP message, and the client sets them: a generated one makes a message
    # whose end the server cannot find, which no API answers (tests/e2e/test_chain.py has
    # the emulator's answer to a bad one).
    assume(not FRAMING.intersection(name.lower() for name in case.headers or {}))
    emulator = fuzzed.emulator
    operation = case.operation.label
    FUZZ_TALLY.examples[operation] += 1

    response = case.call_and_validate(
        base_url=emulator.base_url, headers={"x-api-key": emulator.api_key}
    )

    FUZZ_TALLY.statuses[response.status_code] += 1
    if case.method.upper() != case.operation.method.upper():
        assert response.status_code == 403, (case.method, operation)
        if case.method.upper() != "HEAD":
            assert response.json()["error"].startswith(f"No route takes {case.method.upper()} ")
