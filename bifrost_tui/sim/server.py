"""SimServer: the simulated gateway as a real HTTP/1.1 server on loopback (``bifrost-tui sim``).

A ``ThreadingHTTPServer`` in a background thread, answering from the same handler as the in-process
transport. Faults are acted out on the socket: latency is real sleeping, a trickled body is written
in small flushed chunks, and "down" or "drop after send" close the connection without an answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bifrost_tui.sim.exchange import SimRequest, SimResponse
from bifrost_tui.sim.handler import http_date
from bifrost_tui.sim.world import SimWorld


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    world: SimWorld


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bifrost-tui-sim"
    sys_version = ""
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            name = key.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        answer = self.server.world.handle(SimRequest(self.command, path, query, headers, body))
        if answer.transport_error is not None:
            if answer.transport_error != "connect" and answer.latency > 0:
                time.sleep(answer.latency)
            self._hang_up()
            return
        if answer.latency > 0:
            time.sleep(answer.latency)
        self.send_response(answer.status)
        for key, value in answer.headers:
            if key.lower() != "date":  # send_response already sent it, from the same clock
                self.send_header(key, value)
        if answer.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._write_stream(answer)
            return
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if answer.cut_after is not None and answer.cut_after < len(answer.body):
            self.wfile.write(answer.body[: answer.cut_after])
            self.wfile.flush()
            self._hang_up()
            return
        if answer.trickle > 0:
            step = max(1, answer.trickle_chunk)
            for start in range(0, len(answer.body), step):
                time.sleep(answer.trickle)
                self.wfile.write(answer.body[start : start + step])
                self.wfile.flush()
        else:
            self.wfile.write(answer.body)

    def _write_stream(self, answer: SimResponse) -> None:
        """Write a generated body in HTTP/1.1 chunks as it is generated (never held whole);
        trickled and cut as the faults say."""
        sent = 0
        try:
            for chunk in answer.stream or ():
                if answer.cut_after is not None and sent + len(chunk) > answer.cut_after:
                    part = chunk[: answer.cut_after - sent]
                    if part:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
                    self._hang_up()
                    return
                if answer.trickle > 0:
                    time.sleep(answer.trickle)
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away mid-body
            self.close_connection = True

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header from the world's clock (a skewed gateway's, too), not this host's."""
        return http_date(self.server.world.clock.now())

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the world's request log is the record (and it never holds header values)."""


class SimServer:
    """Serve ``world`` on ``host:port`` (port 0: any free port) until ``stop()``."""

    def __init__(self, world: SimWorld, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.world = world
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host = str(self._server.server_address[0])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._server.server_port}"

    def start(self) -> str:
        """Bind, serve in a daemon thread, and return the base URL."""
        if self._server is not None:
            return self.url
        server = _Server((self.host, self.port), _RequestHandler)
        server.world = self.world
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.name = "bifrost-tui-sim"
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(world: SimWorld, *, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Start a ``SimServer`` and return it (call ``stop()`` when done, or use it as a context)."""
    server = SimServer(world, host=host, port=port)
    server.start()
    return server
