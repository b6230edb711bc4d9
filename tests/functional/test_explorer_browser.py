# -*- coding: utf-8 -*-
"""explorer.html in a real browser: Debian's Chromium, driven by Playwright, from ``file://``.

The page is the example inventory's, rendered by the plan pipeline (as the plan action does) into
a temporary output folder with its other files and the diagrams drawn by ``dot``, as the playbook
leaves them. Each test checks what a person would see, and that the page logged no error and asked
for nothing but files (every request is routed; any URL that is not ``file:`` is aborted and fails
the test). Screenshots go to tests/output/explorer/ (not committed).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from example_inventory import example_outcome

from ansible_collections.voiceops.firewall.plugins.plugin_utils._explorer import explorer_html, natural
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = REPO / "tests" / "output" / "explorer"
LAPTOP = {"width": 1366, "height": 768}


def need_browser() -> None:
    """Chromium (scripts/setup.sh installs it) and Playwright (requirements-test.txt); CI fails without them."""
    missing = [] if os.path.exists(CHROMIUM) else ["chromium (%s)" % CHROMIUM]
    try:
        import playwright.sync_api  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        missing.append("playwright (requirements-test.txt)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("these tests need %s (scripts/setup.sh --test installs them)" % " and ".join(missing))
        pytest.skip("needs %s" % " and ".join(missing))


@pytest.fixture(scope="module")
def outcome():
    return example_outcome(render=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory, outcome):
    """The example's output folder: every file of the plan, and the diagrams as SVG."""
    root = tmp_path_factory.mktemp("explorer") / "out"
    for name, text in outcome.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if shutil.which("dot"):
        for dot in sorted((root / "diagrams").glob("*.dot")):
            subprocess.run(["dot", "-Tsvg", "-o", str(dot.with_suffix(".svg")), str(dot)], check=True, timeout=60)
    return root


@pytest.fixture(scope="module")
def browser():
    need_browser()
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel

    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose console errors, uncaught exceptions and non-file requests are recorded."""

    def __init__(self, browser, viewport):
        self.page = browser.new_page(viewport=viewport)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        if url.startswith("file:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path: Path):
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=30000)
        return self.page


@pytest.fixture
def watched(browser):
    pages: list[Watched] = []

    def make(viewport=None):
        pages.append(Watched(browser, viewport or LAPTOP))
        return pages[-1]

    yield make
    for page in pages:
        page.page.close()
        assert not page.errors, "the page logged errors: %s" % page.errors
        assert not page.blocked, "the page asked the network for: %s" % page.blocked
        assert all(url.startswith("file:") for url in page.requests)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def test_the_matrix_and_a_cell_with_its_flows_and_their_documents(watched, site, outcome):
    page = watched().open(site / "explorer.html")
    zones = sorted(outcome.plan["zones"], key=natural)
    assert page.locator("#mwrap thead th").all_inner_texts()[1:] == zones
    shot(page, "matrix.png")
    flows = [f for f in outcome.plan["flows"] if (f["src_zone"], f["dst_zone"]) == ("clients", "pbx")]
    assert flows
    cell = page.locator("td[data-cell='clients>pbx']")
    assert cell.locator(".cnt").inner_text() == "%d flows" % len(flows)
    assert "%d \u2192 %d hosts" % (len({f["src"]["name"] for f in flows}), len({f["dst"]["name"] for f in flows})) in cell.inner_text()
    cell.click()
    panel = page.locator("#panel")
    panel.wait_for(state="visible")
    assert panel.locator("h2").inner_text() == "clients \u2192 pbx"
    rows = panel.locator("tbody tr")
    assert rows.count() == len(flows)
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.flow)")) == sorted(f["id"] for f in flows)
    text = panel.inner_text()
    for flow in flows:
        assert flow["citation"]["title"] in text and flow["citation"]["section"] in text
        assert flow["purpose"] in text and flow["src"]["name"] in text and flow["dst"]["name"] in text
        assert ", ".join(flow["ports"]) in text.replace(",", ", ")
        row = panel.locator("tr[data-flow='%s']" % flow["id"]).inner_text()
        assert ("enforced by " + ", ".join(sorted(flow["enforced_by"]))) in row if flow["enforced_by"] else "no managed firewall" in row
    shot(page, "cell.png")
    page.keyboard.press("Escape")
    assert panel.is_hidden()


def flow_row(page, flow_id: str):
    """The row of a flow in the open panel, paging on until it is shown."""
    while not page.locator("#panel tr[data-flow='%s']" % flow_id).count():
        page.locator("#panel").get_by_text("next \u203a").click()
    return page.locator("#panel tr[data-flow='%s']" % flow_id)


def hosted_by_name(outcome) -> dict:
    """The edge report's entry for the Swyx hosted PBX (known only by name) sending from the internet."""
    report = json.loads(outcome.files["edge/edge01.json"])
    flows = {f["id"]: f for f in outcome.plan["flows"]}
    return next(b for b in report["by_name"] if b["end"] == "src" and flows[b["flow"]]["src_zone"] == "internet")


