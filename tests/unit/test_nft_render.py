# -*- coding: utf-8 -*-
"""nftables rendering: shape, least privilege, disjoint sets, and nft's own parser on the result."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils._artefacts import nice_json
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge, service_chain
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft_sets import _elements, _Item, _layers
from ansible_collections.voiceops.firewall.plugins.plugin_utils._ports import merge

from example_inventory import example_outcome
from golden_check import assert_files_match_golden

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "example"


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
    """The example inventory's plan as the planner computes it now (the golden files are output)."""
    return example_outcome().plan


def test_example_edge_renders_its_golden_files(example_plan):
    text, report = render_edge(example_plan, "edge01")
    files = {"edge/edge01.nft": text, "edge/edge01.json": nice_json(report.as_dict())}
    assert_files_match_golden(files, GOLDEN, keep=lambda name: name.startswith("edge/"))


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
    traced |= {fid for rule in report.name_rules for fid in rule["flows"]}  # ends known only by name: rules of their own
    assert traced == set(expected) | set(report.input_flows)


def test_host_addresses_not_zones_where_hosts_are_known(example_plan):
    report = render_edge(example_plan, "edge01")[1]
    rtp = [e for e in report.trace["pbx__speech_udp4"] if "ms_speech_server.rtp:sip_gw01>speech01" in e["flows"]]
    assert [(e["element"], e["service"]) for e in rtp] == [("10.10.0.5 . 10.30.0.10", "svc_udp_40000-40999")]
    # a name-only end (acme.telovip.de) is matched by its name's set, not by its zone (voiceops_edge_fqdn_ends: name) ...
    assert {b["name"] for b in report.by_name} == {"swyx_hosted", "speechlive"} and not report.zone_wide
    # ... and with the plan's fqdn_ends: zone it is the one place a whole zone stands in, and it is reported
    zone_plan = dict(example_plan, edges=dict(example_plan["edges"], edge01=dict(example_plan["edges"]["edge01"], fqdn_ends="zone")))
    zone_report = render_edge(zone_plan, "edge01")[1]
    assert {z["name"] for z in zone_report.zone_wide} == {"swyx_hosted", "speechlive"} and not zone_report.by_name


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
    assert large["set_elements"] - small["set_elements"] == 398  # one element per host: its ports are one service chain
    assert nft_check(render_edge(_plan_with_hosts(400, step=2), "e")[0], tmp_path).returncode == 0


def test_comments_fit_nft(example_plan):
    text = render_edge(example_plan, "edge01")[0]
    for line in text.splitlines():
        if ' comment "' in line:
            assert len(line.split(' comment "', 1)[1].split('"', 1)[0]) <= 128


