# -*- coding: utf-8 -*-
"""Port matrix and diagrams from the example plan: content, self-containment, and Graphviz's own parser."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _reports
from ansible_collections.voiceops.firewall.plugins.plugin_utils._views import ViewError

from example_inventory import VIEWS, example_outcome
from golden_check import assert_files_match_golden

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "example"
PLAN = example_outcome().plan  # what the planner computes now, never tests/golden/example/plan.json


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
    assert "245 flows" in page


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
