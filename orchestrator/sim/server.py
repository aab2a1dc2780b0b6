"""The HTTP layer: a loopback server the real ``anthropic`` SDK talks to via ``base_url``.

Standard library only: :class:`http.server.ThreadingHTTPServer` speaking
HTTP/1.1 so clients keep connections alive, one daemon thread per connection.
This module owns routing, authentication, error bodies, injected faults and
rate limiting; what a message *says* comes from :mod:`orchestrator.sim.writer`.

Order of checks for ``POST /v1/messages``: authentication, body validation,
the spend limit (``spend_limit_after``, ``pspend_limit``), rate limits (both
answered at once), then the simulated latency, then the random faults
(``pdisconnect``, ``p429``, ``p529``, ``p500``, in that order), then the
answer. Faults and limits apply to ``POST /v1/messages`` only.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import random
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from orchestrator.errors import BadInputError
from orchestrator.sim.batches import BatchError, BatchStore
from orchestrator.sim.cache import PromptCache
from orchestrator.sim.config import SimConfig
from orchestrator.sim.messages import (
    check_count_request,
    check_message_request,
    count_tokens,
    create_message,
    input_cost,
    new_id,
    sse_bytes,
    sse_events,
    sse_stream,
)
from orchestrator.sim.ratelimit import BucketState, RateLimiter
from orchestrator.sim.stats import SimStats

#: Keys with a fixed answer, whatever ``key=`` says (handy in tests).
INVALID_KEY = "sk-sim-invalid"
FORBIDDEN_KEY = "sk-sim-forbidden"

_MAX_BODY = 256 * 1024 * 1024
_log = logging.getLogger(__name__)
Headers = dict[str, str]


class _Reply(Exception):
    """Raised inside a route to send an error response."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: Headers | None = None,
        *,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}
        self.details = details  # ``error.details``, e.g. {"error_code": ...}


