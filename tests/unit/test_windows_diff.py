# -*- coding: utf-8 -*-
"""Normalising what Windows reports, and diffing it against the rendered rules.

The fixtures are what win_firewall_rules returns from Get-NetFirewallRule and its filters, in the
forms Windows and its JSON writers produce: enums as numbers (ConvertTo-Json, Ansible.Basic) or
names, a single value as a scalar, "Any", IPv4 subnets as address/mask, ranges, keywords.
"""

from __future__ import annotations

import copy
import json

import pytest

from example_inventory import example_vars, plan_of, role_program_paths
from windows_fake import FakeWindowsFirewall

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError

PLAN = plan_of(*example_vars())  # built from the inventory, not read back from a golden file

# Get-NetFirewallRule | ConvertTo-Json style: numbers for enums, scalars for single values.
WINRM_AS_WINDOWS_REPORTS_IT = json.loads("""
{
  "Name": "voiceops.firewall-in-tcp-5986",
  "DisplayName": "voiceops.firewall: in TCP 5986 (winrm-https)",
  "Description": "Managed by voiceops.firewall (do not edit). Flows: management.winrm:management>fs01",
  "Group": "voiceops.firewall",
  "Enabled": 1,
  "Direction": 1,
  "Action": 2,
  "Profile": 0,
  "Protocol": "TCP",
  "LocalPort": "5986",
  "RemotePort": "Any",
  "LocalAddress": "Any",
  "RemoteAddress": "10.99.0.0/255.255.255.0",
  "Program": "Any"
}
""")


def rendered(host: str, **kwargs) -> list[dict]:
    hv = example_vars()[1]
    return w.render_host(PLAN, host, program_paths=role_program_paths(hv[host]), **kwargs)[0]


def test_windows_report_of_the_winrm_rule_equals_the_rendered_rule():
    rule = [r for r in rendered("fs01") if r["name"] == "voiceops.firewall-in-tcp-5986"][0]
    assert w.normalise_rule(WINRM_AS_WINDOWS_REPORTS_IT) == rule
    assert w.diff_rules([rule], [w.normalise_rule(WINRM_AS_WINDOWS_REPORTS_IT)])["unchanged"] == [rule["name"]]


@pytest.mark.parametrize("raw,expected", [
    ({"Enabled": "True", "Direction": "Inbound", "Action": "Allow", "Profile": "Any"}, {}),
    ({"Enabled": 2}, {"enabled": False}),
    ({"Enabled": "False"}, {"enabled": False}),
    ({"Direction": 2}, {"direction": "Outbound"}),
    ({"Direction": "2"}, {"direction": "Outbound"}),
    ({"Action": 4}, {"action": "Block"}),
    ({"Profile": 1}, {"profiles": ["Domain"]}),
    ({"Profile": 6}, {"profiles": ["Private", "Public"]}),
    ({"Profile": 7}, {"profiles": ["Domain", "Private", "Public"]}),
    ({"Profile": "Domain, Public"}, {"profiles": ["Domain", "Public"]}),
    ({"Profile": ["Public", "Domain"]}, {"profiles": ["Domain", "Public"]}),
    ({"Profile": "NotApplicable"}, {"profiles": ["NotApplicable"]}),  # -Profile accepts NotApplicable
    ({"Profile": 65535}, {"profiles": ["NotApplicable"]}),  # its value in the NetSecurity Profile enum
    ({"Action": 3}, {"action": "AllowBypass"}),  # MSFT_NetFirewallRule.Action AllowBypass (3)
    ({"Protocol": "6"}, {}),
    ({"Protocol": 6}, {}),
    ({"Protocol": "tcp"}, {}),
    ({"Protocol": 17}, {"protocol": "UDP"}),
    ({"Protocol": "1"}, {"protocol": "ICMPv4"}),
    ({"Protocol": "58"}, {"protocol": "ICMPv6"}),
    ({"LocalPort": ["5986"]}, {}),
    ({"LocalPort": 5986}, {}),
    ({"LocalPort": ["5987", "5986"]}, {"local_ports": ["5986-5987"]}),
    ({"LocalPort": "RPC"}, {"local_ports": ["RPC"]}),
    ({"LocalPort": ["Any"]}, {"local_ports": ["Any"]}),
    ({"RemotePort": None}, {}),
    ({"RemoteAddress": "10.99.0.0/24"}, {}),
    ({"RemoteAddress": ["10.99.0.0/255.255.255.0"]}, {}),
    ({"RemoteAddress": "10.99.0.0-10.99.0.255"}, {}),
    ({"RemoteAddress": ["10.99.0.0/255.255.255.128", "10.99.0.128/25"]}, {}),
    ({"RemoteAddress": "10.99.0.5/255.255.255.255"}, {"remote_addresses": ["10.99.0.5"]}),
    ({"RemoteAddress": ["LocalSubnet", "10.99.0.0/24"]}, {"remote_addresses": ["10.99.0.0/24", "LocalSubnet"]}),
    # -RemoteAddress keywords "can be restricted to IPv4 or IPv6 by appending a 4 or 6"
    ({"RemoteAddress": ["DNS4", "intranet6", "CaptivePortal6"]}, {"remote_addresses": ["CaptivePortal6", "DNS4", "Intranet6"]}),
    ({"LocalAddress": "LocalSubnet6"}, {"local_addresses": ["LocalSubnet6"]}),
    ({"RemoteAddress": ["0.0.0.0/0.0.0.0", "::/0"]}, {"remote_addresses": ["Any"]}),
    ({"RemoteAddress": "FD00:50::11"}, {"remote_addresses": ["fd00:50::11"]}),
    ({"Program": ""}, {}),
    ({"Program": None}, {}),
    ({"Program": "any"}, {}),
])
def test_normalise_windows_forms(raw, expected):
    base = w.normalise_rule(WINRM_AS_WINDOWS_REPORTS_IT)
    got = w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, **raw})
    assert got == {**base, **expected}


