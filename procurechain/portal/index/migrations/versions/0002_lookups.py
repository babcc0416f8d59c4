"""What incremental derivation looks events up by, and what the pages were missing.

- ``events.subject`` and ``events.ref_hash`` (indexed): the address a conflict or a consortium
  action is about, the hash of a published text or of an action; back-filled from ``args``.
- ``tenders.notice_raw``: the notice's exact bytes; back-filled from ``notice`` where its
  UTF-8 has the logged hash (otherwise the next derivation says the text was not found).
- ``processes.agreement``, ``processes.fails_at`` and the ``mentions`` table: derived rows.
  Derived rows are a pure function of the chain rows, so this revision empties ``processes``
  and ``bids`` and the next sync derives every process again, with the new columns filled.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from eth_utils import keccak

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: event name -> (argument that is the subject, argument that is the looked-up hash)
_LOOKUPS = {
    "ConflictDeclared": ("subject", None),
    "ConflictLifted": ("subject", None),
    "ActionExecuted": ("target", "actionHash"),
    "ActionApproved": (None, "actionHash"),
    "ApprovalRevoked": (None, "actionHash"),
    "TextPublished": (None, "hash"),
}
_BATCH = 1_000


def upgrade() -> None:
    """Add the columns and table, back-fill the chain rows, empty the derived ones."""
    op.add_column("events", sa.Column("subject", sa.String(42), nullable=True))
    op.add_column("events", sa.Column("ref_hash", sa.String(66), nullable=True))
    op.create_index("events_subject", "events", ["subject"])
    op.create_index("events_ref_hash", "events", ["ref_hash"])
    op.add_column("tenders", sa.Column("notice_raw", sa.LargeBinary, nullable=True))
    op.add_column("processes", sa.Column("agreement", sa.String(42), nullable=True))
    op.add_column("processes", sa.Column("fails_at", sa.BigInteger, nullable=True))
    op.create_table(
        "mentions",
        sa.Column("tender_id", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.String(66), primary_key=True),
    )
    op.create_index("mentions_hash", "mentions", ["hash"])
    bind = op.get_bind()
    _backfill_events(bind)
    _backfill_notices(bind)
    bind.execute(sa.text("DELETE FROM bids"))
    bind.execute(sa.text("DELETE FROM processes"))


def _backfill_events(bind: sa.Connection) -> None:
    events = sa.table(
        "events",
        sa.column("block", sa.BigInteger),
        sa.column("log_index", sa.Integer),
        sa.column("event", sa.String),
        sa.column("args", sa.Text),
        sa.column("subject", sa.String),
        sa.column("ref_hash", sa.String),
    )
    found = bind.execute(
        sa.select(events.c.block, events.c.log_index, events.c.event, events.c.args).where(
            events.c.event.in_(list(_LOOKUPS))
        )
    ).all()
    update = (
        events.update()
        .where(events.c.block == sa.bindparam("b"), events.c.log_index == sa.bindparam("i"))
        .values(subject=sa.bindparam("s"), ref_hash=sa.bindparam("h"))
    )
    rows = []
    for block, log_index, event, args_json in found:
        args = json.loads(args_json)
        subject, hash_ = _LOOKUPS[event]
        rows.append(
            {
                "b": block,
                "i": log_index,
                "s": args.get(subject) if subject else None,
                "h": str(args.get(hash_)).lower() if hash_ else None,
            }
        )
    for start in range(0, len(rows), _BATCH):
        bind.execute(update, rows[start : start + _BATCH])


def _backfill_notices(bind: sa.Connection) -> None:
    tenders = sa.table(
        "tenders",
        sa.column("id", sa.BigInteger),
        sa.column("notice_hash", sa.String),
        sa.column("notice", sa.Text),
        sa.column("notice_raw", sa.LargeBinary),
    )
    found = bind.execute(
        sa.select(tenders.c.id, tenders.c.notice_hash, tenders.c.notice).where(
            tenders.c.notice.is_not(None)
        )
    ).all()
    update = tenders.update().where(tenders.c.id == sa.bindparam("t"))
    update = update.values(notice_raw=sa.bindparam("r"))
    rows = []
    for tender_id, notice_hash, notice in found:
        raw = notice.encode("utf-8")
        if "0x" + keccak(raw).hex() == str(notice_hash).lower():
            rows.append({"t": tender_id, "r": raw})
    if rows:
        bind.execute(update, rows)


def downgrade() -> None:
    """Back to 0001: drop what this revision added (the derived rows are derived again)."""
    op.drop_table("mentions")
    with op.batch_alter_table("processes") as batch:
        batch.drop_column("fails_at")
        batch.drop_column("agreement")
    with op.batch_alter_table("tenders") as batch:
        batch.drop_column("notice_raw")
    op.drop_index("events_ref_hash", "events")
    op.drop_index("events_subject", "events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("ref_hash")
        batch.drop_column("subject")
