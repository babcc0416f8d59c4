"""The portal's web server, over HTTP (no browser): every route, the search's filters, sort and
pages, downloads, 404/405/400, the security headers, and the pure pieces (safe links, charts).

The server is the real app under uvicorn on a loopback port, over the index the real indexer
wrote from a real chain (tests/portal_chain.py): the reference scenario, a procurement whose
supplier delivered hostile evidence, and hostile tenders. (Starlette 1.10's TestClient needs
``httpx2``, which the project does not install; ``requests`` against the running server tests
more of the real thing anyway.)
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import uvicorn
from markupsafe import escape
from portal_chain import DATA_EVIDENCE, JS_EVIDENCE, MARKER, Indexed, indexed
from sqlalchemy import create_engine, select

from procurechain.portal.index import tables as t
from procurechain.portal.web import create_app
from procurechain.portal.web.app import CSP
from procurechain.portal.web.charts import bar_chart
from procurechain.portal.web.flagdefs import definitions_from
from procurechain.portal.web.present import cap, link_of
from procurechain.record import schema


@contextmanager
def serve(app: object) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def copy_of(seed: Indexed, folder: Path) -> str:
    """A copy of the index (for a test that changes rows); returns its URL."""
    target = folder / "copy.db"
    shutil.copy(seed.url.removeprefix("sqlite:///"), target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Indexed:
    return indexed(tmp_path_factory.mktemp("portal"))


@pytest.fixture(scope="module")
def base(seed) -> Iterator[str]:
    engine = create_engine(seed.url)
    with serve(create_app(engine)) as url:
        yield url
    engine.dispose()


def get(base: str, path: str, **kwargs) -> requests.Response:
    return requests.get(base + path, timeout=30, **kwargs)


def api(base: str, path: str) -> dict:
    answer = get(base, path)
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


def ids(base: str, query: str) -> list[int]:
    return [r["tender_id"] for r in api(base, f"/api/procurements?{query}")["procurements"]]


# ------------------------------------------------------------------------------ routes


def routes(seed: Indexed) -> list[tuple[str, str]]:
    ocid = seed.benches_ocid
    return [
        ("/", "text/html"),
        ("/procurements", "text/html"),
        ("/procurements?q=benches&stage=completed&sort=title&order=asc", "text/html"),
        ("/procurements/1", "text/html"),
        (f"/procurements/{seed.hostile_id}", "text/html"),
        (f"/procurements/{seed.js_url_id}", "text/html"),
        (f"/procurements/{seed.bad_utf8_id}", "text/html"),
        (f"/procurements/{seed.laptops_id}", "text/html"),
        (f"/agencies/{seed.agency}", "text/html"),
        (f"/suppliers/{seed.winner}", "text/html"),
        (f"/suppliers/{seed.laptops_supplier}", "text/html"),
        ("/consortium", "text/html"),
        ("/flags", "text/html"),
        ("/about", "text/html"),
        ("/procurements.csv?q=benches", "text/csv"),
        ("/procurements/1/timeline.csv", "text/csv"),
        (f"/procurements/{seed.laptops_id}/timeline.csv", "text/csv"),
        (f"/ocds/{ocid}/releases.json", "application/json"),
        (f"/ocds/{ocid}/record.json", "application/json"),
        ("/ocds/releases.json", "application/json"),
        ("/api/status", "application/json"),
        ("/api/procurements", "application/json"),
        ("/api/releases?q=benches", "application/json"),
        (f"/api/records/{ocid}", "application/json"),
        ("/api/flags", "application/json"),
        ("/static/portal.css", "text/css"),
        ("/static/live.js", "text/javascript"),
    ]


def test_every_route_answers_with_the_security_headers_and_no_cookie(seed, base):
    for path, kind in routes(seed):
        answer = get(base, path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert answer.headers["content-type"].startswith(kind), path
        assert answer.headers["content-security-policy"] == CSP, path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] == "no-referrer", path
        assert "set-cookie" not in answer.headers, path
        head = requests.head(base + path, timeout=30)
        assert head.status_code == 200 and head.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_nothing_but_get_and_head_is_answered(base, method):
    for path in ("/", "/procurements/1", "/api/status", "/api/procurements", "/no/such/page"):
        answer = requests.request(method, base + path, data={"title": "x"}, timeout=30)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == "GET, HEAD"
        assert answer.headers["content-security-policy"] == CSP


def test_unknown_things_are_404_in_words_or_json(seed, base):
    for path in (
        "/procurements/424242",
        "/agencies/0x000000000000000000000000000000000000dEaD",
        f"/suppliers/{seed.agency}",  # the agency never bid
        "/agencies/not-an-address",
        "/agencies/<script>",
        "/no/such/page",
    ):
        answer = get(base, path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in answer.text
        assert answer.headers["content-security-policy"] == CSP
    for path in ("/api/records/ocds-nope", "/ocds/ocds-nope/releases.json", "/api/nope"):
        answer = get(base, path)
        assert answer.status_code == 404 and answer.json()["status"] == 404, path
    assert get(base, "/procurements/424242/timeline.csv").status_code == 404


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("min=abc", "min"),
        ("stage=closed", "stage"),
        ("sort=agency%3BDROP", "sort"),
        ("order=sideways", "order"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("from=2026-13-01", "from"),
    ],
)
def test_a_search_that_cannot_be_read_is_400_and_names_the_parameter(base, query, word):
    page = get(base, f"/procurements?{query}")
    assert page.status_code == 400 and f"{word}:" in page.text
    answer = get(base, f"/api/procurements?{query}")
    assert answer.status_code == 400 and answer.json()["error"].startswith(f"{word}:")


# ------------------------------------------------------------------------------ search


def test_status_is_the_block_the_index_reflects(seed, base):
    engine = create_engine(seed.url)
    with engine.connect() as db:
        cursor = db.execute(select(t.cursor)).mappings().one()
    engine.dispose()
    status = api(base, "/api/status")
    assert status["block"] == cursor["derived_block"]
    assert status["timestamp"] == cursor["derived_timestamp"]
    page = get(base, "/").text
    assert f'As of <a href="/about#block">block</a> {cursor["derived_block"]:,}' in page
    assert f'data-block="{cursor["derived_block"]}"' in page


def test_filters_select_the_right_procurements(seed, base):
    everything = api(base, "/api/procurements?per_page=100")
    assert everything["total"] == 5
    assert sorted(ids(base, "q=benches")) == [1, seed.hostile_id]
    assert ids(base, "q=RIVERSIDE+park") == [1]  # words, any case, all of them
    assert ids(base, "q=riverside+nowhere") == []
    assert ids(base, "q=%25") == []  # a LIKE wildcard is taken literally
    assert ids(base, "stage=completed") == [1]
    assert ids(base, "category=works") == [seed.hostile_id]
    assert sorted(ids(base, f"agency={seed.agency}&per_page=100")) == sorted(
        r["tender_id"] for r in everything["procurements"]
    )
    assert ids(base, "agency=0x000000000000000000000000000000000000dEaD") == []
    # value: the award's (benches 42,500 dUSD, laptops 18,000) else the budget (50,000 dUSD)
    assert sorted(ids(base, "max=42500")) == [1, seed.laptops_id]
    assert ids(base, "max=42499.99") == [seed.laptops_id]
    assert ids(base, "max=17999.99") == []
    assert sorted(ids(base, "min=42,500.01&per_page=100")) == sorted(
        r["tender_id"]
        for r in everything["procurements"]
        if r["tender_id"] not in (1, seed.laptops_id)
    )
    published = {r["tender_id"]: r["published"] for r in everything["procurements"]}
    day = time.strftime("%Y-%m-%d", time.gmtime(published[1]))
    assert 1 in ids(base, f"from={day}&to={day}")
    assert seed.hostile_id not in ids(base, f"from={day}&to={day}")
    later = time.strftime("%Y-%m-%d", time.gmtime(published[seed.hostile_id]))
    assert 1 not in ids(base, f"from={later}&per_page=100")


def test_sort_and_pages_cover_every_row_once_in_order(base):
    rows = api(base, "/api/procurements?per_page=100")["procurements"]
    by_value = sorted(rows, key=lambda r: (r["value_units"] or r["budget_units"], r["tender_id"]))
    seen = []
    for page in (1, 2, 3):
        answer = api(base, f"/api/procurements?sort=value&order=asc&per_page=2&page={page}")
        assert answer["pages"] == 3 and answer["total"] == 5
        seen += [r["tender_id"] for r in answer["procurements"]]
    assert seen == [r["tender_id"] for r in by_value]
    titles = [
        r["title"] for r in api(base, "/api/procurements?sort=title&order=asc")["procurements"]
    ]
    assert titles == sorted(titles)
    newest = ids(base, "sort=published&order=desc&per_page=100")
    assert newest == [
        r["tender_id"]
        for r in sorted(rows, key=lambda r: (r["published"], r["tender_id"]), reverse=True)
    ]
    html = get(base, "/procurements?per_page=2&page=2&q=").text
    assert "Page 2 of 3" in html and 'rel="prev"' in html and 'rel="next"' in html
    assert 'aria-sort="descending"' in html  # the column sorted on says so


def test_the_csv_is_the_search_with_exact_amounts(base):
    text = get(base, "/procurements.csv?q=riverside").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["tender_id"] for r in rows] == ["1"]
    assert rows[0]["value_units"] == "42500000000"  # exact base units, not 42500.0
    assert rows[0]["penalties_units"] == "51000000"
    listed = api(base, "/api/procurements?q=riverside")["procurements"][0]
    assert listed["value_units"] == 42_500_000_000 and isinstance(listed["budget_units"], int)
    assert listed["agency_name"] == "City Parks (agency)"


def test_the_timeline_csv_has_every_event_of_the_benches(seed, base):
    rows = list(csv.DictReader(io.StringIO(get(base, "/procurements/1/timeline.csv").text)))
    engine = create_engine(seed.url)
    with engine.connect() as db:
        events = db.execute(
            select(t.events).where(t.events.c.tender_id == 1).order_by(t.events.c.block)
        ).all()
    engine.dispose()
    assert len(rows) == len(events) > 30
    late = next(r for r in rows if r["event"] == "MilestoneSubmitted" and "late" in r["sentence"])
    assert late["sentence"] == "Benchworks Ltd submitted milestone 2, 3 days late"
    assert late["date"].endswith("Z") and late["tx"].startswith("0x")
    accepted = [r for r in rows if r["event"] == "MilestoneAccepted"]
    assert json.loads(accepted[1]["amounts"])["penalty"] == 51_000_000


# ------------------------------------------------------------------------------ OCDS


def test_the_release_package_is_valid_ocds_of_the_stored_releases(seed, base):
    package = api(base, f"/ocds/{seed.benches_ocid}/releases.json")
    assert schema.validate(package) == []
    assert {r["ocid"] for r in package["releases"]} == {seed.benches_ocid}
    assert package["uri"] == f"{base}/ocds/{seed.benches_ocid}/releases.json"
    engine = create_engine(seed.url)
    with engine.connect() as db:
        stored = db.execute(
            select(t.processes.c.releases, t.processes.c.compiled).where(
                t.processes.c.tender_id == 1
            )
        ).one()
    engine.dispose()
    assert package["releases"] == json.loads(stored.releases)
    record = api(base, f"/api/records/{seed.benches_ocid}")
    assert schema.validate(record) == []
    assert record["records"][0]["compiledRelease"] == json.loads(stored.compiled)
    everything = api(base, "/ocds/releases.json")
    assert schema.validate(everything) == []
    assert {r["ocid"] for r in everything["releases"]} >= {seed.benches_ocid}
    searched = api(base, "/api/releases?q=riverside")
    assert {r["ocid"] for r in searched["releases"]} == {seed.benches_ocid}


# ------------------------------------------------------------------- what a page says


def test_the_benches_page_tells_the_story(base):
    page = get(base, "/procurements/1").text
    for words in (
        "40 park benches for Riverside Park",
        "Benchworks Ltd submitted milestone 2, 3 days late",
        "51.00 dUSD",
        "City Parks (agency) disputed milestone 3",
        "4 of the 40 benches are not anchored to their footings",
        "Recused (did not count):",
        "Technical expert: <bdi>I advised Benchworks Ltd on its bench designs",
        "Signed by:</strong> City Parks (agency), Citizen rep, Legal expert",
        "verified against its on-chain hash",
        "not checked: the portal does not fetch documents",
        "IPFS content id bafkreid52eifbgwnyzjekmburbjfbri6utjtnms76dyo4ui3rhfsevowxu",
        "never revealed: the price stays hidden and the bond was forfeited",  # Quiet Bidder
        "42,500.00 dUSD",
        "P005: Late milestones",  # the indexer's flags (procurechain.flags)
        "P006: Disputed milestones",
        "P008: Forfeited bond",
        "Quiet Bidder (0x2361…1E8f) forfeited its bond of 500.00 dUSD",
    ):
        assert words in page, words


def test_agency_supplier_consortium_and_flags_pages(seed, base):
    agency = get(base, f"/agencies/{seed.agency}").text
    for supplier in ("Benchworks Ltd", "Northside Computers"):  # one contract each
        assert f'{supplier}</bdi></a></td><td class="num">1</td><td class="num">50%' in agency
    supplier = get(base, f"/suppliers/{seed.winner}").text
    assert "<dt>Win rate</dt><dd>100%</dd>" in supplier
    assert "40,749.00 dUSD" in supplier  # what it withdrew
    consortium = get(base, "/consortium").text
    assert "5 members; decisions need 3 signatures" in consortium
    assert "Technical expert (<bdi>I advised Benchworks Ltd" in consortium
    flags = get(base, "/flags").text
    assert 'id="P005"' in flags and "The supplier delivered work late" in flags
    assert 'id="P008"' in flags and "A bidder lost its bond" in flags
    assert "not available in this portal yet" not in flags  # every code raised is defined


# ------------------------------------------------------------------- hostile content


def test_hostile_strings_are_escaped_in_every_page(seed, base):
    pages = [get(base, path).text for path, kind in routes(seed) if kind == "text/html"]
    joined = "\n".join(pages)
    assert f"<script>window.{MARKER}" not in joined
    assert "<img src=x" not in joined and "<svg onload" not in joined
    assert f"&lt;script&gt;window.{MARKER}=1&lt;/script&gt;" in joined
    assert 'href="javascript:' not in joined.lower() and 'href="data:' not in joined.lower()
    assert "javascript:window.__pwned=8" in joined  # a notice's document URL, as text
    # the laptops' evidence URIs (MilestoneSubmitted: no length cap on the chain), as text
    laptops = get(base, f"/procurements/{seed.laptops_id}").text
    assert str(escape(JS_EVIDENCE)) in laptops  # all 100 KB, escaped
    shown = str(escape(DATA_EVIDENCE.decode("utf-8", "replace")))
    assert shown in laptops and "broken \ufffd\ufffd bytes" in shown
    listing = get(base, "/procurements?per_page=100").text
    assert "W" * 1_000 not in listing and len(listing) < 60_000


def test_only_web_urls_become_links():
    for url in ("https://example.org/a?b=<c>", "http://example.org/"):
        assert link_of(url).href == url
    for url in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "https:/no-host",
        "//evil.example/x",
        "https://exa mple.org/",
        "https://example.org/\nx",
        "ipfs://bafkrei",
        "",
    ):
        assert link_of(url).href is None, url
    assert "IPFS content id bafkrei" in link_of("ipfs://bafkrei/x").note


def test_long_texts_are_capped_for_lists():
    assert cap("short") == "short"
    assert cap("x" * 500, 10) == "x" * 9 + "…"


def test_charts_scale_bars_to_their_values():
    chart = bar_chart("c", "t", "d", [("a", 100), ("b", 50)], str, marker=(200, "budget"))
    (a,), (b,) = (bar.segments for bar in chart.bars)
    assert a.width == pytest.approx(2 * b.width)
    assert chart.marker is not None and chart.marker[0] == pytest.approx(a.x + 2 * a.width)
    assert bar_chart("e", "t", "d", [], str).bars == []


def test_flag_definitions_come_from_any_mapping():
    class Indicator:
        title = "Single bid"
        description = "Only one bid was received."

    found = definitions_from({"R018": Indicator(), "C-X": {"title": "X", "source": "https://a"}})
    assert found["R018"].title == "Single bid" and found["R018"].kind == "Cardinal"
    assert found["C-X"].source == "https://a" and found["C-X"].kind == "chain"


def test_a_csv_cell_a_spreadsheet_would_run_is_defused_and_a_broken_row_is_a_500(seed, tmp_path):
    url = copy_of(seed, tmp_path)
    engine = create_engine(url)
    formula = '=HYPERLINK("https://evil.example","click")'
    with engine.begin() as db:
        db.execute(t.processes.update().where(t.processes.c.tender_id == 1).values(title=formula))
        db.execute(
            t.processes.update()
            .where(t.processes.c.tender_id == seed.hostile_id)
            .values(compiled="not json")
        )
    try:
        with serve(create_app(engine)) as base:
            rows = list(
                csv.DictReader(io.StringIO(get(base, "/procurements.csv?q=riverside").text))
            )
            assert [r["title"] for r in rows] == ["'" + formula]
            broken = get(base, f"/procurements/{seed.hostile_id}")
            assert broken.status_code == 500 and "Traceback" not in broken.text
            assert broken.headers["content-security-policy"] == CSP
            assert get(base, "/procurements/1").status_code == 200  # the others still serve
    finally:
        engine.dispose()


def test_answers_are_kept_for_their_block_only(seed, tmp_path):
    """A page is made once per block: asked again it comes from memory, byte for byte; once
    the index reflects a newer block it is made again (and says so)."""
    url = copy_of(seed, tmp_path)
    engine = create_engine(url)
    app = create_app(engine)
    with serve(app) as site:
        first = requests.get(site + "/procurements/1", timeout=10)
        hits = app.cache.hits
        again = requests.get(site + "/procurements/1", timeout=10)
        assert again.content == first.content and app.cache.hits == hits + 1
        assert again.headers["content-security-policy"] == CSP  # headers kept too
        head = requests.head(site + "/procurements/1", timeout=10)
        assert head.status_code == 200 and head.content == b""
        status = requests.get(site + "/api/status", timeout=10).json()
        with engine.begin() as connection:  # the indexer moved on
            connection.execute(t.cursor.update().values(derived_block=status["block"] + 1))
        later = requests.get(site + "/procurements/1", timeout=10)
        assert f"{status['block'] + 1}" in later.text and later.content != first.content
        assert requests.get(site + "/api/status", timeout=10).json()["block"] == status["block"] + 1
    engine.dispose()
