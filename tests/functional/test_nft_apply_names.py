# -*- coding: utf-8 -*-
"""nft_apply and the audit with name sets, and the check/diff of a hand edit, against real nftables
in a network namespace the test creates (Ansible's local connection runs there).

* The elements that DNS put into a name set survive a re-apply of a changed table (carried over
  in the same transaction), and are neither drift nor a change.
* ``--check --diff`` after a one-line hand edit shows a one-line difference: both sides are nft's
  own listing, not the generated text against the listing.
* The audit's normalisation ignores a name set's elements but not its declaration.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys

import pytest

from test_edge_names import GLOBAL_VARS, HOST_VARS, SCRIPT, SET
from test_nft_apply import Lab

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_audit import compare, normalise
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge


@pytest.fixture(scope="module")
def edge_table():
    return render_edge(_pipeline.run(GLOBAL_VARS, HOST_VARS).plan, "edge", table="vo_t")[0]


@pytest.fixture
def lab(netns, tmp_path):
    return Lab(netns, tmp_path)


def _changed_lines(diff: dict) -> list[str]:
    lines = difflib.unified_diff(diff["before"].splitlines(), diff["after"].splitlines(), lineterm="", n=0)
    return [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def _elements(lab: Lab) -> list[str]:
    data = json.loads(lab.nft("-j", "list", "set", "inet", "vo_t", SET).stdout)
    return sorted(e for item in data["nftables"] for e in (item.get("set") or {}).get("elem", []))


def test_dns_elements_survive_a_reapply_and_are_no_drift(lab, edge_table):
    first = lab.apply(edge_table)
    assert first["changed"] and not first.get("failed"), first
    assert _elements(lab) == []
    lab.nft("add", "element", "inet", "vo_t", SET, "{ 198.51.100.10, 198.51.100.11 }")  # what the DNS refresh does

    same = lab.apply(edge_table, "--diff")
    assert not same["changed"] and not same["drift"], same
    assert _elements(lab) == ["198.51.100.10", "198.51.100.11"]

    changed = edge_table.replace("udp dport 9944", "udp dport 9945")
    assert changed != edge_table
    reapplied = lab.apply(changed)
    assert reapplied["changed"] and not reapplied.get("failed"), reapplied
    assert "udp dport 9945" in lab.listing()
    assert _elements(lab) == ["198.51.100.10", "198.51.100.11"], "a re-apply must not empty the name sets"
    assert "198.51.100.10" not in reapplied["ruleset"], "the returned (persisted) table declares the set empty"
    assert not lab.apply(changed)["changed"]


def test_a_name_set_whose_declaration_changed_by_hand_is_drift(lab, edge_table):
    lab.apply(edge_table)
    lab.nft("add", "set", "inet", "vo_t", "name_spare_4", "{ type ipv4_addr; }")
    again = lab.apply(edge_table, "--check", "--diff")
    assert again["changed"] and again["drift"]
    # nft lists a blank line between two sets: which "}" and blank line difflib pairs is its choice
    assert sorted(_changed_lines(again["diff"])) == sorted(["-\tset name_spare_4 {", "-\t\ttype ipv4_addr", "-\t}", "-"])


def test_check_diff_of_a_one_line_hand_edit_is_one_line(lab, edge_table):
    lab.apply(edge_table)
    lab.nft("add", "rule", "inet", "vo_t", "managed_fwd", "tcp", "dport", "2222", "accept")
    checked = lab.apply(edge_table, "--check", "--diff")
    assert checked["changed"] and checked["drift"]
    assert _changed_lines(checked["diff"]) == ["-\t\ttcp dport 2222 accept"], checked["diff"]
    assert "changed outside voiceops.firewall" in checked["diff"]["before_header"]
    assert "dport 2222" in lab.listing(), "check mode changed nothing"


def test_check_diff_of_a_changed_plan_shows_only_what_changed(lab, edge_table):
    lab.apply(edge_table)
    checked = lab.apply(edge_table.replace("udp dport 9944", "udp dport 9945"), "--check", "--diff")
    assert checked["changed"] and not checked["drift"]
    changed = _changed_lines(checked["diff"])
    assert len(changed) == 4, changed
    assert all(("9944" in line) == line.startswith("-") and ("9945" in line) == line.startswith("+") for line in changed), changed


def test_the_audit_ignores_a_name_sets_elements_not_its_declaration(lab, edge_table):
    lab.apply(edge_table)
    desired = normalise(json.loads(lab.nft("-j", "list", "table", "inet", "vo_t").stdout))
    lab.nft("add", "element", "inet", "vo_t", SET, "{ 198.51.100.10 }")
    lab.nft("add", "element", "inet", "vo_t", "managed_ifs", '{ "x9" }')  # a set that is no name set
    live = normalise(json.loads(lab.nft("-j", "list", "table", "inet", "vo_t").stdout))
    drift = compare(desired, live)
    assert [(d["kind"], d["name"], d["status"]) for d in drift] == [("element", "managed_ifs", "extra")]
    lab.nft("flush", "chain", "inet", "vo_t", "fwd_internet__pbx")
    lab.nft("flush", "chain", "inet", "vo_t", "fwd_pbx__internet")
    lab.nft("delete", "set", "inet", "vo_t", SET)
    gone = compare(desired, normalise(json.loads(lab.nft("-j", "list", "table", "inet", "vo_t").stdout)))
    assert ("set", SET, "missing") in [(d["kind"], d["name"], d["status"]) for d in gone]


def test_refresh_after_apply_fills_what_apply_declared(lab, edge_table, tmp_path):
    """The DNS refresh script against a table nft_apply wrote: it finds the sets by their names."""
    lab.apply(edge_table)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"table": "vo_t", "sets": [{"set": SET, "fqdn": "localhost", "family": 4}]}))
    proc = subprocess.run(["ip", "netns", "exec", lab.ns, sys.executable, str(SCRIPT), str(config)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _elements(lab) == ["127.0.0.1"]
    assert not lab.apply(edge_table)["changed"]
