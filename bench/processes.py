"""Start servers as real subprocesses on free loopback ports; read their memory and CPU."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int, field_name: str = "VmRSS") -> float | None:
    """Resident memory from /proc/<pid>/status (VmRSS now, VmHWM the peak), in MiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Service:
    """One server process: ``args`` after ``python -m``; healthy when ``health`` answers 200."""

    name: str
    args: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    health: str = "/healthz"
    db: Path | None = None  # chatops-hub's SQLite file, when it is one
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    startup_s: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 60.0) -> Service:
        """Start the process and wait for the first 200 from its health URL."""
        env = {**os.environ, "PYTHONPATH": str(REPO), **self.env}
        log = self.log_path.open("ab")
        started = time.perf_counter()
        # Our bench servers take --port; ``chatops serve`` reads PORT from the environment.
        port_flag = ["--port", str(self.port)] if self.args[0].startswith("bench.") else []
        self.proc = subprocess.Popen(  # noqa: S603 - our own modules and arguments
            [sys.executable, "-m", *self.args, *port_flag],
            env={**env, "PORT": str(self.port), "HOST": "127.0.0.1"},
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = started + timeout
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
                try:
                    if client.get(self.url + self.health).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{self.name} never became healthy: {self.log_tail()}")
                time.sleep(0.01)
        self.startup_s = time.perf_counter() - started
        return self

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def log_errors(self) -> dict[str, int]:
        """ERROR lines in the process's log, and how many lines name a DB pool timeout."""
        errors = pool = 0
        try:
            with self.log_path.open(errors="replace") as log:
                for line in log:
                    errors += " ERROR " in line
                    pool += "QueuePool limit" in line
        except OSError:
            pass
        return {"error_lines": errors, "pool_timeouts": pool}

    def rss_mb(self) -> float | None:
        return rss_mb(self.pid)

    def peak_rss_mb(self) -> float | None:
        return rss_mb(self.pid, "VmHWM")

    def stop(self, timeout: float = 40.0, *, kill: bool = False) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout``); ``kill``: SIGKILL at once."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
