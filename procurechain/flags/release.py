"""A compiled OCDS release read the way Cardinal reads it: defensively, field by field.

Every value is checked for its JSON type before use (a string id, a numeric amount, an array of
bids), and anything else is skipped, as Cardinal skips it: a release is data from whoever wrote
it, and no shape of it may stop the computation. Booleans are not numbers here (they are not
in JSON either), nor are NaN and infinities (not JSON at all).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from procurechain.flags.settings import Prepare

__all__ = ["Release", "as_list", "as_number", "as_object", "as_text", "party_id"]

_UNSUBMITTED = ("invited", "withdrawn")


def as_text(value: Any) -> str | None:
    """``value`` if it is a string."""
    return value if isinstance(value, str) else None


def as_number(value: Any) -> float | None:
    """``value`` as a float if it is a JSON number (not a boolean, not NaN or infinite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any double
        return None
    return number if math.isfinite(number) else None


_EMPTY: Mapping[str, Any] = {}


def as_object(value: Any) -> Mapping[str, Any]:
    """``value`` if it is an object, else an empty one."""
    if type(value) is dict or isinstance(value, Mapping):  # the first test is the fast one
        return value
    return _EMPTY


def as_list(value: Any) -> list[Any] | None:
    """``value`` if it is an array."""
    return value if isinstance(value, list) else None


def party_id(reference: Any) -> str | None:
    """The string ``id`` of an organisation reference."""
    return as_text(as_object(reference).get("id"))


def _prepared(bids: list[Any], prepare: Prepare) -> list[Any]:
    """The bids with Cardinal's ``prepare`` redactions and default currency applied (copies;
    the caller's release is never changed)."""
    out: list[Any] = []
    for bid in bids:
        value = as_object(bid).get("value")
        if not isinstance(value, Mapping):
            out.append(bid)
            continue
        value = dict(value)
        if as_number(value.get("amount")) in prepare.redact_amounts:
            value.pop("amount")
        if "currency" not in value and prepare.default_currency is not None:
            value["currency"] = prepare.default_currency
        out.append({**bid, "value": value})
    return out


class Release:
    """One compiled release and the views of it the indicators share.

    Attributes:
        data: the release as given.
        ocid: its ``ocid`` (a string, or None: every indicator skips it).
        tender: its ``tender`` object (empty if absent).
        details: ``bids.details`` if it is an array, else None.
        awards: ``awards`` if it is an array, else None.
    """

    __slots__ = ("_complete", "_submitted", "awards", "data", "details", "ocid", "tender")

    def __init__(self, data: Any, prepare: Prepare | None = None) -> None:
        self.data: Mapping[str, Any] = as_object(data)
        self.ocid = as_text(self.data.get("ocid"))
        self.tender = as_object(self.data.get("tender"))
        self.details = as_list(as_object(self.data.get("bids")).get("details"))
        if self.details is not None and prepare is not None and prepare != Prepare():
            self.details = _prepared(self.details, prepare)
        self.awards = as_list(self.data.get("awards"))
        self._submitted: list[Mapping[str, Any]] | None = None
        self._complete: tuple[list[Mapping[str, Any]] | None] | None = None

    @property
    def cancelled(self) -> bool:
        """``tender.status`` is ``cancelled`` (Cardinal skips such processes)."""
        return self.tender.get("status") == "cancelled"

    @property
    def method_details(self) -> str | None:
        """``tender.procurementMethodDetails``."""
        return as_text(self.tender.get("procurementMethodDetails"))

    def matches_details(self, include: frozenset[str], exclude: frozenset[str]) -> bool:
        """Cardinal's allow/deny test on ``procurementMethodDetails``: with an allow list the
        field must be in it; otherwise it must not be in the deny list (a missing field
        passes only a deny list)."""
        details = self.method_details
        if details is None:
            return not include
        return details in include if include else details not in exclude

    def submitted_bids(self) -> list[Mapping[str, Any]]:
        """Bids with a string status other than ``invited`` or ``withdrawn`` (read once)."""
        if self._submitted is None:
            self._submitted = self._submitted_bids()
        return self._submitted

    def _submitted_bids(self) -> list[Mapping[str, Any]]:
        found = []
        for bid in self.details or ():
            status = as_text(as_object(bid).get("status"))
            if status is not None and status not in _UNSUBMITTED:
                found.append(bid)
        return found

    def complete_awards(self) -> list[Mapping[str, Any]] | None:
        """The ``active`` awards if every award with a status is final (``active``,
        ``cancelled`` or ``unsuccessful``) and ``awards`` and ``bids.details`` are arrays;
        None otherwise (a pending award makes the process not yet final). Read once."""
        if self._complete is None:
            self._complete = (self._complete_awards(),)
        return self._complete[0]

    def _complete_awards(self) -> list[Mapping[str, Any]] | None:
        if self.awards is None or self.details is None:
            return None
        complete = []
        for award in self.awards:
            status = as_text(as_object(award).get("status"))
            if status is None or status in ("cancelled", "unsuccessful"):
                continue
            if status != "active":
                return None
            complete.append(award)
        return complete

    def sole_supplier(self) -> str | None:
        """The supplier of the only complete award, when all awards are final, there is
        exactly one ``active`` award and it has exactly one supplier with a string id."""
        complete = self.complete_awards()
        if complete is None or len(complete) != 1:
            return None
        suppliers = as_list(as_object(complete[0]).get("suppliers"))
        if suppliers is None or len(suppliers) != 1:
            return None
        return party_id(suppliers[0])

    def valid_priced_bids(self) -> list[tuple[str, float, str]]:
        """(tenderer, amount, currency) of each ``valid`` bid with a numeric amount, a string
        currency and exactly one tenderer with a string id, in order."""
        found = []
        for bid in self.details or ():
            bid = as_object(bid)
            if bid.get("status") != "valid":
                continue
            value = as_object(bid.get("value"))
            amount, currency = as_number(value.get("amount")), as_text(value.get("currency"))
            tenderers = as_list(bid.get("tenderers"))
            if amount is None or currency is None or tenderers is None or len(tenderers) != 1:
                continue
            tenderer = party_id(tenderers[0])
            if tenderer is not None:
                found.append((tenderer, amount, currency))
        return found

    def active_supplier_ids(self) -> set[str]:
        """Supplier ids of every ``active`` award (whatever the other awards' statuses)."""
        found: set[str] = set()
        for award in self.awards or ():
            award = as_object(award)
            suppliers = as_list(award.get("suppliers"))
            if award.get("status") == "active" and suppliers is not None:
                found.update(i for i in map(party_id, suppliers) if i is not None)
        return found
