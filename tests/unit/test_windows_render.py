# -*- coding: utf-8 -*-
"""Rendering the Windows Firewall rules of each example Windows host from the plan.

Golden files under tests/golden/windows/ pin, per host, the rule set (<host>.rules.json), the
exact arguments the host module receives for a first apply (<host>.apply.json) and the cmdlet
calls that apply makes (<host>.apply.ps1). The plan they are rendered from is computed from the
example inventory by the planner as it is now. On a difference the test writes
``<golden file>.actual`` beside the golden file and names the command that accepts it after review
(tests/golden_check.py); it never rewrites a golden file.
"""

from __future__ import annotations

import json

import pytest

from conftest import REPO
from example_inventory import example_outcome, example_vars, role_program_paths
from golden_check import assert_files_match_golden, golden_files

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError

GOLDEN = REPO / "tests" / "golden" / "windows"
HOST_VARS = example_vars()[1]
PLAN = example_outcome().plan  # what the planner computes now, never tests/golden/example/plan.json
WINDOWS_HOSTS = w.windows_hosts(PLAN)

# Rule counts per example Windows host (outbound default allow: inbound rules only).
EXPECTED_COUNTS = {"dc01": 18, "dc02": 17, "fs01": 2, "lic01": 2, "mob01": 2, "slive01": 2, "speech01": 8,
                   "speech02": 4, "sql01": 2, "timc01": 3, "web01": 2, "wfm01": 3}


def render(host: str, **kwargs):
    kwargs.setdefault("program_paths", role_program_paths(HOST_VARS[host]))
    return w.render_host(PLAN, host, **kwargs)


def first_apply(host: str) -> dict:
    rules = render(host)[0]
    changes = w.diff_rules(rules, [])
    profiles = w.diff_profiles(w.desired_profiles(w.PROFILES, "allow"), {})
    return w.apply_args(w.GROUP, changes, profiles)


