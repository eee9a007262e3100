"""A throwaway PostgreSQL server on loopback for the store, tracker and replica tests.

Uses the machine's PostgreSQL binaries (on PATH, or Debian's /usr/lib/postgresql/*/bin).
Runs the server as the ``postgres`` user when the tests run as root, since PostgreSQL
refuses to run as root.

With a ``template`` folder, ``initdb`` (most of a start-up) runs once into it, under a
lock, and each server starts from a copy: pytest-xdist workers each run their own server
without each paying for ``initdb``.
"""

from __future__ import annotations

import asyncio
import fcntl
import glob
import os
import pwd
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
    def __init__(self, bin_dir: Path, template: Path | None = None) -> None:
        self.bin_dir = bin_dir
        self.template = template
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chatops-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            self._postgres_uid, self._postgres_gid = entry.pw_uid, entry.pw_gid

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _initdb(self, data: Path) -> None:
        self._run("initdb", "-D", str(data), "-U", "chatops", "--auth=trust", "-E", "UTF8")

    def _from_template(self, template: Path) -> None:
        with (template / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (template / "data" / "PG_VERSION").exists():
                if self._as_postgres:
                    shutil.chown(template, user="postgres")
                self._initdb(template / "data")
        shutil.copytree(template / "data", self.data, symlinks=True)
        if self._as_postgres:
            for folder, dirs, files in os.walk(self.data):
                for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                    os.chown(name, self._postgres_uid, self._postgres_gid, follow_symlinks=False)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, user="postgres")
        if self.template is None:
            self._initdb(self.data)
        else:
            self._from_template(self.template)
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
