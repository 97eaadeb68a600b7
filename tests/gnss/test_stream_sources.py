"""Serial (through a real pseudo terminal), TCP and file sources, for real."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from gnss.fix import Fix
from gnss.sources import Source
from gnss.sources.comments import CommentStripper
from gnss.sources.serialport import SerialSource
from gnss.sources.stream import Backoff, FileSource
from gnss.sources.tcp import TcpSource
from tests.gnss.gpsd_oracle import decode, log_bytes
from tests.gnss.support_stream import T0, Collector, epoch_bytes
from tests.support.paths import CORPUS_NMEA
from tests.support.polling import wait_until


class Pty:
    """A pseudo terminal whose slave is reached through a stable symlink (like udev's
    /dev/serial/by-id): closing the master is an unplug, ``plug`` a new device."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master: int | None = None
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        path = os.ttyname(slave)
        os.close(slave)
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(path)
        tmp.replace(self.link)
        self.master = master

    def unplug(self) -> None:
        assert self.master is not None
        os.close(self.master)
        self.master = None
        self.link.unlink()

    def write(self, data: bytes) -> None:
        assert self.master is not None
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]


def times(fixes: list[Fix]) -> list[int]:
    return [f.t_ms for f in fixes]


def test_serial_source_survives_unplug_and_replug(tmp_path: Path) -> None:
    pty = Pty(tmp_path / "ttyGNSS")
    source = SerialSource(str(pty.link), "W-017", baud=115200, backoff=Backoff(0.05, 0.2))
    assert isinstance(source, Source)
    got = Collector()
    source.start(got)
    try:
        assert source.connected.wait(10)
        for k in range(5):
            pty.write(epoch_bytes(k))
        got.wait_fixes(5)
        pty.unplug()
        wait_until(lambda: not source.connected.is_set(), what="the source to notice the unplug")
        assert not source.connected.wait(0.3)  # the device stays away: attempts fail
        pty.plug()
        wait_until(lambda: source.connects == 2, what="the source to reopen the port")
        for k in range(5, 10):
            pty.write(epoch_bytes(k))
        fixes = got.wait_fixes(10)
    finally:
        source.stop()
        if pty.master is not None:
            os.close(pty.master)
    assert times(fixes) == [T0 + 1000 * k for k in range(10)]
    assert all(f.terminal == "W-017" and f.quality == 4 for f in fixes)
    assert got.errors == []


def test_serial_source_waits_for_a_missing_device(tmp_path: Path) -> None:
    link = tmp_path / "ttyLATE"
    source = SerialSource(str(link), "W-018", backoff=Backoff(0.05, 0.1))
    got = Collector()
    source.start(got)
    try:
        assert not source.connected.wait(0.5)
        pty = Pty(link)
        assert source.connected.wait(10)
        for k in range(3):
            pty.write(epoch_bytes(k, talker="BD"))
        fixes = got.wait_fixes(3)
    finally:
        source.stop()
    assert times(fixes) == [T0, T0 + 1000, T0 + 2000]


def test_tcp_source_reconnects_to_the_gateway() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    source = TcpSource("127.0.0.1", port, "GATE-2", backoff=Backoff(0.05, 0.2))
    got = Collector()
    source.start(got)
    try:
        for session in range(2):
            conn, _addr = server.accept()
            with conn:
                for k in range(5 * session, 5 * session + 5):
                    conn.sendall(epoch_bytes(k))
                got.wait_fixes(5 * session + 5)
            # the gateway drops the connection; the source connects again
        fixes = got.fixes
    finally:
        source.stop()
        server.close()
    assert times(fixes) == [T0 + 1000 * k for k in range(10)]
    assert source.connects == 2


def test_file_source_reads_gpsd_logs_like_the_decoder() -> None:
    source = FileSource(CORPUS_NMEA / "nmea-rtk.log", "T")
    got = Collector()
    source.start(got)
    assert source.done.wait(20)
    source.stop()
    expected = [i for i in decode("nmea-rtk") if isinstance(i, Fix)]
    assert [(f.t_ms, f.lat, f.quality) for f in got.fixes] == [(f.t_ms, f.lat, f.quality) for f in expected]
    assert len(got.fixes) == 122


def test_file_source_without_comment_skipping(tmp_path: Path) -> None:
    path = tmp_path / "raw.nmea"
    path.write_bytes(b"".join(epoch_bytes(k) for k in range(3)))
    got = Collector()
    FileSource(path, "T", comments=False).run(got)
    assert times(got.fixes) == [T0, T0 + 1000, T0 + 2000]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_comment_stripping_is_chunk_independent(chunk: int) -> None:
    raw = (CORPUS_NMEA / "isync.log").read_bytes()
    stripper = CommentStripper()
    out = b"".join(stripper.feed(raw[i : i + chunk]) for i in range(0, len(raw), chunk))
    assert out == log_bytes("isync")
    assert b"\n#" not in out and not out.startswith(b"#")


def test_source_threads_end_on_stop() -> None:
    source = TcpSource("127.0.0.1", 9, "NOBODY", backoff=Backoff(0.05, 0.1))
    source.start(Collector())
    source.stop()
    assert not any(t.name == source.name for t in threading.enumerate())
