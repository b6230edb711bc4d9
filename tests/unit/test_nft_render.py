# -*- coding: utf-8 -*-
"""nftables rendering: shape, least privilege, disjoint sets, and nft's own parser on the result."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import _disjoint, _elements, _Item, render_edge

GOLDEN_PLAN = Path(__file__).resolve().parents[1] / "golden" / "example" / "plan.json"


def nft_check(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    nft = shutil.which("nft")
    if nft is None:
        if os.environ.get("CI"):
            pytest.fail("nft is not installed (scripts/setup.sh installs nftables)")
        pytest.skip("nft is not installed")
    path = tmp_path / "ruleset.nft"
    path.write_text(text)
    return subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def example_plan():
    return json.loads(GOLDEN_PLAN.read_text())


def test_example_edge_passes_nft_check(example_plan, tmp_path):
    text, report = render_edge(example_plan, "edge01")
    result = nft_check(text, tmp_path)
    assert result.returncode == 0, result.stderr
    assert report.as_dict()["counts"]["forward_flows"] > 100


def test_only_our_table_is_named_and_nothing_is_flushed(example_plan):
    text = render_edge(example_plan, "edge01", table="vo_test")[0]
    tables = [line for line in text.splitlines() if line.startswith(("table", "delete", "flush", "add table"))]
    assert tables == ["table inet vo_test", "delete table inet vo_test", "table inet vo_test {"]
    assert "flush" not in text


def test_every_crossing_flow_is_enforced_and_no_other(example_plan):
    report = render_edge(example_plan, "edge01")[1]
    edge_zones = set(example_plan["edges"]["edge01"]["zones"])
    expected = sorted(
        f["id"] for f in example_plan["flows"]
        if f["src_zone"] != f["dst_zone"] and {f["src_zone"], f["dst_zone"]} <= edge_zones
        and "edge01" not in (f["src"]["name"], f["dst"]["name"]))
    assert report.forward_flows == expected
    assert report.input_flows == ["management.ssh:management>edge01"]
    traced = {fid for elements in report.trace.values() for e in elements for fid in e["flows"]}
    assert traced == set(expected) | set(report.input_flows)


def test_host_addresses_not_zones_where_hosts_are_known(example_plan):
    report = render_edge(example_plan, "edge01")[1]
    rtp = [e for e in report.trace["pbx__speech_udp4"] if "ms_speech_server.rtp:sip_gw01>speech01" in e["flows"]]
    assert [e["element"] for e in rtp] == ["10.10.0.5 . 10.30.0.10 . 40000-40999"]
    # a name-only end (acme.telovip.de) is the one place a whole zone stands in, and it is reported
    assert {z["name"] for z in report.zone_wide} == {"swyx_hosted", "speechlive"}


def _plan_with_hosts(n: int, step: int = 1) -> dict:
    """``n`` hosts in zone a (every ``step``-th address) to one server in zone b on three port ranges."""
    zones = {"a": {"networks": ["10.1.0.0/16"], "external": False, "description": ""},
             "b": {"networks": ["10.2.0.0/16"], "external": False, "description": ""}}
    flows = []
    for i in range(0, n * step, step):
        for port in ("5060", "5061", "10000-20000"):
            flows.append({"id": "x.sip%s:h%d>s" % (port, i), "src_zone": "a", "dst_zone": "b", "protocol": "tcp",
                          "ports": [port], "src": {"name": "h%d" % i, "addresses": ["10.1.%d.%d" % (i // 250, i % 250 + 1)]},
                          "dst": {"name": "s", "addresses": ["10.2.0.10"]}})
    flows.append({"id": "management.ssh:management>e", "src_zone": "a", "dst_zone": "a", "protocol": "tcp", "ports": ["22"],
                  "src": {"name": "management", "addresses": ["10.1.200.0/24"]}, "dst": {"name": "e", "addresses": ["10.1.0.1"]}})
    return {"zones": zones, "flows": flows, "edges": {"e": {"addresses": [], "zones": {"a": ["eth1"], "b": ["eth2"]}}}}


def test_rules_grow_with_zone_pairs_not_hosts(tmp_path):
    # every other address: hosts that are not neighbours cannot share a prefix, so each is an element
    small = render_edge(_plan_with_hosts(2, step=2), "e")[1].as_dict()["counts"]
    large = render_edge(_plan_with_hosts(400, step=2), "e")[1].as_dict()["counts"]
    assert small["rules"] == large["rules"]
    assert large["set_elements"] > small["set_elements"] * 100
    assert nft_check(render_edge(_plan_with_hosts(400, step=2), "e")[0], tmp_path).returncode == 0


def test_comments_fit_nft(example_plan):
    text = render_edge(example_plan, "edge01")[0]
    for line in text.splitlines():
        if ' comment "' in line:
            assert len(line.split(' comment "', 1)[1].rstrip('",')) <= 128


@pytest.mark.parametrize("zones,message", [
    ({"a": [], "b": ["eth2"]}, "hostvars['e'].voiceops_edge_zones.a: an edge firewall needs the interface(s) of every zone it joins"),
    ({"a": ["eth1"], "b": ["eth1"]}, "hostvars['e'].voiceops_edge_zones.b: interface already belongs to zone a"),
    ({"a": ["eth 1"], "b": ["eth2"]}, "hostvars['e'].voiceops_edge_zones.a: not a Linux interface name"),
])
def test_edge_zone_errors(zones, message):
    plan = _plan_with_hosts(1)
    plan["edges"]["e"]["zones"] = zones
    with pytest.raises(VoiceopsError) as info:
        render_edge(plan, "e")
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems


def test_unknown_edge():
    with pytest.raises(VoiceopsError, match="not an edge firewall of this plan"):
        render_edge(_plan_with_hosts(1), "nope")


# Property: making elements disjoint and compacting them keeps exactly the same (src, dst, port) points.
NETS = [ipaddress.ip_network("10.0.0.0/29")] + list(ipaddress.ip_network("10.0.0.0/29").subnets(1)) + \
    list(ipaddress.ip_network("10.0.0.0/29").subnets(2)) + list(ipaddress.ip_network("10.0.0.0/29").subnets(3))
item = st.tuples(st.sampled_from(NETS), st.sampled_from(NETS), st.integers(1, 8), st.integers(0, 3), st.integers(0, 5))


def cidr(net):
    return int(net.network_address), net.prefixlen


def addresses(c):
    return range(c[0], c[0] + (1 << (32 - c[1])))


def points(items):
    return {(s, d, p) for it in items for s in addresses(it.addrs[0]) for d in addresses(it.addrs[1])
            for p in range(it.lo, it.hi + 1)}


def check_elements(items, out):
    assert points(out) == points(items)
    for i, a in enumerate(out):  # pairwise disjoint, as nft requires of an interval set
        for b in out[i + 1:]:
            assert not points([a]) & points([b]), (a, b)
    for it in items:  # every flow stays traceable: each of its points is in an element naming it
        for point in points([it]):
            assert any(point in points([o]) and it.ids <= o.ids for o in out)
    for o in out:  # and an element names only flows that have points in it
        for flow in o.ids:
            assert points([o]) & points([it for it in items if flow in it.ids]), (o, flow)


@settings(max_examples=300, deadline=None)
@given(st.lists(item, max_size=8))
def test_disjoint_keeps_points_and_removes_overlaps(raw):
    items = [_Item((cidr(s), cidr(d)), lo, min(lo + span, 8), {"f%d" % n}) for s, d, lo, span, n in raw]
    out = _disjoint([_Item(i.addrs, i.lo, i.hi, set(i.ids)) for i in items], 32)
    check_elements(items, out)


@settings(max_examples=300, deadline=None)
@given(st.lists(item, max_size=10), st.randoms(use_true_random=False))
def test_compacted_elements_keep_points_are_disjoint_and_traceable(raw, rnd):
    items = [_Item((cidr(s), cidr(d)), lo, min(lo + span, 8), {"f%d" % n}) for s, d, lo, span, n in raw]
    out = _elements([_Item(i.addrs, i.lo, i.hi, set(i.ids)) for i in items], 32, True)
    check_elements(items, out)
    assert len(out) <= len(_disjoint([_Item(i.addrs, i.lo, i.hi, set(i.ids)) for i in items], 32))
    # deterministic: the same elements whatever the order of the input
    shuffled = [_Item(i.addrs, i.lo, i.hi, set(i.ids)) for i in items]
    rnd.shuffle(shuffled)
    again = _elements(shuffled, 32, True)
    assert [(o.addrs, o.lo, o.hi, o.ids) for o in again] == [(o.addrs, o.lo, o.hi, o.ids) for o in out]


def test_compaction_merges_sibling_networks_and_touching_ports():
    def net(text):
        return cidr(ipaddress.ip_network(text))

    items = [_Item((net("10.0.0.0/25"), net("10.9.0.1/32")), 53, 53, {"a"}),
             _Item((net("10.0.0.128/26"), net("10.9.0.1/32")), 53, 53, {"b"}),
             _Item((net("10.0.0.192/26"), net("10.9.0.1/32")), 53, 53, {"c"}),
             _Item((net("10.0.0.0/24"), net("10.9.0.0/32")), 53, 53, {"d"}),
             _Item((net("10.0.0.0/24"), net("10.9.0.0/31")), 54, 60, {"e"})]
    out = _elements(items, 32, True)
    assert [(o.addrs, o.lo, o.hi, sorted(o.ids)) for o in out] == [
        ((net("10.0.0.0/24"), net("10.9.0.0/31")), 53, 60, ["a", "b", "c", "d", "e"])]


def test_merged_elements_keep_every_flow_in_the_trace(tmp_path):
    plan = _plan_with_hosts(400)
    text, report = render_edge(plan, "e")
    flows = report.trace["a__b_tcp4"]
    assert len(flows) < 400  # neighbouring hosts share elements
    traced = {fid for e in flows for fid in e["flows"]}
    assert traced == {f["id"] for f in plan["flows"] if f["dst_zone"] == "b"}
    assert nft_check(text, tmp_path).returncode == 0


def test_input_filter_without_management_is_refused():
    plan = _plan_with_hosts(1)
    plan["flows"] = [f for f in plan["flows"] if not f["id"].startswith("management.")]
    with pytest.raises(VoiceopsError, match="its input filter would cut SSH"):
        render_edge(plan, "e")
    assert render_edge(plan, "e", filter_input=False)[0]
