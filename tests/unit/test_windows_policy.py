# -*- coding: utf-8 -*-
"""The effective-policy preflight of the Windows role (issue 14, item 7): _windows_policy.py.

What the host reports is written in the forms the module's query returns them (plugins/modules/
win_firewall_rules.ps1): Get-Service's Status/StartType as names ([string]) or as the enums' numbers
(ServiceControllerStatus Running 4, Stopped 1; ServiceStartMode Automatic 2, Manual 3, Disabled 4),
Get-NetFirewallProfile's GpoBoolean (True/False/NotConfigured; 1/0/2) and Action (NotConfigured/
Allow/Block; 0/2/4), the active store's rules with PolicyStoreSourceType (Local/GroupPolicy; 1/2).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from conftest import REPO

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows_policy as wp
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows import desired_profiles

sys.path.insert(0, str(REPO / "tests"))
from windows_fake import FakeWindowsFirewall  # noqa: E402

GROUP = "voiceops.firewall"
ALL = ["Domain", "Private", "Public"]


def allow(name: str = "voiceops.firewall-in-tcp-5060", protocol: str = "TCP", ports: list[str] | None = None,
          remote: list[str] | None = None, flows: str = "pbx.sip:pbx>speech01", **fields: Any) -> dict[str, Any]:
    """A planned rule as render_host gives it."""
    rule = {"name": name, "display_name": name, "description": "Managed by voiceops.firewall (do not edit). Flows: " + flows,
            "direction": "Inbound", "action": "Allow", "enabled": True, "profiles": list(ALL), "protocol": protocol,
            "local_ports": ports or ["5060"], "remote_ports": ["Any"], "local_addresses": ["Any"],
            "remote_addresses": remote or ["10.10.0.0/24"], "program": "Any"}
    rule.update(fields)
    return rule


def block(**fields: Any) -> dict[str, Any]:
    """A block rule in the normalised shape (what read_foreign gives)."""
    rule = {"name": "Block-SIP", "display_name": "Block SIP", "description": "", "direction": "Inbound", "action": "Block",
            "enabled": True, "profiles": list(ALL), "protocol": "TCP", "local_ports": ["5060"], "remote_ports": ["Any"],
            "local_addresses": ["Any"], "remote_addresses": ["Any"], "program": "Any"}
    rule.update(fields)
    return rule


def raw_block(name: str = "Block-SIP", origin: Any = "GroupPolicy", **fields: Any) -> dict[str, Any]:
    """A block rule as the query reports it (the active store's listing)."""
    rule = {"Name": name, "DisplayName": "Block SIP", "Description": "", "Group": "", "Enabled": "True", "Direction": "Inbound",
            "Action": "Block", "Profile": "Any", "Protocol": "TCP", "LocalPort": "5060", "RemotePort": "Any",
            "LocalAddress": "Any", "RemoteAddress": "Any", "Program": "Any", "PolicyStoreSource": "Corp firewall baseline",
            "PolicyStoreSourceType": origin, "Service": "Any"}
    rule.update(fields)
    return rule


def profile(name: str, **settings: Any) -> dict[str, Any]:
    out = {"Name": name, "Enabled": "True", "DefaultInboundAction": "Block", "DefaultOutboundAction": "Allow",
           "AllowInboundRules": "NotConfigured", "AllowLocalFirewallRules": "NotConfigured"}
    out.update(settings)
    return out


def no_gpo(name: str, **settings: Any) -> dict[str, Any]:
    out = {"Name": name, "Enabled": "NotConfigured", "DefaultInboundAction": "NotConfigured", "DefaultOutboundAction": "NotConfigured",
           "AllowInboundRules": "NotConfigured", "AllowLocalFirewallRules": "NotConfigured"}
    out.update(settings)
    return out


def query(service: Any = None, gpo: dict[str, dict[str, Any]] | None = None, active: dict[str, dict[str, Any]] | None = None,
          blocks: list[dict[str, Any]] | None = None, unread: dict[str, str] | None = None) -> dict[str, Any]:
    gpo = gpo or {}
    active = active or {}
    return {"firewall_service": {"Name": "mpssvc", "Status": "Running", "StartType": "Automatic"} if service is None else service,
            "gpo_profiles": [no_gpo(n, **gpo.get(n, {})) for n in ALL],
            "active_profiles": [profile(n, **active.get(n, {})) for n in ALL],
            "block_rules": blocks or [], "policy_unread": unread or {}}


def check(q: dict[str, Any], rules: list[dict[str, Any]] | None = None, manage: bool = True, outbound: str = "allow",
          profiles: list[str] | None = None, own: tuple[str, ...] = ()) -> list[wp.PolicyFinding]:
    profiles = profiles or list(ALL)
    return wp.check_policy(wp.read_policy(q), [allow()] if rules is None else rules, profiles=profiles,
                           want_profiles=desired_profiles(profiles, outbound) if manage else {}, outbound_default=outbound,
                           group=GROUP, own_names=own)


def ids(findings: list[wp.PolicyFinding]) -> list[tuple[str, str, str]]:
    return [(f["id"], f["severity"], f["subject"]) for f in findings]


# --------------------------------------------------------------------------- no policy to report

def test_a_host_with_windows_defaults_has_no_findings():
    assert check(query()) == []


def test_a_host_that_reports_no_policy_is_not_checked():
    assert wp.check_policy(wp.read_policy({"rules": [], "profiles": []}), [allow()]) == []


def test_the_simulated_host_with_its_defaults_has_no_findings():
    fake = FakeWindowsFirewall()
    for numeric in (True, False):
        fake.numeric_enums = numeric
        q = fake.run({"operation": "query", "group": GROUP})
        assert check(q) == [], q


# --------------------------------------------------------------------------- the firewall service

@pytest.mark.parametrize("service,expected", [
    ({"Name": "mpssvc", "Status": "Stopped", "StartType": "Automatic"}, ("service-stopped", "error")),
    ({"Name": "mpssvc", "Status": 1, "StartType": 4}, ("service-stopped", "error")),  # ServiceControllerStatus, ServiceStartMode
    ({"Name": "mpssvc", "Status": "StopPending", "StartType": "Automatic"}, ("service-stopped", "error")),
    ({"Name": "mpssvc", "Status": "Running", "StartType": "Disabled"}, ("service-disabled", "error")),
    ({"Name": "mpssvc", "Status": "4", "StartType": "3"}, ("service-manual", "warning")),
    ({"Name": "mpssvc", "Status": "Running", "StartType": "Manual"}, ("service-manual", "warning")),
    ({"Name": "mpssvc", "Status": 4, "StartType": 2}, None),
    ({"Name": "mpssvc", "Status": "Running", "StartType": "AutomaticDelayedStart"}, None),
])
def test_the_firewall_service(service, expected):
    q = query(service)
    if service["Status"] not in ("Running", 4, "4"):
        del q["active_profiles"], q["block_rules"]  # the module does not read the active store then
        q["policy_unread"] = {"active_store": "the Windows Defender Firewall service (mpssvc) is not running"}
    found = [f for f in check(q) if f["id"].startswith("service-")]
    assert [(f["id"], f["severity"]) for f in found] == ([expected] if expected else [])
    for finding in found:
        assert finding["subject"] == "mpssvc" and "mpssvc" in finding["message"]
    if expected and expected[1] == "error":
        assert wp.refusals(check(q)) == found
        assert "start it (Start-Service -Name mpssvc" in found[0]["message"]
        assert "policy-unread" not in [f["id"] for f in check(q)]  # the active store unread follows from the service


def test_a_missing_firewall_service_is_an_error():
    q = query()
    q["firewall_service"] = None
    (finding,) = wp.refusals(check(q))
    assert finding["id"] == "service-missing"


def test_errors_come_first():
    q = query({"Name": "mpssvc", "Status": "Stopped", "StartType": "Disabled"}, gpo={"Domain": {"AllowLocalFirewallRules": "False"}})
    del q["active_profiles"], q["block_rules"]
    found = check(q)
    assert found[0]["severity"] == "error" and {f["severity"] for f in found[1:]} == {"warning"}


# --------------------------------------------------------------------------- Group Policy

@pytest.mark.parametrize("where", ["gpo", "active", "both", "numbers"])
def test_group_policy_without_local_merge_is_a_warning_per_profile_the_rules_use(where):
    setting = {"AllowLocalFirewallRules": 0 if where == "numbers" else "False"}  # GpoBoolean False = 0
    gpo = {"Domain": setting, "Public": setting} if where in ("gpo", "both", "numbers") else {}
    active = {"Domain": setting, "Public": setting} if where in ("active", "both") else {}
    found = check(query(gpo=gpo, active=active), profiles=["Domain", "Private"])  # Public is not used by the rules
    assert ids(found) == [("local-rules-ignored", "warning", "Domain")]
    message = found[0]["message"]
    assert "AllowLocalFirewallRules False for the Domain profile" in message
    assert "1 rule(s) of group voiceops.firewall are written to the local store and kept, but are not in effect" in message
    assert "only Group Policy's allow rules admit inbound traffic, this connection included" in message
    assert found[0]["profiles"] == ["Domain"]


def test_local_merge_on_or_not_configured_is_no_finding():
    for value in ("True", "NotConfigured", 1, 2, None, ""):
        assert check(query(gpo={n: {"AllowLocalFirewallRules": value} for n in ALL})) == []


def test_merge_off_with_the_inbound_default_set_by_group_policy_does_not_mention_the_role_tightening_it():
    found = check(query(gpo={"Domain": {"AllowLocalFirewallRules": "False", "DefaultInboundAction": "Block"}}))
    assert ids(found) == [("local-rules-ignored", "warning", "Domain")]
    assert "this connection included" not in found[0]["message"]


def test_group_policy_defaults_that_differ_from_the_roles():
    found = check(query(gpo={"Domain": {"DefaultInboundAction": "Allow"}, "Private": {"DefaultOutboundAction": 4}}))
    assert ids(found) == [("gpo-default-inbound", "warning", "Domain"), ("gpo-default-outbound", "warning", "Private")]
    assert "Group Policy sets DefaultInboundAction Allow for the Domain profile, the role sets Block" in found[0]["message"]
    assert "the rules restrict nothing" in found[0]["message"]
    assert "the host's outbound flows of the plan are blocked" in found[1]["message"]
    # the role blocks outbound, Group Policy keeps it open
    found = check(query(gpo={"Public": {"DefaultOutboundAction": "Allow"}}), outbound="block")
    assert ids(found) == [("gpo-default-outbound", "warning", "Public")]
    assert "outbound traffic is not restricted there" in found[0]["message"]
    # Group Policy setting what the role sets is no finding
    assert check(query(gpo={n: {"DefaultInboundAction": "Block", "DefaultOutboundAction": "Allow", "Enabled": "True"} for n in ALL})) == []


def test_group_policy_blocking_outbound_matters_even_when_the_role_leaves_the_profiles_alone():
    gpo = {"Domain": {"DefaultOutboundAction": "Block", "DefaultInboundAction": "Allow"}}
    assert ids(check(query(gpo=gpo), manage=False)) == [("gpo-default-outbound", "warning", "Domain")]
    assert check(query(gpo=gpo), manage=False, outbound="block") == []


def test_the_firewall_off_by_group_policy_or_left_off_locally():
    found = check(query(gpo={"Private": {"Enabled": "False"}}))
    assert ids(found) == [("firewall-off", "warning", "Private")]
    assert "Group Policy turns Windows Defender Firewall off for the Private profile" in found[0]["message"]
    # off locally: the role turns it on when it manages the profiles, else it says so
    assert check(query(active={"Public": {"Enabled": "False"}})) == []
    assert ids(check(query(active={"Public": {"Enabled": 0}}), manage=False)) == [("firewall-off", "warning", "Public")]


def test_inbound_rules_ignored():
    found = check(query(gpo={"Domain": {"AllowInboundRules": "False"}}))
    assert ids(found) == [("inbound-rules-ignored", "warning", "Domain")]
    assert check(query(gpo={"Domain": {"AllowInboundRules": "False"}}), rules=[allow(direction="Outbound")], outbound="block") == []


def test_what_cannot_be_read_is_a_warning_not_a_failure():
    q = query(gpo={"Domain": {"AllowLocalFirewallRules": "Perhaps"}}, unread={"gpo_profiles": "access denied"})
    q["block_rules"] = [raw_block(RemoteAddress="not-an-address/99"), "junk"]
    q["active_profiles"].append({"Name": "Everywhere"})
    found = check(q)
    assert ids(found) == [("policy-unread", "warning", "effective policy")]
    message = found[0]["message"]
    for part in ("gpo_profiles (access denied)", "Domain profile AllowLocalFirewallRules: 'Perhaps'", "block rule Block-SIP",
                 "block rule ? (not a rule", "unexpected Name 'Everywhere'"):
        assert part in message, message


# --------------------------------------------------------------------------- block rules and planned allows

def test_a_group_policy_block_rule_on_5060_names_itself_and_the_flows():
    found = check(query(blocks=[raw_block()]), rules=[allow(flows="pbx.sip:pbx>speech01, pbx.sip:pbx2>speech01"),
                                                      allow("voiceops.firewall-in-tcp-5986", ports=["5986"], flows="management.winrm")])
    assert ids(found) == [("block-overlap", "warning", "Block-SIP")]
    finding = found[0]
    assert finding["rule"] == "Block-SIP" and finding["source"] == "Group Policy (GPO Corp firewall baseline)"
    assert finding["flows"] == ["pbx.sip:pbx2>speech01", "pbx.sip:pbx>speech01"]
    assert [(b["rule"], b["whole"], b["certain"]) for b in finding["blocks"]] == [("voiceops.firewall-in-tcp-5060", True, True)]
    assert finding["message"].startswith("block rule Block-SIP (Block SIP, from Group Policy (GPO Corp firewall baseline)) blocks "
                                         "traffic that the planned rules allow: all of voiceops.firewall-in-tcp-5060 (Domain, Private, "
                                         "Public; flows pbx.sip:pbx>speech01, pbx.sip:pbx2>speech01)")
    assert "cannot take effect where they meet it: pbx.sip:pbx2>speech01, pbx.sip:pbx>speech01" in finding["message"]
    line, = wp.warning_lines(found)
    assert line.startswith("effective policy, block-overlap (Block-SIP): block rule Block-SIP")


@pytest.mark.parametrize("origin", ["Local", 1])
def test_a_local_block_rule_is_reported_too_and_ignored_where_local_rules_are(origin):
    local = raw_block("Vendor-Block", origin=origin, Group="Vendor", PolicyStoreSource="PersistentStore")
    found = check(query(blocks=[local]))
    assert ids(found) == [("block-overlap", "warning", "Vendor-Block")]
    assert found[0]["source"] == "the local store (group Vendor)"
    # Group Policy ignores local rules in every profile: neither ours nor the block rule apply, only that is reported
    off = {n: {"AllowLocalFirewallRules": "False"} for n in ALL}
    assert [f["id"] for f in check(query(gpo=off, blocks=[local]))] == ["local-rules-ignored"] * 3
    # ... and in two of three: the block meets our rule in the third only
    found = check(query(gpo={"Domain": {"AllowLocalFirewallRules": "False"}, "Private": {"AllowLocalFirewallRules": "False"}},
                        blocks=[local]))
    overlap, = [f for f in found if f["id"] == "block-overlap"]
    assert overlap["profiles"] == ["Public"]


def test_a_group_policy_block_rule_still_applies_where_local_rules_are_ignored_but_ours_do_not():
    found = check(query(gpo={n: {"AllowLocalFirewallRules": "False"} for n in ALL}, blocks=[raw_block()]))
    assert "block-overlap" not in [f["id"] for f in found]  # our rules are not in effect anywhere: nothing they allow is blocked


def test_block_rules_that_are_not_reported():
    blocks = [
        raw_block("Off", Enabled="False"),  # disabled (the query lists enabled ones only, but a host may say otherwise)
        raw_block("W32Time-Block", Service="W32Time"),  # limited to one service (service hardening)
        raw_block("UDP", Protocol="UDP"),
        raw_block("Other-port", LocalPort="5061"),
        raw_block("Outbound", Direction="Outbound"),
        raw_block("Other-net", RemoteAddress="192.168.0.0/255.255.0.0"),
        raw_block("Other-program", Program=r"C:\Vendor\other.exe"),
    ]
    assert check(query(blocks=blocks), rules=[allow(program=r"%SystemRoot%\System32\sip.exe")]) == []


def test_a_block_rule_of_the_group_that_the_apply_repairs_is_not_reported():
    ours = raw_block("voiceops.firewall-in-tcp-5060", origin="Local", Group=GROUP)
    assert check(query(blocks=[ours]), own=("voiceops.firewall-in-tcp-5060",)) == []
    assert [f["id"] for f in check(query(blocks=[ours]))] == ["block-overlap"]


# block_overlap on its own: each dimension


@pytest.mark.parametrize("blocked,planned,expected", [
    # ports: ranges, Any, a part
    ({"local_ports": ["5000-5100"]}, {}, (True, True)),
    ({"local_ports": ["Any"]}, {}, (True, True)),
    ({"local_ports": ["5060"]}, {"local_ports": ["5060-5061"]}, (True, False)),
    ({"local_ports": ["5061-5070"]}, {"local_ports": ["5060-5061"]}, (True, False)),
    ({"local_ports": ["5062-5070"]}, {"local_ports": ["5060-5061"]}, None),
    ({"local_ports": ["5060", "5061"]}, {"local_ports": ["5060-5061"]}, (True, True)),
    ({"remote_ports": ["1024-65535"]}, {}, (True, False)),  # our rule admits any remote port
    # protocols
    ({"protocol": "Any", "local_ports": ["Any"]}, {}, (True, True)),
    ({"protocol": "UDP"}, {}, None),
    ({"protocol": "ICMPv4", "local_ports": ["Any"]}, {"protocol": "ICMPv4", "local_ports": ["Any"]}, (True, True)),
    ({"protocol": "Any", "local_ports": ["Any"]}, {"protocol": "50", "local_ports": ["Any"]}, (True, True)),
    ({"protocol": "47", "local_ports": ["Any"]}, {"protocol": "50", "local_ports": ["Any"]}, None),
    # addresses: networks, ranges, Any, families
    ({"remote_addresses": ["10.10.0.0/16"]}, {}, (True, True)),
    ({"remote_addresses": ["10.10.0.128/25"]}, {}, (True, False)),
    ({"remote_addresses": ["10.10.0.1-10.10.0.9"]}, {}, (True, False)),
    ({"remote_addresses": ["10.10.1.0/24"]}, {}, None),
    ({"remote_addresses": ["fd00::/8"]}, {}, None),
    ({"remote_addresses": ["10.10.0.5"]}, {"remote_addresses": ["Any"]}, (True, False)),
    ({"remote_addresses": ["Any"]}, {"remote_addresses": ["10.10.0.0/24", "fd00::/64"]}, (True, True)),
    ({"remote_addresses": ["fd00::/16"]}, {"remote_addresses": ["10.10.0.0/24", "fd00::/64"]}, (True, False)),
    ({"local_addresses": ["10.30.0.10"]}, {}, (True, False)),
    # profiles: NotApplicable limits nothing
    ({"profiles": ["Public"]}, {"profiles": ["Domain", "Private"]}, None),
    ({"profiles": ["Public"]}, {}, (True, False)),
    ({"profiles": ["NotApplicable"]}, {}, (True, True)),
    # programs: Any, the same path as stored or expanded, another program
    ({"program": r"C:\Windows\System32\sip.exe"}, {"program": r"%SystemRoot%\System32\SIP.exe"}, (True, True)),
    ({"program": r"C:\Windows\System32\sip.exe"}, {}, (True, False)),
    ({}, {"program": r"C:\Program Files\Vendor\sip.exe"}, (True, True)),
    ({"program": r"%ProgramFiles%\Vendor\sip.exe"}, {"program": r"C:\Program Files\Vendor\sip.exe"}, (True, True)),
    ({"program": r"C:\Vendor\other.exe"}, {"program": r"C:\Vendor\sip.exe"}, None),
    # direction, state
    ({"direction": "Outbound"}, {}, None),
    ({"enabled": False}, {}, None),
])
def test_block_overlap(blocked, planned, expected):
    hit = wp.block_overlap(block(**blocked), allow(**planned))
    assert (None if hit is None else (True, hit["whole"])) == expected
    if hit:
        assert hit["certain"] and hit["rule"] == "voiceops.firewall-in-tcp-5060" and hit["flows"] == ["pbx.sip:pbx>speech01"]


@pytest.mark.parametrize("blocked,planned,whole", [
    ({"remote_addresses": ["LocalSubnet"]}, {}, False),  # resolved on the host: may or may not hold 10.10.0.0/24
    ({"remote_addresses": ["DNS4", "192.168.0.0/16"]}, {}, False),
    ({"local_ports": ["RPC"]}, {"local_ports": ["49152-65535"]}, True),  # the default dynamic RPC range
    ({"local_ports": ["RPCEPMap"]}, {"local_ports": ["135"]}, True),
])
def test_an_overlap_through_a_keyword_is_uncertain(blocked, planned, whole):
    hit = wp.block_overlap(block(**blocked), allow(**planned))
    assert hit is not None and not hit["certain"] and hit["whole"] is whole


def test_port_keywords_without_known_ports_and_a_certain_overlap_beside_a_keyword():
    assert wp.block_overlap(block(local_ports=["IPHTTPSIn"]), allow()) is None
    hit = wp.block_overlap(block(remote_addresses=["LocalSubnet", "10.10.0.0/24"]), allow())
    assert hit is not None and hit["certain"] and hit["whole"]


def test_an_uncertain_overlap_says_may_block():
    found = check(query(blocks=[raw_block(RemoteAddress="LocalSubnet")]))
    assert ids(found) == [("block-overlap", "warning", "Block-SIP")]
    assert " may block traffic " in found[0]["message"] and "depends on an address or port keyword" in found[0]["message"]


def test_the_simulated_host_reports_the_policy_in_both_forms():
    """The fake's effective policy through read_policy: a stopped service, Group Policy without merge, a GPO block rule."""
    for numeric in (True, False):
        fake = FakeWindowsFirewall(numeric_enums=numeric)
        fake.gpo_profiles["Domain"]["AllowLocalFirewallRules"] = "False"
        fake.gpo_profiles["Private"]["DefaultInboundAction"] = "Allow"
        fake.gpo_rules.append(dict(fake.stored(block(), ""), Name="Block-SIP", PolicyStoreSource="Corp firewall baseline"))
        found = check(fake.run({"operation": "query", "group": GROUP}))
        assert ids(found) == [("block-overlap", "warning", "Block-SIP"), ("gpo-default-inbound", "warning", "Private"),
                              ("local-rules-ignored", "warning", "Domain")]
        assert found[0]["profiles"] == ["Private", "Public"]  # not in Domain: our rule is not in effect there
        fake.service = {"Status": "Stopped", "StartType": "Disabled"}
        q = fake.run({"operation": "query", "group": GROUP})
        assert "block_rules" not in q and "active_profiles" not in q
        assert [f["id"] for f in wp.refusals(check(q))] == ["service-stopped"]
