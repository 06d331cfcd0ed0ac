"""Serve a WSGI app on a loopback port in a background thread, for real-HTTP tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

WSGIApp = Callable[..., Iterable[bytes]]


def closing_buffered(app: WSGIApp) -> WSGIApp:
    """Read each response fully and close it before handing it to the server.

    werkzeug's dev server drains the socket after a response before it closes the response
    iterator; when a browser has reset the connection (it navigated away mid-request) the
    drain raises and the iterator, e.g. an open static file, is never closed. Buffering makes
    the close unconditional, so `filterwarnings = error` never trips on a ResourceWarning.
    """

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    return wrapped


class LiveServer:
    """A threaded werkzeug server on 127.0.0.1 with an ephemeral port."""

    def __init__(self, app: WSGIApp, port: int = 0) -> None:
        self.server: BaseWSGIServer = make_server(
            "127.0.0.1", port, closing_buffered(app), threaded=True
        )
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
