"""Downloads and the JSON API: OCDS release and record packages, CSV, status.

OCDS packages are built with :func:`procurechain.record.packages.release_package` and
:func:`~procurechain.record.packages.record_package` from the releases the index stores, so
they are the very packages ``ape run audit export`` writes (their ``uri`` names this portal).
JSON and CSV carry exact integers (base units) beside the amounts as people read them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from procurechain.portal.web.params import BadQueryError, filters_from
from procurechain.portal.web.present import Present
from procurechain.portal.web.queries import Filters, Queries
from procurechain.record import packages
from procurechain.record.facts import ChainFacts
from procurechain.record.money import Currency

__all__ = ["PROCUREMENT_COLUMNS", "TIMELINE_COLUMNS", "Api"]

#: The columns of the procurement list's CSV and JSON (amounts in base units).
PROCUREMENT_COLUMNS = (
    "tender_id",
    "ocid",
    "title",
    "agency",
    "agency_name",
    "category",
    "stage",
    "budget_units",
    "value_units",
    "supplier",
    "supplier_name",
    "bidders",
    "published",
    "bidding_deadline",
    "awarded",
    "escrow_units",
    "paid_units",
    "late_milestones",
    "penalties_units",
    "disputes",
    "flags",
)
#: The columns of a procurement's timeline CSV.
TIMELINE_COLUMNS = (
    "date",
    "block",
    "log_index",
    "tx",
    "contract",
    "event",
    "actor",
    "actor_name",
    "signers",
    "sentence",
    "amounts",
)


#: A cell's first characters a spreadsheet may read as a formula (OWASP's list, and the
#: full-width signs some spreadsheets normalise).
_FORMULA = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


class _Json(JSONResponse):
    """Pretty, UTF-8 JSON (chain text kept as it is; the browser never renders it as HTML)."""

    def render(self, content: Any) -> bytes:
        return (json.dumps(content, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _csv(rows: list[list[Any]], header: tuple[str, ...], filename: str) -> Response:
    out = io.StringIO()
    # CRLF as RFC 4180 has it: a cell holding CR or LF is then quoted, never a new row
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        # a cell a spreadsheet would run as a formula is prefixed with a quote
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in _FORMULA else c for c in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class Api:
    """The JSON, CSV and OCDS endpoints of one portal."""

    def __init__(self, queries: Queries, *, base_url: str | None, publisher_name: str) -> None:
        self.q = queries
        self.base_url = base_url
        self.publisher_name = publisher_name

    # ----------------------------------------------------------------- helpers

    def _filters(self, request: Request) -> Filters:
        try:
            return filters_from(dict(request.query_params), self.q.token().decimals)
        except BadQueryError as err:
            raise HTTPException(400, str(err)) from err

    def _facts(self) -> ChainFacts:
        meta = self.q.meta()
        chain_id = int(meta.get("chain_id", "0"))
        currency = Currency(
            token=meta.get("token", ""),
            symbol=meta.get("symbol", ""),
            decimals=int(meta.get("decimals", "0")),
            chain_id=chain_id,
            pegged_to=meta.get("pegged_to") or None,
        )
        return ChainFacts(chain_id, meta.get("registry", ""), meta.get("consortium", ""), currency)

    def _publication(self, request: Request) -> packages.Publication:
        base = self.base_url or str(request.base_url).rstrip("/")
        return packages.Publication(base_url=base, publisher_name=self.publisher_name)

    def _releases_of(self, ocid: str) -> list[dict[str, Any]]:
        row = self.q.process_by_ocid(ocid)
        releases = [] if row is None else json.loads(row["releases"])
        if not releases:
            raise HTTPException(404, f"There is no contracting process {ocid[:80]!r}.")
        return releases

    def _row(self, p: Present, row: Any) -> dict[str, Any]:
        found = {k: row[k] for k in PROCUREMENT_COLUMNS if k in row}
        for key in [k for k in found if k.endswith("_units")]:
            found[key] = None if found[key] is None else int(found[key])  # exact integers
        found["agency_name"] = p.name(row["agency"])
        found["supplier_name"] = p.name(row["supplier"]) if row["supplier"] else None
        return found

    # ---------------------------------------------------------------- endpoints

    async def status(self, request: Request) -> Response:
        """``{"block": N, "timestamp": T, "date": ISO}``: what the pages reflect."""
        found = self.q.status()
        if found is None:
            return _Json({"block": None, "timestamp": None, "date": None})
        date = Present.when(found.timestamp)
        return _Json({"block": found.block, "timestamp": found.timestamp, "date": date})

    async def procurements(self, request: Request) -> Response:
        """The procurement list as JSON: the same filters, sort and pages as the page."""
        f = self._filters(request)
        found = self.q.search(f)
        p = Present(self.q.token(), self.q.names())
        status = self.q.status()
        return _Json(
            {
                "block": None if status is None else status.block,
                "total": found.total,
                "page": f.page,
                "per_page": f.per_page,
                "pages": found.pages,
                "token": {"symbol": p.token.symbol, "decimals": p.token.decimals},
                "procurements": [self._row(p, r) for r in found.rows],
            }
        )

    async def procurements_csv(self, request: Request) -> Response:
        """The search's result (every matching row, up to 10,000) as CSV."""
        f = self._filters(request)
        p = Present(self.q.token(), self.q.names())
        rows = [self._row(p, r) for r in self.q.search(f, limit=10_000).rows]
        return _csv(
            [[r[c] for c in PROCUREMENT_COLUMNS] for r in rows],
            PROCUREMENT_COLUMNS,
            "procurements.csv",
        )

    async def timeline_csv(self, request: Request) -> Response:
        """One procurement's timeline as CSV."""
        tid = int(request.path_params["tender_id"])
        if self.q.process(tid) is None:
            raise HTTPException(404, "There is no procurement with that number.")
        p = Present(self.q.token(), self.q.names())
        rows = [
            [
                Present.when(e["timestamp"]),
                e["block"],
                e["log_index"],
                e["tx"],
                e["contract"],
                e["event"],
                e["actor"],
                p.name(e["actor"]),
                e["signers"],
                e["sentence"],
                e["amounts"],
            ]
            for e in self.q.events_of(tid)
        ]
        return _csv(rows, TIMELINE_COLUMNS, f"timeline-{tid}.csv")

    async def release_package(self, request: Request) -> Response:
        """The OCDS release package of one process."""
        ocid = request.path_params["ocid"]
        package = packages.release_package(
            self._releases_of(ocid), self._facts(), self._publication(request), ocid
        )
        return _Json(package)

    async def record_package(self, request: Request) -> Response:
        """The OCDS record package of one process (compiled and versioned release)."""
        releases = self._releases_of(request.path_params["ocid"])
        return _Json(packages.record_package(releases, self._facts(), self._publication(request)))

    async def releases(self, request: Request) -> Response:
        """A release package of every release of the processes on one page of a search."""
        releases = self.q.releases(self._filters(request))
        if not releases:
            raise HTTPException(404, "No release matches that search.")
        return _Json(
            packages.release_package(releases, self._facts(), self._publication(request), None)
        )

    async def all_releases(self, request: Request) -> Response:
        """One release package of every process (``/ocds/releases.json``)."""
        releases = self.q.releases(Filters(per_page=10**9))
        if not releases:
            raise HTTPException(404, "Nothing was published yet.")
        return _Json(
            packages.release_package(releases, self._facts(), self._publication(request), None)
        )

    async def flags(self, request: Request) -> Response:
        """Every flag the index holds, newest first."""
        return _Json({"flags": [dict(f) for f in self.q.flags()]})
