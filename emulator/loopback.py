"""What the service stand-ins share: an HTTP server on loopback, served from a daemon thread,
whose URL the functions are given as the service's endpoint."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


def start_serving(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def server_url(server: ThreadingHTTPServer | None, service: str) -> str:
    """``http://host:port`` of a started stand-in."""
    if server is None:
        raise RuntimeError(f"the {service} stand-in is not started")
    host, port = server.server_address[:2]
    return f"http://{host if isinstance(host, str) else host.decode()}:{port}"


def stop_serving(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
