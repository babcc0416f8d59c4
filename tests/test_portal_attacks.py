"""The portal under attack: what an outsider can send it (odd numbers, huge queries, a forged
Host header) and what a payer of gas can make a page say (links that hide where they go),
and a consortium page that must survive a city's worth of decisions.

Each test was written against a finding of a security review and seen failing first. The
server and the index are those of tests/test_portal_web.py (same fixtures and helpers).
"""

from __future__ import annotations

import csv
import io
import json

import requests
from sqlalchemy import create_engine, insert, select
from test_portal_web import base, copy_of, get, seed, serve  # noqa: F401 (fixtures)

from procurechain.portal.index import tables as t
from procurechain.portal.web import create_app
from procurechain.portal.web.api import _csv
from procurechain.portal.web.app import CSP
from procurechain.portal.web.present import link_of

# ------------------------------------------------------------------- odd input: no 500


def test_numbers_no_database_can_hold_are_404_or_400_not_500(base):  # noqa: F811
    huge = "9" * 30  # beyond SQLite's and PostgreSQL's 64-bit integers
    for path in (f"/procurements/{huge}", f"/procurements/{huge}/timeline.csv"):
        answer = get(base, path)
        assert answer.status_code == 404, (path, answer.status_code)
        assert answer.headers["content-security-policy"] == CSP
    # str.isdigit() is true of superscripts and other scripts' digits; int() refuses some
    for value in ("%C2%B2", "%D9%A1", "%EF%BC%91", "1%C2%B2"):
        for name in ("page", "per_page"):
            page = get(base, f"/procurements?{name}={value}")
            assert page.status_code == 400 and f"{name}:" in page.text, (name, value)
            answer = get(base, f"/api/procurements?{name}={value}")
            assert answer.status_code == 400, (name, value)


# ----------------------------------------------------- reflected input, Host header


def test_an_unknown_parameter_is_not_copied_into_every_link(base):  # noqa: F811
    junk = "j" * 20_000
    page = get(base, f"/procurements?zz={junk}&q=benches")
    assert page.status_code == 200
    assert junk[:200] not in page.text, "an unknown parameter is echoed into the page's links"
    assert len(page.text) < 40_000
    assert "q=benches" in page.text  # known ones are kept


def test_a_forged_host_header_makes_no_redirect_elsewhere(base):  # noqa: F811
    answer = requests.get(
        base + "/procurements/",
        headers={"Host": "evil.example"},
        allow_redirects=False,
        timeout=30,
    )
    assert "evil.example" not in answer.headers.get("location", ""), answer.headers
    for path in ("//evil.example/", "/%2F%2Fevil.example/", "/\\evil.example/"):
        answer = requests.get(base + path, allow_redirects=False, timeout=30)
        location = answer.headers.get("location", "")
        assert "evil.example" not in location.split("/")[:3][-1], (path, location)


# ---------------------------------------------------------------- links that lie


def test_a_link_never_hides_where_it_goes():
    # user info: the text starts like the city's site, the browser goes to the host after @
    long_userinfo = "https://city.example" + "-official-tender-documents" * 6 + "@evil.example/x"
    # a host so long that the evidence's text, capped at 120 characters, ends before its
    # registrable domain
    long_host = "https://city.example." + "docs." * 30 + "evil.example/x"
    for url in (
        "https://city.example@evil.example/spec.pdf",
        long_userinfo,
        long_host,
        "https://user:pass@evil.example/",
        # bidi controls and invisible characters reorder or hide what the text says
        "https://evil.example/\u202efdp.cod-ytic",
        "https://evil.example/\u2067x\u2069",
        "https://city\u200b.example/",
        "https://evil.example/\u200e",
        "https://evil.example/\ufeff",
        "https://evil.example/\u00ad",
    ):
        assert link_of(url).href is None, repr(url)
    assert link_of("https://city.example/a@b").href == "https://city.example/a@b"  # path @


# -------------------------------------------------------------------- downloads


def test_every_cell_a_spreadsheet_could_run_is_defused():
    cells = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\uff1d1+1", "plain"]
    body = _csv([cells], tuple(f"c{i}" for i in range(len(cells))), "x.csv").body
    (row,) = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))[1:]
    assert row[-1] == "plain"
    assert all(cell.startswith("'") for cell in row[:-1]), row


# --------------------------------------------------------------- many decisions


def test_the_consortium_page_survives_a_city_of_decisions(seed, tmp_path):  # noqa: F811
    """Every decision names hashes whose published texts the page looks up; one OR-ed
    LIKE per hash went past SQLite's expression depth (1,000) with ~500 decisions."""
    url = copy_of(seed, tmp_path)
    engine = create_engine(url)
    with engine.begin() as db:
        e = t.events
        model = dict(
            db.execute(select(e).where(e.c.event == "ActionExecuted").limit(1)).mappings().one()
        )
        top = int(db.execute(select(e.c.block).order_by(e.c.block.desc())).scalars().first())
        rows = []
        for n in range(1_200):
            digest = "0x%064x" % (n + 1)
            args = json.loads(model["args"]) | {"actionHash": digest}
            rows.append(
                model
                | {
                    "block": top + 1 + n,
                    "log_index": 0,
                    "tx": "0x%064x" % (10**6 + n),
                    "args": json.dumps(args),
                    "ref_hash": digest,
                }
            )
        db.execute(insert(e), rows)
    try:
        with serve(create_app(engine)) as url_:
            answer = get(url_, "/consortium")
            assert answer.status_code == 200, answer.text[:300]
            assert answer.text.count("<tr><td>") >= 1_200  # every decision is listed
    finally:
        engine.dispose()
