"""MQTT source against a real mosquitto: QoS 1, persistent session, broker kill/restart."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gnss.errors import DecodeErrorKind
from gnss.fix import Fix
from gnss.fixjson import fix_to_line
from gnss.sources.mqtt import MqttSettings, MqttSource, TlsOptions, fix_topic, nmea_topic
from tests.gnss.support_stream import LAT, LON, T0, Collector, epoch_bytes
from tests.support.broker import Broker, make_tls_files
from tests.support.polling import wait_until

SITE = "park-a"


def settings(broker: Broker, client_id: str = "fence-test", **kwargs: object) -> MqttSettings:
    return MqttSettings(
        host=broker.host, port=broker.port, site=SITE, client_id=client_id, reconnect_max_s=1, **kwargs  # type: ignore[arg-type]
    )


class Publisher:
    """A gateway publishing at QoS 1 (waits for each PUBACK, retries across restarts)."""

    def __init__(self, broker: Broker, client_id: str = "gateway") -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(30)
        assert info.is_published()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def times(fixes: list[Fix], terminal: str) -> list[int]:
    return [f.t_ms for f in fixes if f.terminal == terminal]


def test_nmea_and_fix_topics(broker: Broker) -> None:
    source = MqttSource(settings(broker))
    got = Collector()
    source.start(got)
    pub = Publisher(broker)
    try:
        assert source.subscribed.wait(10)
        for k in range(4):
            pub.publish(nmea_topic(SITE, "W-017"), epoch_bytes(k, talker="GB"))
        fix = Fix(T0, "V-3", LAT, LON, 5, acc_m=0.4)
        pub.publish(fix_topic(SITE, "V-3"), fix_to_line(fix).encode())
        pub.publish(fix_topic(SITE, "V-3"), b'{"t": "nonsense"}')
        pub.publish(fix_topic(SITE, "V-4"), fix_to_line(fix).encode())  # wrong topic
        got.wait_fixes(4)
        wait_until(lambda: len(got.errors) == 2, what="two bad fix messages")
    finally:
        pub.close()
        source.stop()
    fixes = got.fixes
    assert times(fixes, "W-017") == [T0 + 1000 * k for k in range(4)]
    assert [(f.terminal, f.quality, f.acc_m) for f in fixes if f.terminal == "V-3"] == [("V-3", 5, 0.4)]
    assert [e.kind for e in got.errors] == [DecodeErrorKind.BAD_FIX_JSON] * 2
    assert "published on the topic of 'V-4'" in got.errors[1].detail


def test_no_fix_lost_when_the_broker_is_killed_mid_stream(broker: Broker) -> None:
    source = MqttSource(settings(broker))
    got = Collector()
    source.start(got)
    try:
        assert source.subscribed.wait(10)
        pub = Publisher(broker)
        for k in range(10):
            pub.publish(nmea_topic(SITE, "W-017"), epoch_bytes(k))
        got.wait_fixes(10)
        pub.close()
        broker.kill()  # SIGKILL: no goodbye to anybody
        broker.start()  # same port, same persistent database
        # the gateway comes back first; the engine's session is offline: the broker keeps it
        pub = Publisher(broker, client_id="gateway-2")
        for k in range(10, 30):
            pub.publish(nmea_topic(SITE, "W-017"), epoch_bytes(k))
        pub.close()
        fixes = got.wait_fixes(30, timeout_s=30)
        assert source.connects >= 2
    finally:
        source.stop()
    assert times(fixes, "W-017") == [T0 + 1000 * k for k in range(30)]


def test_unacknowledged_message_is_delivered_again_after_a_crash(broker: Broker) -> None:
    release = threading.Event()
    first = Collector()

    def stuck_deliver(item: object) -> None:
        first(item)  # type: ignore[arg-type]
        release.wait(30)  # the engine hangs before it accepted the item: no ack

    crashed = MqttSource(settings(broker, client_id="engine"))
    crashed.start(stuck_deliver)
    pub = Publisher(broker)
    try:
        assert crashed.subscribed.wait(10)
        fix = Fix(T0, "V-3", LAT, LON, 4)
        pub.publish(fix_topic(SITE, "V-3"), fix_to_line(fix).encode())
        first.wait_fixes(1)
        # a new engine process takes over the session (same client id): the broker
        # drops the hung one and sends the unacknowledged message again
        second = Collector()
        restarted = MqttSource(settings(broker, client_id="engine"))
        restarted.start(second)
        try:
            fixes = second.wait_fixes(1)
        finally:
            release.set()
            restarted.stop()
    finally:
        release.set()
        crashed.stop()
        pub.close()
    assert [(f.terminal, f.t_ms, f.quality) for f in fixes] == [("V-3", T0, 4)]


def test_username_and_password(tmp_path: Path) -> None:
    with Broker(tmp_path / "secured", users={"fence": "s3cret"}) as secured:
        good = MqttSource(settings(secured, client_id="good", username="fence", password="s3cret"))
        bad = MqttSource(settings(secured, client_id="bad", username="fence", password="wrong"))
        got = Collector()
        good.start(got)
        bad.start(Collector())
        try:
            assert good.subscribed.wait(10)
            assert not bad.subscribed.wait(1.5)
            pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw")
            pub.username_pw_set("fence", "s3cret")
            pub.connect(secured.host, secured.port)
            pub.loop_start()
            for k in range(3):
                pub.publish(nmea_topic(SITE, "W-1"), epoch_bytes(k), qos=1).wait_for_publish(10)
            got.wait_fixes(3)
            pub.loop_stop()
            pub.disconnect()
        finally:
            good.stop()
            bad.stop()
        assert bad.connects == 0


def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "pki")
    with Broker(tmp_path / "tls", tls=files) as secured:
        tls = TlsOptions(ca_certs=str(files.ca_cert))
        source = MqttSource(settings(secured, client_id="tls-engine", tls=tls))
        untrusting = MqttSource(settings(secured, client_id="plain"))  # no TLS: refused
        got = Collector()
        source.start(got)
        untrusting.start(Collector())
        try:
            assert source.subscribed.wait(10)
            assert not untrusting.subscribed.wait(1.0)
            pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-tls")
            pub.tls_set(ca_certs=str(files.ca_cert))
            pub.connect(secured.host, secured.port)
            pub.loop_start()
            for k in range(3):
                pub.publish(nmea_topic(SITE, "W-5"), epoch_bytes(k, talker="BD"), qos=1).wait_for_publish(10)
            fixes = got.wait_fixes(3)
            pub.loop_stop()
            pub.disconnect()
        finally:
            source.stop()
            untrusting.stop()
    assert times(fixes, "W-5") == [T0, T0 + 1000, T0 + 2000]
