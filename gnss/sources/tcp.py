"""NMEA over TCP: a client of a serial-to-network gateway (reconnects with backoff)."""

from __future__ import annotations

import socket

from gnss.sources.stream import READ_SIZE, Backoff, ReconnectingSource


class TcpConnection:
    """A connected TCP socket; end of stream raises OSError so the source reconnects."""

    def __init__(self, host: str, port: int, timeout_s: float = 5.0, read_timeout_s: float = 0.2) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout_s)
        self._sock.settimeout(read_timeout_s)

    def read(self) -> bytes:
        """What arrived within the read timeout (b"" when quiet)."""
        try:
            data = self._sock.recv(READ_SIZE)
        except TimeoutError:
            return b""
        if not data:
            raise ConnectionResetError("gateway closed the connection")
        return data

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()


class TcpSource(ReconnectingSource):
    """One terminal's NMEA stream from ``host:port``."""

    def __init__(self, host: str, port: int, terminal: str, *, backoff: Backoff | None = None) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"port must be 1-65535, got {port}")
        self.host = host
        self.port = port
        super().__init__(f"tcp:{host}:{port}", terminal, lambda: TcpConnection(host, port), backoff)
