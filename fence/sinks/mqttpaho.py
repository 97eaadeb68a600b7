"""The MQTT sink on paho-mqtt: the reference for ``fence.sinks.mqtt.MqttDeliverer``.

Same topics, payloads, QoS and outbox rules; no fast lane (every event goes through the
sink thread, then paho's network thread). Kept for tests, which run the sink suite on
both, and for ``bench/bench_live.py --output both``, which measures the difference.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fence.config import MqttOutput
from fence.runtime.clock import ClockMs, wall_clock_ms
from fence.sinks.mqtt import RetainedState
from fence.sinks.state import StateBoard
from fence.sinks.worker import Delivery
from fence.store import OutboxItem

log = logging.getLogger("fence.sinks.mqtt")


class PahoMqttDeliverer:
    """A paho client kept connected in the background; publishes and waits for PUBACKs."""

    def __init__(
        self,
        cfg: MqttOutput,
        board: StateBoard | None = None,
        open_alarms: Callable[[], list[dict[str, Any]]] | None = None,
        *,
        ack_timeout_s: float = 10.0,
        clock_ms: ClockMs = wall_clock_ms,
    ) -> None:
        self.name = cfg.name
        self.cfg = cfg
        self.ack_timeout_s = ack_timeout_s
        self._connected = threading.Event()
        self._in_flight: dict[int, mqtt.MQTTMessageInfo] = {}
        """Outbox rows published and not yet acknowledged (row number -> paho's handle)."""
        self.retained = RetainedState(cfg.topic_prefix, board, open_alarms, clock_ms)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=cfg.client_id, clean_session=True
        )
        if cfg.username is not None:
            self.client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            self.client.tls_set(
                ca_certs=None if cfg.ca_file is None else str(cfg.ca_file),
                certfile=None if cfg.cert_file is None else str(cfg.cert_file),
                keyfile=None if cfg.key_file is None else str(cfg.key_file),
                cert_reqs=ssl.CERT_REQUIRED,
            )
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self.client.loop_start()

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        if rc.is_failure:
            log.warning("mqtt %s: connection refused: %s", self.name, rc)
            return
        log.info("mqtt %s: connected to %s:%d", self.name, self.cfg.host, self.cfg.port)
        sock = self.client.socket()
        if isinstance(sock, socket.socket):  # alerts are small packets: no Nagle delay
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.retained.reset()  # republish retained state after every (re)connect
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        if self._connected.is_set():
            log.warning("mqtt %s: disconnected: %s", self.name, rc)
        self._connected.clear()

    @property
    def connected(self) -> bool:
        """True while the client holds a broker connection."""
        return self._connected.is_set()

    def _acked_prefix(self, items: Sequence[OutboxItem]) -> int:
        """Wait for the first message's PUBACK, then count how many (a prefix) the broker
        has acknowledged so far."""
        done = 0
        for item in items:
            info = self._in_flight[item.n]
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            if done == 0:
                try:
                    info.wait_for_publish(self.ack_timeout_s)
                except (RuntimeError, ValueError):
                    break
            if not info.is_published():
                break
            done += 1
        return done

    def deliver(self, items: Sequence[OutboxItem]) -> Delivery:
        """Publish at QoS 1 the rows not yet in flight, wait for the first row's PUBACK and
        report the acknowledged prefix. Pipelined: rows queued while earlier ones wait for
        their PUBACK are published at the next round, not after the whole earlier batch."""
        if not self.connected:
            self._in_flight.clear()
            return Delivery(0, f"broker {self.cfg.host}:{self.cfg.port} not connected")
        for item in items:
            if item.n not in self._in_flight:
                self._in_flight[item.n] = self.client.publish(
                    f"{self.cfg.topic_prefix}/events/{item.type.value}", item.line, qos=1)
        done = self._acked_prefix(items)
        if done == 0:
            self._in_flight.clear()  # the next attempt publishes them again (at least once)
            return Delivery(0, f"broker {self.cfg.host}:{self.cfg.port}: no PUBACK")
        for item in items[:done]:
            del self._in_flight[item.n]
        return Delivery(done)

    def idle(self) -> None:
        """Publish retained occupancy and open alarms when they changed."""
        if not self.cfg.retain_state or not self.connected:
            return
        for topic, payload in self.retained.due():
            self.client.publish(topic, payload, qos=1, retain=True)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()
