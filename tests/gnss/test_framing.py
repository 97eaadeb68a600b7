"""Framing: line endings, NUL and binary bytes, $$, cut and injected sentences, lengths."""

from __future__ import annotations

import struct

import pytest

from gnss import encode
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.framing import MAX_SENTENCE_BYTES, Framer

T0 = 1_795_939_201_000  # 2026-11-28T08:00:01Z
GGA = encode.gga("GN", T0, 40.6512345, 111.5123456, 4, sats=14, hdop=0.8, alt_m=1043.2)
RMC = encode.rmc("GN", T0, 40.6512345, 111.5123456, mode="R")


def bodies(items: list[bytes | DecodeError]) -> list[bytes]:
    return [i for i in items if isinstance(i, bytes)]


def kinds(items: list[bytes | DecodeError]) -> list[DecodeErrorKind]:
    return [i.kind for i in items if isinstance(i, DecodeError)]


def frame(data: bytes) -> list[bytes | DecodeError]:
    framer = Framer("t")
    return framer.feed(data) + framer.flush()


def body_of(sentence: str) -> bytes:
    return sentence.strip().encode()[1:-3]


def ubx(cls: int, mid: int, payload: bytes) -> bytes:
    """A UBX frame with its Fletcher checksum."""
    head = bytes([cls, mid]) + struct.pack("<H", len(payload)) + payload
    a = b = 0
    for byte in head:
        a = (a + byte) & 0xFF
        b = (b + a) & 0xFF
    return b"\xb5\x62" + head + bytes([a, b])


def rtcm3(payload: bytes) -> bytes:
    """An RTCM3 frame with its CRC-24Q."""
    frame_ = bytes([0xD3, (len(payload) >> 8) & 0x03, len(payload) & 0xFF]) + payload
    crc = 0
    for byte in frame_:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return frame_ + (crc & 0xFFFFFF).to_bytes(3, "big")


def casic(cls: int, mid: int, payload: bytes) -> bytes:
    """A CASIC frame (header BA CE) with its additive checksum."""
    length = struct.pack("<H", len(payload))
    check = (mid << 24) + (cls << 16) + len(payload)
    for i in range(0, len(payload) - len(payload) % 4, 4):
        check += struct.unpack("<I", payload[i : i + 4])[0]
    return b"\xba\xce" + length + bytes([cls, mid]) + payload + struct.pack("<I", check & 0xFFFFFFFF)


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r", b"\r\r\n", b"\n\n"])
def test_line_endings(ending: bytes) -> None:
    data = GGA.strip().encode() + ending + RMC.strip().encode() + ending
    assert bodies(frame(data)) == [body_of(GGA), body_of(RMC)]
    assert kinds(frame(data)) == []


def test_double_dollar_prefix_and_nul_bytes() -> None:
    data = b"$" + GGA.encode() + b"\x00\x00\x00" + b"$$" + RMC.encode()
    items = frame(data)
    assert bodies(items) == [body_of(GGA), body_of(RMC)]
    assert kinds(items) == []


def test_nul_inside_sentence_cuts_it() -> None:
    raw = GGA.encode()
    items = frame(raw[:30] + b"\x00" * 5 + raw[30:] + RMC.encode())
    assert bodies(items) == [body_of(RMC)]
    assert kinds(items) == [DecodeErrorKind.CUT]


def test_sentence_cut_by_another() -> None:
    items = frame(b"$GPGGA,030130" + RMC.encode())
    assert bodies(items) == [body_of(RMC)]
    assert kinds(items) == [DecodeErrorKind.CUT]


def test_injected_sentence_is_recovered_after_the_injection() -> None:
    outer = GGA.encode()
    inner = b"$PTNTA,20160203131539,2,T4,000000066,+107,3,0,3*18\r\n"
    data = outer[:25] + inner + outer[25:] + RMC.encode()
    assert bodies(frame(data)) == [inner[1:-5], body_of(GGA), body_of(RMC)]


