"""Sealed bids: commitments, salts that can always be recomputed, and a local journal.

The salt of a bid is ``keccak256`` of the bidder's own EIP-712 signature over
``(chainId, tender, bidder, nonce)``. Signatures by eth-account (and hardware wallets) are
deterministic (RFC 6979), so ``reveal`` recomputes the salt from the key: losing the
journal loses nothing. The journal only remembers which price and document hash were bid.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eip712.messages import EIP712Domain, EIP712Message
from eth_abi import encode
from eth_pydantic_types import abi
from eth_utils import keccak, to_checksum_address

from procurechain.errors import ProcurechainError
from procurechain.files import write_atomic

__all__ = [
    "BidJournal",
    "BidRecord",
    "BidSaltMessage",
    "bid_salt",
    "commitment",
    "default_journal_path",
]


class BidSaltMessage(EIP712Message):
    """The typed data a bidder signs to derive the salt of one bid."""

    eip712_domain = EIP712Domain(name="procurechain bid salt", version="1")

    chainId: abi.uint256  # noqa: N815 (EIP-712 field name)
    tender: abi.address
    bidder: abi.address
    nonce: abi.uint256


def commitment(
    chain_id: int, tender: str, bidder: str, price: int, salt: bytes, doc_hash: bytes
) -> bytes:
    """The sealed-bid commitment the Tender recomputes at reveal.

    Args:
        chain_id: the chain's id.
        tender: the tender's address.
        bidder: the bidder's address (the commitment cannot be copied by another address).
        price: the bid price in token base units.
        salt: 32 secret bytes (see :func:`bid_salt`).
        doc_hash: hash of the bid documents.

    Returns:
        ``keccak256(abi.encode(chainid, tender, bidder, price, salt, docHash))``.
    """
    if len(salt) != 32 or len(doc_hash) != 32:
        raise ProcurechainError("salt and document hash must be 32 bytes each")
    return keccak(
        encode(
            ["uint256", "address", "address", "uint256", "bytes32", "bytes32"],
            [
                chain_id,
                to_checksum_address(tender),
                to_checksum_address(bidder),
                price,
                salt,
                doc_hash,
            ],
        )
    )


def bid_salt(
    account: Any, chain_id: int, tender: str, nonce: int = 0, *, check: bool = False
) -> bytes:
    """Derive the salt of a bid from the bidder's signature, so it can always be recomputed.

    Args:
        account: an Ape account (test account or keyfile account) of the bidder.
        chain_id: the chain's id.
        tender: the tender's address.
        nonce: distinguishes several bids of one bidder on one tender (a replaced bid).
        check: sign twice and insist on the same signature (do this before committing: a
            signer with randomised signatures could never recompute the salt).

    Returns:
        ``keccak256`` of the 65-byte signature (r, s, v).

    Raises:
        ProcurechainError: the account refused to sign.
    """
    message = BidSaltMessage(
        chainId=chain_id,
        tender=to_checksum_address(tender),
        bidder=to_checksum_address(account.address),
        nonce=nonce,
    )
    signature = _sign(account, message)
    if check and _sign(account, message).encode_rsv() != signature.encode_rsv():
        raise ProcurechainError(
            f"account {account.address} does not sign deterministically, so the bid salt could "
            "not be recomputed at reveal; bid with a key that signs per RFC 6979"
        )
    return keccak(signature.encode_rsv())


def _sign(account: Any, message: BidSaltMessage) -> Any:
    signature = account.sign_message(message)
    if signature is None:
        raise ProcurechainError(
            f"account {account.address} did not sign the bid-salt message; "
            "unlock it (or answer yes when asked) and try again"
        )
    return signature


@dataclass(frozen=True)
class BidRecord:
    """What a bidder committed to: enough, with the key, to reveal later."""

    chain_id: int
    tender: str
    bidder: str
    nonce: int
    price: int
    doc_hash: str
    commitment: str


def default_journal_path() -> Path:
    """``$PROCURECHAIN_HOME/bids.json``, by default ``~/.procurechain/bids.json``."""
    home = Path(os.environ.get("PROCURECHAIN_HOME", Path.home() / ".procurechain"))
    return home / "bids.json"


class BidJournal:
    """A local JSON file of committed bids (a convenience: salts are never stored)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_journal_path()

    def records(self) -> list[BidRecord]:
        """Every recorded bid, oldest first."""
        if not self.path.exists():
            return []
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ProcurechainError(
                f"the bid journal {self.path} is unreadable ({err.strerror}); give --journal "
                "another file"
            ) from err
        except ValueError as err:  # invalid JSON, or not UTF-8 text at all
            raise ProcurechainError(
                f"the bid journal {self.path} is not valid JSON; fix or move it away"
            ) from err
        try:
            if not isinstance(rows, list):
                raise TypeError("not a list")
            return [BidRecord(**row) for row in rows]
        except TypeError as err:
            raise ProcurechainError(
                f"the bid journal {self.path} is not a list of bids ({err}); fix or move it away"
            ) from err

    def check(self) -> None:
        """Fail now, before a bid is sent, if the journal cannot be read or written.

        Raises:
            ProcurechainError: unreadable or corrupt journal, or a folder that cannot hold it.
        """
        self.records()
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ProcurechainError(
                f"the bid journal {self.path} cannot be written ({err.strerror}); give "
                "--journal another file"
            ) from err
        if not os.access(folder, os.W_OK):
            raise ProcurechainError(
                f"the bid journal folder {folder} is not writable; give --journal another file"
            )

    def add(self, record: BidRecord) -> None:
        """Append a record (the latest record for a tender and bidder is the live one); the
        file is replaced atomically."""
        rows = [asdict(r) for r in self.records()] + [asdict(record)]
        write_atomic(self.path, json.dumps(rows, indent=2))

    def latest(self, chain_id: int, tender: str, bidder: str) -> BidRecord | None:
        """The last bid recorded for this tender and bidder, or ``None``."""
        tender, bidder = to_checksum_address(tender), to_checksum_address(bidder)
        matches = [
            r
            for r in self.records()
            if r.chain_id == chain_id and r.tender == tender and r.bidder == bidder
        ]
        return matches[-1] if matches else None
