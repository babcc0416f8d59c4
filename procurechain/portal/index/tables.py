"""The index's tables (SQLAlchemy Core): what the indexer writes and the web pages read.

Three layers, each a pure function of the one before, so a rewind after a reorg only has to
delete rows above a block and derive again what they touched:

- **chain**: ``blocks``, ``events``, ``tenders``, ``agreements`` — the decoded logs of the
  deployment's contracts and each tender's immutable facts (terms, ocid, on-chain notice).
- **derived**: ``processes`` (one row per tender: what search, filters and the procurement
  page need, with its OCDS releases and compiled release), ``bids`` and ``flags``.
- **bookkeeping**: ``meta`` (the deployment: chain id, addresses, token) and ``cursor`` (the
  last indexed block and its hash, and the block the derived rows reflect).

Token amounts are uint256 on the chain: each is stored exactly as a decimal string
(``*_units``, base units) beside a float (``*_sort``) that only sorting and range filters use,
in whole tokens (``units / 10**decimals``: 42,500 dUSD sorts as ``42500.0``).
Times are unix seconds (block timestamps); addresses are checksummed 0x hex; JSON columns hold
UTF-8 JSON text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "agreements",
    "bids",
    "blocks",
    "cursor",
    "events",
    "flags",
    "mentions",
    "meta",
    "metadata",
    "processes",
    "tenders",
]

metadata = MetaData()

# ------------------------------------------------------------------------- bookkeeping

#: The deployment indexed: keys ``chain_id``, ``registry``, ``consortium``, ``token``,
#: ``symbol``, ``decimals``, ``pegged_to``, ``first_block``.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: One row (id 1): how far the index has read, and what the derived rows reflect.
cursor = Table(
    "cursor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("indexed_block", BigInteger, nullable=False),  # last block fully indexed
    Column("indexed_hash", String(66), nullable=False),
    Column("derived_block", BigInteger, nullable=False),  # "as of block N" on every page
    Column("derived_timestamp", BigInteger, nullable=False),
)

# ------------------------------------------------------------------------------- chain

#: Every block that holds an indexed event, plus recent tips (to find a reorg's fork point).
blocks = Table(
    "blocks",
    metadata,
    Column("number", BigInteger, primary_key=True),
    Column("hash", String(66), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)

#: The public record: one row per log of the Registry, the Consortium, a Tender or an
#: Agreement, decoded as :class:`procurechain.audit.Entry` decodes it.
events = Table(
    "events",
    metadata,
    Column("block", BigInteger, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("tx", String(66), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("contract", String(16), nullable=False),  # Registry, Tender, Agreement, Consortium
    Column("address", String(42), nullable=False),
    Column("event", String(64), nullable=False),
    Column("actor", String(42), nullable=False),  # sender, or "consortium"
    Column("sender", String(42), nullable=False),
    Column("signers", Text, nullable=False),  # JSON list
    Column("args", Text, nullable=False),  # JSON object, as Entry.args
    Column("amounts", Text, nullable=False),  # JSON object of exact integers
    Column("sentence", Text, nullable=False),
    # The tender (id) the event belongs to: its own, its agreement's, or the one a
    # consortium action or conflict declaration concerns; NULL for deployment-wide events.
    Column("tender_id", BigInteger, nullable=True),
    Index("events_tender", "tender_id", "block", "log_index"),
    Index("events_address", "address"),
    Index("events_event", "event"),
    # Added by revision 0002. The address the event is about where one process cannot say:
    # a conflict's subject (ConflictDeclared, ConflictLifted) or a consortium action's target
    # (ActionExecuted); NULL otherwise.
    Column("subject", String(42), nullable=True),
    # Added by revision 0002. The hash the event is looked up by: a published text's
    # keccak-256 (TextPublished) or an action's hash (ActionApproved, ApprovalRevoked,
    # ActionExecuted); NULL otherwise.
    Column("ref_hash", String(66), nullable=True),
    Index("events_subject", "subject"),
    Index("events_ref_hash", "ref_hash"),
)

#: Each tender's immutable facts, read once when its ``TenderCreated`` is indexed.
tenders = Table(
    "tenders",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("address", String(42), nullable=False, unique=True),
    Column("agency", String(42), nullable=False),
    Column("block", BigInteger, nullable=False),
    Column("ocid", Text, nullable=False),
    Column("token", String(42), nullable=False),
    Column("terms", Text, nullable=False),  # JSON of record.facts.TenderTerms (exact ints)
    Column("notice_hash", String(66), nullable=False),
    # The notice's bytes as found on the chain and hash-checked (NULL if not found), and
    # how it was found or why not (OnChainNotice.source).
    Column("notice", Text, nullable=True),
    Column("notice_source", Text, nullable=False),
    Index("tenders_agency", "agency"),
    # Added by revision 0002: the notice's exact bytes (their keccak-256 is notice_hash);
    # ``notice`` is their text for reading (invalid UTF-8 and NUL shown as U+FFFD).
    Column("notice_raw", LargeBinary, nullable=True),
)

#: Each agreement, from its tender's ``AwardAccepted``.
agreements = Table(
    "agreements",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("tender_id", BigInteger, nullable=False),
    Column("block", BigInteger, nullable=False),
)

# ----------------------------------------------------------------------------- derived

#: One row per contracting process: its summary for search and lists, and its OCDS.
processes = Table(
    "processes",
    metadata,
    Column("tender_id", BigInteger, primary_key=True),
    Column("ocid", Text, nullable=False),
    Column("address", String(42), nullable=False),
    Column("agency", String(42), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(32), nullable=False),  # goods, works, services or ""
    # stage in plain words: open, evaluation, awarded, in progress, completed, cancelled,
    # unsuccessful, terminated
    Column("stage", String(32), nullable=False),
    Column("budget_units", Text, nullable=False),
    Column("budget_sort", Float, nullable=False),
    Column("value_units", Text, nullable=True),  # the award's value
    Column("value_sort", Float, nullable=True),
    Column("supplier", String(42), nullable=True),
    Column("bidders", Integer, nullable=False),
    Column("published", BigInteger, nullable=False),  # TenderCreated's timestamp
    Column("bidding_deadline", BigInteger, nullable=False),
    Column("awarded", BigInteger, nullable=True),
    Column("escrow_units", Text, nullable=False),  # held by the agreement now
    Column("paid_units", Text, nullable=False),  # withdrawn by the supplier
    Column("paid_sort", Float, nullable=False),
    Column("late_milestones", Integer, nullable=False),
    Column("penalties_units", Text, nullable=False),
    Column("disputes", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("search", Text, nullable=False),  # lower-case title, description, items, ocid
    Column("updated_block", BigInteger, nullable=False),
    Column("releases", Text, nullable=False),  # JSON list: the process's OCDS releases
    Column("compiled", Text, nullable=False),  # JSON: its compiled release
    Index("processes_agency", "agency"),
    Index("processes_supplier", "supplier"),
    Index("processes_stage", "stage"),
    Index("processes_published", "published"),
    # Added by revision 0002: the escrow agreement once the award is accepted, and when the
    # clock alone makes the process unsuccessful if nothing happens before (no event marks
    # it: the tender contract's stage() says Failed); NULL when no deadline can fail it.
    Column("agreement", String(42), nullable=True),
    Column("fails_at", BigInteger, nullable=True),
)

#: Every bid of every process, from the compiled release: sealed until revealed.
bids = Table(
    "bids",
    metadata,
    Column("tender_id", BigInteger, primary_key=True),
    Column("bidder", String(42), primary_key=True),
    # sealed, revealed, valid, invalid, disqualified, withdrawn, won
    Column("status", String(16), nullable=False),
    Column("price_units", Text, nullable=True),  # NULL while sealed
    Column("price_sort", Float, nullable=True),
    Column("committed", BigInteger, nullable=False),
    Index("bids_bidder", "bidder"),
)

#: Added by revision 0002. The texts each process's record names by hash (reasons, reports,
#: evidence, milestone titles, declarations): a ``TextPublished`` of one of them changes the
#: process's releases, so the index derives it again.
mentions = Table(
    "mentions",
    metadata,
    Column("tender_id", BigInteger, primary_key=True),
    Column("hash", String(66), primary_key=True),
    Index("mentions_hash", "hash"),
)

#: Red flags (Cardinal's indicators and the chain's own), as of ``cursor.derived_block``.
flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False),  # R003 … or C-prefixed chain flags
    Column("tender_id", BigInteger, nullable=True),  # NULL: about a party, not one process
    Column("party", String(42), nullable=True),  # the buyer/supplier a flag is about
    Column("value", Float, nullable=True),  # the indicator's value, as Cardinal gives it
    Column("evidence", Text, nullable=False),  # plain-words explanation with the figures
    Index("flags_tender", "tender_id"),
    Index("flags_code", "code"),
)
