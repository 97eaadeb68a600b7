"""MQTT source: NMEA and contract fix JSON from terminals' gateways.

Topics (``<site>`` from the site, ``+`` = the terminal id):

* ``fence/<site>/<terminal>/nmea``: raw NMEA bytes (one or more sentences per message),
  decoded by one ``NmeaDecoder`` per terminal;
* ``fence/<site>/<terminal>/fix``: one contract fix JSON object (section 1.1) per message;
  its ``terminal`` must be the topic's.

Delivery is at least once: QoS 1, a persistent session (fixed client id, clean start
off, a session that does not expire) and acknowledgement only after ``deliver`` has
returned for everything a message produced, so a crash before that makes the broker send
it again. After a broker restart the client reconnects (backoff), subscribes again, and
the broker sends what it kept for the session. A redelivered message (``dup``) whose
fixes are not newer than the terminal's last delivered fix is not delivered twice.

``MqttSource`` is the ingest client ``fence run`` uses: a lean MQTT 5 subscriber
(``gnss.sources.mqttwire``) that cuts one socket read into all the messages it holds,
hands their fixes over in one ``deliver_many`` call and acknowledges them with one send
afterwards. ``PahoMqttSource`` is the same source on paho-mqtt (MQTT 3.1.1, one message
at a time): the reference the lean one is tested and benchmarked against.

Limits: NMEA epochs are emitted when the epoch is known complete (see gnss.epoch); an
epoch still open when its message was acknowledged is lost if the process crashes then.
If ``deliver`` raises, nothing of that read is acknowledged; the lean source drops the
connection, forgets the terminals' decoder state and reconnects after a backoff (the
broker sends the unacknowledged messages again); paho's network thread ends.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from gnss.decoder import NmeaDecoder
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fix import Fix
from gnss.fixjson import FixLineError, parse_fix_line
from gnss.sources import Deliver, DeliverMany, SourceItem, one_by_one
from gnss.sources.mqttwire import (
    DISCONNECT,
    PINGREQ,
    RECV_BYTES,
    ConnectRefused,
    Endpoint,
    Packet,
    PacketReader,
    PacketType,
    ProtocolError,
    Publish,
    connect_packet,
    disconnect_reason,
    handshake,
    open_socket,
    puback_packets,
    subscribe_packet,
)
from gnss.sources.stream import Backoff

log = logging.getLogger(__name__)

TOPIC_ROOT = "fence"
QOS = 1


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS settings: CA file, optional client certificate and key; ``insecure`` skips the
    host name check (test brokers with self-signed certificates only)."""

    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("TLS certfile and keyfile go together")


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where and how to connect."""

    host: str
    port: int
    site: str
    client_id: str
    username: str | None = None
    password: str | None = None
    tls: TlsOptions | None = None
    keepalive_s: int = 30
    reconnect_min_s: int = 1
    reconnect_max_s: int = 10

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("MQTT host is empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"MQTT port must be 1-65535, got {self.port}")
        if not self.site or any(c in self.site for c in "+#/"):
            raise ValueError(f"site name {self.site!r} cannot be used in a topic")
        if not self.client_id:
            raise ValueError("MQTT client id is empty (a persistent session needs a fixed one)")
        if self.password is not None and self.username is None:
            raise ValueError("MQTT password without username")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("MQTT reconnect delays need 0 < min <= max")

    @property
    def nmea_topic(self) -> str:
        """Subscription for raw NMEA of every terminal of the site."""
        return f"{TOPIC_ROOT}/{self.site}/+/nmea"

    @property
    def fix_topic(self) -> str:
        """Subscription for contract fix JSON of every terminal of the site."""
        return f"{TOPIC_ROOT}/{self.site}/+/fix"


def nmea_topic(site: str, terminal: str) -> str:
    """The topic a gateway publishes a terminal's raw NMEA to."""
    return f"{TOPIC_ROOT}/{site}/{terminal}/nmea"


def fix_topic(site: str, terminal: str) -> str:
    """The topic a gateway publishes a terminal's contract fix JSON to."""
    return f"{TOPIC_ROOT}/{site}/{terminal}/fix"


def tls_context(options: TlsOptions) -> ssl.SSLContext:
    """A client TLS context: the CA file (else the system's), an optional client
    certificate; ``insecure`` skips only the host name check, never the chain."""
    context = ssl.create_default_context(cafile=options.ca_certs)
    if options.certfile is not None:
        context.load_cert_chain(options.certfile, options.keyfile)
    if options.insecure:
        context.check_hostname = False
    return context


