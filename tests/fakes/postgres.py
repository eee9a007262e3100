"""A throwaway PostgreSQL server on loopback for the store, tracker and replica tests.

Uses the machine's PostgreSQL binaries (on PATH, or Debian's /usr/lib/postgresql/*/bin).
Runs the server as the ``postgres`` user when the tests run as root, since PostgreSQL
refuses to run as root.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shlex
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg

from tests.fakes.servers import free_port


def find_binaries() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chatops-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, user="postgres")
        self._run("initdb", "-D", str(self.data), "-U", "chatops", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://chatops@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this server; its URL."""
        name = "t_" + uuid.uuid4().hex[:12]

        async def create() -> None:
            conn = await asyncpg.connect(self.url())
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
