# -*- coding: utf-8 -*-
"""The multi-site example (inventories/multisite): planned for real, and enforced for real.

- its output is pinned by golden files (tests/golden/multisite). On a difference the test shows a
  unified diff, writes ``<golden file>.actual`` beside the golden file and names the command that
  accepts it after review (tests/golden_check.py); it never rewrites a golden file. A new output
  file gets a ``.actual`` with no golden file beside it: review it and copy it the same way.
- a second run changes nothing, and every edge's rule set passes ``nft -c``;
- a flow from a branch to head office is in both edges' rule sets, and nothing is unenforced;
- a lab of two edge namespaces in series (branch B's edge03, then head office's edge01, joined by
  the wan link; tests/edge_lab/multisite_lab.yml) loads each edge's rendered rule set with a real
  ``nft -f`` and sends real traffic: every planned TCP/UDP flow that crosses both edges passes,
  every must-drop probe is dropped by the FIRST edge on its way (its default-deny counter grows,
  the other edge's does not), a SIPp call crosses both edges, and ``explain``'s per-edge verdicts
  agree with real packets on random flows.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, need_root_and_nft
from golden_check import assert_files_match_golden, read_outputs
from test_plan_playbook import playbook

sys.path.insert(0, str(REPO / "tests" / "edge_lab"))
import multisite_lab  # noqa: E402  pylint: disable=wrong-import-position
import probes  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explain import explain  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = REPO / "inventories" / "multisite"
GOLDEN = REPO / "tests" / "golden" / "multisite"
EDGES = ("edge01", "edge02", "edge03")
LAB_TOPOLOGY = REPO / "tests" / "edge_lab" / "multisite_lab.yml"


def _outputs(root: Path) -> list[str]:
    """Every file the plan writes, except the SVG drawings (graphviz's version shows in them)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix != ".svg")


@pytest.fixture(scope="module")
def multisite_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("multisite") / "out"
    first = playbook(INVENTORY, out)
    assert first.returncode == 0, first.stdout + first.stderr
    return out, first


@pytest.fixture(scope="module")
def plan(multisite_run):
    return json.loads((multisite_run[0] / "plan.json").read_text())


def test_plan_matches_golden_files(multisite_run):
    out = multisite_run[0]
    # every file against tests/golden/multisite, and no golden file (but the SVG drawings) without a file
    assert_files_match_golden(read_outputs(out, _outputs(out)), GOLDEN, keep=lambda name: not name.endswith(".svg"))


def test_second_run_is_identical_and_changes_nothing(multisite_run):
    out, first = multisite_run
    before = {name: (out / name).read_bytes() for name in _outputs(out)}
    second = playbook(INVENTORY, out)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed=0" in second.stdout and "changed=0" not in first.stdout
    assert {name: (out / name).read_bytes() for name in _outputs(out)} == before


@pytest.mark.parametrize("edge", EDGES)
def test_each_edge_rule_set_passes_nft_check(multisite_run, netns, edge):
    result = subprocess.run(["ip", "netns", "exec", netns, "nft", "-c", "-f", str(multisite_run[0] / "edge" / ("%s.nft" % edge))],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_branch_flows_to_head_office_are_enforced_by_both_edges(multisite_run, plan):
    out = multisite_run[0]
    text = {edge: (out / "edge" / ("%s.nft" % edge)).read_text() for edge in EDGES}
    report = {edge: json.loads((out / "edge" / ("%s.json" % edge)).read_text()) for edge in EDGES}
    # branch A -> WebAccess, branch B -> AD, file shares, WebAccess, time, Speech Server
    for branch_edge, chain, head_chain in (("edge02", "fwd_branch_a__wan", "fwd_wan__speechexec"),
                                           ("edge03", "fwd_branch_b__wan", "fwd_wan__infra"),
                                           ("edge03", "fwd_branch_b_pbx__wan", "fwd_wan__speech")):
        assert "chain %s {" % chain in text[branch_edge]
        assert "chain %s {" % head_chain in text["edge01"]
    crossing = [f for f in plan["flows"] if len(set(f["enforced_by"]) & set(EDGES)) > 1]
    assert len(crossing) >= 20
    for flow in plan["flows"]:
        for edge in EDGES:
            mine = flow["id"] in report[edge]["forward_flows"] + report[edge]["input_flows"]
            assert mine == (edge in flow["enforced_by"]), (flow["id"], edge, flow["enforced_by"])
    edges_of = {f["id"]: [e for e in f["enforced_by"] if e in EDGES] for f in plan["flows"]}
    by_id = {f["id"]: f for f in plan["flows"]}
    assert by_id["microsoft_infrastructure.file_smb:branch_b_clients>fs01"]["enforced_by"] == ["edge01", "edge03", "fs01"]
    assert edges_of["speechexec.webaccess_https:branch_a_clients>web01"] == ["edge01", "edge02"]
    assert edges_of["swyx.sysphone_ntp:branch_b_phones>ntp01"] == ["edge01", "edge03"]
    assert plan["paths"]["branch_b>infra"] == [{"from": "branch_b", "to": "wan", "edges": ["edge03"]},
                                               {"from": "wan", "to": "infra", "edges": ["edge01"]}]
    # the branch edges are managed across edge01 and get the SSH in their input chain
    assert by_id["management.ssh:management>edge03"]["enforced_by"] == ["edge01", "edge03"]
    # every branch reaches the internet through its own edge, never through head office
    assert plan["paths"]["branch_a>internet"][0]["edges"] == ["edge02"]
    assert not [k for k in plan["paths"] if k.startswith("wan>") or k.endswith(">wan")]


def test_nothing_is_unenforced(plan):
    """Every zone pair in use is joined through at least one edge; the flows within one zone are
    the controller's SSH to edge01 (edge01's input chain) and WebAccess to the License Server (lic01's
    Windows firewall), so ``unenforced`` is empty and lint has no VO108."""
    assert plan["unenforced"] == []
    assert plan["routes"] == []
    same_zone = sorted(f["id"] for f in plan["flows"] if f["src_zone"] == f["dst_zone"])
    assert same_zone == ["management.ssh:management>edge01", "speechexec.webaccess_license:web01>lic01"]


# --- the lab: two edges in series ----------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(multisite_run):
    need_root_and_nft()
    topo = yaml.safe_load(LAB_TOPOLOGY.read_text())
    the_lab = multisite_lab.MultiLab(topo)
    started = time.monotonic()
    try:
        the_lab.up()
        for edge in topo["edges"]:
            the_lab.load(edge, (multisite_run[0] / "edge" / ("%s.nft" % edge)).read_text())
        print("\nlab up with %d namespaces in %.1f s" % (len(the_lab.made), time.monotonic() - started))
        yield the_lab
    finally:
        left = the_lab.down()
        assert not left, "namespaces left behind: %s" % left


def _show(items):
    for probe in items:
        fields = ("ok" if probe["ok"] else "FAIL", probe["expect"], probe["proto"], probe["src"], probe["dst"], probe["port"],
                  probe["why"], probe["outcome"])
        print("%-4s %-4s %s %s -> %s:%s  %s: %s" % fields)


def test_lab_loads_the_rendered_tables(lab):
    for edge in lab.topo["edges"]:
        listing = subprocess.run(["ip", "netns", "exec", lab.edge_ns[edge], "nft", "list", "table", "inet", "voiceops"],
                                 capture_output=True, text=True, check=True).stdout
        assert 'comment "managed by voiceops.firewall; edge %s"' % edge in listing
        assert "chain fwd_%s {" % ("branch_b__wan" if edge == "edge03" else "wan__infra") in listing


def test_lab_planned_flows_cross_both_edges(lab, plan):
    edges = lab.topo["edges"]
    items, problems = multisite_lab.must_pass_probes(lab, plan, edges)
    assert not problems, problems
    deny_before = {edge: lab.deny_counter(edge) for edge in edges}
    elements_before = {edge: lab.element_counters(edge) for edge in edges}
    started = time.monotonic()
    multisite_lab.send_all(lab, items)
    _show(items)
    passed = sum(p["ok"] for p in items)
    print("must pass across %s: %d of %d passed [%.1f s]" % (" and ".join(edges), passed, len(items), time.monotonic() - started))
    assert all(p["ok"] for p in items)
    assert {p["why"] for p in items} == {f["id"] for f in multisite_lab.crossing_flows(plan, edges)}
    assert len(items) >= 20
    # nothing planned met a default deny, and on each edge the maps of the hops the plan names counted
    for edge in edges:
        assert lab.deny_counter(edge) == deny_before[edge], edge
        after = lab.element_counters(edge)
        grown = {name for (name, key), packets in after.items() if packets > elements_before[edge].get((name, key), 0)}
        expected = set()
        for probe in items:
            flow = next(f for f in plan["flows"] if f["id"] == probe["why"])
            for hop in plan["paths"]["%s>%s" % (flow["src_zone"], flow["dst_zone"])]:
                if edge in hop["edges"] and flow["dst"]["name"] != edge:
                    expected.add("%s__%s_%s4" % (hop["from"], hop["to"], flow["protocol"]))
        if edge == "edge03":
            expected.add("in_tcp4")  # the controller's SSH to edge03, delivered to its input chain
        assert expected <= grown, (edge, sorted(expected - grown))
        print("%s: element counters grew in %s" % (edge, ", ".join(sorted(grown))))


@pytest.mark.parametrize("first", ["edge03", "edge01"])
def test_lab_must_drop_at_the_first_edge(lab, plan, first):
    items, problems = multisite_lab.must_drop_probes(lab, plan, at=first)
    assert not problems, problems
    assert len(items) >= 5
    before = {edge: lab.deny_counter(edge) for edge in lab.topo["edges"]}
    multisite_lab.send_all(lab, items)
    _show(items)
    after = {edge: lab.deny_counter(edge) for edge in lab.topo["edges"]}
    delta = {edge: after[edge] - before[edge] for edge in after}
    print("must drop at %s: %d of %d dropped; default-deny counters grew by %s" % (
        first, sum(p["ok"] for p in items), len(items), delta))
    assert all(p["ok"] for p in items)
    assert delta[first] >= len(items)  # at least one packet of each probe (TCP retries its SYN)
    assert all(delta[edge] == 0 for edge in delta if edge != first), delta


def test_lab_sip_call_across_both_edges(lab):
    if subprocess.run(["which", "sipp"], capture_output=True, check=False).returncode != 0:
        pytest.skip("sipp is not installed")
    started = time.monotonic()
    results = probes.run_sip(lab, lab.topo["sip"])
    for item in results:
        print("%-4s %s" % ("ok" if item["ok"] else "FAIL", item["what"]))
    print("sip: %d passed [%.1f s]" % (sum(i["ok"] for i in results), time.monotonic() - started))
    assert len(results) == 3
    assert all(item["ok"] for item in results), [i.get("log") for i in results if not i["ok"]]


def test_lab_explain_agrees_with_real_packets(lab, plan):
    edges = lab.topo["edges"]
    cases = multisite_lab.differential_cases(lab, plan, edges, count=40, seed=12)
    expected_drops = {edge: 0 for edge in edges}
    for case in cases:
        answer = explain(plan, str(case["src"]), str(case["dst"]), case["proto"], case["port"])
        targets = {name: t for name, t in answer["targets"].items() if name in plan["edges"]}  # not the Windows hosts
        assert list(targets) == list(edges if lab.where[case["src"]][1] in ("branch_b", "branch_b_pbx")
                                     else reversed(edges)), (case, targets)  # every edge, in path order
        # the model: explain's per-edge verdicts, and its overall verdict must agree with them
        assert answer["verdict"] == ("permit" if all(t["verdict"] == "permit" for t in targets.values()) else "deny"), case
        denying = [edge for edge, target in targets.items() if target["verdict"] != "permit"]
        case["model"] = "deny" if denying else "permit"
        if denying:
            expected_drops[denying[0]] += 1
        case.update(expect=case["model"].replace("permit", "pass").replace("deny", "drop"), why="differential")
    before = {edge: lab.deny_counter(edge) for edge in edges}
    multisite_lab.send_all(lab, cases)
    delta = {edge: lab.deny_counter(edge) - before[edge] for edge in edges}
    wrong = [c for c in cases if not c["ok"]]
    for case in wrong:
        fields = (case["proto"], case["src"], case["dst"], case["port"], case["model"], case["outcome"])
        print("DISAGREE %s %s -> %s:%s model=%s real=%s" % fields)
    permits = sum(c["model"] == "permit" for c in cases)
    print("differential: %d random flows across %s (model: %d permit, %d deny, first deny at %s), %d disagreements; "
          "default-deny counters grew by %s" % (
              len(cases), " and ".join(edges), permits, len(cases) - permits, expected_drops, len(wrong), delta))
    assert not wrong
    for edge in edges:  # each packet is dropped by the edge the model says denies it first, and only there
        assert (delta[edge] == 0) == (expected_drops[edge] == 0), (edge, delta, expected_drops)
        assert delta[edge] >= expected_drops[edge], (edge, delta, expected_drops)
    assert 0 < permits < len(cases)
    assert all(ipaddress.ip_address(c["src"]).version == 4 for c in cases)


# --- what the lab found in the collection (each failed before its fix) -----------------------------
def test_explain_overall_verdict_respects_zones(plan):
    """explain matched a flow to the external zone for any address, internal ones included:
    overall 'permit' while every edge denied."""
    answer = explain(plan, "10.60.0.10", "10.50.0.10", "udp", 9999)  # workstation -> dc01, no planned flow
    assert {t["verdict"] for t in answer["targets"].values()} == {"deny"}
    assert answer["verdict"] == "deny", [f["id"] for f in answer["flows"]]  # voip_softphone.udp:workstations>internet


def test_explain_names_the_edges_of_a_zone_pair_without_flows(plan):
    """explain read only plan['paths'], which holds the zone pairs in use, so it named no edge
    (not even the one that drops) for other pairs."""
    answer = explain(plan, "10.60.0.10", "10.82.0.10", "tcp", 445)  # clients -> branch_b: no flow
    assert list(answer["targets"]) == ["edge01", "edge03"]


def test_a_branch_edge_managed_on_its_wan_address_gets_the_ssh():
    """placements() delivered a flow to an edge only at a hop that edge takes part in: an edge
    managed on its address in the transit zone got no input rule."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._topology import Topology, placements

    topology = Topology({"edge01": ["mgmt", "wan"], "edge02": ["wan", "branch_a"]}, [])
    places = placements(topology, "management", "mgmt", "edge02", "wan", topology.path("mgmt", "wan"))
    assert [(p.edge, p.kind) for p in places] == [("edge01", "forward"), ("edge02", "input")]