class MessageDecoder:
    """Messages (topic, payload, dup) to fixes and decode errors; one NMEA decoder per
    terminal; drops the fixes of a redelivered message that were delivered before.

    ``decode`` notes the newest fix time per terminal as pending; ``commit`` makes it
    count once the items were delivered, ``forget`` drops it and the decoders' state when
    they were not (the broker sends those messages again)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._decoders: dict[str, NmeaDecoder] = {}
        self._last_t_ms: dict[str, int] = {}
        self._pending_t_ms: dict[str, int] = {}

    def decode(self, topic: str, payload: bytes, dup: bool, out: list[SourceItem]) -> None:
        """Append what one message holds to ``out``."""
        parts = topic.split("/")
        if len(parts) != 4 or not parts[2] or parts[3] not in ("nmea", "fix"):
            log.warning("%s: ignoring message on unexpected topic %s", self.name, topic)
            return
        terminal = parts[2]
        if parts[3] == "nmea":
            decoder = self._decoders.get(terminal)
            if decoder is None:
                decoder = self._decoders[terminal] = NmeaDecoder(terminal)
            for item in decoder.feed(payload):
                self._keep(terminal, item, dup, out)
        else:
            self._keep(terminal, self._fix(terminal, payload), dup, out)

    def _fix(self, terminal: str, payload: bytes) -> SourceItem:
        try:
            fix = parse_fix_line(payload)
        except FixLineError as exc:
            return DecodeError(DecodeErrorKind.BAD_FIX_JSON, str(exc), terminal)
        if fix.terminal != terminal:
            detail = f"fix of terminal {fix.terminal!r} published on the topic of {terminal!r}"
            return DecodeError(DecodeErrorKind.BAD_FIX_JSON, detail, terminal)
        return fix

    def _keep(self, terminal: str, item: SourceItem, dup: bool, out: list[SourceItem]) -> None:
        if isinstance(item, Fix):
            pending = self._pending_t_ms
            last = pending.get(terminal, self._last_t_ms.get(terminal))
            if dup and last is not None and item.t_ms <= last:
                return  # a redelivered message we already delivered
            pending[terminal] = item.t_ms if last is None or item.t_ms > last else last
        out.append(item)

    def commit(self) -> None:
        """The items decoded since the last commit were delivered."""
        if self._pending_t_ms:
            self._last_t_ms.update(self._pending_t_ms)
            self._pending_t_ms.clear()

    def forget(self) -> None:
        """The items decoded since the last commit were not delivered: start the
        terminals' decoders afresh (their messages come again)."""
        self._pending_t_ms.clear()
        self._decoders.clear()

    def flush(self) -> list[SourceItem]:
        """The epochs still open in the decoders (at shutdown)."""
        out: list[SourceItem] = []
        for terminal, decoder in self._decoders.items():
            for item in decoder.flush():
                self._keep(terminal, item, False, out)
        return out


CONNECT_TIMEOUT_S = 10.0
"""Longest wait for the TCP/TLS connection, the CONNACK and the SUBACK."""

POLL_S = 0.25
"""Longest a read waits before the loop looks at ``stop`` and the keepalive."""

PACKET_ID_SUBSCRIBE = 1


