"""The lean MQTT 5 ingest client: packet parsing (generated streams cut anywhere), what a
misbehaving peer sends (a scripted socket), and the source against a real mosquitto,
checked item for item against the paho-mqtt reference source."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from gnss.errors import DecodeError
from gnss.fix import Fix
from gnss.fixjson import fix_to_line
from gnss.sources import SourceItem
from gnss.sources.mqtt import (
    MqttSettings,
    MqttSource,
    PahoMqttSource,
    TlsOptions,
    fix_topic,
    nmea_topic,
)
from gnss.sources.mqttwire import (
    MAX_PACKET_BYTES,
    RECV_BYTES,
    PacketReader,
    ProtocolError,
    Publish,
    read_varint,
    varint,
)
from tests.gnss.support_stream import LAT, LON, T0, epoch_bytes
from tests.live.rawbroker import CONNACK_OK, PeerConnection, RawBroker, publish, suback
from tests.support.broker import Broker, make_tls_files
from tests.support.polling import wait_until

SITE = "park-w"


def settings_for(host: str, port: int, client_id: str = "lean", **kwargs: object) -> MqttSettings:
    return MqttSettings(host=host, port=port, site=SITE, client_id=client_id, reconnect_max_s=1,
                        **kwargs)  # type: ignore[arg-type]


class Batches:
    """``deliver_many`` for tests: keeps each call's items."""

    def __init__(self) -> None:
        self.calls: list[list[SourceItem]] = []
        self.lock = threading.Lock()

    def __call__(self, items: Sequence[SourceItem]) -> None:
        with self.lock:
            self.calls.append(list(items))

    @property
    def items(self) -> list[SourceItem]:
        with self.lock:
            return [item for call in self.calls for item in call]

    @property
    def fixes(self) -> list[Fix]:
        return [i for i in self.items if isinstance(i, Fix)]


# --- packets --------------------------------------------------------------------------

@given(st.integers(0, 268_435_455))
def test_varint_round_trip(value: int) -> None:
    data = varint(value)
    assert read_varint(data + b"\xff", 0) == (value, len(data))
    assert read_varint(data[:-1], 0) is None


messages = st.lists(st.tuples(
    st.sampled_from(["fence/a/W-1/nmea", "fence/a/车-2/fix", "x"]),
    st.binary(max_size=400),
    st.integers(0, 1),
    st.integers(1, 65535),
    st.booleans(),
    st.sampled_from([b"\x00", b"\x03\x23\x00\x05", b"\x05\x02\x00\x00\x00\x3c"]),  # none, alias, expiry
), min_size=1, max_size=30)


@settings(max_examples=300)
@given(msgs=messages, cuts=st.lists(st.integers(0, 20_000), max_size=12))
def test_reader_gives_the_same_packets_however_the_stream_is_cut(
        msgs: list[tuple[str, bytes, int, int, bool, bytes]], cuts: list[int]) -> None:
    stream = b"".join(publish(t, p, pid, qos=q, dup=d, props=props) for t, p, q, pid, d, props in msgs)
    want = [Publish(t, p, q, pid if q else 0, d, False) for t, p, q, pid, d, _props in msgs]
    reader = PacketReader()
    got = []
    edges = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    for a, b in zip(edges, edges[1:], strict=False):
        got += reader.feed(stream[a:b])
    assert got == want
    assert reader.pending_bytes == 0


def test_reader_joins_a_packet_larger_than_one_read() -> None:
    big = publish("fence/a/W-1/nmea", b"$" * (3 * RECV_BYTES + 17), 9)
    small = publish("fence/a/W-1/nmea", b"tail", 10)
    reader = PacketReader()
    got = []
    stream = big + small
    for a in range(0, len(stream), 65536):
        got += reader.feed(stream[a:a + 65536])
    assert [(p.packet_id, len(p.payload)) for p in got if isinstance(p, Publish)] == \
        [(9, 3 * RECV_BYTES + 17), (10, 4)]


