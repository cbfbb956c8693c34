"""X-Ray tracing for a Lambda function, as a provider for Powertools' ``Tracer``.

On Lambda, the service decides sampling and records the function's segment; the code
only adds subsegments to it. Each one is a JSON segment document sent, when it closes,
in one UDP datagram to the daemon address Lambda gives (``AWS_XRAY_DAEMON_ADDRESS``),
after the daemon's header line, as the X-Ray SDKs send them. Trace id, parent and the
sampling decision come from the trace header Lambda sets for each invocation
(``_X_AMZN_TRACE_ID``): without it, or with ``Sampled=0``, nothing is recorded or sent.

Why not the X-Ray SDK: its recorder imports botocore for centralized sampling, which
Lambda never uses (about 250 ms of every cold start), and the SDK is in maintenance
mode until its end of support on 2027-02-25. Metadata is not recorded: Powertools puts
handler responses and exceptions there, which is where payloads would leak into traces.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

TRACE_HEADER = "_X_AMZN_TRACE_ID"
DAEMON_ADDRESS = "AWS_XRAY_DAEMON_ADDRESS"
# Powertools' documented switch, honoured here: Tracer(disabled=True) would import the SDK.
TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
DEFAULT_DAEMON_ADDRESS = "127.0.0.1:2000"
# The X-Ray daemon's protocol: this line, then the segment document, in one datagram.
DAEMON_HEADER = b'{"format": "json", "version": 1}\n'

Annotation = str | int | float | bool
# One encoder for every document: json.dumps with arguments builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True)
class TraceContext:
    """What Lambda's trace header says about the current invocation."""

    trace_id: str
    parent_id: str
    sampled: bool

    @classmethod
    def from_header(cls, header: str | None) -> TraceContext | None:
        """``Root=1-…;Parent=…;Sampled=1`` (other fields ignored); None without root or parent."""
        if not header:
            return None
        fields = dict(part.strip().partition("=")[::2] for part in header.split(";"))
        root, parent = fields.get("Root"), fields.get("Parent")
        if not root or not parent:
            return None
        return cls(root, parent, fields.get("Sampled") == "1")


def udp_address(address: str) -> tuple[str, int]:
    """``host:port``, or the ``udp:host:port`` of the ``tcp:… udp:…`` form; Lambda gives an IP."""
    forms = address.split()
    chosen = next((form for form in forms if form.startswith("udp:")), forms[0] if forms else "")
    host, _, port = chosen.removeprefix("udp:").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{DAEMON_ADDRESS} must be host:port, got {address!r}")
    return host, int(port)


def _new_id() -> str:
    return os.urandom(8).hex()


def _valid_annotation(key: str, value: object) -> bool:
    # X-Ray indexes annotation keys of letters, digits and underscores, and values that are
    # strings, numbers or booleans; the SDKs drop anything else, and so does this.
    return (
        isinstance(value, str | int | float | bool)
        and bool(key)
        and key.isascii()
        and key.replace("_", "a").isalnum()
    )


class Subsegment(BaseSegment):
    """One subsegment: timing, annotations, and whether and how it failed."""

    def __init__(self, name: str, trace_id: str, parent_id: str) -> None:
        self.name = name
        self.id = _new_id()
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.start_time = time.time()
        self.end_time: float | None = None
        self.annotations: dict[str, Annotation] = {}
        self.fault = False
        self.exceptions: list[dict[str, Any]] = []

    def close(self, end_time: float | None = None) -> None:
        self.end_time = time.time() if end_time is None else end_time

    def add_subsegment(self, subsegment: Any) -> None:
        if isinstance(subsegment, Subsegment):
            subsegment.parent_id = self.id

    def remove_subsegment(self, subsegment: Any) -> None:
        return  # subsegments are sent on their own, never held by their parent

    def put_annotation(self, key: str, value: Any) -> None:
        if _valid_annotation(key, value):
            self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return  # not recorded: see the module's docstring

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        # The exception's type only: its message may quote a request, and the stack trace
        # is in the function's log already.
        self.fault = True
        self.exceptions.append(
            {"id": _new_id(), "type": type(exception).__name__, "remote": remote}
        )

    def document(self) -> dict[str, Any]:
        """The segment document of this subsegment, sent on its own (X-Ray's field names)."""
        document: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "type": "subsegment",
            "start_time": self.start_time,
        }
        if self.end_time is None:
            document["in_progress"] = True
        else:
            document["end_time"] = self.end_time
        if self.annotations:
            document["annotations"] = self.annotations
        if self.fault:
            document["fault"] = True
            document["cause"] = {"exceptions": self.exceptions}
        return document


