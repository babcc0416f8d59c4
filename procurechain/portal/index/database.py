"""Opening an index: a SQLite file (the default, in WAL mode so the pages read while the
indexer writes) or a PostgreSQL database, brought to the newest schema by the migrations that
ship in this package (no ``alembic.ini``, nothing for a user to run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from procurechain.errors import ProcurechainError
from procurechain.portal.index import tables as t

__all__ = ["DEFAULT_PATH", "Cursor", "Index", "database_url", "migrate"]

#: Where the index lives when no database is named.
DEFAULT_PATH = Path("out/portal/index.sqlite")
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(url: str | Path) -> str:
    """The SQLAlchemy URL of ``url``: a path (or ``sqlite:///…``) is a SQLite file, and
    ``postgresql://…`` (or ``postgres://…``) is PostgreSQL through psycopg 3.

    Raises:
        ProcurechainError: another kind of database.
    """
    text = str(url)
    for prefix in ("postgresql://", "postgres://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix) :]
    if text.startswith(("postgresql+psycopg://", "sqlite://")):
        return text
    if "://" in text:
        raise ProcurechainError(
            f"{text.split('://')[0]}:// is not a database the index uses; give a SQLite file "
            "path or a postgresql://user@host/database URL"
        )
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL stays consistent
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> str:
    """Upgrade the database to ``revision`` (default: the newest); returns the revision it is
    at. A database at a revision this package does not know (written by a newer procurechain)
    is left alone.

    Raises:
        ProcurechainError: the database is at an unknown revision.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.begin() as connection:
        config = _config(connection)
        script = ScriptDirectory.from_config(config)
        current = MigrationContext.configure(connection).get_current_revision()
        known = {r.revision for r in script.walk_revisions()}
        if current is not None and current not in known:
            raise ProcurechainError(
                f"the index {engine.url.render_as_string(hide_password=True)} has schema "
                f"revision {current}, newer than this procurechain knows (up to "
                f"{script.get_current_head()}); upgrade procurechain or index into a new database"
            )
        command.upgrade(config, revision)
        return str(MigrationContext.configure(connection).get_current_revision())


@dataclass(frozen=True)
class Cursor:
    """How far the index has read, and which block its derived rows reflect."""

    indexed_block: int
    indexed_hash: str
    derived_block: int
    derived_timestamp: int


class Index:
    """An index database: its engine, its schema revision, its cursor and deployment.

    Open one with :meth:`open`; the indexer (:class:`~procurechain.portal.index.Indexer`)
    writes it, the pages read it through :attr:`engine` (the tables are in
    :mod:`procurechain.portal.index.tables`).
    """

    def __init__(self, engine: Engine, revision: str) -> None:
        self.engine = engine
        self.revision = revision
        #: The SQLAlchemy URL, password included (worker processes open it themselves).
        self.url = engine.url.render_as_string(hide_password=False)

    @classmethod
    def open(cls, url: str | Path = DEFAULT_PATH, *, revision: str = "head") -> Index:
        """Open (creating it if needed) the index at ``url`` and migrate it to ``revision``.

        Args:
            url: a SQLite file path or URL, or ``postgresql://user@host:port/database``.
            revision: the schema revision to reach (only tests ask for an older one).

        Raises:
            ProcurechainError: the URL is not a database the index uses, the server cannot be
                reached, or the database has a schema newer than this package knows.
        """
        full = database_url(url)
        try:
            kind = make_url(full).get_backend_name()
            engine = create_engine(full, pool_pre_ping=True)
        except (ArgumentError, ImportError) as err:
            raise ProcurechainError(f"cannot open the index {url}: {err}") from err
        if kind == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            reached = migrate(engine, revision)
        except SQLAlchemyError as err:
            engine.dispose()
            reason = str(err.orig if getattr(err, "orig", None) else err).strip().splitlines()
            raise ProcurechainError(
                f"cannot open the index {make_url(full).render_as_string(hide_password=True)}: "
                f"{reason[0] if reason else type(err).__name__}; is the database server running "
                "and the database created?"
            ) from err
        except ProcurechainError:
            engine.dispose()
            raise
        return cls(engine, reached)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def cursor(self) -> Cursor | None:
        """The cursor, or None before the first sync."""
        with self.engine.connect() as connection:
            row = connection.execute(select(t.cursor).where(t.cursor.c.id == 1)).first()
        if row is None:
            return None
        return Cursor(row.indexed_block, row.indexed_hash, row.derived_block, row.derived_timestamp)

    def meta(self) -> dict[str, str]:
        """The deployment indexed (chain id, addresses, token...), empty before the first
        sync."""
        with self.engine.connect() as connection:
            return {k: v for k, v in connection.execute(select(t.meta.c.key, t.meta.c.value))}

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, ordered by primary key (to compare two indexes)."""
        found: dict[str, list[tuple[Any, ...]]] = {}
        with self.engine.connect() as connection:
            for table in t.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                columns = sorted(table.columns, key=lambda c: c.name)
                rows = connection.execute(select(*columns).order_by(*order))
                found[table.name] = [tuple(row) for row in rows]
        return found

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
