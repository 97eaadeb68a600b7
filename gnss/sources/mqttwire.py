"""A lean MQTT 5 subscriber's wire side: packet encoding, a buffered packet parser and
one connection (plain TCP or TLS) with its handshake.

Why not paho-mqtt here (it stays for the outputs): the ingest path of ``fence run``
reads tens of thousands of small QoS 1 messages a second. paho reads every packet with
several ``recv`` calls, builds a message object, takes locks and sends one PUBACK per
message from Python; on one core that cost about as much as decoding and evaluating the
fixes (docs/live.md has the figures). Here one ``recv`` of up to ``RECV_BYTES`` is cut
into all the packets it holds, and the caller acknowledges a whole read with one send
after it has recorded the fixes.

MQTT 5 rather than 3.1.1 for one property: ``Receive Maximum``. A broker keeps at most
that many unacknowledged QoS 1 messages in flight to the client; under 3.1.1 it is the
broker's own setting (mosquitto: 20), so a read never holds more than 20 messages.

What is implemented is what a QoS 1 subscriber with a persistent session needs:
CONNECT (clean start off, a session that does not expire, user name and password),
CONNACK, SUBSCRIBE/SUBACK, PUBLISH in (QoS 0 and 1), PUBACK out, PINGREQ/PINGRESP,
DISCONNECT both ways. Anything else from the broker is a ``ProtocolError`` and the
connection is dropped (the caller reconnects). ``Maximum Packet Size`` tells the broker
not to send larger packets: MQTT 5 brokers drop them for this client instead.
"""

from __future__ import annotations

import socket
import ssl
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

RECV_BYTES = 256 * 1024
"""Largest single read from the socket."""

MAX_PACKET_BYTES = 16 * 1024 * 1024
"""Largest packet accepted (declared to the broker in CONNECT, which drops larger ones
for this client). Large enough that an oversized NMEA payload still arrives and is
reported by the decoder (``too_long``) rather than vanishing at the broker."""

RECEIVE_MAXIMUM = 4000
"""Unacknowledged QoS 1 messages the broker may have in flight to us."""

SESSION_NEVER_EXPIRES = 0xFFFFFFFF


class ProtocolError(Exception):
    """The broker sent something this client cannot take (the connection is dropped)."""


class ConnectRefused(Exception):
    """The broker answered CONNECT or SUBSCRIBE with a failure reason code."""


class PacketType(IntEnum):
    """MQTT control packet types (high nibble of the first byte)."""

    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    SUBSCRIBE = 8
    SUBACK = 9
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"

# property identifier -> wire type (MQTT 5, section 2.2.2.2)
_BYTE, _TWO, _FOUR, _VARINT, _TEXT, _BINARY, _PAIR = range(7)
_PROPERTY_TYPES: dict[int, int] = {
    0x01: _BYTE, 0x02: _FOUR, 0x03: _TEXT, 0x08: _TEXT, 0x09: _BINARY, 0x0B: _VARINT,
    0x11: _FOUR, 0x12: _TEXT, 0x13: _TWO, 0x15: _TEXT, 0x16: _BINARY, 0x17: _BYTE,
    0x18: _FOUR, 0x19: _BYTE, 0x1A: _TEXT, 0x1C: _TEXT, 0x1F: _TEXT, 0x21: _TWO,
    0x22: _TWO, 0x23: _TWO, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR, 0x27: _FOUR,
    0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}
SERVER_KEEP_ALIVE = 0x13
REASON_STRING = 0x1F