class _Unsampled(BaseSegment):
    """Stands in for a subsegment when nothing is recorded: every call does nothing."""

    def close(self, end_time: float | None = None) -> None:
        return

    def add_subsegment(self, subsegment: Any) -> None:
        return

    def remove_subsegment(self, subsegment: Any) -> None:
        return

    def put_annotation(self, key: str, value: Any) -> None:
        return

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return


UNSAMPLED = _Unsampled()


class LambdaXRayProvider(BaseProvider):
    """Subsegments of Lambda's function segment, sent to the X-Ray daemon over UDP.

    One invocation at a time per execution environment (as Lambda runs them): the open
    subsegments are a plain stack, innermost last.
    """

    def __init__(self, daemon_address: str = DEFAULT_DAEMON_ADDRESS, enabled: bool = True) -> None:
        self.address = udp_address(daemon_address)
        self.enabled = enabled
        # Datagrams that could not be sent: counted, never raised into a request.
        self.dropped = 0
        self._open: list[Subsegment] = []
        # The last trace header read and what it said: one invocation's subsegments share it.
        self._last_header: str | None = None
        self._last_context: TraceContext | None = None
        # Created on first use, after init: nothing is sent at init, and a socket made
        # before a SnapStart snapshot would be restored into every new environment.
        self._socket: socket.socket | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> LambdaXRayProvider:
        disabled = environ.get(TRACE_DISABLED, "").strip().lower() in ("1", "true")
        return cls(environ.get(DAEMON_ADDRESS) or DEFAULT_DAEMON_ADDRESS, enabled=not disabled)

    def _context(self) -> TraceContext | None:
        if not self.enabled:
            return None
        header = os.environ.get(TRACE_HEADER)
        if header != self._last_header:
            self._last_header, self._last_context = header, TraceContext.from_header(header)
        context = self._last_context
        return context if context is not None and context.sampled else None

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        context = self._context()
        if context is None:
            yield UNSAMPLED
            return
        parent = self._open[-1].id if self._open else context.parent_id
        subsegment = Subsegment(name or "## subsegment", context.trace_id, parent)
        self._open.append(subsegment)
        try:
            yield subsegment
        except Exception as error:
            subsegment.add_exception(error, None)
            raise
        finally:
            self._open.remove(subsegment)
            subsegment.close()
            self.send(subsegment.document())

    @asynccontextmanager
    async def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AsyncIterator[BaseSegment]:
        with self.in_subsegment(name, **kwargs) as subsegment:
            yield subsegment

    def put_annotation(self, key: str, value: Any) -> None:
        """Annotate the innermost open subsegment (Lambda's own segment takes none)."""
        if self._open:
            self._open[-1].put_annotation(key, value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return  # not recorded: see the module's docstring

    def patch(self, modules: Sequence[str]) -> None:
        return  # the function calls no other service: nothing to instrument

    def patch_all(self) -> None:
        return

    def send(self, document: Mapping[str, Any]) -> None:
        """One document in one datagram; never blocks, never raises."""
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            payload = _encode(document).encode()
            self._socket.sendto(DAEMON_HEADER + payload, self.address)
        except OSError:
            self.dropped += 1
