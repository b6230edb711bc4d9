# -*- coding: utf-8 -*-
"""Ends known only by name: the name sets of the nftables renderer (names, declarations, rules,
nft's own parser), explain's verdict for them, hostile names, and the Windows choice."""

from __future__ import annotations

import copy
import json
import importlib.machinery
import importlib.util
import re
import socket
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.module_utils import _nft_table
from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import NAME_SET, NAME_SET_MAX, name_set
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline, _schema, _windows
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explain import explain
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft_verdict import edge_verdict
from ansible_collections.voiceops.firewall.plugins.plugin_utils._topology import Placement

from conftest import REPO
from test_nft_render import nft_check

SCRIPT = REPO / "roles" / "edge_firewall" / "files" / "voiceops-dns-sets"
NAME = "pbx.voiceops.test"


def _vars(fqdn: str = NAME, **edge_extra):
    global_vars = {
        "voiceops_zones": {"mgmt": {"networks": ["10.99.0.0/24"]}, "pbx": {"networks": ["10.10.0.0/24", "fd00:10::/64"]},
                           "internet": {"networks": ["0.0.0.0/0", "::/0"], "external": True}},
        "voiceops_management_networks": ["10.99.0.0/24"],
        "voiceops_endpoints": {
            "provider": {"zone": "internet", "fqdn": fqdn, "components": ["swyx_vpn_endpoint"]},
            "vpn_router": {"zone": "pbx", "addresses": ["10.10.0.5", "fd00:10::5"], "components": ["swyx_vpn_router"]},
        },
        "voiceops_lint_fail_on": "never",
    }
    host_vars = {"edge": dict({"ansible_host": "10.99.0.1", "voiceops_edge_zones": {"mgmt": "m0", "pbx": "p0", "internet": "i0"}},
                              **edge_extra)}
    return global_vars, host_vars


def _plan(fqdn: str = NAME, **edge_extra):
    return _pipeline.run(*_vars(fqdn, **edge_extra)).plan


