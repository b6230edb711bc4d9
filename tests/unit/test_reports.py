# -*- coding: utf-8 -*-
"""Port matrix and diagrams from the example plan: content, self-containment, and Graphviz's own parser."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _reports
from ansible_collections.voiceops.firewall.plugins.plugin_utils._views import ViewError

from conftest import REPO
from example_inventory import VIEWS, example_outcome
from golden_check import assert_files_match_golden

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "example"
PLAN = example_outcome().plan  # what the planner computes now, never tests/golden/example/plan.json
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def test_matrix_and_diagrams_are_the_golden_files():
    files = {"matrix.md": _reports.matrix_markdown(PLAN), "matrix.csv": _reports.matrix_csv(PLAN),
             "matrix.html": _reports.matrix_html(PLAN)}
    files.update(("diagrams/%s.dot" % item["name"], item["dot"]) for item in _reports.diagrams(PLAN, VIEWS))
    assert_files_match_golden(files, GOLDEN, keep=lambda name: name.startswith(("matrix.", "diagrams/")) and not name.endswith(".svg"))


def test_csv_rows_are_zone_pairs_by_protocol_with_merged_ports():
    rows = list(csv.DictReader(io.StringIO(_reports.matrix_csv(PLAN))))
    by_key = {(r["src_zone"], r["dst_zone"], r["protocol"]): r for r in rows}
    assert by_key[("pbx", "speech", "udp")]["ports"] == "1024-65535"  # speech02 keeps the vendor default
    assert by_key[("speech", "speech", "esp")]["ports"] == ""
    assert sum(int(r["flows"]) for r in rows) == len(PLAN["flows"])


def test_markdown_has_a_row_per_source_zone():
    text = _reports.matrix_markdown(PLAN)
    assert "| **pbx** |" in text and "udp 40000-40999" not in text  # merged with speech02's wider range
    assert "tcp 1024-65535<br>udp 1024-65535" in text  # W3WP and SESWorker ranges absorb SIP 5060-5061


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.attrs = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_is_self_contained():
    page = _reports.matrix_html(PLAN)
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert not [v for k, v in parser.attrs if k in ("src", "href")]
    assert parser.tags.count("th") > 20
    assert "239 flows" in page


def test_diagrams_cover_every_product_and_parse_with_graphviz(tmp_path):
    items = _reports.diagrams(PLAN, ["speechexec_mobile_service", "not_here"])
    assert [i["name"] for i in items] == ["estate", "product-microsoft_infrastructure", "product-ms_speech_server",
                                          "product-speechexec", "product-swyx", "product-voip_softphone",
                                          "view-speechexec_mobile_service"]
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("CI"):
            pytest.fail("graphviz (dot) is not installed; scripts/setup.sh installs it")
        pytest.skip("graphviz not installed")
    for item in items:
        proc = subprocess.run([dot, "-Tsvg"], input=item["dot"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (item["name"], proc.stderr)
        assert "<svg" in proc.stdout


def test_mobile_view_shows_only_flows_of_the_mobile_service():
    dot = _reports.diagram_dot(PLAN, component="speechexec_mobile_service")
    edges = [line for line in dot.splitlines() if " -> " in line]
    assert edges and all('"mob01"' in line for line in edges)


def test_errors_name_the_argument():
    with pytest.raises(ViewError, match="product 'nope' has no flows"):
        _reports.diagram_dot(PLAN, product="nope")
    with pytest.raises(ViewError, match="plan must be a plan"):
        _reports.diagram_dot([], product="nope")


# ---- diagrams that scale: zone colours, edge firewalls, tooltips, the overview's size ------------

DOT = shutil.which("dot")
# 1920x1080 pixels at the browser's 96 px per inch are 1440x810 pt (an SVG's width and height are in pt)
SCREEN_PT = (1440, 810)


def _need_dot() -> str:
    if DOT is None:
        if os.environ.get("CI"):
            pytest.fail("graphviz (dot) is not installed; scripts/setup.sh installs it")
        pytest.skip("graphviz not installed")
    return DOT


def _svg(dot_text: str) -> ET.Element:
    proc = subprocess.run([_need_dot(), "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
    return ET.fromstring(proc.stdout)


def _groups(svg: ET.Element, klass: str) -> dict[str, ET.Element]:
    """The SVG groups Graphviz draws for each node, cluster or edge, by the name in their <title>."""
    return {g.find(SVG + "title").text: g for g in svg.iter(SVG + "g") if g.get("class") == klass}


def _fill(group: ET.Element) -> str:
    return next(s.get("fill") for s in group.iter() if s.tag in (SVG + "path", SVG + "polygon") and s.get("fill") not in (None, "none"))


def _tooltips(group: ET.Element) -> list[str]:
    return [a.get(XLINK + "title") for a in group.iter(SVG + "a") if a.get(XLINK + "title")]


def _arrows(dot_text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in re.finditer(r'^  "([^"]+)" -> "([^"]+)" \[', dot_text, re.M)]


def _inventory_plan(inventory: Path) -> dict:
    """The plan of an inventory, from the variables ``ansible-inventory`` resolves for its hosts."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline

    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    tool = Path(sys.executable).parent / "ansible-inventory"
    proc = subprocess.run([str(tool), "-i", str(inventory), "--list"], capture_output=True, text=True, env=env, check=True)
    host_vars = json.loads(proc.stdout)["_meta"]["hostvars"]
    any_host = host_vars[sorted(host_vars)[0]]
    global_vars = {k: any_host[k] for k in _pipeline.GLOBAL_VARS if k in any_host}
    outcome = _pipeline.run(global_vars, {h: {k: v[k] for k in _pipeline.HOST_VARS if k in v} for h, v in host_vars.items()},
                            any_host.get("voiceops_catalog_paths") or [], any_host.get("voiceops_catalog_extra") or [])
    return outcome.plan


