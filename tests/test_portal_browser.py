"""The portal in a real browser (Debian's Chromium through Playwright), as a citizen uses it:
find the benches tender, read it, download its OCDS; hostile chain text stays inert; the
keyboard reaches every link with a visible focus; headings, labels, landmarks and contrast;
live updates without a reload; everything works without JavaScript; screenshots.

Set ``PORTAL_SCREENSHOTS=docs/portal`` to write the screenshots into the repository (they go
to a temporary folder otherwise, and are checked either way).
"""

from __future__ import annotations

import itertools
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from portal_chain import (
    BAD_UTF8_REASON,
    DATA_EVIDENCE,
    JS_EVIDENCE,
    MARKER,
    SCRIPT_TITLE,
    Indexed,
    indexed,
)
from sqlalchemy import create_engine, insert, update
from test_portal_web import copy_of, serve

from procurechain.portal.index import tables as t
from procurechain.portal.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Indexed:
    return indexed(tmp_path_factory.mktemp("portal"))


@pytest.fixture(scope="module")
def base(seed) -> Iterator[str]:
    engine = create_engine(seed.url)
    with serve(create_app(engine)) as url:
        yield url
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield found
        found.close()


class Watch:
    """What a page did that it should not: dialogs, console errors, uncaught errors."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    found = context.new_page()
    found.watch = Watch(found)
    yield found
    context.close()


# ------------------------------------------------------------------ the citizen's walk


def test_a_citizen_finds_the_benches_reads_them_and_downloads_the_ocds(seed, base, page):
    page.goto(base + "/")
    page.get_by_label("Search procurements").fill("riverside benches")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/procurements?q=riverside+benches")
    assert page.locator("p.count").inner_text().startswith("1 procurement found")
    page.get_by_role("link", name="40 park benches for Riverside Park").click()
    page.wait_for_url("**/procurements/1")
    assert page.locator("h1").inner_text() == "40 park benches for Riverside Park"
    timeline = page.locator("ol.timeline")
    assert timeline.get_by_text("Benchworks Ltd submitted milestone 2, 3 days late").is_visible()
    assert timeline.get_by_text("City Parks (agency) disputed milestone 3").is_visible()
    late_row = page.locator("table", has_text="Milestones").locator("tr", has_text="3 days late")
    assert "51.00 dUSD" in late_row.inner_text()  # the late penalty, on milestone 2's row
    assert page.locator("#agreement ~ *", has_text="not anchored to their footings").count()
    with page.expect_download() as info:
        page.get_by_role("link", name="OCDS release package (JSON)").click()
    package = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert {r["ocid"] for r in package["releases"]} == {seed.benches_ocid}
    assert page.watch.errors == [] and page.watch.dialogs == []


# ------------------------------------------------------------------- hostile content

_LINKS = """() => [...document.querySelectorAll('a[href], area[href], [src], form[action]')]
    .map(e => (e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
    .trim().toLowerCase())"""


def test_hostile_chain_text_stays_text(seed, base, page):
    paths = [
        "/",
        "/procurements?per_page=100",
        f"/procurements/{seed.hostile_id}",
        f"/procurements/{seed.js_url_id}",
        f"/procurements/{seed.bad_utf8_id}",
        f"/procurements/{seed.laptops_id}",
        "/consortium",
        f"/agencies/{seed.agency}",
    ]
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("load")
        assert page.evaluate(f"typeof window.{MARKER}") == "undefined", path
        links = page.evaluate(_LINKS)
        assert not [h for h in links if h.startswith(("javascript:", "data:", "vbscript:"))]
        assert page.watch.dialogs == [], path
        assert page.locator("img, iframe, object, embed, svg[onload]").count() == 0, path
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 1280, f"{path} is {wide}px wide: a long text broke the layout"
    assert page.watch.dialogs == [] and page.watch.errors == []
    page.goto(base + f"/procurements/{seed.hostile_id}")
    assert page.locator("h1").inner_text() == SCRIPT_TITLE  # the payload, shown as text
    assert page.get_by_text('<img src=x onerror="window.__pwned=2">').first.is_visible()
    page.goto(base + f"/procurements/{seed.js_url_id}")
    raw = page.get_by_role("region", name="Raw notice text")
    assert f"javascript:window.{MARKER}=8" in raw.inner_text()
    page.goto(base + f"/procurements/{seed.bad_utf8_id}")
    assert "Broken \ufffd\ufffd bytes" in page.locator("main").inner_text()
    page.goto(base + "/consortium")
    shown = BAD_UTF8_REASON.decode("utf-8", "replace")
    assert page.get_by_text(shown[:40]).first.is_visible()  # the declaration, U+FFFD shown
    # the laptops' delivery evidence, written by the supplier: a 100 KB javascript: URL with
    # a script tag and an onerror handler, then a data: URL with invalid UTF-8
    page.goto(base + f"/procurements/{seed.laptops_id}")
    shown = DATA_EVIDENCE.decode("utf-8", "replace")
    timeline = page.locator("ol.timeline")
    uri = timeline.get_by_role("region", name="Address given (100,")
    assert uri.is_visible() and uri.inner_text() == JS_EVIDENCE  # every character, as text
    assert uri.evaluate("e => e.scrollHeight > e.clientHeight")  # it scrolls in its box
    box = uri.bounding_box()
    assert box is not None and box["height"] < 400 and box["width"] <= 1280
    assert timeline.get_by_text(shown).is_visible()
    assert f"<script>window.{MARKER}=4</script>" in timeline.inner_text()
    delivered = page.locator("table", has_text="Milestones").locator("tbody tr").first
    assert JS_EVIDENCE[:100] in delivered.inner_text() and shown in delivered.inner_text()
    assert delivered.get_by_text('<img src=x onerror="window.__pwned=4">').first.is_visible()
    assert page.evaluate("document.documentElement.scrollHeight") < 10_000
    assert page.watch.dialogs == [] and page.watch.errors == []


# ---------------------------------------------------------------------- accessibility

_FOCUSABLE = """() => [...document.querySelectorAll(
    'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')]
    .filter(e => !e.disabled && e.getClientRects().length > 0
                 && getComputedStyle(e).visibility !== 'hidden')
    .map(e => e.outerHTML.slice(0, 160))"""
_ACTIVE = """() => { const e = document.activeElement; const s = getComputedStyle(e);
    return [e.outerHTML.slice(0, 160), s.outlineStyle, parseFloat(s.outlineWidth)]; }"""


@pytest.mark.parametrize("path", ["/", "/procurements", "/consortium"])
def test_the_keyboard_reaches_every_control_in_order_with_a_visible_focus(base, page, path):
    page.goto(base + path)
    wanted = page.evaluate(_FOCUSABLE)
    assert len(wanted) > 8
    reached = []
    for _ in range(len(wanted) + 1):
        page.keyboard.press("Tab")
        html, style, width = page.evaluate(_ACTIVE)
        if html.startswith("<body"):
            break
        assert style != "none" and width >= 2, f"no visible focus on {html}"
        reached.append(html)
    assert reached[0].startswith('<a class="skip"')
    assert reached == wanted


_STRUCTURE = """() => {
  const levels = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1]);
  const unlabeled = [...document.querySelectorAll('input, select, textarea')].filter(e =>
      !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML);
  const noScope = [...document.querySelectorAll('th')].filter(th =>
      !th.getAttribute('scope')).map(th => th.outerHTML);
  return {lang: document.documentElement.lang, levels, unlabeled, noScope,
    main: document.querySelectorAll('main').length, nav: document.querySelectorAll('nav').length,
    header: document.querySelectorAll('header').length,
    footer: document.querySelectorAll('footer').length,
    captions: [...document.querySelectorAll('table')].filter(t => !t.caption).length,
    charts: [...document.querySelectorAll('svg')].filter(s => !s.querySelector('title')
        || !s.querySelector('desc')).length};
}"""


def test_pages_have_lang_landmarks_one_h1_ordered_headings_labels_and_table_headers(
    seed, base, page
):
    for path in ("/", "/procurements", "/procurements/1", f"/agencies/{seed.agency}",
                 f"/suppliers/{seed.winner}", "/consortium", "/flags", "/about"):  # fmt: skip
        page.goto(base + path)
        found = page.evaluate(_STRUCTURE)
        assert found["lang"] == "en", path
        assert found["main"] == 1 and found["nav"] >= 1, path
        assert found["header"] >= 1 and found["footer"] >= 1, path
        levels = found["levels"]
        assert levels[0] == 1 and levels.count(1) == 1, (path, levels)
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), (path, levels)
        assert found["unlabeled"] == [] and found["noScope"] == [], path
        assert found["captions"] == 0 and found["charts"] == 0, path


_CONTRAST = """() => {
  const lum = c => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(x => +x / 255)
      .map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
      return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const alpha = c => { const m = c.match(/[\\d.]+/g); return m.length > 3 ? +m[3] : 1; };
  const back = e => { for (; e; e = e.parentElement) { const b = getComputedStyle(e)
      .backgroundColor; if (alpha(b) > 0) return b; } return 'rgb(255, 255, 255)'; };
  const bad = [];
  let checked = 0;
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || e.closest('svg') || !e.getClientRects().length) continue;
    const s = getComputedStyle(e);
    if (s.visibility === 'hidden' || s.clip === 'rect(0px, 0px, 0px, 0px)') continue;
    checked += 1;
    const [a, b] = [lum(s.color), lum(back(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push([e.tagName, e.textContent.trim().slice(0, 40), ratio.toFixed(2)]);
  }
  return {bad, checked};
}"""


def test_every_text_has_a_contrast_of_at_least_4_5(seed, base, page):
    for path in ("/", "/procurements", "/procurements/1", f"/suppliers/{seed.winner}",
                 "/consortium", "/flags"):  # fmt: skip
        page.goto(base + path)
        found = page.evaluate(_CONTRAST)
        assert found["bad"] == [] and found["checked"] > 20, (path, found)
        page.focus("a.skip")  # the skip link, shown when focused
        assert page.evaluate(_CONTRAST)["bad"] == [], path


# ------------------------------------------------------------------ live, and no script


def test_a_new_block_updates_the_page_without_a_reload(seed, base, browser, tmp_path):
    url = copy_of(seed, tmp_path)
    engine = create_engine(url)
    context = browser.new_context()
    page = context.new_page()
    watch = Watch(page)
    try:
        with serve(create_app(engine, poll_ms=150)) as live:
            page.goto(f"{live}/procurements/{seed.hostile_id}")
            before = page.locator("#asof").inner_text()
            page.evaluate("window.notReloaded = true")
            flags = page.locator("#flags ~ ul > li")
            raised = flags.count()  # the indexer's (R003: a 7-day bidding period)
            assert "A flag raised in the next block." not in page.locator("main").inner_text()
            with engine.begin() as db:  # what the indexer does when a block arrives
                db.execute(insert(t.flags).values(
                    code="P005", tender_id=seed.hostile_id, party=None, value=1.0,
                    evidence="A flag raised in the next block."))  # fmt: skip
                db.execute(update(t.cursor).values(derived_block=t.cursor.c.derived_block + 1))
            page.get_by_text("A flag raised in the next block.").wait_for(timeout=10_000)
            assert flags.count() == raised + 1
            assert page.evaluate("window.notReloaded") is True
            after = page.locator("#asof").inner_text()
            assert after != before and str(int(before.split()[3].replace(",", "")) + 1) in after
            assert page.locator("#live").inner_text().startswith("Updated to block")
            assert watch.errors == [] and watch.dialogs == []
    finally:
        context.close()
        engine.dispose()


def test_everything_works_without_javascript(seed, base, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(base + "/procurements")
        page.get_by_label("Stage").select_option("completed")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**stage=completed**")
        page.get_by_role("link", name="40 park benches for Riverside Park").click()
        assert page.locator("h1").inner_text() == "40 park benches for Riverside Park"
        page.get_by_role("link", name="Consortium").first.click()
        assert page.locator("h1").inner_text() == "The consortium"
    finally:
        context.close()


# ----------------------------------------------------------------------- screenshots


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_screenshots_of_the_main_pages(seed, base, browser, tmp_path):
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    folder = folder if folder.is_absolute() else PROJECT / folder
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    shots = {
        "home.png": "/",
        "procurements.png": "/procurements",
        "procurement-benches.png": "/procurements/1",
        "agency.png": f"/agencies/{seed.agency}",
        "consortium.png": "/consortium",
    }
    try:
        for name, path in shots.items():
            page.goto(base + path)
            height = min(page.evaluate("document.documentElement.scrollHeight"), 4_000)
            clip = {"x": 0, "y": 0, "width": 1280, "height": height}
            page.screenshot(path=str(folder / name), full_page=True, clip=clip)
            width, height = _png_size(folder / name)
            assert width == 1280 and height >= 900, name
    finally:
        context.close()