@pytest.mark.parametrize("raw,message", [
    ({"Direction": 3}, "Direction: unknown value 3"),
    ({"Enabled": "Maybe"}, "Enabled: unknown value 'Maybe'"),
    ({"RemoteAddress": "10.99.0.0/33"}, "address: '10.99.0.0/33' from the host is not an address"),
    ({"Profile": "Work"}, "profile: unknown value 'Work'"),
    ({"Name": ""}, "has no Name"),
])
def test_unreadable_reports_fail_clearly(raw, message):
    with pytest.raises(VoiceopsError, match=message):
        w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, **raw})


def test_profiles_as_windows_reports_them():
    raw = [{"Name": "Domain", "Enabled": 1, "DefaultInboundAction": 4, "DefaultOutboundAction": 2},
           {"Name": "Private", "Enabled": "True", "DefaultInboundAction": "Block", "DefaultOutboundAction": "NotConfigured"},
           {"Name": 4, "Enabled": 0, "DefaultInboundAction": 0, "DefaultOutboundAction": 0}]
    got = w.normalise_profiles(raw)
    assert got == {
        "Domain": {"enabled": True, "default_inbound_action": "Block", "default_outbound_action": "Allow"},
        "Private": {"enabled": True, "default_inbound_action": "Block", "default_outbound_action": "NotConfigured"},
        "Public": {"enabled": False, "default_inbound_action": "NotConfigured", "default_outbound_action": "NotConfigured"},
    }
    changes = w.diff_profiles(w.desired_profiles(w.PROFILES, "allow"), got)
    assert [c["name"] for c in changes] == ["Private", "Public"]


def test_program_paths_compare_case_insensitively():
    rule = [r for r in rendered("speech01") if r["program"] != "Any"][0]
    have = dict(rule, program=rule["program"].upper())
    assert w.diff_rules([rule], [have])["unchanged"] == [rule["name"]]


@pytest.mark.parametrize("numeric", [True, False])
def test_second_run_changes_nothing_against_what_windows_reports(numeric):
    for host in w.windows_hosts(PLAN):
        desired = rendered(host, outbound_default="block")
        fake = FakeWindowsFirewall(numeric_enums=numeric)
        args = w.apply_args(w.GROUP, w.diff_rules(desired, []), [])
        fake.run(args)
        current = [w.normalise_rule(r) for r in fake.run({"operation": "query", "group": w.GROUP})["rules"]]
        changes = w.diff_rules(desired, current)
        assert not (changes["add"] or changes["update"] or changes["remove"]), host
        assert len(changes["unchanged"]) == len(desired)


def _changed_plan():
    """The example inventory with three edits an operator might make."""
    global_vars, host_vars = example_vars()
    host_vars = copy.deepcopy(host_vars)
    # 1. narrow Speech Server's RTP range on speech01 (a program rule's ports change)
    host_vars["speech01"]["voiceops_components"]["speech_server"]["params"]["rtp_ports"] = "40000-40499"
    # 2. the workstations get a second subnet (web01's HTTPS rule widens its sources)
    global_vars["voiceops_endpoints"]["workstations"]["addresses"].append("10.60.4.0/24")
    global_vars["voiceops_zones"]["clients"]["networks"].append("10.60.4.0/24")
    # 3. speech01 no longer accepts timc01 as a SIP peer (rules lose a source or disappear)
    host_vars["speech01"]["voiceops_components"]["speech_server"]["peers"]["sip_peer"] = ["sip_gw01"]
    return plan_of(global_vars, host_vars), host_vars