def test_ends_known_only_by_name_or_any_address_and_findings_are_marked(watched, site, outcome):
    page = watched().open(site / "explorer.html")
    legend = page.locator(".legend").inner_text()
    assert "@ by name (DNS set)" in legend and "* any address" in legend
    entry = hosted_by_name(outcome)
    named = next(f for f in outcome.plan["flows"] if f["id"] == entry["flow"])
    assert entry["fqdn"] == named["src"]["fqdn"] == "acme.telovip.de" and entry["sets"] == ["name_acme_telovip_de_4"]
    cell = page.locator("td[data-cell='internet>%s']" % named["dst_zone"])
    assert "named" in cell.get_attribute("class") and "loose" not in cell.get_attribute("class")
    assert cell.locator(".cnt").inner_text().endswith("@")
    cell.click()
    text = flow_row(page, named["id"]).locator("td").first.inner_text()
    assert "name only: acme.telovip.de" in text
    assert "matched by the addresses acme.telovip.de resolves to on edge01 (set name_acme_telovip_de_4)" in text
    assert "any address" not in text
    shot(page, "cell-by-name.png")
    # a name that no edge matches by name (the branch has no managed firewall) is any address
    page.keyboard.press("Escape")
    loose = next(f for f in outcome.plan["flows"] if not f["dst"]["addresses"] and not f["enforced_by"])
    cell = page.locator("td[data-cell='%s>%s']" % (loose["src_zone"], loose["dst_zone"]))
    assert "loose" in cell.get_attribute("class") and "*" in cell.locator(".cnt").inner_text()
    cell.click()
    assert "no edge matches it by name" in flow_row(page, loose["id"]).locator("td").nth(1).inner_text()
    finding = next(f for f in outcome.findings if f["flow"])
    flow = next(f for f in outcome.plan["flows"] if f["id"] == finding["flow"])
    page.keyboard.press("Escape")
    page.locator("td[data-cell='%s>%s']" % (flow["src_zone"], flow["dst_zone"])).click()
    flow_row(page, flow["id"])
    badge = page.locator("#panel tr[data-flow='%s'] .sev" % flow["id"]).first
    assert badge.inner_text().startswith("%s %s" % (finding["id"], finding["severity"]))
    assert "sev-" + finding["severity"] in badge.get_attribute("class")
    any_end = next(f for f in outcome.plan["flows"] if "0.0.0.0/0" in f["dst"]["addresses"])
    page.fill("#q", any_end["dst"]["name"])
    page.wait_for_selector("#search-ms")
    assert page.locator("#main tr[data-flow='%s'] .tag-any" % any_end["id"]).count() or \
        page.locator("#main .tag-any").count()


def test_search_by_port_finds_the_sip_flows_first(watched, site, outcome):
    page = watched().open(site / "explorer.html")
    page.fill("#q", "5060")
    page.wait_for_selector("#search-ms")
    holding = [f for f in outcome.plan["flows"] if f["protocol"] in ("tcp", "udp") and any(
        int(p.split("-")[0]) <= 5060 <= int(p.split("-")[-1]) for p in f["ports"])]
    exact = {f["id"] for f in holding if "5060" in f["ports"]}
    assert exact and all(f["service"] in ("sip", "sips", "sip-trunk") or "sip" in f["service"] for f in outcome.plan["flows"] if f["id"] in exact)
    assert page.locator("#main h2").first.inner_text().startswith("\u201c5060\u201d: %d flows" % len(holding))
    shown = page.locator("#main tr[data-flow]").evaluate_all("rows => rows.map(r => r.dataset.flow)")
    assert set(shown[:len(exact)]) == exact  # the flows that name the port come before the wide ranges
    assert "sip" in page.locator("#main tr[data-flow]").first.inner_text()
    shot(page, "search.png")


