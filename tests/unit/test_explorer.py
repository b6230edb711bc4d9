# -*- coding: utf-8 -*-
"""explorer.html's data builder (``_explorer.py``): what the page's data says about the example
plan, deterministic bytes, and names that try to break out of the page's script element.

What a person sees in the page is tested in a browser: tests/functional/test_explorer_browser.py.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _explorer, _nft

from example_inventory import example_outcome

OUTCOME = example_outcome(render=True)
FILES = OUTCOME.files
PLAN = OUTCOME.plan
HOSTILE = '</script><script>window.pwned=1</script><!-- <img src=x onerror="window.pwned=2"> & \u2028\u2029 "\\'


def blob(page: str) -> str:
    """The text of the page's data element."""
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert match, "no data element"
    return match.group(1)


def data_of(page: str) -> dict:
    return json.loads(blob(page))


def s(data: dict, index: int) -> str | None:
    return None if index < 0 else data["s"][index]


def test_the_plan_step_writes_the_page_and_the_same_bytes_again():
    page = _explorer.explorer_html(PLAN, OUTCOME.findings, FILES)
    assert FILES["explorer.html"] == page
    again = example_outcome(render=True).files["explorer.html"]
    assert again.encode("utf-8") == page.encode("utf-8")


def test_the_page_is_self_contained():
    page = FILES["explorer.html"]
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert not re.search(r"(?i)\b(src|href)\s*=\s*[\"']?(https?:|//)", page), "a reference to the network"
    assert "@import" not in page and "url(" not in page
    assert re.search(r"Content-Security-Policy\" content=\"default-src 'none'", page)


