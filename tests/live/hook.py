"""A local web hook receiver (stdlib http.server) that can answer 503 on demand."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HookHandler(BaseHTTPRequestHandler):
    """Records each POSTed JSON body; answers 503 while ``fail_first`` is above 0."""

    received: list[dict[str, object]] = []
    fail_first = 0
    delay_s = 0.0  # a slow receiver

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(HookHandler.delay_s)
        if HookHandler.fail_first > 0:
            HookHandler.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        HookHandler.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


def serve_hook(port: int) -> ThreadingHTTPServer:
    """Start a receiver on 127.0.0.1:port in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", port), HookHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
