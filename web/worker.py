"""The gunicorn worker of ``news-search serve``: gunicorn's own errors answered in JSON.

Some requests never reach the application: gunicorn refuses them while it reads them
(a request line over ``limit_request_line``, headers too large, raw non-ASCII in the
URL as ``curl "http://…/api/search?q=переговоры"`` sends it) and answers with an HTML
page of its own (``gunicorn.workers.base.Worker.handle_error``). An API client gets
the JSON error body of every other error instead, ``{"error": {"code", "message"}}``,
with the status gunicorn chose and a message that says how to send the request.

A raw UTF-8 request line is not decoded: RFC 9112 allows only ASCII in the target, and
gunicorn has no setting for it; a proxy in front could read those bytes otherwise.
"""

from __future__ import annotations

import json
from ssl import SSLError

from gunicorn import util
from gunicorn.http import errors as http
from gunicorn.workers.gthread import ThreadWorker

from search.procs import die_with_parent
from search.query import MAX_QUERY_LENGTH

INTERNAL = "Something went wrong on the server."
HOW_TO_CALL = "curl -G --data-urlencode 'q=переговоры' http://{bind}/api/search"
LOGGED_CHARS = 200  # of a refused request line, in the log


def _errors(bind: str, line_limit: int, field_limit: int) -> list[tuple[type, int, str, str]]:
    """(exception, status, code, message) for gunicorn's errors, most specific first."""
    hint = HOW_TO_CALL.format(bind=bind)
    return [
        (http.InvalidResponseHeader, 500, "internal_error", INTERNAL),  # the app's fault
        (http.InvalidResponseHeaderName, 500, "internal_error", INTERNAL),
        (http.LimitRequestLine, 414, "request_line_too_long",
         f"The request line is over {line_limit} bytes. A query may be up to "
         f"{MAX_QUERY_LENGTH} characters, percent-encoded: {hint}"),
        (http.LimitRequestHeaders, 431, "headers_too_large",
         f"The request headers are too large (at most {field_limit} bytes a header)."),
        (http.InvalidRequestLine, 400, "bad_request_line",
         "The request line is not valid HTTP/1.1; a URL must be ASCII, anything else "
         f"percent-encoded: {hint}"),
        (http.InvalidRequestMethod, 400, "bad_method", "Unknown HTTP method: the API takes GET."),
        (http.InvalidHTTPVersion, 400, "bad_http_version", "Use HTTP/1.0 or HTTP/1.1."),
        (http.UnsupportedTransferCoding, 501, "unsupported_transfer_coding",
         "This Transfer-Encoding is not supported."),
        (http.ExpectationFailed, 417, "expectation_failed", "Only 'Expect: 100-continue' works."),
        (http.ForbiddenProxyRequest, 403, "forbidden", "Request forbidden."),
        (http.ConfigurationProblem, 500, "internal_error", "The server is misconfigured."),
        (http.ParseException, 400, "bad_request", f"Malformed HTTP request. For example: {hint}"),
        (SSLError, 403, "forbidden", "TLS error."),
    ]  # fmt: skip


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}


def error_response(status: int, code: str, message: str) -> bytes:
    """A whole HTTP response with the API's JSON error body; the connection closes."""
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    data = body.encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n"
        "Access-Control-Allow-Origin: *\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "\r\n"
    )
    return head.encode("ascii") + data


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, whose own error answers are the API's JSON errors."""

    def handle_error(self, req, client, addr, exc) -> None:
        bind = self.cfg.bind[0] if self.cfg.bind else "127.0.0.1:8000"
        table = _errors(bind, self.cfg.limit_request_line, self.cfg.limit_request_field_size)
        status, code, message = next(
            ((s, c, m) for kind, s, c, m in table if isinstance(exc, kind)),
            (500, "internal_error", INTERNAL),
        )
        if status >= 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        else:
            peer = addr[0] if addr else ""
            self.log.warning("Invalid request from ip=%s: %.*s", peer, LOGGED_CHARS, exc)
        try:
            util.write_nonblock(client, error_response(status, code, message))
        except OSError:
            self.log.debug("Failed to send error message.")


def post_fork(server, worker) -> None:
    """In each worker after the fork: die with the arbiter (``kill -9`` of it included),
    rather than go on holding the port's socket and the index arrays."""
    die_with_parent(worker.ppid)
