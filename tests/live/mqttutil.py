"""A small MQTT subscriber for tests: collects messages per topic in a thread-safe list."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.broker import Broker


class Collector:
    """Subscribes (QoS 1, persistent session) and keeps (topic, payload, retained) tuples."""

    def __init__(self, broker: Broker, topic: str, client_id: str = "test-collector") -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)

        def on_connect(c: mqtt.Client, _u: object, _f: object, _rc: object, _p: object) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(*_args: object) -> None:
            self._subscribed.set()

        def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
            with self._lock:
                self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("subscription not acknowledged")

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        """A copy of what arrived so far."""
        with self._lock:
            return list(self.messages)

    def wait_for(self, predicate: Callable[[list[tuple[str, bytes, bool]]], bool],
                 timeout_s: float = 20.0) -> list[tuple[str, bytes, bool]]:
        """Wait until ``predicate(messages)`` holds; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.snapshot()
            if predicate(got):
                return got
            time.sleep(0.05)
        raise TimeoutError(f"condition not met; {len(self.snapshot())} messages")

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
