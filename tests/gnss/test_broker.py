"""The test broker itself: persistent QoS 1 sessions survive a kill and restart."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.support.broker import Broker, port_accepts


def _client(broker: Broker, client_id: str, **kwargs: object) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, **kwargs
    )
    return client


def _subscribe_once(broker: Broker, client_id: str, topic: str) -> list[bytes]:
    got: list[bytes] = []
    done = threading.Event()
    client = _client(broker, client_id)

    def on_connect(c: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        c.subscribe(topic, qos=1)

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        got.append(msg.payload)

    def on_subscribe(*_args: object) -> None:
        done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert done.wait(5)
    client.loop_stop()
    client.disconnect()
    return got


def test_broker_restarts_on_same_port_and_keeps_queued_messages(broker: Broker) -> None:
    port = broker.port
    assert port_accepts(broker.host, port)
    _subscribe_once(broker, "keeper", "t/x")  # registers a persistent session, then leaves
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    infos = [pub.publish("t/x", f"m{i}".encode(), qos=1) for i in range(5)]
    for info in infos:
        info.wait_for_publish(5)
    pub.loop_stop()
    pub.disconnect()
    broker.restart(hard=True)  # SIGKILL, then start again
    assert broker.port == port and port_accepts(broker.host, port)
    got: list[bytes] = []
    done = threading.Event()
    client = _client(broker, "keeper")
    client.on_message = lambda _c, _u, msg: (got.append(msg.payload), len(got) == 5 and done.set())
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert done.wait(5), f"got {got}"
    client.loop_stop()
    client.disconnect()
    assert got == [f"m{i}".encode() for i in range(5)]


def test_password_broker_refuses_anonymous_and_accepts_user(tmp_path: Path) -> None:
    with Broker(tmp_path / "b", users={"gate": "s3cret"}) as secured:
        results: dict[str, ReasonCode] = {}
        for name, creds in (("anon", None), ("user", ("gate", "s3cret"))):
            done = threading.Event()
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
            if creds:
                client.username_pw_set(*creds)

            def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object,
                           key: str = name, ev: threading.Event = done) -> None:
                results[key] = rc
                ev.set()

            client.on_connect = on_connect
            client.connect(secured.host, secured.port)
            client.loop_start()
            assert done.wait(5)
            client.loop_stop()
            client.disconnect()
        assert results["user"].is_failure is False
        assert results["anon"].is_failure is True


def test_stopped_broker_closes_port(tmp_path: Path) -> None:
    b = Broker(tmp_path / "b")
    b.start()
    b.stop()
    assert not port_accepts(b.host, b.port)
    assert not b.running
