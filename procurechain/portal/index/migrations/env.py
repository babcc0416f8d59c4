"""Alembic's entry point for the index: migrations run on the connection the index opened
(``config.attributes["connection"]``), never from an ``alembic.ini`` or a URL of their own."""

from __future__ import annotations

from alembic import context

from procurechain.portal.index.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "the index's migrations run on an open connection: use "
        "procurechain.portal.index.Index.open(url), which upgrades the database itself"
    )
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
