"""The index's first schema: the tables the pages were written against (``tables.py`` as of
issue 15's first commit), frozen here so later revisions upgrade from exactly this.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create meta, cursor, blocks, events, tenders, agreements, processes, bids and flags."""
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "cursor",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("indexed_block", sa.BigInteger, nullable=False),
        sa.Column("indexed_hash", sa.String(66), nullable=False),
        sa.Column("derived_block", sa.BigInteger, nullable=False),
        sa.Column("derived_timestamp", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("block", sa.BigInteger, primary_key=True),
        sa.Column("log_index", sa.Integer, primary_key=True),
        sa.Column("tx", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("contract", sa.String(16), nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(42), nullable=False),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("signers", sa.Text, nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("amounts", sa.Text, nullable=False),
        sa.Column("sentence", sa.Text, nullable=False),
        sa.Column("tender_id", sa.BigInteger, nullable=True),
    )
    op.create_index("events_tender", "events", ["tender_id", "block", "log_index"])
    op.create_index("events_address", "events", ["address"])
    op.create_index("events_event", "events", ["event"])
    op.create_table(
        "tenders",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("address", sa.String(42), nullable=False, unique=True),
        sa.Column("agency", sa.String(42), nullable=False),
        sa.Column("block", sa.BigInteger, nullable=False),
        sa.Column("ocid", sa.Text, nullable=False),
        sa.Column("token", sa.String(42), nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("notice_hash", sa.String(66), nullable=False),
        sa.Column("notice", sa.Text, nullable=True),
        sa.Column("notice_source", sa.Text, nullable=False),
    )
    op.create_index("tenders_agency", "tenders", ["agency"])
    op.create_table(
        "agreements",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("tender_id", sa.BigInteger, nullable=False),
        sa.Column("block", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "processes",
        sa.Column("tender_id", sa.BigInteger, primary_key=True),
        sa.Column("ocid", sa.Text, nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("agency", sa.String(42), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("budget_units", sa.Text, nullable=False),
        sa.Column("budget_sort", sa.Float, nullable=False),
        sa.Column("value_units", sa.Text, nullable=True),
        sa.Column("value_sort", sa.Float, nullable=True),
        sa.Column("supplier", sa.String(42), nullable=True),
        sa.Column("bidders", sa.Integer, nullable=False),
        sa.Column("published", sa.BigInteger, nullable=False),
        sa.Column("bidding_deadline", sa.BigInteger, nullable=False),
        sa.Column("awarded", sa.BigInteger, nullable=True),
        sa.Column("escrow_units", sa.Text, nullable=False),
        sa.Column("paid_units", sa.Text, nullable=False),
        sa.Column("paid_sort", sa.Float, nullable=False),
        sa.Column("late_milestones", sa.Integer, nullable=False),
        sa.Column("penalties_units", sa.Text, nullable=False),
        sa.Column("disputes", sa.Integer, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("search", sa.Text, nullable=False),
        sa.Column("updated_block", sa.BigInteger, nullable=False),
        sa.Column("releases", sa.Text, nullable=False),
        sa.Column("compiled", sa.Text, nullable=False),
    )
    op.create_index("processes_agency", "processes", ["agency"])
    op.create_index("processes_supplier", "processes", ["supplier"])
    op.create_index("processes_stage", "processes", ["stage"])
    op.create_index("processes_published", "processes", ["published"])
    op.create_table(
        "bids",
        sa.Column("tender_id", sa.BigInteger, primary_key=True),
        sa.Column("bidder", sa.String(42), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("price_units", sa.Text, nullable=True),
        sa.Column("price_sort", sa.Float, nullable=True),
        sa.Column("committed", sa.BigInteger, nullable=False),
    )
    op.create_index("bids_bidder", "bids", ["bidder"])
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("tender_id", sa.BigInteger, nullable=True),
        sa.Column("party", sa.String(42), nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    op.create_index("flags_tender", "flags", ["tender_id"])
    op.create_index("flags_code", "flags", ["code"])


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "flags",
        "bids",
        "processes",
        "agreements",
        "tenders",
        "events",
        "blocks",
        "cursor",
        "meta",
    ):
        op.drop_table(table)