@pytest.fixture(scope="module")
def multisite():
    return _inventory_plan(REPO / "inventories" / "multisite")


@pytest.mark.parametrize("which", ["example", "multisite"])
def test_a_zone_has_one_colour_in_every_diagram(which, multisite):
    plan = PLAN if which == "example" else multisite
    colours = _reports.zone_colours(plan)
    assert sorted(colours) == sorted(plan["zones"])
    assert len(set(colours.values())) == len(colours)  # both examples have fewer zones than the palette has colours
    seen: dict[str, set[str]] = {}
    for item in _reports.diagrams(plan, VIEWS):
        svg = _svg(item["dot"])
        if item["name"] == "estate":  # a node per zone
            drawn = {name: _fill(g) for name, g in _groups(svg, "node").items() if name in colours}
        else:  # a box per zone around its hosts
            drawn = {name[len("cluster_"):]: _fill(g) for name, g in _groups(svg, "cluster").items()}
        assert drawn, item["name"]
        for zone, fill in drawn.items():
            seen.setdefault(zone, set()).add(fill)
    assert seen == {zone: {colours[zone]} for zone in seen}
    assert set(seen) == set(colours)  # every zone is drawn somewhere, always in its colour


def test_zone_colours_do_not_depend_on_the_order_of_the_plan():
    shuffled = dict(PLAN, zones=dict(reversed(list(PLAN["zones"].items()))))
    assert _reports.zone_colours(shuffled) == _reports.zone_colours(PLAN)
    assert _reports.zone_diagram_dot(shuffled) == _reports.zone_diagram_dot(PLAN)


