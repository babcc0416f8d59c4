"""A real PostgreSQL server for the tests: Debian's server binaries (``/usr/lib/postgresql/<v>/
bin``: ``initdb`` and ``pg_ctl``) run in a temporary folder on a free loopback port, without
durability (fsync off: a test database is thrown away), stopped and removed at the end.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user (its
data folder owned by it). Each test gets a database of its own (:meth:`PostgresServer.database`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailableError", "server_binaries"]

DEBIAN_ROOT = Path("/usr/lib/postgresql")


class PostgresUnavailableError(RuntimeError):
    """The server binaries are missing or the server did not start."""


def server_binaries(root: Path = DEBIAN_ROOT) -> Path:
    """The ``bin`` folder of the newest PostgreSQL under ``root`` with ``initdb`` and
    ``pg_ctl``.

    Raises:
        PostgresUnavailableError: none is installed (one line saying what to run).
    """
    found = [
        folder / "bin"
        for folder in (root.iterdir() if root.is_dir() else ())
        if (folder / "bin" / "initdb").is_file() and (folder / "bin" / "pg_ctl").is_file()
    ]
    if not found:
        raise PostgresUnavailableError(
            f"no PostgreSQL server binaries under {root}/*/bin (initdb, pg_ctl); run "
            "tools/check-system.sh, which apt-installs them"
        )
    return max(found, key=lambda b: tuple(int(p) for p in b.parent.name.split(".") if p.isdigit()))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One throwaway PostgreSQL server on 127.0.0.1.

    Args:
        binaries: the folder with ``initdb`` and ``pg_ctl`` (default: :func:`server_binaries`).
    """

    def __init__(self, binaries: Path | None = None) -> None:
        self.binaries = binaries or server_binaries()
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="procurechain-postgres-"))
        self.data = self.folder / "data"
        self._count = 0
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self._as_root:  # initdb and postgres refuse root: run them as postgres
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()
            raise PostgresUnavailableError(
                f"{Path(args[0]).name} failed: {output[-1] if output else result.returncode}"
            )
        return result

    def start(self) -> PostgresServer:
        """initdb, then start the server and wait until it accepts connections."""
        if self._as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(self.binaries / "initdb"),
            "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.folder}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        self._run(
            str(self.binaries / "pg_ctl"),
            "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def url(self, database: str = "postgres") -> str:
        """The ``postgresql://`` URL of a database on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        self._count += 1
        name = f"index_{self._count}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")  # fmt: skip
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