def test_a_host_view_with_its_flows_and_windows_rules(watched, site, outcome):
    page = watched().open(site / "explorer.html")
    page.click("#nav [data-view=hosts]")
    page.locator("#main a.h", has_text="dc01").first.click()
    panel = page.locator("#panel")
    assert panel.locator("h2").inner_text() == "Host dc01"
    mine = [f for f in outcome.plan["flows"] if "dc01" in (f["src"]["name"], f["dst"]["name"])]
    assert "Flows (%d)" % len(mine) in panel.inner_text()
    assert panel.locator("tbody").first.locator("tr").count() == min(50, len(mine))
    rules = json.loads(outcome.files["windows/dc01.json"])["rules"]
    assert "Windows Defender Firewall rules, group voiceops.firewall (%d)" % len(rules) in panel.inner_text()
    for rule in rules[:10]:
        assert rule["display_name"] in panel.inner_text()
    panel.locator("a", has_text="Windows Defender Firewall rules").first.click()
    shot(page, "host.png")
    # the edge view: the edge's sets and the flows behind an element
    page.keyboard.press("Escape")
    page.click("#nav [data-view=edges]")
    page.locator("#main a.h", has_text="edge01").click()
    assert "edge/edge01.nft" in panel.inner_text()
    report = json.loads(outcome.files["edge/edge01.json"])
    first_set = sorted(report["trace"])[0]
    assert first_set in panel.inner_text()
    # its name sets, the rules that match them and their flows, and that it logs no drops
    entry = hosted_by_name(outcome)
    row = panel.locator("tr[data-set='%s']" % entry["sets"][0])
    assert row.locator("td").all_inner_texts()[:3] == [entry["sets"][0], entry["fqdn"], "IPv4"]
    flows = sorted({b["flow"] for b in report["by_name"] if entry["sets"][0] in b["sets"]})
    assert row.locator("td").nth(3).inner_text() == "%d flows" % len(flows)
    rules = panel.locator("h3", has_text="Rules that match a name set")
    assert rules.inner_text() == "Rules that match a name set (%d)" % len(report["name_rules"])
    assert "@%s (%s)" % (entry["sets"][0], entry["fqdn"]) in panel.inner_text()
    assert panel.locator("#droplog").inner_text().startswith("Drop logging off")
    panel.locator("#namesets").scroll_into_view_if_needed()
    shot(page, "edge.png")
    row.locator("a.h").click()
    assert panel.locator("h2").inner_text() == "Flows matched by %s" % entry["sets"][0]
    assert sorted(panel.locator("tr[data-flow]").evaluate_all("rows => rows.map(r => r.dataset.flow)")) == flows


def test_an_edge_that_enforces_names_as_their_zone_and_logs_its_drops(watched, tmp_path, outcome):
    plan = copy.deepcopy(outcome.plan)
    plan["edges"]["edge01"]["fqdn_ends"] = "zone"
    plan["edges"]["edge01"]["log_drops"] = {"rate": "10/minute", "burst": 5}
    _text, report = render_edge(plan, "edge01")
    files = dict(outcome.files, **{"edge/edge01.json": json.dumps(report.as_dict())})
    (tmp_path / "explorer.html").write_text(explorer_html(plan, outcome.findings, files), encoding="utf-8")
    page = watched().open(tmp_path / "explorer.html")
    entry = hosted_by_name(outcome)
    named = next(f for f in plan["flows"] if f["id"] == entry["flow"])
    cell = page.locator("td[data-cell='internet>%s']" % named["dst_zone"])
    assert "loose" in cell.get_attribute("class") and cell.locator(".cnt").inner_text().endswith("*")
    cell.click()
    text = flow_row(page, named["id"]).locator("td").first.inner_text()
    assert "any address of zone internet on edge01" in text and "matched by" not in text
    page.keyboard.press("Escape")
    page.click("#nav [data-view=edges]")
    assert page.locator("#main tbody tr").first.locator("td").all_inner_texts()[-2:] == ["0", "on, 10/minute"]
    page.locator("#main a.h", has_text="edge01").click()
    panel = page.locator("#panel")
    log = panel.locator("#droplog").inner_text()
    assert log.startswith("Drop logging on") and "10/minute (burst 5 packets)" in log
    assert "\u201cvoiceops drop <src>><dst> \u201d" in log and "\u201cvoiceops drop-in <zone> \u201d" in log
    assert not panel.locator("#namesets").count()
    assert "Ends known only by name, enforced as any address of their zone (%d)" % len(report.zone_wide) in panel.inner_text()