def test_edge_firewalls_stand_between_the_zones_they_join(multisite):
    dot_text = _reports.zone_diagram_dot(multisite)
    arrows = _arrows(dot_text)
    svg_nodes = _groups(_svg(dot_text), "node")
    for edge, info in multisite["edges"].items():
        node = "edge:" + edge
        assert node in svg_nodes and len(next(svg_nodes[node].iter(SVG + "polygon")).get("points").split()) == 7  # a hexagon
        touching = {b if a == node else a for a, b in arrows if node in (a, b)}
        assert touching and touching <= set(info["zones"]), (edge, touching)
        assert all(node not in (a, b) or not (a.startswith("edge:") and b.startswith("edge:")) for a, b in arrows)
    # branch A's users reach WebAccess at head office: out through edge02 into the WAN, in through edge01
    for hop in (("branch_a", "edge:edge02"), ("edge:edge02", "wan"), ("wan", "edge:edge01"), ("edge:edge01", "speechexec")):
        assert hop in arrows, hop
    assert ("branch_a", "speechexec") not in arrows  # no arrow around the firewalls
    # each site's own zones are boxed with its edge
    clusters = re.findall(r'subgraph "cluster_site_(edge\d+)" \{\n(.*?)\n  \}', dot_text, re.S)
    boxed = {edge: set(re.findall(r'^    "([^"]+)" \[', body, re.M)) for edge, body in clusters}
    assert boxed["edge02"] == {"branch_a", "edge:edge02"}
    assert boxed["edge03"] == {"branch_b", "branch_b_pbx", "edge:edge03"}


def test_flows_no_edge_enforces_are_drawn_apart():
    dot_text = _reports.zone_diagram_dot(PLAN)
    unenforced = {(u["src_zone"], u["dst_zone"]) for u in PLAN["unenforced"] if u["src_zone"] != u["dst_zone"]}
    assert unenforced
    for src, dst in unenforced:
        line = next(x for x in dot_text.splitlines() if x.startswith('  "%s" -> "%s" [' % (src, dst)))
        assert "style=dashed" in line and "not through any edge firewall" in line


def test_a_shortened_label_lists_everything_in_its_tooltip():
    checked = 0
    for item in _reports.diagrams(PLAN, VIEWS)[1:]:
        kind, what = item["name"].split("-", 1)
        drawn = [f for f in PLAN["flows"] if (f["product"] == what if kind == "product" else what in (f["src"]["component"], f["dst"]["component"]))]
        for name, group in _groups(_svg(item["dot"]), "edge").items():
            label = " ".join(t.text or "" for t in group.iter(SVG + "text"))
            if "more" not in label:
                continue
            ends = set(name.split("->"))  # an arrow with two heads carries both directions
            pair = [f for f in drawn if {f["src"]["name"], f["dst"]["name"]} == ends]
            hidden = int(re.search(r"\+(\d+) more", label).group(1))
            tips = _tooltips(group)
            assert len(tips) == 2 and tips[0] == tips[1]  # the arrow and its label say the same
            sections = re.split(r"\n(?=\S+ -> \S+: \d+ flows?)", tips[0])
            for section in sections:
                head, *lines = section.split("\n")
                src, dst = re.match(r"(\S+) -> (\S+): ", head).groups()
                flows = [f for f in pair if (f["src"]["name"], f["dst"]["name"]) == (src, dst)]
                assert head.startswith("%s -> %s: %d flow" % (src, dst, len(flows)))
                assert len(lines) == len({f["service"] for f in flows})  # one line per service
                for flow in flows:
                    line = next(x for x in lines if x.startswith(flow["service"] + " "))
                    assert "%s/%s" % (flow["protocol"], ",".join(flow["ports"])) in line or not flow["ports"]
                    assert flow["citation"]["doc"] in line
            assert len({f["service"] for f in pair}) > hidden
            assert sum(len(section.split("\n")) - 1 for section in sections) >= len({f["service"] for f in pair})
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("which", ["example", "multisite"])
def test_the_overview_fits_a_full_hd_screen(which, multisite):
    plan = PLAN if which == "example" else multisite
    dot_text = _reports.zone_diagram_dot(plan)
    assert not re.search(r"[ ,\[](size|ratio)=", dot_text)  # drawn at its natural size, not shrunk to fit
    svg = _svg(dot_text)
    nodes = _groups(svg, "node")
    assert sorted(n for n in nodes if not n.startswith("edge:")) == sorted(plan["zones"])  # one node per zone
    assert sorted(n[len("edge:"):] for n in nodes if n.startswith("edge:")) == sorted(plan["edges"])
    width, height = (float(svg.get(k).rstrip("pt")) for k in ("width", "height"))
    assert width <= SCREEN_PT[0] and height <= SCREEN_PT[1], (width, height)
    for name, group in nodes.items():  # each zone's tooltip names its hosts
        if name in plan["zones"]:
            hosts = sorted(n for n, i in plan["instances"].items() if i["zone"] == name)
            assert "hosts: " + (", ".join(hosts) or "none") in _tooltips(group)[0]