@pytest.mark.parametrize("zones,message", [
    ({"a": [], "b": ["eth2"]}, "hostvars['e'].voiceops_edge_zones.a: an edge firewall needs the interface(s) of every zone it joins"),
    ({"a": ["eth1"], "b": ["eth1"]}, "hostvars['e'].voiceops_edge_zones.b: interface already belongs to zone a"),
    ({"a": ["eth 1"], "b": ["eth2"]}, "hostvars['e'].voiceops_edge_zones.a: an interface name is letters"),
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


# Property: layering and compacting elements keeps exactly the same (src, dst, port) points.
NETS = [ipaddress.ip_network("10.0.0.0/29")] + list(ipaddress.ip_network("10.0.0.0/29").subnets(1)) + \
    list(ipaddress.ip_network("10.0.0.0/29").subnets(2)) + list(ipaddress.ip_network("10.0.0.0/29").subnets(3))
PORT_RANGES = st.lists(st.tuples(st.integers(1, 8), st.integers(0, 3)), min_size=1, max_size=3)
item = st.tuples(st.sampled_from(NETS), st.sampled_from(NETS), PORT_RANGES, st.integers(0, 5))


def cidr(net):
    return int(net.network_address), net.prefixlen


def addresses(c):
    return range(c[0], c[0] + (1 << (32 - c[1])))


def points(items):
    """Every (address..., port) an element accepts; a portless element's points have no port."""
    out = set()
    for it in items:
        ports = [p for lo, hi in it.ports for p in range(lo, hi + 1)] or [None]
        for addrs in _product([addresses(a) for a in it.addrs]):
            out.update(addrs + (p,) for p in ports)
    return out


def _product(ranges):
    result = [()]
    for r in ranges:
        result = [x + (v,) for x in result for v in r]
    return result


def addr_points(it):
    return set(_product([addresses(a) for a in it.addrs]))


def make_items(raw, width, with_ports):
    return [_Item((cidr(s), cidr(d))[:width], merge((lo, min(lo + span, 8)) for lo, span in ports) if with_ports else (),
                  {"f%d" % n}) for s, d, ports, n in raw]


def copy(items):
    return [_Item(i.addrs, i.ports, set(i.ids)) for i in items]


def check_layers(items, layers):
    out = [o for layer in layers for o in layer]
    assert points(out) == points(items)  # accepted by some layer exactly where some flow is
    for layer in layers:  # within a layer pairwise disjoint addresses, as nft requires of an interval map
        for i, a in enumerate(layer):
            for b in layer[i + 1:]:
                assert not addr_points(a) & addr_points(b), (a, b)
    for it in items:  # every flow stays traceable: each of its points is in an element naming it
        for point in points([it]):
            assert any(point in points([o]) and it.ids <= o.ids for o in out), (it, point)
    for o in out:  # and an element names only flows that have points in it
        for flow in o.ids:
            assert points([o]) & points([it for it in items if flow in it.ids]), (o, flow)


@pytest.mark.parametrize("width,with_ports", [(2, True), (2, False), (1, True)])
@settings(max_examples=250, deadline=None)
@given(raw=st.lists(item, max_size=8))
def test_layers_keep_points_and_are_disjoint(width, with_ports, raw):
    items = make_items(raw, width, with_ports)
    check_layers(items, _layers(copy(items), 32))


@pytest.mark.parametrize("width,with_ports", [(2, True), (2, False), (1, True)])
@settings(max_examples=250, deadline=None)
@given(raw=st.lists(item, max_size=10), rnd=st.randoms(use_true_random=False))
def test_compacted_layers_keep_points_are_disjoint_and_traceable(width, with_ports, raw, rnd):
    items = make_items(raw, width, with_ports)
    out = _elements(copy(items), 32)
    check_layers(items, out)
    assert sum(map(len, out)) <= sum(map(len, _layers(copy(items), 32)))
    # deterministic: the same elements whatever the order of the input
    shuffled = copy(items)
    rnd.shuffle(shuffled)
    again = _elements(shuffled, 32)
    assert [[(o.addrs, o.ports, o.ids) for o in layer] for layer in again] == \
        [[(o.addrs, o.ports, o.ids) for o in layer] for layer in out]


def net(text):
    return cidr(ipaddress.ip_network(text))


def test_compaction_merges_sibling_networks_with_the_same_ports():
    items = [_Item((net("10.0.0.0/25"), net("10.9.0.1/32")), ((53, 53),), {"a"}),
             _Item((net("10.0.0.128/26"), net("10.9.0.1/32")), ((53, 53),), {"b"}),
             _Item((net("10.0.0.192/26"), net("10.9.0.1/32")), ((53, 53),), {"c"}),
             _Item((net("10.0.0.0/24"), net("10.9.0.0/32")), ((53, 53),), {"d"}),
             _Item((net("10.0.0.0/24"), net("10.9.0.0/32")), ((54, 60),), {"e"}),
             _Item((net("10.0.0.0/24"), net("10.9.0.2/32")), ((54, 60),), {"f"})]
    out = _elements(items, 32)
    assert [[(o.addrs, o.ports, sorted(o.ids)) for o in layer] for layer in out] == [[
        ((net("10.0.0.0/24"), net("10.9.0.0/32")), ((53, 60),), ["d", "e"]),   # 53 and 54-60: one port set
        ((net("10.0.0.0/24"), net("10.9.0.1/32")), ((53, 53),), ["a", "b", "c"]),   # three siblings, one /24
        ((net("10.0.0.0/24"), net("10.9.0.2/32")), ((54, 60),), ["f"]),   # other ports: not merged with .1
    ]]


def test_a_nested_element_with_other_ports_gets_its_own_layer_and_one_with_fewer_is_folded():
    anywhere = _Item((net("10.0.0.0/24"), net("0.0.0.0/0")), ((80, 80), (443, 443)), {"web"})
    provisioning = _Item((net("10.0.0.0/24"), net("198.51.100.10/32")), ((8443, 8443),), {"prov"})
    https_only = _Item((net("10.0.0.0/25"), net("198.51.100.11/32")), ((443, 443),), {"web2"})
    layers = _elements([anywhere, provisioning, https_only], 32)
    assert [[(o.addrs, o.ports, sorted(o.ids)) for o in layer] for layer in layers] == [
        [((net("10.0.0.0/24"), net("0.0.0.0/0")), ((80, 80), (443, 443)), ["web", "web2"])],
        [((net("10.0.0.0/24"), net("198.51.100.10/32")), ((8443, 8443),), ["prov"])],
    ]


def test_layers_render_as_maps_the_narrowest_rule_first_and_pass_nft(tmp_path):
    plan = _plan_with_hosts(2)
    plan["zones"]["b"]["networks"] = ["0.0.0.0/0"]
    plan["flows"].append({"id": "x.web:a>anywhere", "src_zone": "a", "dst_zone": "b", "protocol": "tcp", "ports": ["443"],
                          "src": {"name": "anywhere", "addresses": ["10.1.0.0/16"]}, "dst": {"name": "b", "addresses": []}})
    text, report = render_edge(plan, "e")
    chain = text[text.index("\tchain fwd_a__b {"):]
    chain = chain[:chain.index("\t}")]
    assert chain.splitlines()[1:] == ["\t\tmeta l4proto tcp ip saddr . ip daddr vmap @a__b_tcp4_2",
                                      "\t\tmeta l4proto tcp ip saddr . ip daddr vmap @a__b_tcp4"]
    assert [e["element"] for e in report.trace["a__b_tcp4"]] == ["10.1.0.0/16 . 0.0.0.0/0"]
    assert {e["service"] for e in report.trace["a__b_tcp4_2"]} == {"svc_tcp_5060-5061_10000-20000"}
    assert "\tchain svc_tcp_5060-5061_10000-20000 {\n\t\ttcp dport { 5060-5061, 10000-20000 } accept\n\t}" in text
    assert "\tchain svc_tcp_443 {\n\t\ttcp dport 443 accept\n\t}" in text
    assert nft_check(text, tmp_path).returncode == 0, nft_check(text, tmp_path).stderr


def test_service_chain_names_are_readable_unique_and_fit():
    assert service_chain("tcp", ((443, 443),)) == "svc_tcp_443"
    assert service_chain("udp", ((5060, 5060), (10000, 50999))) == "svc_udp_5060_10000-50999"
    many = tuple((p, p) for p in range(10000, 10040, 2))
    other = tuple((p, p) for p in range(10000, 10042, 2))
    name = service_chain("tcp", many)
    assert len(name) <= 64 and name.startswith("svc_tcp_10000_10002_") and "_more_" in name
    assert name.split("_more_")[0].endswith("_10012")  # whole ports only, never a cut number
    assert name != service_chain("tcp", other)


def test_merged_elements_keep_every_flow_in_the_trace(tmp_path):
    plan = _plan_with_hosts(400)
    text, report = render_edge(plan, "e")
    flows = report.trace["a__b_tcp4"]
    assert len(flows) < 30  # neighbouring hosts with the same ports share elements: 400 hosts in 24 prefixes
    traced = {fid for e in flows for fid in e["flows"]}
    assert traced == {f["id"] for f in plan["flows"] if f["dst_zone"] == "b"}
    assert nft_check(text, tmp_path).returncode == 0


def test_input_filter_without_management_is_refused():
    plan = _plan_with_hosts(1)
    plan["flows"] = [f for f in plan["flows"] if not f["id"].startswith("management.")]
    with pytest.raises(VoiceopsError, match="its input filter would cut SSH"):
        render_edge(plan, "e")
    assert render_edge(plan, "e", filter_input=False)[0]


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.ip_addresses(v=4).map(str),
    st.tuples(st.ip_addresses(v=4), st.integers(0, 32)).map(lambda t: "%s/%d" % t),
    st.tuples(st.ip_addresses(v=4), st.integers(0, 32)).map(lambda t: str(ipaddress.ip_network("%s/%d" % t, strict=False))),
    st.sampled_from(["010.0.0.1", "10.0.0.0/255.255.0.0", "10.0.0.1/24", "256.1.1.1", "1.2.3", "1.2.3.4/33", "1.2.3.4/",
                     "fd00:60::/64", "::/0", "2001:db8::1", " 10.0.0.1", "1.2.3.4/08", "0.0.0.0/0",
                     "\u0661.2.3.4", "1.2.3.4/\u0662\u0664", "1.2.3.4/+8"])))
def test_address_parsing_and_formatting_agree_with_ipaddress(text):
    """The renderer reads plain IPv4 itself: it must accept, reject and print exactly as ipaddress does."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft_sets import _fmt_cidr, _parse_net
    try:
        expected = ipaddress.ip_network(text)
    except ValueError:
        with pytest.raises(ValueError):
            _parse_net.__wrapped__(text)
        return
    version, (net, plen) = _parse_net.__wrapped__(text)
    assert (version, net, plen) == (expected.version, int(expected.network_address), expected.prefixlen)
    shown = _fmt_cidr.__wrapped__(version, net, plen)
    assert shown == (str(expected.network_address) if expected.num_addresses == 1 else str(expected))