@pytest.mark.parametrize(("data", "why"), [
    (b"\x30\xff\xff\xff\xff\x01", "longer than four bytes"),
    (b"\x36\x05\x00\x01x\x00\x01", "QoS 3"),
    (b"\x34\x06\x00\x01x\x00\x01\x00", "QoS 2"),
    (b"\x32\x06\x00\x01x\x00\x00\x00", "packet id 0"),
    (b"\x00\x00", "reserved packet type"),
    (b"\x30\x04\x00\x09ab", "topic runs past"),
])
def test_reader_refuses_malformed_packets(data: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        PacketReader().feed(data)


def test_reader_returns_the_good_packets_before_a_malformed_one() -> None:
    reader = PacketReader()
    good = publish("fence/a/W-1/nmea", b"x", 1)
    assert [p.packet_id for p in reader.feed(good + good + b"\x00\x00") if isinstance(p, Publish)] == [1, 1]
    assert reader.error is not None
    with pytest.raises(ProtocolError, match="reserved packet type"):
        reader.feed(good)


def test_reader_refuses_a_packet_over_the_limit_before_reading_it() -> None:
    header = b"\x30" + varint(MAX_PACKET_BYTES + 1)
    with pytest.raises(ProtocolError, match="over the limit"):
        PacketReader().feed(header)


# --- a peer that misbehaves -------------------------------------------------------------

def fix_payload(k: int, terminal: str = "V-1") -> bytes:
    return fix_to_line(Fix(T0 + 1000 * k, terminal, LAT, LON, 4)).encode()


def handshake(conn: PeerConnection) -> None:
    conn.wait_for(b"\x10")
    conn.send(CONNACK_OK)
    conn.wait_for(b"\x82")
    conn.send(suback())


def test_a_malformed_packet_ends_the_connection_after_the_messages_before_it() -> None:
    topic = fix_topic(SITE, "V-1")

    def first(conn: PeerConnection) -> None:
        handshake(conn)
        conn.send(publish(topic, fix_payload(0), 1) + publish(topic, fix_payload(1), 2) + b"\x00\x00")
        conn.read_for(1.0)

    def second(conn: PeerConnection) -> None:
        handshake(conn)
        conn.send(publish(topic, fix_payload(2), 3))
        conn.read_for(3.0)

    peer = RawBroker([first, second])
    source = MqttSource(settings_for(peer.host, peer.port))
    got = Batches()
    source.start_many(got)
    try:
        wait_until(lambda: len(got.fixes) == 3, what="three fixes over two connections")
        wait_until(lambda: b"\x40\x02\x00\x03" in peer.connections[1].received, what="PUBACK 3")
    finally:
        source.stop()
        peer.close()
    assert [f.t_ms for f in got.fixes] == [T0, T0 + 1000, T0 + 2000]
    assert b"\x40\x02\x00\x01\x40\x02\x00\x02" in peer.connections[0].received  # one send
    assert source.connects == 2


def test_a_refused_connect_is_retried_and_never_counts_as_connected() -> None:
    def refuse(conn: PeerConnection) -> None:
        conn.wait_for(b"\x10")
        conn.send(b"\x20\x03\x00\x86\x00")  # bad user name or password
        conn.read_for(0.5)

    peer = RawBroker([refuse])
    source = MqttSource(settings_for(peer.host, peer.port, username="fence", password="nope"))
    source.start_many(Batches())
    try:
        wait_until(lambda: len(peer.connections) >= 2, timeout_s=10, what="a second attempt")
        assert not source.subscribed.is_set()
    finally:
        source.stop()
        peer.close()
    assert source.connects == 0
    connect = peer.connections[0].received
    assert b"fence" in connect and b"nope" in connect and connect[8] == 5  # MQTT 5


def test_keepalive_pings_and_a_silent_broker_is_left() -> None:
    def silent(conn: PeerConnection) -> None:
        handshake(conn)
        conn.read_for(3.0)  # never answers PINGREQ

    peer = RawBroker([silent])
    source = MqttSource(settings_for(peer.host, peer.port, keepalive_s=1))
    source.start_many(Batches())
    try:
        wait_until(lambda: len(peer.connections) >= 2, timeout_s=10, what="a reconnect")
    finally:
        source.stop()
        peer.close()
    assert b"\xc0\x00" in peer.connections[0].received


# --- against mosquitto ---------------------------------------------------------------

def paho_publisher(broker: Broker, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(1000)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_lean_and_paho_sources_deliver_the_same_items(broker: Broker) -> None:
    lean, paho = MqttSource(settings_for(broker.host, broker.port, "lean")), \
        PahoMqttSource(settings_for(broker.host, broker.port, "paho"))
    lean_got, paho_got = Batches(), Batches()
    lean.start_many(lean_got)
    paho.start(lambda item: paho_got([item]))
    pub = paho_publisher(broker, "gw-both")
    try:
        assert lean.subscribed.wait(10) and paho.subscribed.wait(10)
        infos = []
        for k in range(30):
            for terminal in ("W-1", "W-2", "W-3"):
                infos.append(pub.publish(nmea_topic(SITE, terminal), epoch_bytes(k), qos=1))
            infos.append(pub.publish(fix_topic(SITE, "V-9"), fix_payload(k, "V-9"), qos=1))
        infos.append(pub.publish(fix_topic(SITE, "V-9"), b"{not json", qos=1))
        infos.append(pub.publish(nmea_topic(SITE, "W-1"), b"$GNGGA,1*00\r\n" + bytes(range(256)), qos=1))
        for info in infos:
            info.wait_for_publish(10)
        wait_until(lambda: len(lean_got.fixes) >= 120 and len(paho_got.fixes) >= 120, what="120 fixes each")
        time.sleep(0.5)
    finally:
        pub.loop_stop()
        pub.disconnect()
        lean.stop()
        paho.stop()

    def by_terminal(items: list[SourceItem]) -> dict[str, list[SourceItem]]:
        out: dict[str, list[SourceItem]] = {}
        for item in items:
            out.setdefault(item.terminal, []).append(item)
        return out

    assert by_terminal(lean_got.items) == by_terminal(paho_got.items)
    assert any(isinstance(i, DecodeError) for i in lean_got.items)
    assert max(len(call) for call in lean_got.calls) > 1  # a read's items in one call


def test_unacknowledged_read_comes_again_to_the_next_session(broker: Broker) -> None:
    release = threading.Event()
    first = Batches()

    def stuck(items: Sequence[SourceItem]) -> None:
        first(items)
        release.wait(30)  # the engine hangs before it accepted the read: nothing is acked

    crashed = MqttSource(settings_for(broker.host, broker.port, "engine"))
    crashed.start_many(stuck)
    pub = paho_publisher(broker, "gw-stuck")
    try:
        assert crashed.subscribed.wait(10)
        for k in range(50):
            pub.publish(fix_topic(SITE, "V-1"), fix_payload(k), qos=1).wait_for_publish(10)
        wait_until(lambda: first.fixes, what="the first read")
        second = Batches()
        restarted = MqttSource(settings_for(broker.host, broker.port, "engine"))
        restarted.start_many(second)
        try:
            wait_until(lambda: len({f.t_ms for f in second.fixes}) == 50, what="all 50 again")
        finally:
            release.set()
            restarted.stop()
    finally:
        release.set()
        crashed.stop()
        pub.loop_stop()
        pub.disconnect()
    assert sorted({f.t_ms for f in second.fixes}) == [T0 + 1000 * k for k in range(50)]


def test_a_payload_over_the_packet_limit_is_dropped_by_the_broker_not_the_session(
        broker: Broker) -> None:
    source = MqttSource(settings_for(broker.host, broker.port))
    got = Batches()
    source.start_many(got)
    pub = paho_publisher(broker, "gw-big")
    try:
        assert source.subscribed.wait(10)
        pub.publish(nmea_topic(SITE, "W-1"), b"$" * (MAX_PACKET_BYTES + 1), qos=1).wait_for_publish(30)
        pub.publish(fix_topic(SITE, "V-1"), fix_payload(0), qos=1).wait_for_publish(10)
        wait_until(lambda: got.fixes, what="the fix after the oversized message")
    finally:
        pub.loop_stop()
        pub.disconnect()
        source.stop()
    assert [f.t_ms for f in got.fixes] == [T0]
    assert source.connects == 1
    assert not [i for i in got.items if i.terminal == "W-1"]


def test_broker_killed_mid_stream_loses_and_doubles_nothing(broker: Broker) -> None:
    source = MqttSource(settings_for(broker.host, broker.port, "engine-restart"))
    got = Batches()
    source.start_many(got)
    assert source.subscribed.wait(10)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-restart", clean_session=False)
    pub.reconnect_delay_set(1, 1)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        infos = [pub.publish(nmea_topic(SITE, "W-7"), epoch_bytes(k), qos=1) for k in range(150)]
        for info in infos:
            info.wait_for_publish(30)  # the broker has them all (no resend by the gateway)
        broker.restart(hard=True)  # SIGKILL while it is still sending them to the source
        for k in range(150, 300):
            pub.publish(nmea_topic(SITE, "W-7"), epoch_bytes(k), qos=1)
        wait_until(lambda: len(got.fixes) >= 300, timeout_s=60, what="300 fixes")
        time.sleep(1.0)
    finally:
        pub.loop_stop()
        pub.disconnect()
        source.stop()
    times = [f.t_ms for f in got.fixes]
    assert sorted(set(times)) == [T0 + 1000 * k for k in range(300)]
    assert len(times) == len(set(times))
    assert source.connects >= 2


def test_tls_with_a_private_ca_and_a_password(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "pki")
    with Broker(tmp_path / "tls", tls=files, users={"fence": "s3cret"}) as secured:
        tls = TlsOptions(ca_certs=str(files.ca_cert))
        source = MqttSource(settings_for(secured.host, secured.port, "tls-lean", tls=tls,
                                         username="fence", password="s3cret"))
        wrong = MqttSource(settings_for(secured.host, secured.port, "tls-wrong", tls=tls,
                                        username="fence", password="nope"))
        got = Batches()
        source.start_many(got)
        wrong.start_many(Batches())
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-tls")
        pub.tls_set(ca_certs=str(files.ca_cert))
        pub.username_pw_set("fence", "s3cret")
        pub.connect(secured.host, secured.port)
        pub.loop_start()
        try:
            assert source.subscribed.wait(10)
            for k in range(5):
                pub.publish(nmea_topic(SITE, "W-5"), epoch_bytes(k), qos=1).wait_for_publish(10)
            wait_until(lambda: len(got.fixes) == 5, what="five fixes over TLS")
            assert not wrong.subscribed.is_set()
        finally:
            pub.loop_stop()
            pub.disconnect()
            source.stop()
            wrong.stop()
    assert [f.t_ms for f in got.fixes] == [T0 + 1000 * k for k in range(5)]
    assert wrong.connects == 0
