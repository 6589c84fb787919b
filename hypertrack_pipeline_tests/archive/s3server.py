"""A local S3 endpoint for the tests: moto's server (its Flask app) on 127.0.0.1 in a thread, with AWS's
requester-pays rule enforced in front of it — a request to a requester-pays bucket without
``x-amz-request-payer: requester`` is refused with 403 AccessDenied, as AWS does (moto records the
bucket's payment setting but does not enforce it)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
           b'<Message>Access Denied (requester pays)</Message></Error>')


@dataclass
class S3Server:
    url: str
    requester_pays_buckets: set[str] = field(default_factory=set)
    denied: list[str] = field(default_factory=list)  # paths refused for a missing request-payer header
    served: list[str] = field(default_factory=list)  # object paths read (GET)


def _bucket_of(environ: dict) -> str:
    return environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]


@contextmanager
def s3_server() -> Iterator[S3Server]:
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request would flood the test log
            pass

    moto_app = DomainDispatcherApplication(create_backend_app)
    state = S3Server(url="")

    def app(environ: dict, start_response: Callable) -> Any:
        bucket = _bucket_of(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        if bucket in state.requester_pays_buckets and method in ("GET", "HEAD"):
            if environ.get("HTTP_X_AMZ_REQUEST_PAYER", "").lower() != "requester":
                state.denied.append(environ.get("PATH_INFO", ""))
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [_DENIED] if method == "GET" else []
            if method == "GET" and "/" in environ.get("PATH_INFO", "").lstrip("/"):
                state.served.append(environ["PATH_INFO"])
        return moto_app(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="moto-s3", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=10)
