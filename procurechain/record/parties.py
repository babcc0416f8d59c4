"""Who takes part in a contracting process, as OCDS parties.

A party's id is its address (stable across releases and processes); its name comes from the
names the publisher gives, else a readable default that says what the address is ("Bidder
0x1234…abcd"). Roles follow the process as it stands: the agency is ``buyer`` and
``procuringEntity`` (and ``payer`` once a contract exists), the consortium that awards,
accepts milestones and resolves disputes is the ``reviewBody``, every bidder a ``tenderer``,
and the awardee of an active award ``supplier`` and ``payee``. The escrow contract is not a
party: it holds the buyer's money, it does not buy or sell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_utils import to_checksum_address

from procurechain.record.money import short

__all__ = ["ROLE_ORDER", "Names", "Parties"]

#: The order roles are listed in (OCDS ``partyRole`` codes).
ROLE_ORDER = ("buyer", "procuringEntity", "payer", "reviewBody", "tenderer", "supplier", "payee")


class Names:
    """Readable names of addresses: the publisher's, else ``<Kind> 0x1234…abcd``."""

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self._names = {to_checksum_address(k): v for k, v in (names or {}).items()}

    def name(self, address: str, kind: str = "Account") -> str:
        """The name of ``address``; ``kind`` says what it is when it has no name."""
        return self._names.get(address) or f"{kind} {short(address)}"

    def ref(self, address: str, kind: str = "Account") -> dict[str, str]:
        """An OCDS ``OrganizationReference``: id and name."""
        return {"id": address, "name": self.name(address, kind)}

    def listing(self, addresses: Iterable[str], kind: str = "Member") -> str:
        """Names joined for a sentence: ``A, B and C``."""
        named = [self.name(a, kind) for a in addresses]
        return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


class Parties:
    """The parties of one release, built up role by role."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self._parties: dict[str, dict[str, Any]] = {}

    def add(self, address: str, kind: str, *roles: str) -> dict[str, str]:
        """Give ``address`` these roles; returns its reference."""
        party = self._parties.setdefault(address, {**self.names.ref(address, kind), "roles": []})
        party["roles"] = [r for r in ROLE_ORDER if r in {*party["roles"], *roles}]
        return {"id": party["id"], "name": party["name"]}

    def as_list(self) -> list[dict[str, Any]]:
        """The ``parties`` array."""
        return [dict(p, roles=list(p["roles"])) for p in self._parties.values()]