def test_binary_frames_between_sentences() -> None:
    tricky = b"\x01$GPGGA,\x02\x03 $\xff" + b"$" * 3
    frames = [
        ubx(0x01, 0x07, bytes(range(92))),
        rtcm3(b"\x43\x50" + tricky + bytes(40)),
        casic(0x08, 0x07, tricky + bytes(16)),
    ]
    data = GGA.encode() + frames[0] + RMC.encode() + frames[1] + GGA.encode() + frames[2] + RMC.encode()
    items = frame(data)
    assert bodies(items) == [body_of(GGA), body_of(RMC), body_of(GGA), body_of(RMC)]
    # "$GPGGA," followed by a binary byte inside a payload reads as a cut sentence
    assert set(kinds(items)) <= {DecodeErrorKind.CUT}


def test_bad_and_missing_checksums() -> None:
    bad = GGA.strip()[:-2] + ("00" if GGA.strip()[-2:] != "00" else "11")
    items = frame((bad + "\r\n$GPGLL,4916.45,N,12311.12,W,225444,A\r\n").encode() + RMC.encode())
    assert bodies(items) == [body_of(RMC)]
    assert kinds(items) == [DecodeErrorKind.BAD_CHECKSUM, DecodeErrorKind.NO_CHECKSUM]


def test_lower_case_checksum_is_accepted() -> None:
    text = GGA.strip()
    assert bodies(frame((text[:-2] + text[-2:].lower() + "\n").encode())) == [body_of(GGA)]


def test_over_long_line_is_refused_and_skipped() -> None:
    long_body = "GPTXT," + "A" * (MAX_SENTENCE_BYTES + 10)
    sentence = f"${long_body}*{encode.checksum(long_body)}\r\n".encode()
    items = frame(sentence + RMC.encode())
    assert bodies(items) == [body_of(RMC)]
    assert kinds(items) == [DecodeErrorKind.TOO_LONG]
    # the same, one byte at a time
    framer = Framer("t")
    items = []
    for i in range(len(sentence + RMC.encode())):
        items += framer.feed((sentence + RMC.encode())[i : i + 1])
    assert bodies(items) == [body_of(RMC)]
    assert kinds(items) == [DecodeErrorKind.TOO_LONG]


def test_last_sentence_without_line_end_is_complete_at_flush() -> None:
    framer = Framer("t")
    assert framer.feed(GGA.strip().encode()) == []
    assert framer.flush() == [body_of(GGA)]


def test_errors_name_terminal_and_line() -> None:
    bad = GGA.strip()[:-2] + "00"
    data = ("# header\n" + RMC + RMC + bad + "\r\n").encode()
    errors = [i for i in frame(data) if isinstance(i, DecodeError)]
    assert [(e.kind, e.terminal, e.line) for e in errors] == [(DecodeErrorKind.BAD_CHECKSUM, "t", 4)]
    assert "t line 4: bad_checksum" in str(errors[0])


def test_keep_filter_drops_other_types_unchecked() -> None:
    gsv = "".join(encode.gsv("GB", [(1, 2, 3, 4)]))
    framer = Framer("t", keep=frozenset({b"GGA"}))
    assert framer.feed((gsv + GGA + RMC).encode()) == [body_of(GGA)]


def test_injected_sentence_recovery_does_not_depend_on_chunking() -> None:
    outer = GGA.encode()
    inner = b"$PTNTA,20160203131539,2,T4,000000066,+107,3,0,3*18\r\n"
    data = outer[:25] + inner + outer[25:] + RMC.encode()
    whole = frame(data)
    for cut in range(1, len(data)):
        framer = Framer("t")
        assert framer.feed(data[:cut]) + framer.feed(data[cut:]) + framer.flush() == whole, cut


def test_decode_error_checks_its_values() -> None:
    with pytest.raises(TypeError):
        DecodeError("cut", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DecodeError(DecodeErrorKind.CUT, "x", "t", 0)
