"""A lean MQTT 3.1.1 publishing connection for the event output.

The MQTT output publishes each alert from the input thread the moment its event is
committed (the "fast lane"), instead of waking the sink thread, which woke paho's
network thread, which wrote the packet: at 10,000 fixes/s every such hand-off waited
for the interpreter and a core (docs/live.md has the figures). So the connection is a
plain socket with two rules:

* any thread may write, one packet batch at a time under ``write_lock``;
* only the owner (the sink worker thread) connects, reads (PUBACKs, PINGRESP) and
  closes; another thread that finds the link broken only says so (``broken``).

A fast-lane write never blocks: it goes out only when the kernel's send buffer has room
for all of it (``room_for``), otherwise the rows wait in the outbox for the sink thread.
TLS links take no fast-lane writes (an ``ssl.SSLSocket`` must not read and write from two
threads at once); their alerts go through the sink thread as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import select
import socket
import ssl
import struct
import termios
import threading
import time

from gnss.sources.mqttwire import (
    DISCONNECT,
    PINGREQ,
    Control,
    Endpoint,
    Packet,
    PacketReader,
    PacketType,
    ProtocolError,
    open_socket,
    text,
    varint,
)

SEND_TIMEOUT_S = 5.0
"""Longest a blocking write (the sink thread's) waits for the kernel to take it."""

_CONNACK_REFUSALS = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class LinkError(Exception):
    """The broker refused or dropped the connection, or broke the protocol."""


def connect_packet(client_id: str, keepalive_s: int, username: str | None = None,
                   password: str | None = None) -> bytes:
    """CONNECT (MQTT 3.1.1, clean session: the outbox, not the broker, keeps what is owed)."""
    if not 0 <= keepalive_s <= 0xFFFF:
        raise ValueError(f"keepalive must be 0-65535 s, got {keepalive_s}")
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    body = text("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive_s) + text(client_id)
    if username is not None:
        body += text(username)
    if password is not None:
        data = password.encode("utf-8")
        body += struct.pack("!H", len(data)) + data
    return b"\x10" + varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, packet_id: int, *, retain: bool = False) -> bytes:
    """PUBLISH at QoS 1 of ``payload`` on ``topic`` (UTF-8 bytes) with ``packet_id``."""
    if not 1 <= packet_id <= 0xFFFF:
        raise ValueError(f"packet id must be 1-65535, got {packet_id}")
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", packet_id) + payload
    return bytes([0x32 | (1 if retain else 0)]) + varint(len(body)) + body


def parse_connack(body: bytes) -> None:
    """Check a 3.1.1 CONNACK body; raise ``LinkError`` with the broker's reason."""
    if len(body) != 2:
        raise LinkError(f"malformed CONNACK ({len(body)} bytes)")
    code = body[1]
    if code:
        raise LinkError(f"connection refused: {_CONNACK_REFUSALS.get(code, f'code {code}')}")


def unsent_bytes(sock: socket.socket) -> int:
    """Bytes the kernel still holds in the socket's send queue (Linux ``TIOCOUTQ``)."""
    out = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", out)[0])


class MqttLink:
    """One publishing connection; see the module's rules on threads."""

    def __init__(self, endpoint: Endpoint, connect: bytes, keepalive_s: int) -> None:
        self.endpoint = endpoint
        self.connect = connect
        self.keepalive_s = keepalive_s
        self.write_lock = threading.Lock()
        self.broken = False
        """Set by any thread whose write failed; the owner closes and reconnects."""
        self._sock: socket.socket | None = None
        self._reader = PacketReader()
        self._send_buffer_bytes = 0
        self._last_write = 0.0
        self._last_read = 0.0

    @property
    def up(self) -> bool:
        """True while connected and not known to be broken."""
        return self._sock is not None and not self.broken

    @property
    def fast_lane(self) -> bool:
        """True when other threads may write (a plain TCP link that is up)."""
        return self.up and self.endpoint.tls is None

    def open(self, timeout_s: float) -> None:
        """Connect and wait for the CONNACK (owner thread)."""
        self.close()
        sock = open_socket(self.endpoint, timeout_s)
        try:
            sock.sendall(self.connect)
            reader = PacketReader()
            packets: list[Packet] = []
            while not packets:
                data = sock.recv(4096)
                if not data:
                    raise LinkError("the broker closed the connection before the CONNACK")
                packets = reader.feed(data)
            first = packets[0]
            if not isinstance(first, Control) or first.kind is not PacketType.CONNACK:
                raise LinkError(f"expected CONNACK, got {type(first).__name__}")
            parse_connack(first.body)
            sock.settimeout(SEND_TIMEOUT_S)
        except BaseException:
            sock.close()
            raise
        self._reader = reader
        self._send_buffer_bytes = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        self._last_write = self._last_read = time.monotonic()
        self.broken = False
        self._sock = sock

    def close(self, *, polite: bool = False) -> None:
        """Drop the connection (owner thread); ``polite`` says DISCONNECT first."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self.broken = False  # down now, not broken: the next ``open`` starts afresh
        with self.write_lock:
            if polite and not self.broken:
                with contextlib.suppress(OSError):  # going away anyway: nothing is owed
                    sock.sendall(DISCONNECT)
            sock.close()

    def send(self, data: bytes) -> None:
        """Write ``data`` whole (owner thread; may wait up to ``SEND_TIMEOUT_S``)."""
        with self.write_lock:
            self._write(self._sock, data)

    def try_send(self, data: bytes) -> bool:
        """Write ``data`` whole only if that cannot block: the link is a plain TCP link
        that is up, no other write is under way, and the send buffer has room for it.
        False when it was not written (nothing of it was)."""
        if not self.fast_lane or not self.write_lock.acquire(blocking=False):
            return False
        try:
            sock = self._sock
            if sock is None or self.broken or not self.room_for(sock, len(data)):
                return False
            try:
                self._write(sock, data)
            except LinkError:
                return False
            return True
        finally:
            self.write_lock.release()

    def room_for(self, sock: socket.socket, size: int) -> bool:
        """True when the kernel takes ``size`` more bytes without waiting."""
        try:
            return unsent_bytes(sock) + size <= self._send_buffer_bytes // 2
        except OSError:
            return False

    def _write(self, sock: socket.socket | None, data: bytes) -> None:
        """Write under ``write_lock``; a failure marks the link broken."""
        if sock is None or self.broken:
            raise LinkError("not connected")
        try:
            sock.sendall(data)
        except OSError as exc:
            self.broken = True
            raise LinkError(f"write failed: {exc}") from None
        self._last_write = time.monotonic()

    def read_acks(self, timeout_s: float) -> list[int]:
        """Packet ids of the PUBACKs that arrive within ``timeout_s`` (owner thread; 0 reads
        only what is there). Raises ``LinkError`` when the broker closed or misbehaved."""
        sock = self._sock
        if sock is None or self.broken:
            raise LinkError("not connected")
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        if not pending and not select.select([sock], [], [], max(timeout_s, 0.0))[0]:
            return []
        try:
            data = sock.recv(65536)
        except (OSError, ssl.SSLError) as exc:
            self.broken = True
            raise LinkError(f"read failed: {exc}") from None
        if not data:
            self.broken = True
            raise LinkError("the broker closed the connection")
        self._last_read = time.monotonic()
        try:
            packets = self._reader.feed(data)
        except ProtocolError as exc:
            self.broken = True
            raise LinkError(str(exc)) from None
        acks = []
        for pkt in packets:
            if not isinstance(pkt, Control):
                self.broken = True
                raise LinkError("unexpected PUBLISH from the broker on the output link")
            if pkt.kind is PacketType.PUBACK and len(pkt.body) >= 2:
                acks.append(int.from_bytes(pkt.body[:2], "big"))
            elif pkt.kind is PacketType.DISCONNECT:
                self.broken = True
                raise LinkError("the broker disconnected")
        return acks

    def keep_alive(self) -> None:
        """Send PINGREQ when nothing was written for half the keepalive; give up on a
        broker that sent nothing (not even PINGRESP) for 1.5 keepalives (owner thread,
        which reads what arrived at least every half keepalive)."""
        if not self.keepalive_s:
            return
        now = time.monotonic()
        if now - self._last_read > 1.5 * self.keepalive_s:
            self.broken = True
            raise LinkError(f"nothing from the broker for {now - self._last_read:.0f} s")
        if now - self._last_write >= self.keepalive_s / 2:
            self.send(PINGREQ)
