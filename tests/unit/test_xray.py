"""The X-Ray provider's pieces: Lambda's trace header, the daemon address, the documents."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from inference.xray import UNSAMPLED, LambdaXRayProvider, Subsegment, TraceContext, udp_address

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
HEADER = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER, TraceContext(ROOT, "53995c3f42cd8ad8", sampled=True)),
        (
            f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1",
            TraceContext(ROOT, "53995c3f42cd8ad8", sampled=False),
        ),
        (f"Root={ROOT};Parent=53995c3f42cd8ad8", TraceContext(ROOT, "53995c3f42cd8ad8", False)),
        (f"Root={ROOT};Sampled=1", None),
        ("Parent=53995c3f42cd8ad8;Sampled=1", None),
        ("", None),
        (None, None),
    ],
)
def test_lambdas_trace_header(header: str | None, expected: TraceContext | None) -> None:
    assert TraceContext.from_header(header) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
        ("udp:127.0.0.2:2001 tcp:127.0.0.1:2000", ("127.0.0.2", 2001)),
    ],
)
def test_daemon_address_forms(address: str, expected: tuple[str, int]) -> None:
    assert udp_address(address) == expected


@pytest.mark.parametrize("address", ["", "127.0.0.1", "127.0.0.1:port", ":2000"])
def test_a_daemon_address_without_host_and_port_fails_at_init(address: str) -> None:
    with pytest.raises(ValueError, match="AWS_XRAY_DAEMON_ADDRESS"):
        LambdaXRayProvider(address)


def test_a_subsegment_document_has_x_rays_fields() -> None:
    subsegment = Subsegment("## predict", ROOT, "53995c3f42cd8ad8")
    subsegment.put_annotation("model", "iris")
    subsegment.put_annotation("cold_start", False)
    subsegment.put_annotation("rows", 3)
    subsegment.put_annotation("not allowed", "space in the key")
    subsegment.put_annotation("payload", [1, 2])
    subsegment.put_metadata("response", {"body": "not recorded"})
    subsegment.close(end_time=subsegment.start_time + 0.25)

    document = subsegment.document()

    assert document == {
        "name": "## predict",
        "id": subsegment.id,
        "trace_id": ROOT,
        "parent_id": "53995c3f42cd8ad8",
        "type": "subsegment",
        "start_time": subsegment.start_time,
        "end_time": subsegment.start_time + 0.25,
        "annotations": {"model": "iris", "cold_start": False, "rows": 3},
    }


def test_an_open_subsegment_is_in_progress_and_a_failed_one_names_its_exception() -> None:
    subsegment = Subsegment("## predict", ROOT, "53995c3f42cd8ad8")
    assert subsegment.document()["in_progress"] is True

    subsegment.add_exception(KeyError("a client's text"), None)
    subsegment.close()

    document = subsegment.document()
    assert document["fault"] is True
    (exception,) = document["cause"]["exceptions"]
    assert (exception["type"], exception["remote"], len(exception["id"])) == ("KeyError", False, 16)
    assert "client" not in json.dumps(document)


def test_unsampled_and_disabled_tracing_yield_a_segment_that_records_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER.replace("Sampled=1", "Sampled=0"))
    with LambdaXRayProvider().in_subsegment("## one") as segment:
        assert segment is UNSAMPLED

    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER)
    disabled = LambdaXRayProvider.from_environment({"POWERTOOLS_TRACE_DISABLED": "true"})
    with disabled.in_subsegment("## two") as segment:
        assert segment is UNSAMPLED


def test_sending_counts_failures_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER)
    provider = LambdaXRayProvider("127.0.0.1:0")  # no datagram can go to port 0

    with provider.in_subsegment("## handler") as segment:
        provider.put_annotation("cold_start", True)

    assert isinstance(segment, Subsegment)
    assert segment.annotations == {"cold_start": True}
    assert provider.dropped == 1


def test_the_async_form_nests_like_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER)
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(1)
    provider = LambdaXRayProvider(f"127.0.0.1:{daemon.getsockname()[1]}")

    async def traced() -> None:
        async with (
            provider.in_subsegment_async("## outer"),
            provider.in_subsegment_async("## inner"),
        ):
            pass

    asyncio.run(traced())

    inner, outer = (json.loads(daemon.recv(65536).partition(b"\n")[2]) for _ in range(2))
    daemon.close()
    assert (inner["name"], outer["name"]) == ("## inner", "## outer")
    assert inner["parent_id"] == outer["id"]
    assert outer["parent_id"] == "53995c3f42cd8ad8"
