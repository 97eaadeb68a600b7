"""A scripted MQTT peer on a real loopback socket, for what mosquitto never sends:
malformed packets, refusals on cue, silence instead of PINGRESP. Each accepted
connection runs ``script(conn)``; everything the client sent is kept per connection."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

from gnss.sources.mqttwire import varint

CONNACK_OK = b"\x20\x03\x00\x00\x00"


def suback(packet_id: int = 1, codes: bytes = b"\x01\x01") -> bytes:
    """A SUBACK (no properties) granting ``codes``."""
    body = struct.pack("!H", packet_id) + b"\x00" + codes
    return b"\x90" + varint(len(body)) + body


def publish(topic: str, payload: bytes, packet_id: int, *, qos: int = 1, dup: bool = False,
            props: bytes = b"\x00") -> bytes:
    """An MQTT 5 PUBLISH packet (``props``: the property block with its length)."""
    body = struct.pack("!H", len(topic.encode())) + topic.encode()
    if qos:
        body += struct.pack("!H", packet_id)
    body += props + payload
    return bytes([0x30 | (qos << 1) | (0x08 if dup else 0)]) + varint(len(body)) + body


class PeerConnection:
    """One accepted client connection: send bytes, read what the client sends."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = b""
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        """Send raw bytes to the client."""
        self.sock.sendall(data)

    def read_for(self, seconds: float) -> bytes:
        """Collect what the client sends during ``seconds`` (returns all so far)."""
        deadline = time.monotonic() + seconds
        self.sock.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self.received += data
        with self._lock:
            return self.received

    def wait_for(self, needle: bytes, timeout_s: float = 10.0) -> bytes:
        """Read until ``needle`` is among the received bytes; AssertionError on timeout."""
        deadline = time.monotonic() + timeout_s
        while needle not in self.received:
            if time.monotonic() > deadline:
                raise AssertionError(f"the client never sent {needle!r}; got {self.received!r}")
            self.read_for(0.05)
        return self.received


Script = Callable[[PeerConnection], None]


class RawBroker:
    """Accepts connections on a free loopback port and runs one script per connection
    (the last script is reused for further connections)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.host = "127.0.0.1"
        self.port: int = self.server.getsockname()[1]
        self.scripts = scripts
        self.connections: list[PeerConnection] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.server.accept()
            except OSError:
                return
            conn = PeerConnection(sock)
            self.connections.append(conn)
            script = self.scripts[min(len(self.connections), len(self.scripts)) - 1]
            threading.Thread(target=self._run, args=(script, conn), daemon=True).start()

    @staticmethod
    def _run(script: Script, conn: PeerConnection) -> None:
        try:
            script(conn)
        finally:
            conn.sock.close()

    def close(self) -> None:
        """Stop accepting."""
        self.server.close()