def _dump(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_windows_hosts_of_the_example_are_the_inventory_windows_hosts():
    assert WINDOWS_HOSTS == sorted(EXPECTED_COUNTS)


def test_every_golden_file_is_of_an_example_windows_host():
    assert golden_files(GOLDEN) == sorted("%s.%s" % (host, ext) for host in EXPECTED_COUNTS
                                          for ext in ("apply.json", "apply.ps1", "rules.json"))


@pytest.mark.parametrize("host", sorted(EXPECTED_COUNTS))
def test_rendered_rules_match_golden_files(host):
    rules = render(host)[0]
    args = first_apply(host)
    files = {"%s.rules.json" % host: _dump(rules), "%s.apply.json" % host: _dump(args),
             "%s.apply.ps1" % host: w.powershell_preview(args)}
    assert_files_match_golden(files, GOLDEN, keep=lambda name: name.split(".", 1)[0] == host)
    assert len(rules) == EXPECTED_COUNTS[host]
    assert args["add"] == [w.module_rule(r) for r in rules]


@pytest.mark.parametrize("host", sorted(EXPECTED_COUNTS))
@pytest.mark.parametrize("outbound", ["allow", "block"])
def test_rule_set_invariants(host, outbound):
    rules = render(host, outbound_default=outbound)[0]
    names = [r["name"] for r in rules]
    assert names == sorted(set(names)), "unique and sorted"
    assert all(r["action"] == "Allow" for r in rules), "never a block rule"
    assert all(r["name"].startswith(w.GROUP + "-") and len(r["name"]) <= len(w.GROUP) + 1 + w.MAX_NAME for r in rules)
    # no catch-all: every rule has a protocol, and TCP/UDP rules name their ports
    assert all(r["protocol"] != "Any" for r in rules)
    for rule in rules:
        if rule["protocol"] in ("TCP", "UDP"):
            ports = rule["local_ports"] if rule["direction"] == "Inbound" else rule["remote_ports"]
            assert ports != ["Any"], rule["name"]
    # the WinRM rule comes from the plan's management flow, from the management networks
    winrm = [f for f in PLAN["flows"] if f["entry"] == "management.winrm" and f["dst"]["name"] == host]
    assert len(winrm) == 1
    holder = [r for r in rules if winrm[0]["id"] in r["description"]]
    assert len(holder) == 1
    assert holder[0]["local_ports"] == winrm[0]["ports"] and holder[0]["remote_addresses"] == PLAN["management_networks"]
    assert all(r["direction"] == "Inbound" for r in rules) or outbound == "block"


@pytest.mark.parametrize("host", sorted(EXPECTED_COUNTS))
def test_every_flow_of_the_host_is_in_exactly_one_rule(host):
    rules = render(host, outbound_default="block")[0]
    for flow in PLAN["flows"]:
        if host not in (flow["src"]["name"], flow["dst"]["name"]):
            continue
        holders = [r for r in rules if flow["id"] in r["description"].split("Flows: ")[1].split(", ")]
        expected = 2 if flow["protocol"] == "icmp" and any(":" in a for a in (flow["src"] if flow["dst"]["name"] == host else flow["dst"])["addresses"]) \
            and any(":" not in a for a in (flow["src"] if flow["dst"]["name"] == host else flow["dst"])["addresses"]) else 1
        assert len(holders) == expected, flow["id"]
        rule = holders[0]
        assert rule["direction"] == ("Inbound" if flow["dst"]["name"] == host else "Outbound")


def test_program_rules_use_the_configured_paths_and_narrowed_ranges():
    rules = render("speech01")[0]
    by_name = {r["name"]: r for r in rules}
    rtp = by_name["voiceops.firewall-in-udp-40000-40999-sesworker.exe"]
    assert rtp["program"] == HOST_VARS["speech01"]["windows_firewall_program_paths"]["SESWorker.exe"]
    assert rtp["local_ports"] == ["40000-40999"] and rtp["remote_addresses"] == ["10.10.0.5"]
    w3wp = by_name["voiceops.firewall-in-tcp-1024-65535-w3wp.exe"]
    assert w3wp["program"] == "%SystemRoot%\\System32\\inetsrv\\w3wp.exe"
    assert w3wp["remote_addresses"] == ["10.10.0.5", "10.30.0.20"]
    # speech02 keeps the vendor's full range: nothing narrowed it in its inventory
    rules2 = render("speech02")[0]
    assert "voiceops.firewall-in-udp-1024-65535-sesworker.exe" in {r["name"] for r in rules2}


def test_a_program_without_a_known_path_fails_naming_it():
    with pytest.raises(VoiceopsError) as err:
        w.render_host(PLAN, "speech01", program_paths={"W3WP.exe": "C:\\w3wp.exe"})
    assert len(err.value.problems) == 1
    assert "windows_firewall_program_paths: the full path of SESWorker.exe is not known" in err.value.problems[0]
    assert "ms_speech_server.rtp:sip_gw01>speech01" in err.value.problems[0]


def test_program_names_match_case_insensitively():
    rules = w.render_host(PLAN, "speech01", program_paths={"sesworker.EXE": "C:\\s.exe", "w3wp.exe": "C:\\w.exe"})[0]
    assert {r["program"] for r in rules} == {"Any", "C:\\s.exe", "C:\\w.exe"}


def test_merged_rule_takes_the_union_of_sources_and_lists_every_flow():
    rules = render("dc01")[0]
    rule = {r["name"]: r for r in rules}["voiceops.firewall-in-tcp-49152-65535"]
    assert rule["remote_addresses"] == ["10.40.0.11", "10.40.0.12", "10.50.0.11", "10.70.0.10", "fd00:50::11"]
    flows = rule["description"].split("Flows: ")[1].split(", ")
    assert "microsoft_infrastructure.ad_dc_dfsr:dc02>dc01" in flows and "microsoft_infrastructure.ad_rpc_dynamic:web01>dc01" in flows
    assert flows == sorted(flows)


def test_icmp_is_split_by_address_family_and_narrowed_to_echo_requests():
    rules = render("dc01")[0]
    by_name = {r["name"]: r for r in rules}
    v4, v6 = by_name["voiceops.firewall-in-icmpv4-echo-request"], by_name["voiceops.firewall-in-icmpv6-echo-request"]
    assert v4["remote_addresses"] == ["10.40.0.11", "10.40.0.12", "10.50.0.11", "10.70.0.10"]
    assert v6["remote_addresses"] == ["fd00:50::11"]
    assert v4["local_ports"] == ["Any"]
    # "ICMP Ping messages": echo request, which ICMPv4 and ICMPv6 number differently
    assert (v4["icmp_type"], v6["icmp_type"]) == (["8"], ["128"])
    assert "echo-request" in v4["display_name"]


def test_outbound_rules_only_when_outbound_default_is_block():
    allow = render("web01")[0]
    block = render("web01", outbound_default="block")[0]
    assert {r["direction"] for r in allow} == {"Inbound"}
    out = [r for r in block if r["direction"] == "Outbound"]
    assert out and all(r["local_ports"] == ["Any"] and r["remote_ports"] != ["Any"] for r in out if r["protocol"] in ("TCP", "UDP"))
    assert w.desired_profiles(w.PROFILES, "block")["Domain"] == {
        "enabled": True, "default_inbound_action": "Block", "default_outbound_action": "Block"}


def test_fqdn_endpoint_becomes_any_with_a_warning_or_is_skipped():
    rules, warnings = render("slive01", outbound_default="block")
    flow_id = "speechexec.speechlive_cloud:slive01>speechlive"
    holder = [r for r in rules if flow_id in r["description"]]
    assert holder and holder[0]["remote_addresses"] == ["Any"]
    assert any(flow_id in m and "livebroker.speechexec.com" in m and "any remote address" in m for m in warnings)
    rules, warnings = render("slive01", outbound_default="block", fqdn_remote="skip")
    assert not [r for r in rules if flow_id in r["description"]]
    assert any(flow_id in m and "gets no rule" in m for m in warnings)


def test_profiles_and_bad_settings_are_reported_all_at_once():
    rules = render("fs01", profiles=["domain"])[0]
    assert all(r["profiles"] == ["Domain"] for r in rules)
    with pytest.raises(VoiceopsError) as err:
        w.render_host(PLAN, "fs01", profiles=["Work"], outbound_default="deny", fqdn_remote="guess")
    text = "\n".join(err.value.problems)
    assert "windows_firewall_profiles: one of Domain, Private, Public (got 'Work')" in text
    assert "windows_firewall_outbound_default: allow or block (got 'deny')" in text
    assert "windows_firewall_fqdn_remote: any, skip or resolve (got 'guess')" in text


@pytest.mark.parametrize("host,message", [
    ("workstations", "workstations is not a managed Windows host in the plan"),
    ("edge01", "edge01 is not a managed Windows host in the plan"),
    ("nosuch", "host: nosuch is not in the plan"),
])
def test_only_managed_windows_hosts_render(host, message):
    with pytest.raises(VoiceopsError, match=message):
        w.render_host(PLAN, host)


def test_rendering_is_deterministic():
    first = [render(h) for h in WINDOWS_HOSTS]
    second = [render(h) for h in WINDOWS_HOSTS]
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_over_long_names_are_hashed_deterministically():
    ports = ["%d" % p for p in range(10000, 10060, 2)]
    name = w.rule_name("Inbound", "TCP", ports, None)
    assert name.startswith("voiceops.firewall-in-tcp-") and len(name) <= len("voiceops.firewall-") + w.MAX_NAME
    assert name == w.rule_name("Inbound", "TCP", list(ports), None)
    assert name != w.rule_name("Inbound", "TCP", ports[:-1], None)


def test_names_carry_the_group_so_two_groups_never_collide():
    """One rule per name in a store: a changed group or a test's group must not reuse the names."""
    assert w.rule_name("Inbound", "TCP", ["5986"], None) == "voiceops.firewall-in-tcp-5986"
    assert w.rule_name("Inbound", "TCP", ["5986"], None, "Voice Ops Test") == "voice-ops-test-in-tcp-5986"
    host = WINDOWS_HOSTS[0]
    ours, _warnings = render(host)
    theirs, _warnings = w.render_host(PLAN, host, program_paths=role_program_paths(HOST_VARS[host]), group="voiceops.firewall.test")
    assert {r["name"] for r in ours}.isdisjoint({r["name"] for r in theirs})
    assert all(r["name"].startswith("voiceops.firewall.test-") for r in theirs)


def test_outbound_block_refuses_a_domain_member_without_its_essentials():
    """With outbound blocked by default, a host that no outbound rule lets reach DNS, Kerberos, Netlogon,
    time and CRLs stops working as a domain member: refused, naming what is missing."""
    member = next(h for h in WINDOWS_HOSTS
                  if any(f["src"]["name"] == h and f["entry"] == "microsoft_infrastructure.ad_kerberos_tcp" for f in PLAN["flows"]))
    with pytest.raises(VoiceopsError) as info:
        render(member, outbound_default="block", outbound_essentials=list(w.OUTBOUND_ESSENTIALS))
    message = info.value.message
    assert "windows_firewall_outbound_default: block would leave %s without" % member in message
    assert "crl (tcp 80)" in message and "kerberos" not in message.split("needs outbound: ")[1].split(".")[0]
    rules, _warnings = render(member, outbound_default="block", outbound_essentials=["dns", "kerberos", "netlogon", "time"])
    assert not w.missing_essentials(rules, ["dns", "kerberos", "netlogon", "time"])
    members = {f["src"]["name"] for f in PLAN["flows"] if f["entry"].startswith("microsoft_infrastructure.ad_")}
    loner = next(h for h in WINDOWS_HOSTS if h not in members)
    with pytest.raises(VoiceopsError) as info:
        render(loner, outbound_default="block", outbound_essentials=["dns"])
    assert "dns (udp 53), dns (tcp 53)" in info.value.message
    assert render(loner, outbound_default="block", outbound_essentials=[])[0]  # outside a domain: no check
    assert render(loner, outbound_default="allow", outbound_essentials=["dns"])[0]  # outbound open: nothing to keep
    with pytest.raises(VoiceopsError) as info:
        render(loner, outbound_default="block", outbound_essentials=["ntp"])
    assert "windows_firewall_outbound_essentials: ntp: not one of dns, kerberos, netlogon, time, crl" in info.value.message


def test_a_program_with_several_paths_gets_a_rule_per_path():
    """W3WP.exe of 64-bit and of 32-bit application pools (System32 and SysWOW64), where configured."""
    w64, w32 = "%SystemRoot%\\System32\\inetsrv\\w3wp.exe", "%SystemRoot%\\SysWOW64\\inetsrv\\w3wp.exe"
    paths = dict(role_program_paths(HOST_VARS["speech01"]), **{"W3WP.exe": [w64, w32]})
    rules, _warnings = w.render_host(PLAN, "speech01", program_paths=paths)
    single, _warnings = render("speech01")
    w3wp = [r for r in rules if "w3wp.exe" in r["name"]]
    assert sorted(r["program"] for r in w3wp) == sorted([w32, w64]) and len({r["name"] for r in w3wp}) == 2
    (one,) = [r for r in single if "w3wp.exe" in r["name"]]
    for rule in w3wp:  # the same flows, ports and sources as the single rule, for each path
        assert {k: v for k, v in rule.items() if k not in ("name", "program")} == {k: v for k, v in one.items() if k not in ("name", "program")}
    assert [r for r in rules if "w3wp" not in r["name"]] == [r for r in single if "w3wp" not in r["name"]]
    with pytest.raises(VoiceopsError) as info:
        w.render_host(PLAN, "speech01", program_paths=dict(paths, **{"W3WP.exe": [w64, "C:\\bad\npath"]}))
    assert "windows_firewall_program_paths" in info.value.message


def test_every_catalog_icmp_type_has_its_windows_numbers():
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._schema import ICMP_TYPES

    assert all(sorted(numbers) == sorted(ICMP_TYPES) for numbers in w.ICMP_TYPE_NUMBERS.values())