def test_changed_inventory_gives_exactly_the_expected_changes():
    new_plan, host_vars = _changed_plan()
    old_plan = plan_of(*example_vars())
    got = {}
    for host in w.windows_hosts(old_plan):
        paths = role_program_paths(host_vars[host])
        before = w.render_host(old_plan, host, program_paths=paths)[0]
        after = w.render_host(new_plan, host, program_paths=paths)[0]
        changes = w.diff_rules(after, before)
        summary = {
            "add": [r["name"] for r in changes["add"]],
            "update": {u["rule"]["name"]: u["fields"] for u in changes["update"]},
            "remove": changes["remove"],
        }
        if summary["add"] or summary["update"] or summary["remove"]:
            got[host] = summary
    assert got == {
        "speech01": {
            "add": ["voiceops.firewall-in-udp-40000-40499-sesworker.exe"],
            "update": {
                "voiceops.firewall-in-tcp-1024-65535-w3wp.exe": ["description", "remote_addresses"],
                "voiceops.firewall-in-tcp-5061": ["description", "remote_addresses"],
            },
            # TIMC plays sip_peer, so the peer list also ends its audio, IPsec and control flows
            "remove": ["voiceops.firewall-in-esp", "voiceops.firewall-in-tcp-6000-6009", "voiceops.firewall-in-udp-40000-40999-sesworker.exe",
                       "voiceops.firewall-in-udp-500_4500"],
        },
        "timc01": {"add": [], "update": {}, "remove": ["voiceops.firewall-in-tcp-7424", "voiceops.firewall-in-tcp-7425"]},
        "web01": {"add": [], "update": {"voiceops.firewall-in-tcp-443": ["remote_addresses"]}, "remove": []},
    }
    web = {r["name"]: r for r in w.render_host(new_plan, "web01", program_paths={})[0]}
    assert web["voiceops.firewall-in-tcp-443"]["remote_addresses"] == ["10.60.0.0/22", "10.60.4.0/24", "fd00:60::/64"]


def test_purge_off_keeps_stale_rules_and_says_so():
    desired = rendered("fs01")
    stale = dict(desired[0], name="voiceops.firewall-in-tcp-8080")
    changes = w.diff_rules(desired, desired + [stale], purge=False)
    assert changes["remove"] == [] and changes["stale"] == ["voiceops.firewall-in-tcp-8080"]
    assert w.diff_rules(desired, desired + [stale])["remove"] == ["voiceops.firewall-in-tcp-8080"]


def test_diff_output_is_a_before_after_per_rule():
    desired = rendered("fs01")
    current = [dict(desired[0], remote_addresses=["10.40.0.11"]), dict(desired[1], name="voiceops.firewall-in-tcp-8080")]
    changes = w.diff_rules(desired, current)
    profiles = w.diff_profiles(w.desired_profiles(["Domain"], "allow"), {})
    diff = w.ansible_diff(changes, {r["name"]: r for r in current}, profiles)
    headers = [(d["before_header"], d["after_header"]) for d in diff]
    assert headers == [
        ("rule voiceops.firewall-in-tcp-5986 (absent)", "rule voiceops.firewall-in-tcp-5986 (added)"),
        ("rule voiceops.firewall-in-tcp-445 (before)", "rule voiceops.firewall-in-tcp-445 (after; changed: remote_addresses)"),
        ("rule voiceops.firewall-in-tcp-8080 (present)", "rule voiceops.firewall-in-tcp-8080 (removed)"),
        ("profile Domain (before)", "profile Domain (after)"),
    ]
    assert "remote_addresses: [10.40.0.11]\n" in diff[1]["before"]
    assert "remote_addresses: [10.40.0.11, 10.40.0.12, 10.70.0.10]\n" in diff[1]["after"]
    assert diff[2]["after"] == "" and diff[0]["before"] == ""


def test_foreign_rules_that_open_more_than_the_plan_are_reported():
    desired = rendered("fs01")
    foreign_raw = [
        # covered: SMB from one of the planned sources
        {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "FPS-SMB-In-TCP", "Group": "@FirewallAPI.dll,-28502",
         "LocalPort": "445", "RemoteAddress": "10.40.0.11"},
        # not covered: SMB from anywhere
        {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "FPS-SMB-In-TCP-Any", "Group": "@FirewallAPI.dll,-28502",
         "LocalPort": "445", "RemoteAddress": "Any"},
        # not covered: RDP
        {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "RemoteDesktop-UserMode-In-TCP", "Group": "@FirewallAPI.dll,-28752",
         "LocalPort": "3389", "RemoteAddress": "Any", "Profile": 1},
        # disabled and block rules are not openings
        {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "Disabled", "Enabled": 2, "LocalPort": "23"},
        {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "Blocker", "Action": 4, "LocalPort": "23"},
    ]
    report = w.foreign_openings(desired, [w.normalise_rule(r) for r in foreign_raw])
    assert [r["name"] for r in report] == ["FPS-SMB-In-TCP-Any", "RemoteDesktop-UserMode-In-TCP"]
    assert report[1]["local_ports"] == ["3389"] and report[1]["profiles"] == ["Domain"]


def test_fake_host_refuses_to_touch_rules_of_another_group():
    fake = FakeWindowsFirewall([{**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "RemoteDesktop", "Group": "Remote Desktop",
                                 "Enabled": True, "Direction": "Inbound", "Action": "Allow", "Profile": 7,
                                 "LocalPort": ["3389"], "RemotePort": ["Any"], "LocalAddress": ["Any"], "RemoteAddress": ["Any"]}])
    result = fake.run({"operation": "apply", "group": w.GROUP, "remove": ["RemoteDesktop"]})
    assert result["failed"] and "is in group 'Remote Desktop', not 'voiceops.firewall'; refusing" in result["msg"]
    assert "RemoteDesktop" in fake.rules
    assert fake.run({"operation": "query", "group": w.GROUP})["rules"] == []
