"""Serial port source (pyserial): a receiver on /dev/ttyUSB0, /dev/serial/by-id/..., COM3."""

from __future__ import annotations

import serial

from gnss.sources.stream import READ_SIZE, Backoff, ReconnectingSource

DEFAULT_BAUD = 9600


class SerialConnection:
    """An open serial port; a vanished device raises OSError (SerialException is one)."""

    def __init__(self, port: str, baud: int, read_timeout_s: float = 0.2) -> None:
        self._port = serial.Serial(port, baudrate=baud, timeout=read_timeout_s)

    def read(self) -> bytes:
        """What arrived, waiting at most the read timeout for the first byte."""
        try:
            data: bytes = self._port.read(max(1, min(self._port.in_waiting, READ_SIZE)))
        except serial.SerialException as exc:
            raise OSError(str(exc)) from exc
        return data

    def close(self) -> None:
        """Close the port (errors of a vanished device are ignored)."""
        try:
            self._port.close()
        except (OSError, serial.SerialException):
            return


class SerialSource(ReconnectingSource):
    """One terminal's receiver on a serial port, reopened with backoff when it vanishes."""

    def __init__(self, port: str, terminal: str, *, baud: int = DEFAULT_BAUD, backoff: Backoff | None = None) -> None:
        if baud <= 0:
            raise ValueError(f"baud must be positive, got {baud}")
        self.port = port
        self.baud = baud
        super().__init__(f"serial:{port}", terminal, lambda: SerialConnection(port, baud), backoff)