def varint(value: int) -> bytes:
    """MQTT's variable byte integer (remaining lengths, property lengths)."""
    if not 0 <= value <= 268_435_455:
        raise ValueError(f"variable byte integer out of range: {value}")
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_varint(data: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """(value, position after it), None when ``data`` ends inside it; ProtocolError
    when it is longer than four bytes."""
    value = 0
    for shift in (0, 7, 14, 21):
        if pos >= len(data):
            return None
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise ProtocolError("variable byte integer longer than four bytes")


def text(value: str) -> bytes:
    """A UTF-8 string with its two-byte length."""
    data = value.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError(f"string of {len(data)} bytes is too long for MQTT")
    return struct.pack("!H", len(data)) + data


def packet(first_byte: int, body: bytes) -> bytes:
    """A control packet: first byte, remaining length, body."""
    return bytes([first_byte]) + varint(len(body)) + body


def connect_packet(
    client_id: str,
    keepalive_s: int,
    username: str | None = None,
    password: str | None = None,
    *,
    receive_maximum: int = RECEIVE_MAXIMUM,
    max_packet_bytes: int = MAX_PACKET_BYTES,
) -> bytes:
    """CONNECT for a persistent session: clean start off, the session never expires."""
    if not 0 <= keepalive_s <= 0xFFFF:
        raise ValueError(f"keepalive must be 0-65535 s, got {keepalive_s}")
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    props = (
        b"\x11" + struct.pack("!I", SESSION_NEVER_EXPIRES)
        + b"\x21" + struct.pack("!H", receive_maximum)
        + b"\x27" + struct.pack("!I", max_packet_bytes)
    )
    body = text("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive_s) + varint(len(props)) + props
    body += text(client_id)
    if username is not None:
        body += text(username)
    if password is not None:
        data = password.encode("utf-8")
        body += struct.pack("!H", len(data)) + data
    return packet(0x10, body)


def subscribe_packet(packet_id: int, filters: tuple[str, ...], qos: int = 1) -> bytes:
    """SUBSCRIBE to ``filters`` with maximum QoS ``qos`` (no properties)."""
    body = struct.pack("!H", packet_id) + b"\x00"
    for topic_filter in filters:
        body += text(topic_filter) + bytes([qos])
    return packet(0x82, body)


_PUBACKS = [b"\x40\x02" + struct.pack("!H", pid) for pid in range(65536)]


def puback_packets(packet_ids: list[int]) -> bytes:
    """PUBACKs (reason: success) for ``packet_ids``, ready for one send."""
    return b"".join([_PUBACKS[pid] for pid in packet_ids])


class Publish(NamedTuple):
    """An application message from the broker (a named tuple rather than a frozen
    dataclass: one is built per message, and a tuple builds in a third of the time)."""

    topic: str
    payload: bytes
    qos: int
    packet_id: int
    """0 for QoS 0 (no acknowledgement)."""
    dup: bool
    retain: bool


@dataclass(frozen=True, slots=True)
class Control:
    """Any other packet: its type, the flags nibble and the body."""

    kind: PacketType
    flags: int
    body: bytes


Packet = Publish | Control


def parse_properties(data: bytes, pos: int) -> tuple[dict[int, object], int]:
    """The property block at ``pos`` (length first): {identifier: value}, position after."""
    got = read_varint(data, pos)
    if got is None:
        raise ProtocolError("truncated property length")
    length, pos = got
    end = pos + length
    if end > len(data):
        raise ProtocolError("property block runs past the packet")
    props: dict[int, object] = {}
    while pos < end:
        ident = data[pos]
        kind = _PROPERTY_TYPES.get(ident)
        if kind is None:
            raise ProtocolError(f"unknown property 0x{ident:02x}")
        pos += 1
        value: object
        if kind == _BYTE:
            value, pos = data[pos], pos + 1
        elif kind == _TWO:
            value, pos = int.from_bytes(data[pos:pos + 2], "big"), pos + 2
        elif kind == _FOUR:
            value, pos = int.from_bytes(data[pos:pos + 4], "big"), pos + 4
        elif kind == _VARINT:
            got = read_varint(data, pos)
            if got is None:
                raise ProtocolError("truncated property")
            value, pos = got
        else:
            count = 2 if kind == _PAIR else 1
            items = []
            for _ in range(count):
                size = int.from_bytes(data[pos:pos + 2], "big")
                items.append(bytes(data[pos + 2:pos + 2 + size]))
                pos += 2 + size
            value = items[0].decode("utf-8", "replace") if kind == _TEXT else tuple(items) if count == 2 else items[0]
        props[ident] = value
    if pos != end:
        raise ProtocolError("property block length does not match its properties")
    return props, end


class PacketReader:
    """Cuts a byte stream into packets; keeps an unfinished packet for the next ``feed``.

    A malformed packet raises ``ProtocolError``; when good packets came before it in the
    same read, ``feed`` returns those and keeps the error in ``error`` (raised by the next
    ``feed``), so the caller can deliver and acknowledge them before it drops the link."""

    def __init__(self, max_packet_bytes: int = MAX_PACKET_BYTES) -> None:
        self.max_packet_bytes = max_packet_bytes
        self.error: ProtocolError | None = None
        self._buf = b""
        self._parts: list[bytes] = []
        self._need = 0

    def feed(self, data: bytes) -> list[Packet]:
        """Every complete packet in what was buffered plus ``data``, in order."""
        if self.error is not None:
            raise self.error
        out: list[Packet] = []
        try:
            self._cut(data, out)
        except ProtocolError as exc:
            if not out:
                raise
            self.error = exc
        return out

    def _cut(self, data: bytes, out: list[Packet]) -> None:
        if self._parts:  # a large packet arriving read by read: join once it is whole
            self._parts.append(data)
            self._need -= len(data)
            if self._need > 0:
                return
            data = b"".join(self._parts)
            self._parts = []
        buf = self._buf + data if self._buf else data
        pos, size = 0, len(buf)
        while pos + 2 <= size:
            first = buf[pos]
            # remaining length: the one- and two-byte forms inline, longer ones decoded
            b1 = buf[pos + 1]
            if b1 < 0x80:
                length, body = b1, pos + 2
            elif pos + 2 < size and buf[pos + 2] < 0x80:
                length, body = (b1 & 0x7F) | (buf[pos + 2] << 7), pos + 3
            else:
                got = read_varint(buf, pos + 1)
                if got is None:
                    break
                length, body = got
            if length + body - pos > self.max_packet_bytes:
                raise ProtocolError(f"packet of {length + body - pos} bytes is over the limit"
                                    f" of {self.max_packet_bytes}")
            end = body + length
            if end > size:
                if end - pos > RECV_BYTES:
                    self._parts = [buf[pos:]]
                    self._need = end - size
                    self._buf = b""
                    return
                break
            if first >> 4 == 3:
                out.append(_publish(first, buf, body, end))
            else:
                out.append(_control(first, buf[body:end]))
            pos = end
        self._buf = buf[pos:]

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished packet kept for the next read."""
        return len(self._buf) + sum(len(p) for p in self._parts)


def _publish(first: int, buf: bytes, pos: int, end: int) -> Publish:
    qos = (first >> 1) & 3
    if qos > 1:  # the subscriptions ask for QoS 1 at most; 3 does not exist
        raise ProtocolError(f"PUBLISH with QoS {qos} (subscribed at QoS 1)")
    if pos + 2 > end:
        raise ProtocolError("PUBLISH too short for its topic length")
    topic_len = (buf[pos] << 8) | buf[pos + 1]
    topic_end = pos + 2 + topic_len
    if topic_end > end:
        raise ProtocolError("PUBLISH topic runs past the packet")
    try:
        topic = buf[pos + 2:topic_end].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("PUBLISH topic is not UTF-8") from None
    pos = topic_end
    packet_id = 0
    if qos:
        if pos + 2 > end:
            raise ProtocolError("PUBLISH too short for its packet id")
        packet_id = (buf[pos] << 8) | buf[pos + 1]
        if packet_id == 0:
            raise ProtocolError("PUBLISH with packet id 0")
        pos += 2
    if pos >= end:
        raise ProtocolError("PUBLISH too short for its properties")
    props_len = buf[pos]
    if props_len < 0x80:
        pos += 1 + props_len
    else:
        got = read_varint(buf, pos)
        if got is None:
            raise ProtocolError("PUBLISH property length runs past the packet")
        pos = got[0] + got[1]
    if pos > end or not topic:
        raise ProtocolError("PUBLISH topic or properties run past the packet")
    return Publish(topic, buf[pos:end], qos, packet_id, bool(first & 0x08), bool(first & 0x01))


def _control(first: int, body: bytes) -> Control:
    try:
        kind = PacketType(first >> 4)
    except ValueError:
        raise ProtocolError(f"reserved packet type {first >> 4}") from None
    return Control(kind, first & 0x0F, body)


@dataclass(frozen=True, slots=True)
class ConnAck:
    """What the broker said to CONNECT."""

    session_present: bool
    server_keepalive_s: int | None


def parse_connack(body: bytes) -> ConnAck:
    """CONNACK's flags and properties; ConnectRefused on a failure reason code."""
    if len(body) < 2:
        raise ProtocolError("CONNACK too short")
    reason = body[1]
    props, _ = parse_properties(body, 2) if len(body) > 2 else ({}, 2)
    if reason >= 0x80:
        why = props.get(REASON_STRING)
        raise ConnectRefused(f"connection refused: reason code 0x{reason:02x}{f' ({why})' if why else ''}")
    keepalive = props.get(SERVER_KEEP_ALIVE)
    return ConnAck(bool(body[0] & 1), keepalive if isinstance(keepalive, int) else None)


def parse_suback(body: bytes, packet_id: int, count: int) -> None:
    """Check a SUBACK: our packet id and a granted QoS for every filter."""
    if len(body) < 3 or int.from_bytes(body[:2], "big") != packet_id:
        raise ProtocolError("SUBACK for another packet id")
    _props, pos = parse_properties(body, 2)
    codes = body[pos:]
    if len(codes) != count:
        raise ProtocolError(f"SUBACK has {len(codes)} reason codes for {count} filters")
    refused = [c for c in codes if c >= 0x80]
    if refused:
        raise ConnectRefused(f"subscription refused: reason code 0x{refused[0]:02x}")


def disconnect_reason(body: bytes) -> str:
    """A broker's DISCONNECT as text (reason code and reason string)."""
    if not body:
        return "reason code 0x00"
    reason = f"reason code 0x{body[0]:02x}"
    if len(body) > 1:
        try:
            props, _ = parse_properties(body, 1)
        except ProtocolError:
            return reason
        why = props.get(REASON_STRING)
        if why:
            reason += f" ({why})"
    return reason


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to connect: host, port and an optional TLS context with the server name."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None


def open_socket(endpoint: Endpoint, timeout_s: float) -> socket.socket:
    """A connected TCP socket (no Nagle delay), wrapped in TLS when configured."""
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout_s)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if endpoint.tls is not None:
            return endpoint.tls.wrap_socket(sock, server_hostname=endpoint.host)
    except BaseException:
        sock.close()
        raise
    return sock


def handshake(
    sock: socket.socket,
    reader: PacketReader,
    connect: bytes,
    subscribe: bytes,
    packet_id: int,
    filter_count: int,
) -> tuple[ConnAck, list[Packet]]:
    """CONNECT, wait for CONNACK, SUBSCRIBE, wait for SUBACK (the socket's timeout
    bounds each wait). Returns the CONNACK and, in order, the packets that came between
    the CONNACK and the end of the read holding the SUBACK (a broker with a stored
    session sends its messages right after the CONNACK)."""
    sock.sendall(connect)
    connack: ConnAck | None = None
    early: list[Packet] = []
    while True:
        data = sock.recv(RECV_BYTES)
        if not data:
            raise ConnectionError("the broker closed the connection during the handshake")
        packets = reader.feed(data)
        for i, pkt in enumerate(packets):
            if connack is None:
                if not isinstance(pkt, Control) or pkt.kind is not PacketType.CONNACK:
                    raise ProtocolError(f"expected CONNACK, got {type(pkt).__name__}")
                connack = parse_connack(pkt.body)
                sock.sendall(subscribe)
            elif isinstance(pkt, Publish):
                early.append(pkt)
            elif pkt.kind is PacketType.SUBACK:
                parse_suback(pkt.body, packet_id, filter_count)
                return connack, early + packets[i + 1:]
            elif pkt.kind is PacketType.DISCONNECT:
                raise ConnectionError(f"the broker disconnected: {disconnect_reason(pkt.body)}")
            else:
                raise ProtocolError(f"unexpected {pkt.kind.name} during the handshake")