class _Exchange:
    """One request and its response, over a :class:`BaseHTTPRequestHandler`."""

    def __init__(self, handler: _Handler, stats: SimStats) -> None:
        self.handler = handler
        self.stats = stats
        self.request_id = new_id("req_")
        split = urlsplit(handler.path)
        self.path = split.path.rstrip("/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        self.raw_body = b""

    @property
    def beta(self) -> bool:
        """A beta request (``?beta=true``, as the ``claude`` CLI sends): a few more fields accepted."""
        return self.query.get("beta", "").lower() == "true"

    def read_body(self) -> None:
        """Read the whole body first: a kept-alive connection stays in step whatever we answer."""
        try:
            self.raw_body = self._read_body()
        except (ValueError, OSError):
            self.handler.close_connection = True
            raise _Reply(400, "invalid_request_error", "Malformed request body") from None

    def _read_body(self) -> bytes:
        h = self.handler
        if "chunked" in h.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
        length = int(h.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            h.close_connection = True
            raise _Reply(413, "request_too_large", "Request exceeds the maximum size")
        return h.rfile.read(length) if length else b""

    def json_body(self) -> Any:
        try:
            return json.loads(self.raw_body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            message = f"Request body is not valid JSON: {exc}"
            raise _Reply(400, "invalid_request_error", message) from None

    def header(self, name: str) -> str:
        return self.handler.headers.get(name, "") or ""

    def send(self, status: int, body: bytes, content_type: str, headers: Headers | None = None) -> None:
        h = self.handler
        self.stats.record_response(status)  # before the client can see it, so tests can assert
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("request-id", self.request_id)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def send_json(self, status: int, obj: Any, headers: Headers | None = None) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send(status, body, "application/json", headers)

    def send_error(self, err: _Reply) -> None:
        error: dict[str, Any] = {"type": err.error_type, "message": err.message}
        if err.details is not None:
            error["details"] = err.details
        body = {"type": "error", "error": error, "request_id": self.request_id}
        self.send_json(err.status, body, err.headers)

    def disconnect(self) -> None:
        """Drop the connection without a response (a network failure, as the client sees it)."""
        self.stats.record_response(0)
        self.handler.close_connection = True
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)


_Route = Callable[[_Exchange, str], None]


class _App:
    """The simulator's state and its routes."""

    def __init__(self, config: SimConfig, stats: SimStats, base_url: Callable[[], str]) -> None:
        self.config = config
        self.stats = stats
        self._base_url = base_url
        self._rng = random.Random(config.seed)
        self._rng_lock = threading.Lock()
        self._answered = 0  # POST /v1/messages answered with a message (for spend_limit_after)
        self._answered_lock = threading.Lock()
        self.cache = PromptCache(config.cache_min_tokens, config.cache_ttl_s)
        self.limiter = RateLimiter(config.rpm, config.tpm, config.otpm)
        self.batches = BatchStore(self._batch_item, config.batch_delay_ms / 1000, seed=config.seed,
                                  cancel_finish=config.pbatch_cancel_finish)
        self.closing = threading.Event()  # set by SimServer.stop(): ends hung streams
        #: (method, path parts after /v1/messages, last part) -> (endpoint name, route)
        self._routes: dict[tuple[str, int, str], tuple[str, _Route]] = {
            ("POST", 0, ""): ("messages", self._messages),
            ("POST", 1, "count_tokens"): ("count_tokens", self._count_tokens),
            ("POST", 1, "batches"): ("batches.create", self._batch_create),
            ("GET", 1, "batches"): ("batches.list", self._batch_list),
            ("GET", 2, ""): ("batches.retrieve", self._batch_retrieve),
            ("DELETE", 2, ""): ("batches.delete", self._batch_delete),
            ("POST", 3, "cancel"): ("batches.cancel", self._batch_cancel),
            ("GET", 3, "results"): ("batches.results", self._batch_results),
        }

    # --- randomness (one seeded RNG, shared and locked) -------------------------

    def chance(self, p: float) -> bool:
        if p <= 0.0:
            return False
        if p >= 1.0:
            return True
        with self._rng_lock:
            return self._rng.random() < p

    def _latency_s(self) -> float:
        jitter = self.config.jitter_ms
        with self._rng_lock:
            offset = self._rng.uniform(-jitter, jitter) if jitter else 0.0
        return max(0.0, self.config.latency_ms + offset) / 1000

    # --- dispatch ---------------------------------------------------------------

    def dispatch(self, handler: _Handler, method: str) -> None:
        ex = _Exchange(handler, self.stats)
        endpoint, route, arg = self._route(method, ex.path)
        self.stats.record_request(endpoint, method=method, path=handler.path,
                                  user_agent=ex.header("User-Agent"))
        try:
            ex.read_body()
            if route is None:
                raise _Reply(404, "not_found_error", f"Not found: {method} {ex.path}")
            if endpoint not in ("health", "stats"):
                self._authenticate(ex)
                if not ex.header("anthropic-version").strip():  # the SDK and the CLI always send it
                    raise _Reply(400, "invalid_request_error", "anthropic-version: header is required")
            route(ex, arg)
        except _Reply as err:
            ex.send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        except Exception as exc:  # report, don't kill the connection thread silently
            # A bug of ours, not a fault drawn on purpose: counted (tests assert there are
            # none) and marked x-should-retry: false, so a client's retries cannot hide it.
            _log.exception("simulator error on %s %s", method, ex.path)
            self.stats.record_internal_error()
            message = f"internal simulator error: {exc!r}"
            ex.send_error(_Reply(500, "api_error", message, {"x-should-retry": "false"}))

    def _route(self, method: str, path: str) -> tuple[str, _Route | None, str]:
        """The endpoint's name, its route (None: not found) and the batch id, if any."""
        parts = path.strip("/").split("/")
        if path == "/health":
            return "health", self._health if method == "GET" else None, ""
        if path == "/stats":
            return "stats", self._stats if method == "GET" else None, ""
        if parts[:2] != ["v1", "messages"]:
            return "unknown", None, ""
        rest = parts[2:]
        if len(rest) >= 2 and rest[0] != "batches":
            return "unknown", None, ""
        last = rest[-1] if len(rest) in (1, 3) else ""
        found = self._routes.get((method, len(rest), last))
        if found is None:
            return "unknown", None, ""
        return found[0], found[1], rest[1] if len(rest) >= 2 else ""

    def _authenticate(self, ex: _Exchange) -> None:
        key = ex.header("x-api-key").strip()
        if not key:
            scheme, _, token = ex.header("Authorization").strip().partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        if not key:
            raise _Reply(401, "authentication_error", "x-api-key header is required")
        if key == FORBIDDEN_KEY:
            message = "Your API key does not have permission to use this resource"
            raise _Reply(403, "permission_error", message)
        if key == INVALID_KEY or (self.config.key is not None and key != self.config.key):
            raise _Reply(401, "authentication_error", "invalid x-api-key")

    # --- routes -----------------------------------------------------------------

    def _health(self, ex: _Exchange, _: str) -> None:
        ex.send_json(200, {"status": "ok"})

    def _stats(self, ex: _Exchange, _: str) -> None:
        """Counters for a test or benchmark in another process (e.g. how many batches were created)."""
        snap = self.stats.snapshot()
        ex.send_json(200, {"requests": snap.requests, "messages_created": snap.messages_created,
                           "batch_messages_created": snap.batch_messages_created, **self.batches.counts()})

    def _messages(self, ex: _Exchange, _: str) -> None:
        headers = self._limit_headers(self.limiter.states())
        try:
            body = ex.json_body()
            problem = check_message_request(body, beta=ex.beta)
            if problem:
                raise _Reply(400, "invalid_request_error", problem)
            self._spend_limit()
            if self.limiter.enabled:
                decision = self.limiter.admit(input_cost(body, self.config, self.cache))
                headers = self._limit_headers(decision.states)
                if not decision.allowed:
                    self.stats.record_rate_limited()
                    wait_ms = max(1, math.ceil(decision.retry_after_s * 1000))
                    raise _Reply(
                        429,
                        "rate_limit_error",
                        f"Rate limit exceeded ({', '.join(decision.blocked)} per minute)",
                        {**_retry_headers(wait_ms), **headers},
                    )
            time.sleep(self._latency_s())
            if self._fault(ex, headers):
                return
            message = create_message(body, self.config, self.cache, self.chance)
        except _Reply as err:
            err.headers = {**headers, **err.headers}
            raise
        self.stats.record_usage(message["usage"])
        with self._answered_lock:
            self._answered += 1
        self.limiter.charge_output(message["usage"]["output_tokens"])
        if body.get("stream") is True:
            sse = {"Cache-Control": "no-cache", **headers}
            if self.chance(self.config.phang):
                self._hang(ex, message, sse)
                return
            ex.send(200, sse_stream(message), "text/event-stream; charset=utf-8", sse)
        else:
            ex.send_json(200, message, headers)

    def _spend_limit(self) -> None:
        """Refuse as the API does once the organisation's spend limit is reached.

        The wire form the SDK turns into ``EnforcedSpendLimitReachedError`` (a
        ``RateLimitError``): a 429 whose ``error.details.error_code`` is
        ``enforced_spend_limit_reached``, marked ``x-should-retry: false``.
        """
        cfg = self.config
        with self._answered_lock:
            reached = bool(cfg.spend_limit_after) and self._answered >= cfg.spend_limit_after
        if not reached and not self.chance(cfg.pspend_limit):
            return
        self.stats.record_fault("spend_limit")
        raise _Reply(
            429,
            "rate_limit_error",
            "You have reached your specified API usage limits. You will regain access next month.",
            {"x-should-retry": "false"},
            details={"error_code": "enforced_spend_limit_reached"},
        )

    def _fault(self, ex: _Exchange, headers: Headers) -> bool:
        """Inject a random failure; True when the exchange is over."""
        cfg = self.config
        if self.chance(cfg.pdisconnect):
            self.stats.record_fault("pdisconnect")
            ex.disconnect()
            return True
        if self.chance(cfg.p429):
            self.stats.record_fault("p429")
            raise _Reply(
                429,
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
                _retry_headers(max(1, cfg.retry_after_ms)),
            )
        if self.chance(cfg.p529):
            self.stats.record_fault("p529")
            raise _Reply(529, "overloaded_error", "Overloaded")
        if self.chance(cfg.p500):
            self.stats.record_fault("p500")
            raise _Reply(500, "api_error", "Internal server error")
        return False

    def _hang(self, ex: _Exchange, message: dict[str, Any], headers: Headers) -> None:
        """``phang``: start the stream, then send nothing for ``hang_ms`` (a stalled model)."""
        self.stats.record_fault("phang")
        h = ex.handler
        h.close_connection = True
        self.stats.record_response(200)
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Connection", "close")
        h.send_header("request-id", ex.request_id)
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(sse_bytes(sse_events(message)[:1]))
        h.wfile.flush()
        self.closing.wait(self.config.hang_ms / 1000)

    def _count_tokens(self, ex: _Exchange, _: str) -> None:
        body = ex.json_body()
        problem = check_count_request(body, beta=ex.beta)
        if problem:
            raise _Reply(400, "invalid_request_error", problem)
        ex.send_json(200, {"input_tokens": count_tokens(body, self.config)})

    def _batch_item(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """One batch request's result, through the same path as a real-time message."""
        problem = check_message_request(params)
        if problem is None and params.get("stream"):
            problem = "stream: streaming is not supported in batches"
        if problem is not None:
            return _errored("invalid_request_error", problem)
        if self.chance(self.config.pbatch_expired):
            return {"type": "expired"}
        if self.chance(self.config.pbatch_error):
            return _errored("api_error", "Internal server error")
        message = create_message(params, self.config, self.cache, self.chance, service_tier="batch")
        self.stats.record_usage(message["usage"], batch=True)
        return {"type": "succeeded", "message": message}

    def _base(self, ex: _Exchange) -> str:
        host = ex.header("Host")
        return f"http://{host}" if host else self._base_url()

    def _batch_create(self, ex: _Exchange, _: str) -> None:
        self._batch_call(ex, lambda: self.batches.create(ex.json_body(), self._base(ex)))

    def _batch_list(self, ex: _Exchange, _: str) -> None:
        try:
            limit = int(ex.query.get("limit", "20"))
        except ValueError:
            message = "limit: Input should be an integer"
            raise _Reply(400, "invalid_request_error", message) from None
        after, before = ex.query.get("after_id"), ex.query.get("before_id")
        self._batch_call(ex, lambda: self.batches.list(self._base(ex), limit, after, before))

    def _batch_retrieve(self, ex: _Exchange, batch_id: str) -> None:
        self._batch_call(ex, lambda: self.batches.retrieve(batch_id, self._base(ex)))

    def _batch_cancel(self, ex: _Exchange, batch_id: str) -> None:
        self._batch_call(ex, lambda: self.batches.cancel(batch_id, self._base(ex)))

    def _batch_delete(self, ex: _Exchange, batch_id: str) -> None:
        self._batch_call(ex, lambda: self.batches.delete(batch_id))

    def _batch_results(self, ex: _Exchange, batch_id: str) -> None:
        try:
            data = self.batches.results(batch_id)
        except BatchError as err:
            raise _Reply(err.status, err.error_type, err.message) from None
        ex.send(200, data, "application/x-jsonl")

    def _batch_call(self, ex: _Exchange, call: Callable[[], dict[str, Any]]) -> None:
        try:
            result = call()
        except BatchError as err:
            raise _Reply(err.status, err.error_type, err.message) from None
        ex.send_json(200, result)

    def _limit_headers(self, states: Mapping[str, BucketState]) -> Headers:
        headers: Headers = {}
        now = datetime.now(UTC)
        names = [(n, n) for n in states]
        if "input-tokens" in states:
            names.append(("tokens", "input-tokens"))
        for label, name in names:
            state = states[name]
            reset = (now + timedelta(seconds=state.reset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
            headers[f"anthropic-ratelimit-{label}-limit"] = str(state.limit)
            headers[f"anthropic-ratelimit-{label}-remaining"] = str(state.remaining)
            headers[f"anthropic-ratelimit-{label}-reset"] = reset
        return headers


def _retry_headers(wait_ms: int) -> Headers:
    return {"retry-after": str(max(1, math.ceil(wait_ms / 1000))), "retry-after-ms": str(wait_ms)}


def _errored(error_type: str, message: str) -> dict[str, Any]:
    error = {"type": error_type, "message": message}
    return {"type": "errored", "error": {"type": "error", "error": error}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: without it a keep-alive reply waits for the client's delayed ACK (about 40 ms a call)
    disable_nagle_algorithm = True
    server_version = "orchestrate-sim/1"
    timeout = 120  # idle keep-alive connections end after this many seconds
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.app.dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.app.dispatch(self, "POST")

    def do_DELETE(self) -> None:
        self.server.app.dispatch(self, "DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark of thousands of requests should not flood stderr."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 50 clients connecting at once must not hit a full backlog

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (slow where DNS is unreachable)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections so their threads finish now."""
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SimServer:
    """The simulator on a background thread. ``with SimServer(cfg) as sim: sim.url``."""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        self.config = config or SimConfig()
        self.host = host
        self.port = port
        self.stats = SimStats()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the SDK, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError("the simulator is not running; call start() first")
        port = self._httpd.server_address[1]
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> str:
        """Bind, serve on a daemon thread, and return the base URL."""
        if self._httpd is not None:
            return self.url
        app = _App(self.config, self.stats, lambda: self.url)
        self._httpd = _HTTPServer((self.host, self.port), app)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="orchestrate-sim",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def batch_counts(self) -> dict[str, int]:
        """``batches_created`` and ``batch_requests_created`` so far (also at ``GET /stats``)."""
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return self._httpd.app.batches.counts()

    def stop(self) -> None:
        """Stop serving, close open connections and pending batch timers."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.app.closing.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        httpd.app.batches.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    config: SimConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM; ``on_ready`` gets the URL."""
    server = SimServer(config, host, port)
    try:
        url = server.start()
    except OSError as exc:
        raise BadInputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (0 picks a free one), or stop what is using it"
            if exc.errno == errno.EADDRINUSE else "check --host: it must be an address of this machine",
        ) from None
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
    if on_ready is not None:
        on_ready(url)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
