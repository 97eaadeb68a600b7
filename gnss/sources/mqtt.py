"""MQTT source (paho-mqtt 2.x): NMEA and contract fix JSON from terminals' gateways.

Topics (``<site>`` from the site, ``+`` = the terminal id):

* ``fence/<site>/<terminal>/nmea``: raw NMEA bytes (one or more sentences per message),
  decoded by one ``NmeaDecoder`` per terminal;
* ``fence/<site>/<terminal>/fix``: one contract fix JSON object (section 1.1) per message;
  its ``terminal`` must be the topic's.

Delivery is at least once: QoS 1, a persistent session (fixed client id, clean session
off) and manual acknowledgement: a message is acknowledged only after ``deliver`` has
returned for everything it produced, so a crash before that makes the broker send it
again. After a broker restart the client reconnects (backoff), subscribes again, and the
broker sends what it kept for the session. A redelivered message (``dup``) whose fixes
are not newer than the terminal's last delivered fix is not delivered twice.

Limits: NMEA epochs are emitted when the epoch is known complete (see gnss.epoch); an
epoch still open when its message was acknowledged is lost if the process crashes then.
If ``deliver`` raises, the message is not acknowledged and the exception ends paho's
network thread (the broker keeps the message for the next start of the session).
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from gnss.decoder import NmeaDecoder
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fix import Fix
from gnss.fixjson import FixLineError, parse_fix_line
from gnss.sources import Deliver, SourceItem

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


class MqttSource:
    """Subscribes to a site's terminal topics and delivers fixes and decode errors."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.name = f"mqtt:{settings.host}:{settings.port}/{settings.site}"
        self._decoders: dict[str, NmeaDecoder] = {}
        self._last_t_ms: dict[str, int] = {}
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
            client.tls_set(
                ca_certs=s.tls.ca_certs,
                certfile=s.tls.certfile,
                keyfile=s.tls.keyfile,
                cert_reqs=ssl.CERT_REQUIRED,
            )
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
            for decoder in self._decoders.values():
                for item in decoder.flush():
                    self._hand_over(decoder.terminal, item, dup=False)

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
        parts = msg.topic.split("/")
        if len(parts) == 4 and parts[3] in ("nmea", "fix") and parts[2]:
            terminal = parts[2]
            with self._lock:
                if parts[3] == "nmea":
                    self._nmea(terminal, bytes(msg.payload), bool(msg.dup))
                else:
                    self._fix(terminal, bytes(msg.payload), bool(msg.dup))
        else:
            log.warning("%s: ignoring message on unexpected topic %s", self.name, msg.topic)
        if msg.qos > 0:
            client.ack(msg.mid, msg.qos)

    def _nmea(self, terminal: str, payload: bytes, dup: bool) -> None:
        decoder = self._decoders.get(terminal)
        if decoder is None:
            decoder = self._decoders[terminal] = NmeaDecoder(terminal)
        for item in decoder.feed(payload):
            self._hand_over(terminal, item, dup)

    def _fix(self, terminal: str, payload: bytes, dup: bool) -> None:
        try:
            fix = parse_fix_line(payload)
        except FixLineError as exc:
            self._hand_over(terminal, DecodeError(DecodeErrorKind.BAD_FIX_JSON, str(exc), terminal), dup)
            return
        if fix.terminal != terminal:
            detail = f"fix of terminal {fix.terminal!r} published on the topic of {terminal!r}"
            self._hand_over(terminal, DecodeError(DecodeErrorKind.BAD_FIX_JSON, detail, terminal), dup)
            return
        self._hand_over(terminal, fix, dup)

    def _hand_over(self, terminal: str, item: SourceItem, dup: bool) -> None:
        if isinstance(item, Fix):
            last = self._last_t_ms.get(terminal)
            if dup and last is not None and item.t_ms <= last:
                return  # a redelivered message we already delivered
            self._last_t_ms[terminal] = item.t_ms if last is None else max(last, item.t_ms)
        assert self._deliver is not None
        self._deliver(item)
