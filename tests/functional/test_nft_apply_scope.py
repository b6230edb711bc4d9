# -*- coding: utf-8 -*-
"""voiceops.firewall.nft_apply proves its scope by construction: rule sets that reach beyond the
collection's table are refused (the foreign table stays byte-identical, nothing of ours is
applied), the table option is checked in full, and a live table the collection did not write is
replaced only with adopt (or when it is the default table of earlier versions).

Real nft inside a network namespace that the test creates and removes; see test_nft_apply.py.
"""

from __future__ import annotations

import subprocess

import pytest

from test_nft_apply import RULESET, Lab

FOREIGN = (
    "table ip foreign {\n"
    "\tchain c {\n"
    "\t\ttype filter hook forward priority 10; policy accept;\n"
    "\t\ttcp dport 22 counter accept\n"
    "\t}\n"
    "}\n"
)
MARKER = 'comment "managed by voiceops.firewall"'


@pytest.fixture
def lab(netns, tmp_path):
    return Lab(netns, tmp_path)


ESCAPES = {
    "flush_foreign_chain": RULESET % 5061 + "flush chain ip foreign c\n",
    "add_foreign_rule": RULESET % 5061 + "add rule ip foreign c tcp dport 23 accept\n",
    "insert_foreign_rule": RULESET % 5061 + "insert rule ip foreign c tcp dport 23 accept\n",
    "delete_foreign_chain": RULESET % 5061 + "delete chain ip foreign c\n",
    "delete_after_semicolon": RULESET % 5061 + "table inet vo_t {}; delete table ip foreign\n",
    "flush_after_semicolon": RULESET % 5061 + "add table inet vo_t ; flush ruleset\n",
    "flush_at_line_start": ";flush ruleset\n" + RULESET % 5061,
    "flush_one_family": RULESET % 5061 + "flush ruleset ip\n",
}


def foreign_lab(lab: Lab) -> str:
    subprocess.run(["ip", "netns", "exec", lab.ns, "nft", "-f", "-"], input=FOREIGN, text=True, check=True)
    return lab.nft("list", "table", "ip", "foreign").stdout


@pytest.mark.parametrize("content", ESCAPES.values(), ids=ESCAPES.keys())
def test_content_reaching_beyond_our_table_is_refused(lab, content):
    foreign = foreign_lab(lab)
    assert lab.apply(RULESET % 5060)["changed"]
    ours = lab.listing()
    refused = lab.apply(content)
    assert refused.get("failed") and refused["msg"].startswith("content: "), refused
    assert "nothing was changed" in refused["msg"]
    assert lab.nft("list", "table", "ip", "foreign").stdout == foreign
    assert lab.listing() == ours


def test_content_creating_another_table_is_refused_by_name(lab):
    refused = lab.apply(RULESET % 5060 + "table ip extra {\n}\n")
    assert refused.get("failed") and "creates table ip extra besides inet vo_t" in refused["msg"], refused
    assert lab.listing() is None and lab.nft("list", "table", "ip", "extra", check=False).returncode != 0


def test_content_without_our_table_is_refused(lab):
    refused = lab.apply(RULESET.replace("vo_t", "vo_other") % 5060)
    assert refused.get("failed") and "creates table inet vo_other besides inet vo_t" in refused["msg"], refused
    empty = lab.apply("# nothing\n")
    assert empty.get("failed") and "does not define table inet vo_t" in empty["msg"], empty


def test_host_gets_the_marked_listing_and_the_foreign_table_survives(lab):
    foreign = foreign_lab(lab)
    applied = lab.apply((RULESET % 5060).replace("\tchain", '\tcomment "from the plan"\n\tchain', 1))
    live = lab.listing()
    assert live.startswith('table inet vo_t {\n\tcomment "managed by voiceops.firewall; from the plan"\n'), live
    assert applied["ruleset"] == "table inet vo_t\ndelete table inet vo_t\n" + live
    assert lab.nft("list", "table", "ip", "foreign").stdout == foreign


def test_table_name_with_a_trailing_newline_is_refused(lab):
    lab.apply(RULESET % 5060)
    before = lab.listing()
    refused = lab.apply("add rule inet vo_t forward tcp dport 23 accept\n", table="vo_t\n")
    assert refused.get("failed") and refused["msg"].startswith("table: 'vo_t\\n' is not a valid"), refused
    assert lab.listing() == before


def test_unmarked_table_is_replaced_only_with_adopt(lab):
    subprocess.run(["ip", "netns", "exec", lab.ns, "nft", "-f", "-"], check=True, text=True,
                   input="table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n"
                         "\t\ttcp dport 22 accept\n\t}\n}\n")
    theirs = lab.listing("filter")
    refused = lab.apply((RULESET % 5060).replace("vo_t", "filter"), table="filter")
    assert refused.get("failed") and "inet filter exists on this host without the comment" in refused["msg"], refused
    assert "adopt: true" in refused["msg"]
    assert lab.listing("filter") == theirs
    adopted = lab.apply((RULESET % 5060).replace("vo_t", "filter"), table="filter", adopt=True)
    assert adopted["changed"] and not adopted.get("failed"), adopted
    assert MARKER in lab.listing("filter")
    assert lab.apply((RULESET % 5061).replace("vo_t", "filter"), table="filter")["changed"]  # ours now


def test_unmarked_default_table_of_earlier_versions_is_replaced_and_marked(lab):
    subprocess.run(["ip", "netns", "exec", lab.ns, "nft", "-f", "-"], input=RULESET.replace("vo_t", "voiceops") % 5060,
                   text=True, check=True)
    first = lab.apply(RULESET.replace("vo_t", "voiceops") % 5060, table="voiceops")
    assert first["changed"] and MARKER in lab.listing("voiceops"), first
    assert not lab.apply(RULESET.replace("vo_t", "voiceops") % 5060, table="voiceops")["changed"]