class MqttSource:
    """Subscribes to a site's terminal topics (lean MQTT 5 client on its own thread);
    delivers the fixes and decode errors of each socket read in one call, then
    acknowledges that read's messages with one send."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.name = f"mqtt:{settings.host}:{settings.port}/{settings.site}"
        self._messages = MessageDecoder(self.name)
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        """Set while connected and subscribed."""
        self.connects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._deliver_many: DeliverMany | None = None
        tls = tls_context(settings.tls) if settings.tls is not None else None
        self._endpoint = Endpoint(settings.host, settings.port, tls)
        self._backoff = Backoff(float(settings.reconnect_min_s), float(settings.reconnect_max_s))
        self._connect = connect_packet(settings.client_id, settings.keepalive_s, settings.username,
                                       settings.password)
        self._filters = (settings.nmea_topic, settings.fix_topic)

    def start(self, deliver: Deliver) -> None:
        """Connect in the background (retrying until the broker answers) and subscribe;
        items go to ``deliver`` one at a time."""
        self.start_many(one_by_one(deliver))

    def start_many(self, deliver_many: DeliverMany) -> None:
        """Connect in the background and subscribe; each read's items go to
        ``deliver_many`` in one call."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self._deliver_many = deliver_many
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Disconnect, stop the network thread, deliver the epochs still open."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            items = self._messages.flush()
            if items and self._deliver_many is not None:
                self._deliver_many(items)
                self._messages.commit()

    def _run(self) -> None:
        assert self._deliver_many is not None
        while not self._stop.is_set():
            try:
                self._session(self._deliver_many)
            except ConnectRefused as exc:
                log.warning("%s: %s", self.name, exc)
            except (OSError, ProtocolError) as exc:
                log.warning("%s: disconnected (%s); reconnecting", self.name, exc)
            except Exception:
                log.exception("%s: delivery failed; the broker sends the unacknowledged"
                              " messages again after the reconnect", self.name)
            if not self._stop.is_set():
                self._stop.wait(self._backoff.next_delay_s())

    def _session(self, deliver_many: DeliverMany) -> None:
        """One connection: handshake, then read, deliver and acknowledge until it ends."""
        reader = PacketReader()
        sock = open_socket(self._endpoint, CONNECT_TIMEOUT_S)
        try:
            subscribe = subscribe_packet(PACKET_ID_SUBSCRIBE, self._filters)
            connack, early = handshake(sock, reader, self._connect, subscribe,
                                       PACKET_ID_SUBSCRIBE, len(self._filters))
            self.connects += 1
            self._backoff.reset()
            log.info("%s: connected (session present: %s)", self.name, connack.session_present)
            self.subscribed.set()
            keepalive_s = connack.server_keepalive_s if connack.server_keepalive_s is not None \
                else self.settings.keepalive_s
            self._pump(sock, reader, early, keepalive_s, deliver_many)
        finally:
            self.subscribed.clear()
            sock.close()

    def _pump(self, sock: socket.socket, reader: PacketReader, packets: Sequence[Packet],
              keepalive_s: int, deliver_many: DeliverMany) -> None:
        sock.settimeout(POLL_S)
        last_in = last_out = time.monotonic()  # keepalive only: never a fix time
        while True:
            if packets and self._handle(sock, packets, deliver_many):
                last_out = time.monotonic()
            if reader.error is not None:
                raise reader.error
            if self._stop.is_set():
                with contextlib.suppress(OSError):
                    sock.sendall(DISCONNECT)  # the session stays: it never expires
                return
            try:
                data = sock.recv(RECV_BYTES)
            except TimeoutError:
                data = None
            now = time.monotonic()
            if data is None:
                packets = []
            elif not data:
                raise ConnectionError("the broker closed the connection")
            else:
                last_in = now
                packets = reader.feed(data)
            if keepalive_s:
                if now - last_in > 1.5 * keepalive_s:
                    raise TimeoutError(f"nothing from the broker for {now - last_in:.0f} s")
                if now - last_out >= keepalive_s:
                    sock.sendall(PINGREQ)
                    last_out = now

    def _handle(self, sock: socket.socket, packets: Sequence[Packet], deliver_many: DeliverMany) -> bool:
        """Deliver the messages among ``packets``, then acknowledge them; True when
        something was sent. A DISCONNECT or an unexpected packet ends the connection
        after the messages before it are delivered and acknowledged."""
        items: list[SourceItem] = []
        acks: list[int] = []
        problem: Exception | None = None
        with self._lock:
            decode = self._messages.decode
            for pkt in packets:
                if type(pkt) is Publish:
                    decode(pkt.topic, pkt.payload, pkt.dup, items)
                    if pkt.qos:
                        acks.append(pkt.packet_id)
                    continue
                assert not isinstance(pkt, Publish)
                if pkt.kind is PacketType.PINGRESP:
                    continue
                if pkt.kind is PacketType.DISCONNECT:
                    problem = ConnectionError(f"the broker disconnected: {disconnect_reason(pkt.body)}")
                else:
                    problem = ProtocolError(f"unexpected {pkt.kind.name} from the broker")
                break
            if items:
                try:
                    deliver_many(items)
                except BaseException:
                    self._messages.forget()
                    raise
            self._messages.commit()
        if acks:
            sock.sendall(puback_packets(acks))
        if problem is not None:
            raise problem
        return bool(acks)


class PahoMqttSource:
    """The same source on paho-mqtt (MQTT 3.1.1, one message per callback): the
    reference ``MqttSource`` is checked and benchmarked against."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.name = f"mqtt:{settings.host}:{settings.port}/{settings.site}"
        self._messages = MessageDecoder(self.name)
        self._deliver: Deliver | None = None
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.connects = 0
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls is not None:
            client.tls_set_context(tls_context(s.tls))
            client.tls_insecure_set(s.tls.insecure)
        client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def start(self, deliver: Deliver) -> None:
        """Connect in the background (retrying until the broker answers) and subscribe."""
        self._deliver = deliver
        self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect, stop the network thread, deliver the epochs still open."""
        self._client.disconnect()
        self._client.loop_stop()
        with self._lock:
            for item in self._messages.flush():
                assert self._deliver is not None
                self._deliver(item)
            self._messages.commit()

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: object,
    ) -> None:
        if reason.is_failure:
            log.warning("%s: connection refused: %s", self.name, reason)
            return
        self.connects += 1
        log.info("%s: connected (session present: %s)", self.name, flags.session_present)
        client.subscribe([(self.settings.nmea_topic, QOS), (self.settings.fix_topic, QOS)])

    def _on_subscribe(self, *_args: object) -> None:
        self.subscribed.set()

    def _on_disconnect(self, *_args: object) -> None:
        self.subscribed.clear()
        log.warning("%s: disconnected; reconnecting", self.name)

    def _on_message(self, client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        items: list[SourceItem] = []
        with self._lock:
            self._messages.decode(msg.topic, bytes(msg.payload), bool(msg.dup), items)
            assert self._deliver is not None
            for item in items:
                self._deliver(item)
            self._messages.commit()
        if msg.qos > 0:
            client.ack(msg.mid, msg.qos)
