"""The HTML pages: each reads the index through :class:`~.queries.Queries` and renders one
template. Every page carries the block it reflects ("as of block N") for the live updates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from procurechain.portal.web import procurement, timeline
from procurechain.portal.web.charts import bar_chart
from procurechain.portal.web.flagdefs import FlagDefinition
from procurechain.portal.web.params import BadQueryError, filters_from, known, query_string
from procurechain.portal.web.present import Present
from procurechain.portal.web.queries import SORTS, STAGES, Filters, Queries

__all__ = ["Pages"]

_ADDRESS_CHARS = set("0123456789abcdefABCDEFx")


def _address(value: str) -> str:
    """A path's address, or 404 (nothing but 0x and 40 hex digits is looked up)."""
    if len(value) != 42 or not value.startswith("0x") or not set(value) <= _ADDRESS_CHARS:
        raise HTTPException(404, "There is no such address.")
    return value


class Pages:
    """The page handlers of one portal."""

    def __init__(
        self,
        queries: Queries,
        templates: Jinja2Templates,
        definitions: Mapping[str, FlagDefinition],
        poll_ms: int,
    ) -> None:
        self.q = queries
        self.templates = templates
        self.definitions = definitions
        self.poll_ms = poll_ms

    def present(self) -> Present:
        """Formatting for the current block's token and names."""
        return Present(self.q.token(), self.q.names())

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """A template with what every page shows (status, formatting, definitions)."""
        found = self.q.status()
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "status": found,
                "p": context.pop("p", None) or self.present(),
                "poll_ms": self.poll_ms,
                "definitions": self.definitions,
                **context,
            },
            status_code=status,
        )

    def error(self, request: Request, status: int, message: str) -> Response:
        """An error page in plain words."""
        title = {404: "Not found", 400: "That search cannot be read"}.get(status, "Error")
        return self.render(request, "error.html", status, title=title, message=message)

    # ---------------------------------------------------------------------- pages

    async def home(self, request: Request) -> Response:
        """Open tenders, the money, late milestones, the latest flags, spending by agency."""
        p = self.present()
        spending = self.q.spending()
        chart = bar_chart(
            "spending",
            "Spending by agency and month",
            "Value of the contracts signed, by buying agency and month of the award.",
            [(f"{p.name(a)} · {m}", v) for a, m, v in spending],
            p.token.money,
        )
        return self.render(
            request,
            "home.html",
            p=p,
            totals=self.q.totals(),
            open=self.q.search(Filters(stage="open", sort="deadline", descending=False)),
            late=self.q.late(),
            flags=self.q.flags(limit=8),
            flags_block=self.q.meta().get("flags_block"),
            spending_chart=chart,
            spending=spending,
        )

    async def procurements(self, request: Request) -> Response:
        """The search: filters, sortable columns, pages, CSV of the result."""
        query = known(request.query_params)
        try:
            found = self.q.search(filters_from(query, self.q.token().decimals))
        except BadQueryError as err:
            return self.error(request, 400, str(err))
        return self.render(
            request,
            "procurements.html",
            found=found,
            query=query,
            qs=lambda **c: query_string(query, **c),
            stages=STAGES,
            sorts=SORTS,
            agencies=self.q.agencies(),
            categories=self.q.categories(),
        )

    async def procurement(self, request: Request) -> Response:
        """One procurement, everything about it."""
        row = self.q.process(int(request.path_params["tender_id"]))
        if row is None:
            raise HTTPException(404, "There is no procurement with that number.")
        p = self.present()
        return self.render(request, "procurement.html", p=p, v=procurement.build(self.q, p, row))

    async def agency(self, request: Request) -> Response:
        """A buying agency: its procurements, totals, how often each supplier won, flags."""
        address = _address(request.path_params["address"])
        rows = self.q.search(Filters(agency=address, per_page=10**6)).rows
        if not rows:
            raise HTTPException(404, "No procurement was published by that address.")
        winners: dict[str, int] = {}
        for row in rows:
            if row["supplier"]:
                winners[row["supplier"]] = winners.get(row["supplier"], 0) + 1
        ids = [r["tender_id"] for r in rows]
        return self.render(
            request,
            "party.html",
            kind="agency",
            address=address,
            rows=rows,
            totals=self.q.totals(agency=address),
            winners=sorted(winners.items(), key=lambda kv: -kv[1]),
            flags=self.q.flags(tender_ids=ids, party=address),
            bids=[],
        )

    async def supplier(self, request: Request) -> Response:
        """A supplier (any bidder): its bids, wins, win rate, money, flags."""
        address = _address(request.path_params["address"])
        bids = self.q.bids_by(address)
        if not bids:
            raise HTTPException(404, "That address never bid.")
        rows = self.q.search(Filters(supplier=address, per_page=10**6)).rows
        return self.render(
            request,
            "party.html",
            kind="supplier",
            address=address,
            rows=rows,
            totals=self.q.totals(supplier=address),
            winners=[],
            flags=self.q.flags(tender_ids=[b["tender_id"] for b in bids], party=address),
            bids=bids,
        )

    async def consortium(self, request: Request) -> Response:
        """The consortium: members and roles, threshold, every decision, conflicts."""
        p = self.present()
        events = self.q.consortium_events()
        executed = [e for e in events if e["event"] == "ActionExecuted"]
        conflicts = [e for e in events if e["event"].startswith("Conflict")]
        hashes = [json.loads(e["args"]).get("reasonHash", "") for e in conflicts]
        same_tx = self.q.events_in(e["tx"] for e in executed)
        for e in same_tx:
            hashes += [v for k, v in json.loads(e["args"]).items() if k.endswith("Hash")]
        published = self.q.texts(h for h in hashes if h)
        parties: dict[int, set[str]] = {}
        for tid in {e["tender_id"] for e in executed if e["tender_id"] is not None}:
            row = self.q.process(tid)
            if row is not None:
                parties[tid] = {
                    row["address"],
                    row["agency"],
                    *(b["bidder"] for b in self.q.bids_of(tid)),
                }
                agreement = self.q.agreement_of(tid)
                parties[tid] |= {agreement} if agreement else set()
        members: dict[str, dict[str, Any]] = {}
        threshold = None
        for e in events:
            args = json.loads(e["args"])
            if e["event"] in ("MemberAdded", "MemberRolesChanged"):
                members[args["member"]] = {"roles": int(args.get("roles", 0)), "since": e}
            elif e["event"] == "MemberRemoved":
                members.pop(args["member"], None)
            elif e["event"] == "ThresholdChanged":
                threshold = int(args["threshold"])
        return self.render(
            request,
            "consortium.html",
            p=p,
            members=members,
            threshold=threshold,
            decisions=timeline.decisions(p, executed, same_tx, conflicts, published, parties),
            conflicts=[
                (
                    e,
                    json.loads(e["args"]),
                    timeline.text_of(published, json.loads(e["args"]).get("reasonHash", "")),
                )
                for e in conflicts
            ],
            meta=self.q.meta(),
        )

    async def flags(self, request: Request) -> Response:
        """The indicators' definitions and every flag the index holds."""
        counts = self.q.flag_counts()
        codes = sorted(set(self.definitions) | set(counts))
        return self.render(
            request,
            "flags.html",
            codes=codes,
            counts=counts,
            flags=self.q.flags(limit=500),
            flags_block=self.q.meta().get("flags_block"),
        )

    async def about(self, request: Request) -> Response:
        """What the portal is, and the words it uses (block, transaction, …)."""
        return self.render(request, "about.html", meta=self.q.meta())
