# -*- coding: utf-8 -*-
"""Several edges: paths through the zone graph, placement on every edge along them, and what
nothing enforces (plugin_utils/_topology.py, the planner and the nft renderer)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import Problems, VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explain import explain
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan
from ansible_collections.voiceops.firewall.plugins.plugin_utils._topology import Hop, Placement, Topology, placements

# Head office (edge01: mgmt, speech, wan, internet), a branch (edge02: branch, wan, internet).
ZONES = {
    "mgmt": {"networks": ["10.99.0.0/24"]},
    "speech": {"networks": ["10.30.0.0/24"]},
    "infra": {"networks": ["10.50.0.0/24"]},
    "wan": {"networks": ["10.200.0.0/24"]},
    "branch": {"networks": ["10.80.0.0/24"]},
    "internet": {"external": True},
}
EDGES = {"edge01": ["mgmt", "speech", "infra", "wan", "internet"], "edge02": ["branch", "wan", "internet"]}


def _topology(edges=None, routes=()):
    return Topology(edges or EDGES, ["internet"], routes)


def test_a_flow_within_one_edge_has_one_hop():
    assert _topology().path("speech", "infra") == (Hop("speech", "infra", ("edge01",)),)


def test_a_branch_flow_crosses_both_edges_with_its_ingress_and_egress_at_each():
    topo = _topology()
    hops = topo.path("branch", "speech")
    assert hops == (Hop("branch", "wan", ("edge02",)), Hop("wan", "speech", ("edge01",)))
    assert placements(topo, "pc1", "branch", "speech01", "speech", hops) == [
        Placement("edge02", "forward", "branch", "wan"), Placement("edge01", "forward", "wan", "speech")]


def test_the_internet_is_no_transit_zone():
    """branch -> internet -> speech would be as short as branch -> wan -> speech; it is not a way."""
    assert _topology().path("branch", "speech")[0].dst == "wan"
    assert _topology().path("branch", "internet") == (Hop("branch", "internet", ("edge02",)),)


def test_an_ha_pair_both_get_the_flow():
    edges = dict(EDGES, edge01b=EDGES["edge01"])
    hops = _topology(edges).path("speech", "infra")
    assert hops == (Hop("speech", "infra", ("edge01", "edge01b")),)
    assert [p.edge for p in placements(_topology(edges), "a", "speech", "b", "infra", hops)] == ["edge01", "edge01b"]


def test_equal_ways_through_different_zones_are_an_error_naming_both_and_the_variable():
    edges = {"e1": ["a", "x", "y"], "e2": ["x", "b"], "e3": ["y", "b"]}
    problems = Problems()
    assert Topology(edges, [], ()).path("a", "b", problems) is None
    assert len(problems.items) == 1
    text = problems.items[0]
    assert text.startswith("voiceops_routes: zones a and b are joined by equally short ways through different zones: "
                           "a -> x -> b (e1, then e2); a -> y -> b (e1, then e3)")
    assert "voiceops_routes: [{from: a, to: b, via: [x]}]" in text


def test_a_declared_route_settles_it_both_ways():
    edges = {"e1": ["a", "x", "y"], "e2": ["x", "b"], "e3": ["y", "b"]}
    topo = Topology(edges, [], [{"from": "a", "to": "b", "via": ["y"]}])
    assert topo.path("a", "b") == (Hop("a", "y", ("e1",)), Hop("y", "b", ("e3",)))
    assert topo.path("b", "a") == (Hop("b", "y", ("e3",)), Hop("y", "a", ("e1",)))


def test_a_route_through_zones_no_edge_joins_is_refused():
    problems = Problems()
    _topology().check_routes([{"from": "branch", "to": "speech", "via": ["infra"]}], problems)
    assert problems.items == ["voiceops_routes[0]: no edge joins zones branch and infra (set voiceops_edge_zones on the edge "
                              "between them) (got {'from': 'branch', 'to': 'speech', 'via': ['infra']})"]


def test_flows_to_and_from_an_edge():
    topo = _topology()
    # from the branch to edge01's own address: forwarded by edge02, delivered to edge01 from wan
    hops = topo.path("branch", "mgmt")
    assert placements(topo, "pc1", "branch", "edge01", "mgmt", hops) == [
        Placement("edge02", "forward", "branch", "wan"), Placement("edge01", "input", "wan", "mgmt")]
    # a host in a zone edge02 joins reaches edge02 directly
    assert placements(topo, "pc1", "branch", "edge02", "wan", topo.path("branch", "wan")) == [
        Placement("edge02", "input", "branch", "wan")]
    # edge02's own traffic to head office: not filtered by edge02, forwarded by edge01
    assert placements(topo, "edge02", "branch", "dc01", "infra", topo.path("branch", "infra")) == [
        Placement("edge01", "forward", "wan", "infra")]


def _estate_vars():
    hosts = {
        "edge01": {"ansible_host": "10.99.0.1", "voiceops_edge_zones": {"mgmt": "eth0", "speech": "eth1", "infra": "eth2",
                                                                        "wan": "eth3", "internet": "eth4"}},
        "edge02": {"ansible_host": "10.80.0.1", "voiceops_edge_zones": {"branch": "eth0", "wan": "eth1", "internet": "eth2"}},
        "dc01": {"ansible_host": "10.50.0.10", "voiceops_components": ["ad_domain_controller"]},
        "fs01": {"ansible_host": "10.50.0.21", "voiceops_components": ["file_server"]},
    }
    endpoints = {"branch_clients": {"zone": "branch", "addresses": ["10.80.0.0/25"],
                                    "components": ["speechexec_webaccess"]}}
    return {"voiceops_zones": ZONES, "voiceops_management_networks": ["10.99.0.0/24"], "voiceops_endpoints": endpoints}, hosts


@pytest.fixture(scope="module")
def branch_plan():
    catalog = load_catalog()
    global_vars, hosts = _estate_vars()
    return plan(catalog, build_estate(global_vars, hosts, catalog))


def test_the_plan_places_branch_flows_on_both_edges(branch_plan):
    crossing = [f for f in branch_plan["flows"] if f["src"]["name"] == "branch_clients" and f["dst"]["name"] == "dc01"]
    assert crossing and all(f["enforced_by"] == ["edge01", "edge02", "dc01"] for f in crossing)  # dc01: Windows
    assert branch_plan["paths"]["branch>infra"] == [{"from": "branch", "to": "wan", "edges": ["edge02"]},
                                                    {"from": "wan", "to": "infra", "edges": ["edge01"]}]
    ids = {f["id"] for f in crossing}
    report01 = render_edge(branch_plan, "edge01")[1]
    report02 = render_edge(branch_plan, "edge02")[1]
    assert ids <= set(report01.forward_flows) and ids <= set(report02.forward_flows)
    text01 = render_edge(branch_plan, "edge01")[0]
    assert "chain fwd_wan__infra {" in text01 and "fwd_branch__infra" not in text01


def test_explain_answers_at_every_edge_on_the_way(branch_plan):
    flow = next(f for f in branch_plan["flows"] if f["src"]["name"] == "branch_clients" and f["dst"]["name"] == "dc01"
                and f["protocol"] == "tcp")
    port = int(flow["ports"][0].split("-")[0])
    answer = explain(branch_plan, "10.80.0.5", "dc01", "tcp", port)
    assert answer["verdict"] == "permit"
    assert list(answer["targets"]) == ["edge02", "edge01", "dc01"]  # in path order, then the host firewall
    assert answer["targets"]["edge02"]["chain"] == "fwd_branch__wan"
    assert answer["targets"]["edge01"]["chain"] == "fwd_wan__infra"
    assert answer["targets"]["dc01"]["kind"] == "windows" and answer["targets"]["dc01"]["rule"].startswith("voiceops.firewall-in-tcp")
    assert all(t["verdict"] == "permit" for t in answer["targets"].values()) and answer["enforcement"] == "permit"
    # a port nobody planned: every point on the way has its say, the first edge already denies
    denied = explain(branch_plan, "10.80.0.5", "dc01", "tcp", 4444)
    assert denied["verdict"] == "deny" and denied["enforcement"] == "deny"
    assert denied["targets"]["edge02"] == {"kind": "nftables", "verdict": "deny", "chain": "managed_fwd",
                                           "rule": "voiceops default deny between managed zones"}
    assert denied["targets"]["dc01"] == {"kind": "windows", "verdict": "deny", "rule": "inbound default block"}


def test_ambiguous_estate_fails_the_plan_and_a_route_fixes_it():
    catalog = load_catalog()
    global_vars, hosts = _estate_vars()
    hosts["edge03"] = {"ansible_host": "10.80.0.2", "voiceops_edge_zones": {"branch": "eth0", "vpn": "eth1"}}
    hosts["edge01"]["voiceops_edge_zones"]["vpn"] = "eth5"
    global_vars["voiceops_zones"] = dict(ZONES, vpn={"networks": ["10.201.0.0/24"]})
    with pytest.raises(VoiceopsError, match="zones branch and infra are joined by equally short ways"):
        plan(catalog, build_estate(global_vars, hosts, catalog))
    global_vars["voiceops_routes"] = [{"from": "branch", "to": "infra", "via": ["vpn"]},
                                      {"from": "branch", "to": "mgmt", "via": ["vpn"]}]
    the_plan = plan(catalog, build_estate(global_vars, hosts, catalog))
    assert the_plan["paths"]["branch>infra"][0]["edges"] == ["edge03"]


def test_a_route_naming_an_unknown_zone_names_the_variable():
    catalog = load_catalog()
    global_vars, hosts = _estate_vars()
    global_vars["voiceops_routes"] = [{"from": "branch", "to": "infra", "via": ["wna"]}]
    with pytest.raises(VoiceopsError, match=r"voiceops_routes\[0\]\.via\[0\]: unknown zone 'wna' \(did you mean 'wan'\? known zones: "):
        build_estate(global_vars, hosts, catalog)


def test_flows_no_edge_crosses_are_listed_as_unenforced():
    catalog = load_catalog()
    global_vars, hosts = _estate_vars()
    del hosts["edge02"]  # nothing joins the branch any more
    global_vars["voiceops_endpoints"]["mail"] = {"zone": "infra", "addresses": ["10.50.0.25"], "components": ["smtp_server"]}
    hosts["lic01"] = {"ansible_host": "10.80.0.10",
                      "voiceops_components": {"speechexec_license_server": {"features": ["email"], "params": {"smtp_ports": 25}}}}
    the_plan = plan(catalog, build_estate(global_vars, hosts, catalog))
    branch = [f for f in the_plan["flows"] if f["src_zone"] == "branch" and f["dst_zone"] != "branch"]
    assert branch and not any(e in f["enforced_by"] for f in branch for e in ("edge01", "edge02"))
    to_mail = [f for f in branch if f["dst"]["name"] == "mail"]
    assert to_mail and all(f["enforced_by"] == [] for f in to_mail)
    assert {"src_zone": "branch", "dst_zone": "infra", "flows": len(to_mail)} in the_plan["unenforced"]


# Property: on random chains and stars of edges, a flow is in an edge's rule set exactly when the
# plan says that edge enforces it; a flow with no enforcement point is counted as unenforced.
_ZONE_NAMES = ["z%d" % i for i in range(6)]


@settings(max_examples=40)
@given(st.lists(st.lists(st.sampled_from(_ZONE_NAMES), min_size=2, max_size=3, unique=True), min_size=1, max_size=4))
def test_every_flow_is_on_exactly_the_edges_that_enforce_it(edge_zone_lists):
    catalog = load_catalog()
    zones = {z: {"networks": ["10.%d.0.0/24" % i]} for i, z in enumerate(_ZONE_NAMES)}
    hosts = {}
    for idx, zone_list in enumerate(edge_zone_lists):
        ifaces = {z: "e%d" % n for n, z in enumerate(zone_list)}
        first = _ZONE_NAMES.index(zone_list[0])
        hosts["edge%d" % idx] = {"ansible_host": "10.%d.0.%d" % (first, 200 + idx), "voiceops_edge_zones": ifaces}
    for i, zone in enumerate(_ZONE_NAMES):
        hosts["dc%d" % i] = {"ansible_host": "10.%d.0.10" % i, "voiceops_components": ["ad_domain_controller"]}
        hosts["fs%d" % i] = {"ansible_host": "10.%d.0.11" % i, "voiceops_components": ["file_server"]}
    global_vars = {"voiceops_zones": zones, "voiceops_management_networks": ["10.0.0.0/24"]}
    try:
        the_plan = plan(catalog, build_estate(global_vars, hosts, catalog))
    except VoiceopsError as exc:  # an ambiguous topology must say so, naming voiceops_routes
        assert all(p.startswith("voiceops_routes") for p in exc.problems), exc.problems
        return
    # the renderer works out its own placements (no enforced_by to go by) and must agree with the planner
    bare = dict(the_plan, flows=[{k: v for k, v in f.items() if k != "enforced_by"} for f in the_plan["flows"]])
    for edge in the_plan["edges"]:
        report = render_edge(bare, edge, filter_input=False)[1]
        on_edge = set(report.forward_flows) | set(report.input_flows)
        expected = {f["id"] for f in the_plan["flows"] if edge in f["enforced_by"]}
        assert on_edge == expected, edge
    unenforced = sum(u["flows"] for u in the_plan["unenforced"])
    assert unenforced == sum(1 for f in the_plan["flows"] if not f["enforced_by"])


def test_passthrough_interfaces_are_declared_checked_and_rendered(branch_plan, tmp_path):
    import copy as _copy
    import subprocess

    from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import unlisted_interfaces

    assert unlisted_interfaces(branch_plan, "edge02", ["lo", "eth0", "eth1", "eth2", "docker0", "veth1a2b"]) == ["docker0", "veth1a2b"]
    the_plan = _copy.deepcopy(branch_plan)
    the_plan["edges"]["edge02"]["passthrough"] = ["docker0", "veth*"]
    assert unlisted_interfaces(the_plan, "edge02", ["lo", "eth0", "docker0", "veth1a2b", "wg0"]) == ["wg0"]
    text = render_edge(the_plan, "edge02")[0]
    assert 'iifname "veth*" oifname @managed_ifs counter accept comment "passthrough (voiceops_edge_passthrough)"' in text
    path = tmp_path / "edge02.nft"
    path.write_text(text)
    if subprocess.run(["which", "nft"], capture_output=True, check=False).returncode == 0:
        check = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr
    the_plan["edges"]["edge02"]["passthrough"] = ["eth*"]  # would pass a filtered zone's interface
    with pytest.raises(VoiceopsError, match=r"voiceops_edge_passthrough\[0\]: interface\(s\) eth0, eth1, eth2 belong to zones"):
        render_edge(the_plan, "edge02")


def test_only_an_edge_declares_passthrough():
    catalog = load_catalog()
    global_vars, hosts = _estate_vars()
    hosts["fs01"]["voiceops_edge_passthrough"] = ["docker0"]
    with pytest.raises(VoiceopsError, match=r"hostvars\['fs01'\].voiceops_edge_passthrough: only an edge firewall"):
        build_estate(global_vars, hosts, catalog)


def test_asymmetric_routes_are_refused():
    edges = {"e1": ["a", "x", "y"], "e2": ["x", "b"], "e3": ["y", "b"]}
    routes = [{"from": "a", "to": "b", "via": ["x"]}, {"from": "b", "to": "a", "via": ["y"]}]
    problems = Problems()
    Topology(edges, [], routes).check_routes(routes, problems)
    assert len(problems.items) == 1 and problems.items[0].startswith(
        "voiceops_routes[1]: the way back from a to b (voiceops_routes[0]: a -> x -> b) is not this way reversed")
    same = [{"from": "a", "to": "b", "via": ["x"]}, {"from": "b", "to": "a", "via": ["x"]}]
    problems = Problems()
    Topology(edges, [], same).check_routes(same, problems)
    assert not problems.items


def test_a_windows_host_that_blocks_outbound_enforces_its_outgoing_flows():
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline

    global_vars, hosts = _estate_vars()
    hosts["web01"] = {"ansible_host": "10.80.0.20", "voiceops_components": ["speechexec_webaccess"]}
    role_vars = {"web01": {"windows_firewall_outbound_default": "block"}}
    the_plan = _pipeline.run(global_vars, hosts, role_vars=role_vars).plan
    assert the_plan["instances"]["web01"]["outbound_default"] == "block"
    assert the_plan["instances"]["dc01"]["outbound_default"] == "allow"
    out = [f for f in the_plan["flows"] if f["src"]["name"] == "web01" and f["dst"]["name"] == "dc01"]
    assert out and all(f["enforced_by"] == ["edge01", "edge02", "dc01", "web01"] for f in out)
    flow = next(f for f in out if f["protocol"] == "tcp")
    port = int(flow["ports"][0].split("-")[0])
    answer = explain(the_plan, "web01", "dc01", "tcp", port)
    assert list(answer["targets"]) == ["web01", "edge02", "edge01", "dc01"]  # source firewall first
    assert answer["targets"]["web01"]["kind"] == "windows" and answer["targets"]["web01"]["rule"].startswith("voiceops.firewall-out-")
    assert answer["enforcement"] == "permit"
    denied = explain(the_plan, "web01", "dc01", "tcp", 4444)
    assert denied["targets"]["web01"] == {"kind": "windows", "verdict": "deny", "rule": "outbound default block"}
    with pytest.raises(VoiceopsError, match=r"hostvars\['web01'\].windows_firewall_outbound_default: must be one of allow, block"):
        _pipeline.run(global_vars, hosts, role_vars={"web01": {"windows_firewall_outbound_default": "Block!"}})


def test_every_permitting_point_cites_the_catalog(branch_plan):
    flow = next(f for f in branch_plan["flows"] if f["src"]["name"] == "branch_clients" and f["dst"]["name"] == "dc01"
                and f["protocol"] == "tcp")
    answer = explain(branch_plan, "10.80.0.5", "dc01", "tcp", int(flow["ports"][0].split("-")[0]))
    for name, target in answer["targets"].items():
        assert target["verdict"] == "permit" and target["citations"], name
        assert {"doc": flow["citation"]["doc"], "title": flow["citation"]["title"], "section": flow["citation"]["section"]} in target["citations"]


def test_a_route_through_named_edges_keeps_a_parallel_edge_out():
    """Central breakout: branch_b reaches the internet through head office, not through edge02,
    which also joins wan and the internet (for its own branch)."""
    edges = {"edge01": ["clients", "wan", "internet"], "edge02": ["wan", "branch_a", "internet"], "edge03": ["wan", "branch_b"]}
    plain = Topology(edges, ["internet"])
    assert plain.path("branch_b", "internet")[1].edges == ("edge01", "edge02")
    routes = [{"from": "branch_b", "to": "internet", "via": ["wan"], "through": ["edge03", "edge01"]}]
    topo = Topology(edges, ["internet"], routes)
    assert topo.path("branch_b", "internet") == (Hop("branch_b", "wan", ("edge03",)), Hop("wan", "internet", ("edge01",)))
    assert topo.path("internet", "branch_b")[0] == Hop("internet", "wan", ("edge01",))
    problems = Problems()
    topo.check_routes(routes, problems)
    assert not problems.items
    bad = [{"from": "branch_b", "to": "internet", "via": ["wan"], "through": ["edge03", "edge09"]}]
    problems = Problems()
    Topology(edges, ["internet"], bad).check_routes(bad, problems)
    assert problems.items == [
        "voiceops_routes[0].through: not an edge firewall of the estate (got 'edge09')",
        "voiceops_routes[0].through: none of these edges joins zones wan and internet (those that do: edge01, edge02) "
        "(got ['edge03', 'edge09'])"]


def test_a_route_without_via_joins_two_zones_directly():
    catalog = load_catalog()
    global_vars, hosts = _estate_vars()
    global_vars["voiceops_routes"] = [{"from": "speech", "to": "infra"}]
    the_plan = plan(catalog, build_estate(global_vars, hosts, catalog))
    assert the_plan["routes"] == [{"from": "speech", "to": "infra", "via": []}]