def windows_enforced(fqdn_remote: str):
    """The example planned and rendered with slive01 blocking outbound traffic (its firewall then
    enforces its flow to SpeechLive's cloud, known only by name) and the given ``windows_firewall_fqdn_remote``."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline
    from example_inventory import INVENTORY, VIEWS, example_vars

    global_vars: dict = {}
    for path in sorted((INVENTORY / "group_vars" / "all").glob("*.yml")):
        global_vars.update(yaml.safe_load(path.read_text()) or {})
    host_vars = example_vars()[1]
    roles = {h: {k: hv[k] for k in _pipeline.ROLE_VARS if k in hv} for h, hv in host_vars.items()}
    roles["slive01"].update(windows_firewall_outbound_default="block", windows_firewall_fqdn_remote=fqdn_remote)
    outcome = _pipeline.run({k: copy.deepcopy(global_vars[k]) for k in _pipeline.GLOBAL_VARS if k in global_vars},
                            {h: {k: hv[k] for k in _pipeline.HOST_VARS if k in hv} for h, hv in host_vars.items()},
                            render=True, diagrams=False, views=VIEWS, role_vars=roles)
    flow = next(f for f in outcome.plan["flows"] if f["src"]["name"] == "slive01" and not f["dst"]["addresses"])
    assert "slive01" in flow["enforced_by"]
    return outcome, flow


@pytest.mark.parametrize("fqdn_remote, line", [
    ("any", "any remote address on slive01 (name not enforced)"),
    ("skip", "no rule on slive01 (skipped)"),
    ("resolve", "resolved at plan time on slive01: 192.0.2.10, 2001:db8::10")])
def test_a_windows_host_shows_how_it_enforces_an_end_known_only_by_name(watched, tmp_path, monkeypatch, fqdn_remote, line):
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows

    monkeypatch.setattr(_windows, "resolve_name", lambda fqdn: ["192.0.2.10", "2001:db8::10"])
    outcome, flow = windows_enforced(fqdn_remote)
    (tmp_path / "explorer.html").write_text(outcome.files["explorer.html"], encoding="utf-8")
    page = watched().open(tmp_path / "explorer.html")
    page.locator("td[data-cell='%s>%s']" % (flow["src_zone"], flow["dst_zone"])).click()
    row = flow_row(page, flow["id"])
    assert "enforced by edge01, slive01" in row.inner_text()
    shown = row.locator("td").nth(1).locator(".how").all_inner_texts()
    (entry,) = [b for b in json.loads(outcome.files["edge/edge01.json"])["by_name"] if b["flow"] == flow["id"]]
    assert shown == ["matched by the addresses livebroker.speechexec.com resolves to on edge01 (set %s)" % ", ".join(entry["sets"]), line]
    colour = row.locator("td").nth(1).locator(".how").nth(1).evaluate("e => getComputedStyle(e).color")
    assert colour == {"any": "rgb(155, 28, 28)", "skip": "rgb(85, 85, 85)", "resolve": "rgb(13, 94, 86)"}[fqdn_remote]
    row.scroll_into_view_if_needed()
    shot(page, "cell-windows-%s.png" % fqdn_remote)
    # without the edge's report only slive01 enforces the name: the host's mode decides the cell
    files = {k: v for k, v in outcome.files.items() if not k.startswith("edge/")}
    (tmp_path / "alone.html").write_text(explorer_html(outcome.plan, outcome.findings, files), encoding="utf-8")
    page = watched().open(tmp_path / "alone.html")
    cell = page.locator("td[data-cell='%s>%s']" % (flow["src_zone"], flow["dst_zone"]))
    assert [f["id"] for f in outcome.plan["flows"] if (f["src_zone"], f["dst_zone"]) == (flow["src_zone"], flow["dst_zone"])] == [flow["id"]]
    kind = {"any": ("loose", "*"), "skip": ("f", "flow"), "resolve": ("named", "@")}[fqdn_remote]
    assert kind[0] in cell.get_attribute("class").split() and cell.locator(".cnt").inner_text().endswith(kind[1])
    cell.click()
    shown = flow_row(page, flow["id"]).locator("td").nth(1).locator(".how").all_inner_texts()
    assert shown == ["no edge matches it by name", line]


def test_headers_stay_in_view_when_the_matrix_scrolls(watched, site):
    page = watched({"width": 800, "height": 480}).open(site / "explorer.html")
    box = page.locator("#mwrap").bounding_box()
    row_head = page.locator("#mwrap tbody tr:nth-child(3) th")
    col_head = page.locator("#mwrap thead th:nth-child(4)")
    far_cell = page.locator("#mwrap tbody tr:nth-child(3) td:nth-child(4)")
    before_row, before_cell = row_head.bounding_box(), far_cell.bounding_box()
    page.eval_on_selector("#mwrap", "m => { m.scrollLeft = 300; }")
    after_row, after_cell = row_head.bounding_box(), far_cell.bounding_box()
    assert after_cell["x"] < before_cell["x"] - 200, "the matrix did not scroll horizontally"
    assert abs(after_row["x"] - before_row["x"]) < 1 and after_row["x"] >= box["x"]
    before_col = col_head.bounding_box()
    page.eval_on_selector("#mwrap", "m => { m.scrollTop = 250; }")
    after_col, moved = col_head.bounding_box(), far_cell.bounding_box()
    assert moved["y"] < after_cell["y"] - 150, "the matrix did not scroll vertically"
    assert abs(after_col["y"] - before_col["y"]) < 1 and after_col["y"] >= box["y"]
    # the corner stays above both
    assert page.evaluate("() => document.elementFromPoint(%d, %d).classList.contains('corner')" % (box["x"] + 10, box["y"] + 10))


def test_diagram_links_are_the_output_folders_drawings(watched, site, outcome):
    page = watched().open(site / "explorer.html")
    links = page.locator("#diag a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    dots = sorted(n for n in outcome.files if n.startswith("diagrams/") and n.endswith(".dot"))
    assert links == [n[:-4] + ".svg" for n in dots]
    if shutil.which("dot"):
        assert all((site / link).is_file() for link in links)


def test_hostile_text_is_shown_as_text(watched, tmp_path, outcome):
    hostile = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>bold</b>'
    plan = copy.deepcopy(outcome.plan)
    flow = next(f for f in plan["flows"] if (f["src_zone"], f["dst_zone"]) == ("clients", "pbx"))
    flow["purpose"] = hostile
    flow["citation"]["title"] = hostile
    (tmp_path / "explorer.html").write_text(explorer_html(plan, outcome.findings, outcome.files), encoding="utf-8")
    page = watched().open(tmp_path / "explorer.html")
    page.click("td[data-cell='clients>pbx']")
    row = page.locator("#panel tr[data-flow='%s']" % flow["id"])
    assert row.inner_text().count(hostile) == 2
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("#panel img, #panel tr b:text-is('bold')").count() == 0


def test_the_static_matrix_keeps_its_headers_and_tells_its_legend_apart(watched, site):
    """matrix.html (no script): the window scrolls, the zone names stay; "inside one zone" and
    "nothing allowed" no longer share a near-white."""
    target = watched({"width": 800, "height": 480})
    page = target.page
    page.goto((site / "matrix.html").as_uri())
    row_head = page.locator("table.m tbody tr:nth-child(6) th")
    col_head = page.locator("table.m thead th:nth-child(5)")
    before_row, before_col = row_head.bounding_box(), col_head.bounding_box()
    page.evaluate("() => window.scrollTo(400, 300)")
    after_row, after_col = row_head.bounding_box(), col_head.bounding_box()
    assert after_row["x"] <= 1 < before_row["x"], "the row headers scrolled away: %s -> %s" % (before_row, after_row)
    assert after_col["y"] <= 1 < before_col["y"], "the column headers scrolled away: %s -> %s" % (before_col, after_col)
    styles = page.evaluate("""() => ['self', 'e'].map(c => {
        const s = getComputedStyle(document.querySelector('.legend .' + c));
        return s.backgroundImage + ' ' + s.backgroundColor; })""")
    assert styles[0] != styles[1] and "gradient" in styles[0], styles
    shot(page, "matrix-static.png")
