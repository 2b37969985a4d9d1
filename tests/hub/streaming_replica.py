"""A throw-away PostgreSQL primary and its streaming replica, for the read-replica tests (and
``bench/scale.py --replica``).

The machine's own cluster is never touched (its pg_hba.conf allows no replication connections, and
it is shared): ``initdb`` makes a primary in a temporary directory on a free port, with
``wal_level=replica``; ``pg_basebackup -R`` copies it (a few MB) into a replica that streams from it
on another free port. Both start in about two seconds and are stopped and deleted at the end. As
root, the server binaries run as the ``postgres`` user (``initdb`` refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where the PostgreSQL server binaries are looked for (the first that has ``initdb``).
BIN_DIRS = tuple(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))


def server_binaries() -> Path | None:
    """The directory of ``initdb``, ``pg_ctl`` and ``pg_basebackup``, or None where they are absent."""
    for directory in BIN_DIRS:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres")):
            return directory
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def unavailable_reason() -> str | None:
    """Why a streaming pair cannot be started here (None: it can)."""
    if server_binaries() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root without runuser"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StreamingPair:
    """A primary and a replica streaming from it; ``start()``/``stop()``, URLs for a database on them."""

    root: Path
    primary_port: int
    replica_port: int
    bin_dir: Path
    #: PostgreSQL's own durability settings (fsync, full-page writes) and buffers, for a benchmark;
    #: the tests' pair goes without.
    durable: bool = False

    @classmethod
    def create(cls, *, durable: bool = False) -> StreamingPair:
        bin_dir = server_binaries()
        assert bin_dir is not None, unavailable_reason()
        root = Path(tempfile.mkdtemp(prefix="hub-replica-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        return cls(
            root=root, primary_port=free_port(), replica_port=free_port(), bin_dir=bin_dir, durable=durable
        )

    def url(self, database: str, *, replica: bool = False, driver: str = "postgresql+asyncpg") -> str:
        port = self.replica_port if replica else self.primary_port
        return f"{driver}://postgres@127.0.0.1:{port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        primary, replica = self.root / "primary", self.root / "replica"
        self._run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n".join(
                    [
                        "listen_addresses = '127.0.0.1'",
                        f"port = {self.primary_port}",
                        f"unix_socket_directories = '{self.root}'",
                        "wal_level = replica",
                        "max_wal_senders = 4",
                        "max_connections = 200",
                        *(
                            ["shared_buffers = 128MB"]
                            # Throw-away data: durability is not what is tested.
                            if self.durable
                            else ["fsync = off", "full_page_writes = off", "shared_buffers = 64MB"]
                        ),
                        # The replica reports its replay often, so pg_stat_replication is current.
                        "wal_receiver_status_interval = 1s",
                        "hot_standby_feedback = on",
                        "",
                    ]
                )
            )
        with (primary / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self._pg_ctl(primary, "start")
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            "postgres",
            "-D",
            str(replica),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.replica_port}\n")
        self._pg_ctl(replica, "start")

    def _pg_ctl(self, data: Path, action: str) -> None:
        log = self.root / f"{data.name}.log"
        if action == "start":
            self._run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "start")
        else:
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)

    def stop(self) -> None:
        for name in ("replica", "primary"):
            if (self.root / name / "postmaster.pid").exists():
                self._pg_ctl(self.root / name, "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, *, database: str = "postgres", replica: bool = False) -> str:
        port = self.replica_port if replica else self.primary_port
        done = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-Atc", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout.strip()

    def wait_replayed(self, timeout_s: float = 30.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        position = self.psql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout_s
        while self.psql(f"SELECT pg_last_wal_replay_lsn() >= '{position}'::pg_lsn", replica=True) != "t":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica did not replay the primary's WAL up to {position}")
            time.sleep(0.05)

    @contextlib.contextmanager
    def replay_paused(self) -> Iterator[None]:
        """The replica keeps serving reads but replays nothing more until the block ends."""
        self.wait_replayed()
        self.psql("SELECT pg_wal_replay_pause()", replica=True)
        try:
            yield
        finally:
            self.psql("SELECT pg_wal_replay_resume()", replica=True)