def test_the_overview_draws_sites_when_there_are_many_zones(multisite):
    sites = _reports.sites(multisite)
    assert sites == {"branch_a": "edge02", "branch_b": "edge03", "branch_b_pbx": "edge03", "clients": "edge01", "infra": "edge01",
                     "mgmt": "edge01", "pbx": "edge01", "speech": "edge01", "speechexec": "edge01"}
    dot_text = _reports.zone_diagram_dot(multisite, max_zones=5)
    svg = _svg(dot_text)
    assert sorted(_groups(svg, "node")) == ["internet", "site:edge01", "site:edge02", "site:edge03", "wan"]
    arrows = _arrows(dot_text)
    assert ("site:edge02", "wan") in arrows and ("wan", "site:edge01") in arrows
    assert _reports.zone_diagram_dot(multisite, max_zones=11) == _reports.zone_diagram_dot(multisite)  # 11 zones: one node each
    with pytest.raises(ViewError, match="max_zones must be a whole number of at least 1, got '5'"):
        _reports.zone_diagram_dot(multisite, max_zones="5")


HOSTILE = 'x" shape=star, fillcolor="red"]; evil [label="pwned'


def test_hostile_names_stay_names(tmp_path):
    # the schema refuses such names in an inventory (_schema.ZONE_NAME, INSTANCE_NAME); the diagrams must not rely on it
    zone = HOSTILE + " \\N\\G\\"
    host = "<script>" + HOSTILE + "\\"  # (names are not HTML: Graphviz reads an entity in a name as one)
    text = json.dumps(PLAN)
    for old, new in (("dmz", zone), ("mob01", host)):
        text = text.replace(json.dumps(old), json.dumps(new))
    plan = json.loads(text)
    plan["zones"][zone]["description"] = 'a "quoted" &amp; \\l description \\'
    items = _reports.diagrams(plan, VIEWS)
    for item in items:
        proc = subprocess.run([_need_dot(), "-Tsvg"], input=item["dot"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (item["name"], proc.stderr)
        names = [g.find(SVG + "title").text for g in ET.fromstring(proc.stdout).iter(SVG + "g") if g.find(SVG + "title") is not None]
        assert "<script" not in proc.stdout and "evil" not in names and 'fill="red"' not in proc.stdout, item["name"]
        assert proc.stdout.count('class="node"') == len(set(re.findall(r'^ *("(?:[^"\\]|\\.)*") \[label=', item["dot"], re.M)))
    svg = _svg(_reports.zone_diagram_dot(plan))
    nodes = _groups(svg, "node")
    # the name is the node's name (a DOT name cannot end in a backslash: _dot_id adds a space)
    assert zone + " " in nodes and len(nodes) == len(plan["zones"]) + len(plan["edges"])
    group = nodes[zone + " "]
    assert [t.text for t in group.iter(SVG + "text")][0] == zone  # its label shows it as it is, backslashes and all
    assert _tooltips(group)[0].startswith(zone + ': a "quoted" &amp; \\l description \\\nnetworks: ')
    view = _svg(_reports.diagram_dot(plan, component="speechexec_mobile_service"))
    assert host + " " in _groups(view, "node") and "cluster_" + zone + " " in _groups(view, "cluster")
    group = _groups(view, "node")[host + " "]
    assert [t.text for t in group.iter(SVG + "text")][0] == host
    assert _tooltips(group)[0].startswith(host + "\nzone: " + zone + "\ncomponents: speechexec_mobile_service")
