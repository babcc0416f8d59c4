"""The index's schema migrations (Alembic), run by :meth:`procurechain.portal.index.Index.open`."""
