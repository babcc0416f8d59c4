"""The portal's index: chain events in a database (SQLite by default, PostgreSQL for a shared
deployment), kept current block by block, rewound on reorgs, migrated by Alembic."""
