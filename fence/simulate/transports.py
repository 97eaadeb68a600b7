"""Where simulated terminals send their messages: MQTT, pseudo terminals, a serial
device, TCP ports (a serial-to-network gateway) or a file/stdout.

Every transport has ``send(message)`` and ``close()``. Byte-stream transports (pty,
device, TCP) carry one terminal per line, as in a park: one receiver per serial port,
and a multi-port gateway listening on consecutive TCP ports (like 4001, 4002, ...).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import stat
import threading
import tty
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Protocol

import paho.mqtt.client as mqtt
import serial
from paho.mqtt.enums import CallbackAPIVersion

from fence.simulate.simulator import Message
from fence.simulate.wire import Format

log = logging.getLogger("fence.simulate")
DEFAULT_BAUD = 115200


class TransportError(RuntimeError):
    """A transport that cannot be opened or used (names the endpoint and the reason)."""


class Transport(Protocol):
    """Somewhere to send simulated messages."""

    def send(self, message: Message) -> None:
        """Send one message (one epoch of one terminal)."""

    def close(self) -> None:
        """Flush and release everything."""


def _topic_level(text: str) -> str:
    return text.replace("/", "_").replace("+", "_").replace("#", "_") or "_"


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """Where and how to publish: ``<prefix>/<terminal>/<nmea|fix>`` at QoS 1."""

    host: str
    port: int
    topic_prefix: str
    client_id: str = "fence-simulate"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    max_unacked: int = 20_000
    connect_timeout_s: float = 10.0


class MqttTransport:
    """Publishes every message at QoS 1; waits when too many are unacknowledged."""

    def __init__(self, options: MqttOptions, fmt: Format) -> None:
        self.options = options
        self.suffix = "nmea" if fmt is Format.NMEA else "fix"
        self._unacked = 0
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self._answered = threading.Event()
        self._refusal = ""
        self.published = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=options.client_id, clean_session=True
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        if options.username is not None:
            self.client.username_pw_set(options.username, options.password)
        if options.ca_file is not None:
            self.client.tls_set(ca_certs=str(options.ca_file), cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        try:
            self.client.connect_async(options.host, options.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise TransportError(f"mqtt {options.host}:{options.port}: {exc}") from None
        self.client.loop_start()
        answered = self._answered.wait(options.connect_timeout_s)
        if not self._connected.is_set():
            self.client.loop_stop()
            where = f"mqtt {options.host}:{options.port}"
            if answered:
                raise TransportError(f"{where}: the broker refused {options.username or 'the client'}: "
                                     f"{self._refusal}")
            raise TransportError(f"{where}: no connection within {options.connect_timeout_s:g} s")

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        if rc.is_failure:
            log.warning("mqtt %s:%d refused the connection: %s",
                        self.options.host, self.options.port, rc)
            self._refusal = str(rc)
        else:
            self._connected.set()
        self._answered.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        log.warning("mqtt %s:%d disconnected: %s", self.options.host, self.options.port, rc)
        self._connected.clear()

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, _rc: object, _p: object) -> None:
        with self._cond:
            self._unacked -= 1
            self._cond.notify_all()

    def topic(self, terminal: str) -> str:
        """The topic of one terminal's messages."""
        return f"{self.options.topic_prefix}/{_topic_level(terminal)}/{self.suffix}"

    def send(self, message: Message) -> None:
        """Publish at QoS 1 (blocks while ``max_unacked`` messages await their PUBACK).

        A message published while the connection is down is queued by the client and
        sent after it reconnects.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._unacked < self.options.max_unacked)
            self._unacked += 1  # before publishing: the PUBACK may come back at once
        info = self.client.publish(self.topic(message.terminal), message.payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            with self._cond:
                self._unacked -= 1
            raise TransportError(f"mqtt publish failed: {mqtt.error_string(info.rc)}")
        self.published += 1

    def close(self, timeout_s: float = 30.0) -> None:
        """Wait for the outstanding PUBACKs (up to ``timeout_s``), then disconnect."""
        with self._cond:
            done = self._cond.wait_for(lambda: self._unacked <= 0, timeout_s)
        if not done:
            log.warning("mqtt: %d messages still unacknowledged at close", self._unacked)
        self.client.disconnect()
        self.client.loop_stop()


class PasswordFileError(ValueError):
    """A bad line in a terminal password file (names the file, the line and the reason)."""


def read_passwords(path: Path) -> dict[str, str]:
    """Terminal id -> password from ``id:password`` lines ('#' comments, blank lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PasswordFileError(f"{path}: cannot be read: {exc}") from None
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        terminal, sep, password = line.partition(":")
        if not sep or not terminal or not password:
            raise PasswordFileError(f"{path} line {n}: expected 'terminal:password'")
        if terminal in out:
            raise PasswordFileError(f"{path} line {n}: terminal {terminal!r} given twice")
        out[terminal] = password
    return out


class PerTerminalMqtt:
    """One MQTT connection per terminal, user name = terminal id (for brokers whose ACL
    lets a terminal publish only its own topics)."""

    def __init__(self, options: MqttOptions, fmt: Format, passwords: Mapping[str, str],
                 terminals: Sequence[str]) -> None:
        missing = [t for t in terminals if t not in passwords]
        if missing:
            raise TransportError(
                f"no password for terminal(s) {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            )
        self._clients: dict[str, MqttTransport] = {}
        try:
            for t in terminals:
                self._clients[t] = MqttTransport(
                    replace(options, client_id=f"{options.client_id}-{t}", username=t,
                            password=passwords[t]),
                    fmt,
                )
        except TransportError:
            self.close()
            raise

    def send(self, message: Message) -> None:
        """Publish on the terminal's own connection."""
        self._clients[message.terminal].send(message)

    def close(self) -> None:
        """Close every connection (each waits for its PUBACKs)."""
        for client in self._clients.values():
            client.close()


class _ByteSink(Protocol):
    """One terminal's byte stream (pty, device or TCP port)."""

    def write(self, data: bytes) -> None:
        """Carry these bytes."""

    def close(self) -> None:
        """Release the stream."""


class PtyEnd:
    """One pseudo terminal pair; the simulator writes the master, a reader opens the slave.

    The slave is kept open here and set raw (no echo, no line-ending translation), so
    bytes wait in its input queue until a reader comes; when that queue is full, new
    bytes are dropped, as on a serial line nobody listens to.
    """

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.dropped = 0

    def write(self, data: bytes) -> None:
        """Write what fits; count the rest as dropped."""
        try:
            written = os.write(self.master, data)
        except BlockingIOError:
            written = 0
        self.dropped += len(data) - written

    def close(self) -> None:
        """Close both ends (and say how many bytes nobody read in time)."""
        if self.dropped:
            log.warning("%s: %d bytes dropped (nobody read them in time)", self.path, self.dropped)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class DeviceEnd:
    """An existing serial device (raw, at ``baud``) or any other writable path."""

    def __init__(self, path: Path, baud: int = DEFAULT_BAUD) -> None:
        self.path = str(path)
        try:
            if stat.S_ISCHR(os.stat(path).st_mode):
                self._port: serial.Serial | None = serial.Serial(self.path, baudrate=baud)
                self._file: IO[bytes] | None = None
            else:
                self._port = None
                self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - kept open
        except (OSError, serial.SerialException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise TransportError(f"serial device {path}: {reason}") from None

    def write(self, data: bytes) -> None:
        """Write all bytes."""
        if self._port is not None:
            self._port.write(data)
        elif self._file is not None:
            self._file.write(data)

    def close(self) -> None:
        """Close the device."""
        if self._port is not None:
            self._port.close()
        if self._file is not None:
            self._file.close()


class TcpGatewayPort:
    """A TCP listening port that sends one terminal's bytes to every connected client."""

    def __init__(self, host: str, port: int) -> None:
        if not 0 <= port < 65536:
            raise TransportError(f"tcp {host}:{port}: not a TCP port (too many terminals "
                                 "for consecutive ports from the first one?)")
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listener.bind((host, port))
        except OSError as exc:
            self._listener.close()
            raise TransportError(f"tcp {host}:{port}: {exc.strerror}") from None
        self._listener.listen(8)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self.path = f"tcp://{host}:{self.port}"
        self._clients: list[socket.socket] = []

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            self._clients.append(conn)

    def write(self, data: bytes) -> None:
        """Send to every client; a client that is gone or not reading is dropped."""
        self._accept()
        for conn in list(self._clients):
            try:
                sent = conn.send(data)
            except OSError:
                sent = -1
            if sent != len(data):
                log.info("%s: dropping a client that is gone or not reading", self.path)
                conn.close()
                self._clients.remove(conn)

    def close(self) -> None:
        """Close the clients and the listener."""
        for conn in self._clients:
            conn.close()
        self._listener.close()


class StreamTransport:
    """One byte stream per terminal (pty, serial device or TCP port)."""

    def __init__(self, ends: dict[str, _ByteSink]) -> None:
        self.ends = ends

    def send(self, message: Message) -> None:
        """Write the payload to the terminal's own stream (others are not carried)."""
        end = self.ends.get(message.terminal)
        if end is not None:
            end.write(message.payload)

    def close(self) -> None:
        """Close every stream."""
        for end in self.ends.values():
            end.close()


def pty_transport(terminals: Sequence[str]) -> tuple[StreamTransport, dict[str, str]]:
    """A pseudo terminal per terminal; returns the transport and terminal -> slave path."""
    ends = {t: PtyEnd() for t in terminals}
    return StreamTransport(dict(ends)), {t: e.path for t, e in ends.items()}


def tcp_transport(
    terminals: Sequence[str], host: str, first_port: int
) -> tuple[StreamTransport, dict[str, str]]:
    """Listening ports ``first_port``, ``first_port + 1``... (0: any free ports), one per
    terminal; returns the transport and terminal -> ``tcp://host:port``."""
    ends: dict[str, TcpGatewayPort] = {}
    try:
        for i, t in enumerate(terminals):
            ends[t] = TcpGatewayPort(host, 0 if first_port == 0 else first_port + i)
    except TransportError:
        for end in ends.values():
            end.close()
        raise
    return StreamTransport(dict(ends)), {t: e.path for t, e in ends.items()}


def device_transport(terminal: str, path: Path, baud: int = DEFAULT_BAUD) -> StreamTransport:
    """One terminal's stream written to an existing device."""
    return StreamTransport({terminal: DeviceEnd(path, baud)})


class FileTransport:
    """Every message appended to one file or stdout (all terminals, in time order)."""

    def __init__(self, out: IO[bytes], *, owned: bool) -> None:
        self._out = out
        self._owned = owned

    def send(self, message: Message) -> None:
        """Append the payload."""
        self._out.write(message.payload)

    def close(self) -> None:
        """Flush (and close the file when this transport opened it)."""
        self._out.flush()
        if self._owned:
            self._out.close()
