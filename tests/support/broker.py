"""A real mosquitto broker for tests, on a free loopback port.

The broker writes its own config file into a temporary directory, keeps persistence
on (so QoS 1 sessions and queued messages survive a restart, also a SIGKILL: the
database is saved after every change) and can be stopped, killed and restarted on the
same port. ``users`` turns anonymous access off and writes a password file; ``tls``
makes the listener TLS-only (see ``make_tls_files``).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


class BrokerError(RuntimeError):
    """The broker could not be started or did not answer in time."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A test CA and a server certificate for 127.0.0.1/localhost signed by it."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """Create a throw-away CA and server certificate with openssl (tests only)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def openssl(*args: str) -> None:
        """Run one openssl command (quietly)."""
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=fence test CA",
            "-keyout", str(ca_key), "-out", str(ca_cert))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return TlsFiles(ca_cert, cert, key)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(host: str, port: int) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """One mosquitto process with its config, data and log in ``workdir``."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        users: Mapping[str, str] | None = None,
        tls: TlsFiles | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="mosq-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = dict(users) if users else {}
        self.tls = tls
        self.config_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        data_dir = self.workdir / "data"
        data_dir.mkdir(exist_ok=True)
        lines = [
            f"user {getpass.getuser()}",
            f"listener {self.port} {self.host}",
            *(
                [f"cafile {self.tls.ca_cert}", f"certfile {self.tls.server_cert}", f"keyfile {self.tls.server_key}"]
                if self.tls
                else []
            ),
            "persistence true",
            f"persistence_location {data_dir}/",
            "autosave_interval 1",
            "autosave_on_changes true",
            "max_queued_messages 100000",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if self.users:
            password_file = self.workdir / "passwd"
            password_file.write_text("")
            for name, password in self.users.items():
                subprocess.run(
                    [MOSQUITTO_PASSWD, "-b", str(password_file), name, password],
                    check=True,
                    capture_output=True,
                )
            password_file.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        self.config_path.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start mosquitto and wait until its port accepts connections."""
        if self.running:
            return
        log = open(self.workdir / "stdout.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerError(f"mosquitto exited with {self._proc.returncode}: {self.log_tail()}")
            if port_accepts(self.host, self.port):
                return
            time.sleep(0.02)
        self.kill()
        raise BrokerError(f"mosquitto did not open port {self.port}: {self.log_tail()}")

    def _end(self, sig: int, timeout_s: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None
        deadline = time.monotonic() + timeout_s
        while port_accepts(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop gracefully (SIGTERM: the broker saves its database)."""
        self._end(signal.SIGTERM, timeout_s)

    def kill(self) -> None:
        """Kill at once (SIGKILL), like a crash or power loss."""
        self._end(signal.SIGKILL, 5.0)

    def restart(self, *, hard: bool = False) -> None:
        """Stop (or kill when ``hard``) and start again on the same port."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker's log (for failure messages)."""
        text = ""
        for path in (self.log_path, self.workdir / "stdout.log"):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop the broker and remove its directory when the broker made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
