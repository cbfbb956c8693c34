"""What the remote backends share: how their botocore client is made, and AWS's own
authentication error codes."""

from __future__ import annotations

from typing import Any

# Kept short: a backend that cannot be reached in a second will not answer in time.
CONNECT_TIMEOUT_S = 1.0
# AWS's shared authentication and authorisation errors: the role or the model's access.
ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
    }
)


def create_client(service: str, read_timeout_s: float) -> Any:
    """A botocore client for ``service``, made only when a model needs one: functions
    without a remote backend never import botocore's client code."""
    import botocore.session  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=read_timeout_s,
        # One attempt: a throttled call answers the caller 429 at once instead of waiting
        # out backoffs inside the function's timeout; the caller knows whether to retry.
        retries={"mode": "standard", "total_max_attempts": 1},
        tcp_keepalive=True,
    )
    return botocore.session.get_session().create_client(service, config=config)