def _script():
    loader = importlib.machinery.SourceFileLoader("voiceops_dns_sets", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# Set names

def test_a_plain_name_gives_a_readable_set_name():
    assert name_set("acme.telovip.de", 4) == "name_acme_telovip_de_4"
    assert name_set("ACME.telovip.de.", 6) == "name_acme_telovip_de_6", "DNS names are case-blind; the root dot is the same name"


@pytest.mark.parametrize("a, b", [
    ("a-b.example", "a.b.example"), ("a_b.example", "a.b.example"), ("a-b.example", "a_b.example"),
    ("x" * 60 + ".example", "x" * 60 + ".example2"), ("*.example.com", "example.com"),
])
def test_lossy_slugs_get_a_digest_and_never_collide(a, b):
    assert name_set(a, 4) != name_set(b, 4)
    for name in (name_set(a, 4), name_set(b, 6)):
        assert NAME_SET.fullmatch(name) and len(name) <= NAME_SET_MAX


@given(st.from_regex(_schema.FQDN, fullmatch=True))
def test_every_valid_name_gives_a_valid_set_name(fqdn):
    for version in (4, 6):
        name = name_set(fqdn, version)
        assert NAME_SET.fullmatch(name), name
        assert len(name) <= NAME_SET_MAX
        assert name.endswith("_%d" % version)


@given(st.from_regex(_schema.FQDN, fullmatch=True), st.from_regex(_schema.FQDN, fullmatch=True))
def test_two_names_share_a_set_only_when_they_are_the_same_name(a, b):
    if _nft_table.canonical_name(a) != _nft_table.canonical_name(b):
        assert name_set(a, 4) != name_set(b, 4)


@given(st.from_regex(_schema.ZONE_NAME, fullmatch=True), st.from_regex(_schema.ZONE_NAME, fullmatch=True),
       st.sampled_from(["tcp", "udp", "icmp", "gre", "esp"]), st.sampled_from([4, 6]), st.integers(1, 9))
def test_no_set_derived_from_zone_names_looks_like_a_name_set(src, dst, proto, version, layer):
    base = "%s__%s_%s%d" % (src, dst, proto, version)
    for name in (base, "%s_%d" % (base, layer), "in_%s%d" % (proto, version), "in_%s%d_%d" % (proto, version, layer)):
        assert not NAME_SET.fullmatch(name), name


def test_the_edge_script_and_the_role_use_the_collections_patterns():
    script = _script()
    assert script.NAME_SET.pattern == NAME_SET.pattern
    assert script.TABLE_NAME.pattern == _nft_table.TABLE_NAME.pattern
    assert script.FQDN.pattern == _schema.FQDN.pattern.replace(r"(?:\*\.)?", "")  # no wildcard: DNS cannot list one
    role_vars = yaml.safe_load((REPO / "roles" / "edge_firewall" / "vars" / "main.yml").read_text())
    assert role_vars["__edge_firewall_refresh_span"] == _schema.REFRESH_SPAN.pattern


# Rendering

def test_a_name_end_is_a_set_rule_not_the_zone(tmp_path):
    text, report = render_edge(_plan(), "edge")
    data = report.as_dict()
    assert data["zone_wide"] == []
    assert data["name_sets"] == [{"set": "name_pbx_voiceops_test_4", "fqdn": NAME, "family": 4},
                                 {"set": "name_pbx_voiceops_test_6", "fqdn": NAME, "family": 6}]
    assert "\tset name_pbx_voiceops_test_4 {\n\t\ttype ipv4_addr\n\t\tcomment" in text
    assert "elements" not in text.split("set name_pbx_voiceops_test_4 {")[1].split("}")[0], "declared empty"
    assert ('meta l4proto udp ip saddr @name_pbx_voiceops_test_4 ip daddr 10.10.0.5 udp dport 9944 counter accept '
            'comment "swyx.vpn_in:provider>vpn_router"') in text
    assert "ip6 saddr @name_pbx_voiceops_test_6 ip6 daddr fd00:10::5 udp dport 9944" in text
    assert "0.0.0.0/0" not in text and "::/0" not in text, "the internet zone never stands in"
    assert not any("pbx_voiceops" in name for name in data["trace"]), "kept out of the layered maps"
    assert {b["enforced_as"] for b in data["by_name"]} == {
        "name %s (set name_pbx_voiceops_test_4, name_pbx_voiceops_test_6)" % NAME}
    result = nft_check(text, tmp_path)
    assert result.returncode == 0, result.stderr


def test_zone_is_the_old_behaviour_and_reported_zone_wide(tmp_path):
    plan = _plan(voiceops_edge_fqdn_ends="zone")
    assert plan["edges"]["edge"]["fqdn_ends"] == "zone"
    text, report = render_edge(plan, "edge")
    assert "name_" not in text
    assert {z["enforced_as"] for z in report.as_dict()["zone_wide"]} == {"zone internet"}
    assert "0.0.0.0/0 . 10.10.0.5" in text
    assert nft_check(text, tmp_path).returncode == 0


def test_the_choice_is_a_fact_of_the_plan_and_the_plans_files_show_it():
    """The plan step's own edge/<edge>.nft is the renderer's text for the plan's choice: what the
    plan shows is what the edge enforces."""
    default = _plan()
    assert "fqdn_ends" not in default["edges"]["edge"], "the default is not written: plans that do not set it are unchanged"
    assert _plan(voiceops_edge_fqdn_ends="name") == default
    assert _plan(voiceops_edge_fqdn_ends=None) == default
    zone = _pipeline.run(*_vars(voiceops_edge_fqdn_ends="zone"), render=True, diagrams=False)
    text = zone.files["edge/edge.nft"]
    assert text == render_edge(zone.plan, "edge")[0]
    assert "0.0.0.0/0 . 10.10.0.5" in text and "set name_" not in text
    assert "set name_pbx_voiceops_test_4" in _pipeline.run(*_vars(), render=True, diagrams=False).files["edge/edge.nft"]
    # the role renders the edge's apply input (apply/<edge>.json): it carries the choice, and gives the same text
    part = json.loads(_pipeline.run(*_vars(voiceops_edge_fqdn_ends="zone"), render=True, artefacts="apply").files["apply/edge.json"])
    assert part["edges"]["edge"]["fqdn_ends"] == "zone"
    assert render_edge(part, "edge")[0] == text


def test_a_wildcard_name_cannot_be_resolved_and_stays_zone_wide():
    text, report = render_edge(_plan("*.voiceops.test"), "edge")
    assert "set name_" not in text
    assert report.as_dict()["zone_wide"] and not report.as_dict()["by_name"]


@pytest.mark.parametrize("bad", ["dns", "Zone", True, ["zone"], 'zone" accept'])
def test_a_bad_choice_names_the_variable(bad):
    with pytest.raises(VoiceopsError) as err:
        _plan(voiceops_edge_fqdn_ends=bad)
    assert any(p.startswith("hostvars['edge'].voiceops_edge_fqdn_ends: must be one of name, zone") for p in err.value.problems), \
        err.value.problems


def test_only_an_edge_takes_the_choice():
    global_vars, host_vars = _vars()
    host_vars["pbx01"] = {"ansible_host": "10.10.0.9", "voiceops_components": [], "voiceops_edge_fqdn_ends": "zone"}
    with pytest.raises(VoiceopsError) as err:
        _pipeline.run(global_vars, host_vars)
    assert "hostvars['pbx01'].voiceops_edge_fqdn_ends: only an edge firewall (a host with voiceops_edge_zones) matches ends known " \
        "only by name (got 'zone')" in err.value.problems


@pytest.mark.parametrize("bad", ["dns", 'zone" ; flush ruleset', 1])
def test_a_plan_read_from_a_file_is_checked_again(bad):
    plan = _plan()
    plan["edges"]["edge"]["fqdn_ends"] = bad
    with pytest.raises(VoiceopsError) as err:
        render_edge(plan, "edge")
    assert any(p.startswith("hostvars['edge'].voiceops_edge_fqdn_ends: must be one of name, zone") for p in err.value.problems)


def test_the_same_inventory_gives_the_same_bytes():
    assert render_edge(_plan(), "edge")[0] == render_edge(_plan(), "edge")[0]


@pytest.mark.parametrize("fqdn", [
    "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61,  # 253 characters
    "_sip._udp.example.com", "xn--bcher-kva.example", "UPPER.Example.COM.", "0-0.example",
])
def test_unusual_but_valid_names_render_and_pass_nft(fqdn, tmp_path):
    text, report = render_edge(_plan(fqdn), "edge")
    names = [s["set"] for s in report.as_dict()["name_sets"]]
    assert len(names) == 2 and all(NAME_SET.fullmatch(n) for n in names)
    assert nft_check(text, tmp_path).returncode == 0


@pytest.mark.parametrize("fqdn", [
    'x.test" ; flush ruleset ; "', "x.test\nflush ruleset", "x.test }", "a..b", "-a.test", "a" * 64 + ".test", "x" * 254,
    "x.test/24", "x test",
])
def test_a_hostile_name_is_refused_by_the_schema_naming_the_variable(fqdn):
    with pytest.raises(VoiceopsError) as err:
        _plan(fqdn)
    assert any("voiceops_endpoints" in p and "fqdn" in p for p in err.value.problems), err.value.problems


# Explain

def test_explain_says_the_rule_matches_only_the_names_addresses():
    report = render_edge(_plan(), "edge")[1].as_dict()
    place = Placement(edge="edge", kind="forward", src="internet", dst="pbx")
    got = edge_verdict(report, {"address": "203.0.113.7"}, {"address": "10.10.0.5"}, "udp", 9944, place)
    assert got["verdict"] == "unknown"
    assert got["sets"] == ["name_pbx_voiceops_test_4"] and got["fqdns"] == [NAME]
    assert "matches 203.0.113.7 only if it is among the addresses %s resolves to on the edge" % NAME in got["why"]
    other_port = edge_verdict(report, {"address": "203.0.113.7"}, {"address": "10.10.0.5"}, "udp", 9945, place)
    assert other_port["verdict"] == "deny"
    other_host = edge_verdict(report, {"address": "203.0.113.7"}, {"address": "10.10.0.6"}, "udp", 9944, place)
    assert other_host["verdict"] == "deny"


def _explain_edge(plan, src, dst="vpn_router", port=9944):
    result = explain(plan, src, dst, "udp", port)
    return result, result["targets"]["edge"]


@pytest.mark.parametrize("src", ["provider", NAME, NAME.upper() + "."])
@pytest.mark.parametrize("dst, family", [("vpn_router", 4), ("10.10.0.5", 4), ("fd00:10::5", 6)])
def test_explain_asked_by_the_name_the_names_rule_permits_it(src, dst, family):
    """The question's end IS the name: the rule of the name's set accepts whatever it resolves to on the edge."""
    result, edge = _explain_edge(_plan(), src, dst)
    name = "name_pbx_voiceops_test_%d" % family
    assert edge["verdict"] == "permit" and result["verdict"] == "permit" and result["enforcement"] == "permit"
    assert edge["chain"] == "fwd_internet__pbx" and edge["set"] == name and edge["sets"] == [name] and edge["fqdns"] == [NAME]
    assert edge["flows"] == ["swyx.vpn_in:provider>vpn_router"]
    assert "the rule accepts whatever addresses %s resolves to on the edge (set %s" % (NAME, name) in edge["why"]
    rendered = render_edge(_plan(), "edge")[0]
    assert edge["rule"].startswith("meta l4proto udp %s saddr @%s " % ("ip" if family == 4 else "ip6", name))
    assert "\t\t%s counter accept" % edge["rule"] in rendered, "the rule named is the table's own"


def test_explain_asked_by_the_name_the_way_back_too():
    result, edge = _explain_edge(_plan(), "vpn_router", NAME)
    assert result["verdict"] == "permit" and edge["verdict"] == "permit"
    assert edge["chain"] == "fwd_pbx__internet" and edge["set"] == "name_pbx_voiceops_test_4"
    assert edge["flows"] == ["swyx.vpn_out:vpn_router>provider"]


@pytest.mark.parametrize("port", [9945, 9943, 500])
def test_explain_by_the_name_on_a_port_it_has_no_rule_for_is_the_default_deny(port):
    result, edge = _explain_edge(_plan(), NAME, port=port)
    assert result["verdict"] == "deny" and result["enforcement"] == "deny"
    assert edge == {"kind": "nftables", "verdict": "deny", "chain": "managed_fwd", "rule": "voiceops default deny between managed zones"}


@pytest.mark.parametrize("plan_args, src", [((NAME,), NAME), (("*.voiceops.test",), "provider")])
@pytest.mark.parametrize("dst, element", [("vpn_router", "0.0.0.0/0 . 10.10.0.5"), ("fd00:10::5", "::/0 . fd00:10::5")])
def test_explain_by_a_name_the_edge_enforces_as_its_zone_permits_by_the_zones_element(plan_args, src, dst, element):
    """fqdn_ends: zone (or a wildcard name, which DNS cannot list): the element of the whole zone permits it, as before."""
    extra = {"voiceops_edge_fqdn_ends": "zone"} if plan_args == (NAME,) else {}
    plan = _plan(*plan_args, **extra)
    result, edge = _explain_edge(plan, src, dst)
    assert result["verdict"] == "permit" and edge["verdict"] == "permit"
    assert edge["set"].startswith("internet__pbx_udp") and edge["element"] == element and edge["service"] == "svc_udp_9944"
    assert edge["flows"] == ["swyx.vpn_in:provider>vpn_router"] and "sets" not in edge
    assert "holds all of zone internet, so whatever %s resolves to there" % plan["instances"]["provider"]["fqdn"] in edge["why"]
    assert element in render_edge(plan, "edge")[0]
    assert _explain_edge(plan, src, dst, port=9945)[1]["verdict"] == "deny"


def _plan_with(**endpoints):
    global_vars, host_vars = _vars()
    global_vars["voiceops_endpoints"].update(endpoints)
    return _pipeline.run(global_vars, host_vars).plan


def test_explain_by_a_name_the_edge_never_heard_of():
    """A name-only endpoint no flow uses: the plan denies, the edge has no rule for it and denies too;
    where another end's element holds part of its zone, the edge accepts it only if the name resolves there."""
    other = {"zone": "internet", "fqdn": "other.voiceops.test", "components": []}
    result, edge = _explain_edge(_plan_with(other=other), "other.voiceops.test")
    assert result["verdict"] == "deny" and edge["verdict"] == "deny" and edge["rule"] == "voiceops default deny between managed zones"
    backup = {"zone": "internet", "addresses": ["203.0.113.0/24"], "components": ["swyx_vpn_endpoint"]}
    result, edge = _explain_edge(_plan_with(other=other, backup=backup), "other")
    assert result["verdict"] == "deny"
    assert edge["verdict"] == "unknown" and edge["element"] == "203.0.113.0/24 . 10.10.0.5"
    assert edge["flows"] == ["swyx.vpn_in:backup>vpn_router"]
    assert "holds only part of the zone of other.voiceops.test" in edge["why"]
    # the name the edge does know still permits by its own rule, the partial element notwithstanding
    assert _explain_edge(_plan_with(backup=backup), NAME)[1]["set"] == "name_pbx_voiceops_test_4"
    # and the report alone, asked about a name none of its rules matches
    report = render_edge(_plan(), "edge")[1].as_dict()
    place = Placement(edge="edge", kind="forward", src="internet", dst="pbx")
    stranger = {"address": None, "fqdn": "stranger.voiceops.test", "zone": "internet", "zone_networks": ["0.0.0.0/0", "::/0"]}
    assert edge_verdict(report, stranger, {"address": "10.10.0.5"}, "udp", 9944, place)["verdict"] == "deny"
    known = dict(stranger, fqdn=NAME.upper() + ".")
    assert edge_verdict(report, known, {"address": "10.10.0.5"}, "udp", 9944, place)["verdict"] == "permit"


def test_edge_verdict_a_name_in_part_of_a_rules_networks_is_unknown():
    """A name whose zone the rule's networks only cut (a name in pbx, the rule from 10.10.0.5 to the
    provider's set): the edge accepts it only if the name resolves to 10.10.0.5; in the rule's whole
    network, it accepts it."""
    report = render_edge(_plan(), "edge")[1].as_dict()
    place = Placement(edge="edge", kind="forward", src="pbx", dst="internet")
    provider = {"address": None, "fqdn": NAME, "zone": "internet", "zone_networks": ["0.0.0.0/0", "::/0"]}
    inside = {"address": None, "fqdn": "inside.voiceops.test", "zone": "pbx", "zone_networks": ["10.10.0.0/24", "fd00:10::/64"]}
    got = edge_verdict(report, inside, provider, "udp", 9944, place)
    assert got["verdict"] == "unknown" and got["sets"] == ["name_pbx_voiceops_test_4"]
    assert got["why"] == "the rule holds only part of the zone of inside.voiceops.test, so it accepts the name only if it resolves into that part"
    exact = dict(inside, zone_networks=["10.10.0.5/32"])
    assert edge_verdict(report, exact, provider, "udp", 9944, place)["verdict"] == "permit"
    assert edge_verdict(report, {"address": "10.10.0.5"}, provider, "udp", 9944, place)["set"] == "name_pbx_voiceops_test_4"
    assert edge_verdict(report, {"address": "10.10.0.6"}, provider, "udp", 9944, place)["verdict"] == "deny"


# The refresh script's configuration (the lab test runs it for real)

@pytest.mark.parametrize("config, says", [
    ('{"table": "t", "sets": [{"set": "name_a_4", "fqdn": "a", "family": true}]}', "does not fit set"),
    ('{"table": "t", "sets": [{"set": "name_a_4", "fqdn": "*.a", "family": 4}]}', "is not a DNS name"),
    ('{"table": "t", "sets": [{"set": "name_a_4", "fqdn": "a", "family": 4}, {"set": "name_a_4", "fqdn": "b", "family": 4}]}',
     "listed twice"),
    ('{"table": "1t", "sets": []}', "is not a table name"),
    ('[]', "expected"),
    ('{"table": "t"', "cannot read"),
])
def test_the_script_refuses_a_bad_config(tmp_path, config, says):
    path = tmp_path / "c.json"
    path.write_text(config)
    script = _script()
    with pytest.raises(script.ConfigError, match=re.escape(says)):
        script.load_config(str(path))


# Windows

def test_windows_resolve_scopes_the_rule_to_the_addresses_at_plan_time(monkeypatch):
    plan = copy.deepcopy(_plan())
    flow = next(f for f in plan["flows"] if f["dst"]["name"] == "vpn_router")
    plan["instances"]["vpn_router"] = {"platform": "windows", "kind": "host", "zone": "pbx", "addresses": ["10.10.0.5"]}
    plan["flows"] = [flow]

    def fake(host, *args, **kwargs):
        assert host == NAME
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.9", 0)),
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::9", 0, 0, 0))]

    monkeypatch.setattr(_windows.socket, "getaddrinfo", fake)
    resolved: dict[str, list[str]] = {}
    rows: list[dict] = []
    rules, warnings = _windows.render_host(plan, "vpn_router", fqdn_remote="resolve", resolved=resolved, named=rows)
    assert rules[0]["remote_addresses"] == ["203.0.113.9", "2001:db8::9"]
    assert resolved == {NAME: ["203.0.113.9", "2001:db8::9"]}
    assert "resolved to on the controller at plan time" in warnings[0]
    assert rows == [{"flow": flow["id"], "name": "provider", "fqdn": NAME, "mode": "resolve", "addresses": ["203.0.113.9", "2001:db8::9"],
                     "enforced_as": "resolved at plan time: 203.0.113.9, 2001:db8::9"}]
    table = _windows.rules_markdown("vpn_router", "g", rules, warnings, rows)
    assert "## Ends known only by name" in table and "resolved at plan time: 203.0.113.9, 2001:db8::9" in table

    def named(**settings):
        out: list[dict] = []
        _windows.render_host(plan, "vpn_router", named=out, **settings)
        return [(row["mode"], row["addresses"], row["enforced_as"]) for row in out]
    assert named() == [("any", ["0.0.0.0/0", "::/0"], "any address (name %s not enforced)" % NAME)]
    assert named(fqdn_remote="skip") == [("skip", [], "skipped (no rule)")]
    assert _windows.render_host(plan, "vpn_router")[0][0]["remote_addresses"] == ["Any"]

    def fail(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(_windows.socket, "getaddrinfo", fail)
    with pytest.raises(VoiceopsError) as err:
        _windows.render_host(plan, "vpn_router", fqdn_remote="resolve")
    assert any(NAME in p and "does not resolve on the controller at plan time" in p and p.startswith("windows_firewall_fqdn_remote")
               for p in err.value.problems), err.value.problems


def test_windows_resolve_for_real_with_the_hosts_file():
    """localhost resolves from /etc/hosts, without a DNS server."""
    assert "127.0.0.1" in _windows.resolve_name("localhost")
    with pytest.raises(OSError, match="wildcard"):
        _windows.resolve_name("*.example.com")


def test_windows_schema_takes_resolve():
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import Problems

    problems = Problems()
    assert _schema.clean(_schema.ROLE_VARS["windows_firewall_fqdn_remote"], "resolve", "x", problems) == "resolve"
    assert _schema.clean(_schema.EDGE_ROLE_VARS["edge_firewall_dns_refresh"], "5min", "x", problems) == "5min"
    assert _schema.clean(_schema.EDGE_ROLE_VARS["edge_firewall_dns_refresh"], "", "x", problems) == ""
    assert not problems.items
    for bad in ("5min\nExecStart=/bin/sh", "0s", "5 min", "forever", "1h; rm -rf /"):
        assert _schema.clean(_schema.EDGE_ROLE_VARS["edge_firewall_dns_refresh"], bad, "edge_firewall_dns_refresh", problems) \
            is _schema.INVALID
    assert len(problems.items) == 5
    assert Path(SCRIPT).stat().st_mode & 0o111, "the script is executable"


def test_a_hostile_name_in_a_plan_read_from_a_file_is_refused():
    """The renderer also reads plans from files (apply/<edge>.json), which the schema never saw."""
    plan = copy.deepcopy(_plan())
    flow = next(f for f in plan["flows"] if f["src"]["name"] == "provider")
    flow["src"]["fqdn"] = 'x.test" ; flush ruleset ; comment "'
    with pytest.raises(VoiceopsError, match=r"flow .*: src\.fqdn: a DNS name"):
        render_edge(plan, "edge")