def test_every_flow_is_in_the_data_with_its_ends_ports_and_citation():
    data = data_of(FILES["explorer.html"])
    flows = PLAN["flows"]
    assert len(data["flows"]) == 4 * len(flows)
    hosts = [s(data, h[0]) for h in data["hosts"]]
    for i, flow in enumerate(flows):
        src, dst, kind, enforcers = data["flows"][4 * i:4 * i + 4]
        k = [s(data, x) for x in data["kinds"][kind]]
        assert (hosts[src], hosts[dst]) == (flow["src"]["name"], flow["dst"]["name"])
        assert k[0] == flow["entry"] and k[1] == flow["src"]["component"] and k[2] == flow["dst"]["component"]
        assert k[3] == flow["protocol"] and k[4] == (",".join(flow["ports"]) or None) and k[5] == flow["service"]
        assert k[6] == flow["purpose"] and k[7] == flow["citation"]["title"] and k[8] == flow["citation"]["section"]
        assert k[9] == flow["citation"]["doc"] and k[10] == flow["product"] and k[11] == flow["program"]
        points = [s(data, e) for e in data["enforcers"][enforcers // 4]]
        points += [name for bit, name in ((1, hosts[src]), (2, hosts[dst])) if enforcers & bit]
        assert sorted(points) == sorted(flow["enforced_by"])
    assert len(data["kinds"]) < len(flows)  # flows of one entry share their text


def edge_ends(files: dict) -> tuple[set, set]:
    """(flow, end) of the ends the edges' reports match by name, and of those they enforce as a zone."""
    by_name, zone_wide = set(), set()
    for name, text in files.items():
        if name.startswith("edge/") and name.endswith(".json"):
            report = json.loads(text)
            by_name |= {(b["flow"], b["end"]) for b in report["by_name"]}
            zone_wide |= {(z["flow"], z["end"]) for z in report["zone_wide"]}
    return by_name, zone_wide


def cells_of(data: dict) -> dict:
    zones = [s(data, z[0]) for z in data["zones"]]
    return {(zones[c[0]], zones[c[1]]): c for c in data["cells"]}


def assert_cells_tell_by_name_from_any_address(plan: dict, data: dict, files: dict) -> None:
    """Each cell counts its flows, its ends, the flows with an end that is any address (0.0.0.0/0, or a
    name that an edge enforces as its zone or none matches by name) and the others with an end matched by name."""
    by_name, zone_wide = edge_ends(files)

    def how(flow, side):
        addresses = flow[side]["addresses"]
        if {"0.0.0.0/0", "::/0"} & set(addresses):
            return "any"
        if addresses:
            return None
        return "name" if (flow["id"], side) in by_name and (flow["id"], side) not in zone_wide else "any"

    cells = cells_of(data)
    for (src, dst), cell in cells.items():
        flows = [f for f in plan["flows"] if (f["src_zone"], f["dst_zone"]) == (src, dst)]
        assert cell[2] == len(flows)
        assert cell[3] == len({f["src"]["name"] for f in flows}) and cell[4] == len({f["dst"]["name"] for f in flows})
        ends = [{how(f, "src"), how(f, "dst")} for f in flows]
        assert cell[5] == sum(1 for e in ends if "any" in e), (src, dst)
        assert cell[8] == sum(1 for e in ends if "name" in e and "any" not in e), (src, dst)
    assert sum(c[2] for c in cells.values()) == len(plan["flows"])


def test_cells_count_flows_and_ends_and_tell_ends_matched_by_name_from_any_address():
    data = data_of(FILES["explorer.html"])
    assert_cells_tell_by_name_from_any_address(PLAN, data, FILES)
    cells = cells_of(data)
    assert any(c[5] for c in cells.values()) and any(c[8] for c in cells.values()) and any(c[2] and not c[5] + c[8] for c in cells.values())
    hosted = [f for f in PLAN["flows"] if f["dst"]["fqdn"] and not f["dst"]["addresses"]]
    assert hosted, "the example has ends known only by name"
    vpn_in = next(f for f in PLAN["flows"] if f["src"]["fqdn"] == "acme.telovip.de" and not f["src"]["addresses"] and f["enforced_by"])
    assert (vpn_in["src_zone"], vpn_in["dst_zone"]) == ("internet", "pbx")
    assert cells[("internet", "pbx")][8] >= 1 and cells[("internet", "pbx")][5] == 0  # the edge matches acme.telovip.de by name


def test_every_end_the_edge_matches_by_name_is_in_the_data_with_its_set():
    data = data_of(FILES["explorer.html"])
    ids = [f["id"] for f in PLAN["flows"]]
    (edge,) = data["edges"]
    report = json.loads(FILES["edge/edge01.json"])
    assert any(b["fqdn"] == "acme.telovip.de" for b in report["by_name"]) and not report["zone_wide"]
    assert [(ids[b[0]], s(data, b[1]), s(data, b[2]), s(data, b[3]), [s(data, x) for x in b[4]]) for b in edge[9]] == \
        [(b["flow"], b["end"], b["fqdn"], b["enforced_as"], b["sets"]) for b in report["by_name"]]
    assert [(s(data, n[0]), s(data, n[1]), n[2]) for n in edge[10]] == [(n["set"], n["fqdn"], n["family"]) for n in report["name_sets"]]
    assert ("name_acme_telovip_de_4", "acme.telovip.de", 4) in [(s(data, n[0]), s(data, n[1]), n[2]) for n in edge[10]]

    def end(match):
        return None if match is None else (match["set"], match["fqdn"]) if "set" in match else (", ".join(match["networks"]), None)
    assert [(s(data, r[0]), s(data, r[1]), r[2], (s(data, r[3][0]), s(data, r[3][1])), (s(data, r[4][0]), s(data, r[4][1])) if r[4][0] >= 0 else None,
             s(data, r[5]), [ids[i] for i in r[6]]) for r in edge[11]] == \
        [(r["chain"], r["protocol"], r["version"], end(r["src"]), end(r.get("dst")), ",".join(r["ports"]) if r.get("ports") else None, r["flows"])
         for r in report["name_rules"]]
    assert edge[12] == [] and s(data, edge[13]) == "name"  # the example's edge logs no drops and matches names


def test_an_edge_that_enforces_names_as_their_zone_shows_them_as_any_address_and_its_drop_logging():
    plan = copy.deepcopy(PLAN)
    plan["edges"]["edge01"]["fqdn_ends"] = "zone"
    plan["edges"]["edge01"]["log_drops"] = {"rate": "10/minute", "burst": 5}
    _text, report = _nft.render_edge(plan, "edge01")
    assert report.zone_wide and not report.by_name and not report.name_sets
    files = dict(FILES, **{"edge/edge01.json": json.dumps(report.as_dict())})
    data = data_of(_explorer.explorer_html(plan, OUTCOME.findings, files))
    assert_cells_tell_by_name_from_any_address(plan, data, files)
    cells = cells_of(data)
    assert not any(c[8] for c in cells.values()) and cells[("internet", "pbx")][5] >= 1
    ids = [f["id"] for f in plan["flows"]]
    (edge,) = data["edges"]
    assert [(ids[z[0]], s(data, z[1]), s(data, z[2]), s(data, z[3])) for z in edge[4]] == \
        [(z["flow"], z["end"], z["fqdn"], z["enforced_as"]) for z in report.zone_wide]
    assert all(s(data, z[3]).startswith("zone ") for z in edge[4]) and edge[9] == edge[10] == edge[11] == []
    assert [s(data, x) for x in edge[12]] == ["10/minute", "5", "voiceops drop <src>><dst> ", "voiceops drop-in <zone> "]
    assert s(data, edge[13]) == "zone"


def test_findings_point_at_their_flows_and_a_cell_shows_the_worst_open_one():
    data = data_of(FILES["explorer.html"])
    ids = [f["id"] for f in PLAN["flows"]]
    for row, finding in zip(data["findings"], OUTCOME.findings):
        assert s(data, row[0]) == finding["id"] and s(data, row[1]) == finding["severity"]
        assert s(data, row[5]) == finding.get("accepted")
        assert (ids[row[6]] if row[6] >= 0 else None) == finding["flow"]
    zones = [s(data, z[0]) for z in data["zones"]]
    cells = {(zones[c[0]], zones[c[1]]): c for c in data["cells"]}
    worst: dict[tuple[str, str], int] = {}
    for finding in OUTCOME.findings:
        if finding["flow"] and not finding.get("accepted"):
            flow = PLAN["flows"][ids.index(finding["flow"])]
            pair = (flow["src_zone"], flow["dst_zone"])
            worst[pair] = max(worst.get(pair, -1), ["info", "low", "medium", "high", "critical"].index(finding["severity"]))
    assert worst, "the example has open findings about flows"
    assert {pair: c[7] for pair, c in cells.items() if c[7] >= 0} == worst


def test_edges_and_windows_rules_come_from_the_targets_files():
    data = data_of(FILES["explorer.html"])
    ids = [f["id"] for f in PLAN["flows"]]
    (edge,) = data["edges"]
    report = json.loads(FILES["edge/edge01.json"])
    assert s(data, edge[0]) == "edge01" and edge[2] == report["counts"] and s(data, edge[8]) == "edge/edge01.nft"
    assert [(s(data, name), len(elements)) for name, elements in edge[3]] == [(n, len(e)) for n, e in sorted(report["trace"].items())]
    assert [ids[i] for i in edge[6]] == report["forward_flows"]
    hosts = [s(data, h[0]) for h in data["hosts"]]
    windows = {hosts[w[0]]: w for w in data["windows"]}
    assert sorted(windows) == sorted(n[len("windows/"):-len(".json")] for n in FILES if n.startswith("windows/") and n.endswith(".json"))
    rules = json.loads(FILES["windows/dc01.json"])["rules"]
    assert [s(data, r[0]) for r in windows["dc01"][2]] == [r["display_name"] for r in rules]
    assert [[ids[i] for i in r[8]] for r in windows["dc01"][2]] == [_explorer.rule_flows(r) for r in rules]


def test_the_page_links_every_diagram_of_the_file_list_and_nothing_else():
    data = data_of(FILES["explorer.html"])
    dots = sorted(n for n in FILES if n.startswith("diagrams/") and n.endswith(".dot"))
    assert dots and data["diagrams"] == [n[:-len(".dot")] + ".svg" for n in dots]
    more = dict(FILES, **{"diagrams/overview.dot": "digraph {}", "diagrams/estate.svg": "<svg/>", "matrix.md": ""})
    assert _explorer.diagram_links(more) == sorted(set(data["diagrams"]) | {"diagrams/overview.svg"})
    assert data_of(_explorer.explorer_html(PLAN, OUTCOME.findings, {}))["diagrams"] == []


@pytest.mark.parametrize("text", [HOSTILE, "</SCRIPT >", "<!--<script>", "\u2028", "a&amp;b"])
def test_script_json_cannot_end_the_script_element(text):
    out = _explorer.script_json({"k": [text]})
    assert "<" not in out and ">" not in out and "&" not in out and "\u2028" not in out and "\u2029" not in out
    assert json.loads(out) == {"k": [text]}


def test_hostile_text_in_the_plan_stays_data():
    plan = copy.deepcopy(PLAN)
    flow = plan["flows"][0]
    flow["purpose"] = HOSTILE
    flow["citation"]["title"] = HOSTILE
    plan["instances"][flow["dst"]["name"]]["fqdn"] = HOSTILE
    plan["warnings"] = [HOSTILE]
    plan["edges"]["edge01"]["log_drops"] = {"rate": HOSTILE, "burst": HOSTILE}
    findings = copy.deepcopy(OUTCOME.findings)
    findings[0]["message"] = HOSTILE
    page = _explorer.explorer_html(plan, findings, FILES)
    assert page.count("<script") == 2 and page.count("</script") == 2 and "<!--" not in page and "<img" not in page
    data = data_of(page)
    assert HOSTILE in data["s"]
    k = data["kinds"][data["flows"][2]]
    assert data["s"][k[6]] == HOSTILE and data["s"][k[7]] == HOSTILE


def test_natural_order_of_zones_and_hosts():
    names = ["r10", "r2", "r1", "r01", "a", "r1b"]
    assert sorted(names, key=_explorer.natural) == ["a", "r01", "r1", "r1b", "r2", "r10"]


def test_page_json_is_the_data_one_item_per_line():
    data = _explorer.explorer_data(PLAN, OUTCOME.findings, FILES)
    text = _explorer.page_json(data)
    assert json.loads(text) == data
    lines = text.split("\n")
    assert len(lines) > len(PLAN["flows"]) + len(data["s"])
    assert "[%d,%d,%d,%d]" % tuple(data["flows"][:4]) == "[" + lines[lines.index('"flows":[') + 1].rstrip(",") + "]"
    assert _explorer.page_json({"a": [], "b": ["</script>"]}) == '{\n"a":[],\n"b":[\n"\\u003c/script\\u003e"\n]\n}'


def outcome_with(role_vars: dict) -> object:
    """The example planned and rendered as ``example_outcome`` does, with some Windows hosts' role
    variables (``windows_firewall_*``) set: the plan action passes them to the planner and the target."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline
    from example_inventory import INVENTORY, VIEWS, example_vars

    global_vars: dict = {}
    for path in sorted((INVENTORY / "group_vars" / "all").glob("*.yml")):
        global_vars.update(yaml.safe_load(path.read_text()) or {})
    host_vars = example_vars()[1]
    roles = {h: {k: hv[k] for k in _pipeline.ROLE_VARS if k in hv} for h, hv in host_vars.items()}
    for host, extra in role_vars.items():
        roles[host].update(extra)
    return _pipeline.run({k: copy.deepcopy(global_vars[k]) for k in _pipeline.GLOBAL_VARS if k in global_vars},
                         {h: {k: hv[k] for k in _pipeline.HOST_VARS if k in hv} for h, hv in host_vars.items()},
                         render=True, diagrams=False, views=VIEWS, role_vars=roles)


def slive_outbound(fqdn_remote: str):
    """slive01 blocking outbound traffic, so that its own firewall enforces its flow to SpeechLive's
    cloud, an end known only by name: the outcome, that flow, and the page's data."""
    outcome = outcome_with({"slive01": {"windows_firewall_outbound_default": "block", "windows_firewall_fqdn_remote": fqdn_remote}})
    flow = next(f for f in outcome.plan["flows"] if f["src"]["name"] == "slive01" and not f["dst"]["addresses"])
    assert flow["dst"]["fqdn"] == "livebroker.speechexec.com" and "slive01" in flow["enforced_by"]
    return outcome, flow, data_of(outcome.files["explorer.html"])


def windows_name_ends(data: dict, host: str) -> list:
    hosts = [s(data, h[0]) for h in data["hosts"]]
    (entry,) = [w for w in data["windows"] if hosts[w[0]] == host]
    return entry[5]


def test_the_example_has_no_windows_host_that_enforces_a_name():
    data = data_of(FILES["explorer.html"])
    assert all(w[5] == [] for w in data["windows"]) and len(data["windows"]) == 12
    assert not any("## Ends known only by name" in text for name, text in FILES.items() if name.startswith("windows/"))


@pytest.mark.parametrize("fqdn_remote, mode, addresses", [("any", 0, None), ("skip", 1, None),
                                                          ("resolve", 2, "192.0.2.10, 2001:db8::10")])
def test_a_windows_host_that_enforces_an_end_known_only_by_name_shows_its_fqdn_remote(monkeypatch, fqdn_remote, mode, addresses):
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows

    asked = []
    monkeypatch.setattr(_windows, "resolve_name", lambda fqdn: asked.append(fqdn) or ["192.0.2.10", "2001:db8::10"])
    outcome, flow, data = slive_outbound(fqdn_remote)
    ids = [f["id"] for f in outcome.plan["flows"]]
    assert asked == (["livebroker.speechexec.com"] if fqdn_remote == "resolve" else [])
    # one row per name end, read from what the target wrote (windows/slive01.json's name_ends)
    assert [(ids[r[0]], r[1], r[2], s(data, r[3])) for r in windows_name_ends(data, "slive01")] == [(flow["id"], 1, mode, addresses)]
    written = json.loads(outcome.files["windows/slive01.json"])["name_ends"]
    assert [(r["flow"], r["mode"]) for r in written] == [(flow["id"], fqdn_remote)]
    table = outcome.files["windows/slive01.md"].split("## Ends known only by name", 1)[1]  # the review table says the same
    assert {"any": "any address (name livebroker.speechexec.com not enforced)", "skip": "skipped (no rule)",
            "resolve": "resolved at plan time: 192.0.2.10, 2001:db8::10"}[fqdn_remote] in table
    rules = json.loads(outcome.files["windows/slive01.json"])["rules"]
    carried = [r["remote_addresses"] for r in rules if flow["id"] in _explorer.rule_flows(r)]
    assert carried == {"any": [["Any"]], "skip": [], "resolve": [["192.0.2.10", "2001:db8::10"]]}[fqdn_remote]
    assert all(w[5] == [] for w in data["windows"] if s(data, data["hosts"][w[0]][0]) != "slive01")
    # the edge matches the name by its DNS set whatever the host does: the cell says by name
    assert_cells_tell_by_name_from_any_address(outcome.plan, data, outcome.files)


@pytest.mark.parametrize("fqdn_remote, cell_any, cell_name", [("any", 1, 0), ("skip", 0, 0), ("resolve", 0, 1)])
def test_with_no_edge_report_the_windows_host_decides_the_cell(monkeypatch, fqdn_remote, cell_any, cell_name):
    """Without the edge's report only slive01 enforces the name: any address is orange, addresses resolved
    at plan time count as by name, no rule as neither (counted against the same page with the host's
    table taken away, where the end counts as any address: no managed firewall matches it by name)."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows

    monkeypatch.setattr(_windows, "resolve_name", lambda fqdn: ["192.0.2.10"])
    outcome, flow, _data = slive_outbound(fqdn_remote)
    files = {k: v for k, v in outcome.files.items() if not k.startswith("edge/")}
    without = {k: v for k, v in json.loads(outcome.files["windows/slive01.json"]).items() if k != "name_ends"}
    bare = dict(files, **{"windows/slive01.json": json.dumps(without)})
    pair = (flow["src_zone"], flow["dst_zone"])
    cell = cells_of(data_of(_explorer.explorer_html(outcome.plan, outcome.findings, files)))[pair]
    base = cells_of(data_of(_explorer.explorer_html(outcome.plan, outcome.findings, bare)))[pair]
    assert (base[5] - cell[5], cell[8] - base[8]) == (1 - cell_any, cell_name)


def test_a_windows_mode_the_page_does_not_know_is_shown_in_the_targets_own_words():
    flows = [{"id": "f1", "src": {"name": "x"}, "dst": {"name": "h"}}, {"id": "f2", "src": {"name": "h"}, "dst": {"name": "z"}},
             {"id": "f3", "src": {"name": "y"}, "dst": {"name": "h"}}]
    rows = [{"flow": "f1", "mode": "any", "addresses": [], "enforced_as": "any address (name x.example not enforced)"},
            {"flow": "f2", "mode": "tomorrow", "addresses": [], "enforced_as": "something new"},
            {"flow": "f3", "mode": "resolve", "addresses": ["192.0.2.1", "2001:db8::1"], "enforced_as": "resolved at plan time: ..."},
            {"flow": "gone", "mode": "skip", "addresses": [], "enforced_as": "skipped (no rule)"}]
    files = {"windows/h.json": json.dumps({"name_ends": rows})}
    index = {f["id"]: i for i, f in enumerate(flows)}
    assert _explorer._host_name_ends(files, "h", flows, index) == [
        (0, 0, 0, ""), (1, 1, -1, "something new"), (2, 0, 2, "192.0.2.1, 2001:db8::1")]
    assert _explorer._host_name_ends({}, "h", flows, index) == []


def test_an_end_no_edge_lists_counts_by_the_windows_modes():
    match = _explorer._end_match
    assert match(False, [], None, ()) == "any"  # nothing enforces the name
    assert match(False, [], None, [0]) == "any" and match(False, [], None, [0, 2]) == "any"
    assert match(False, [], None, [2, 1]) == "name" and match(False, [], None, [1, 1]) is None
    assert match(False, [], None, [-1]) == "any"  # a text this page does not know is not taken as narrower
    assert match(False, [], "name", [0]) == "name" and match(False, [], "zone", [2]) == "any"  # an edge that lists it decides
    assert match(True, ["0.0.0.0/0"], None, [2]) == "any" and match(False, ["192.0.2.1"], None, [0]) is None
