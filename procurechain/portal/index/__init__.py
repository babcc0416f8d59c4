"""The portal's index: chain events in a database (SQLite by default, PostgreSQL for a shared
deployment), kept current block by block, rewound on reorgs, migrated by Alembic.

    index = Index.open("out/portal/index.sqlite")        # or "postgresql://…"
    indexer = Indexer(index, connected_rpc(), registry, consortium, first_block=n)
    indexer.sync()                                       # -> SyncResult
    indexer.follow(poll_seconds=0.1, stop=threading.Event())

The tables the pages read are in :mod:`procurechain.portal.index.tables`.
"""

from procurechain.portal.index.database import DEFAULT_PATH, Cursor, Index, database_url, migrate
from procurechain.portal.index.indexer import Indexer, SyncResult

__all__ = ["DEFAULT_PATH", "Cursor", "Index", "Indexer", "SyncResult", "database_url", "migrate"]
