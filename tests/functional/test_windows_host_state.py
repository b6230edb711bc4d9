# -*- coding: utf-8 -*-
"""The windows_firewall role, run for real with ansible-playbook, against simulated hosts holding
what real servers hold (issue 14, items 1, 2 and 8).

- item 1: rules of other groups in documented but unusual forms (``DNS4``, ``CaptivePortal6``,
  ``Profile NotApplicable``) do not abort a run that reports foreign rules;
- item 2: a rule of the group whose name holds a wildcard is removed without touching the rule of
  another group that the name matches (the simulated host matches ``-Name`` as PowerShell does);
- item 8: a hand edit of a setting the collection never sets (``InterfaceType``, ``Owner``) is
  seen, shown in the diff, repaired, and the next run changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO
from test_windows_role import _load_test_inventory, calls, run
from windows_fake import FakeWindowsFirewall

GROUP = "voiceops.firewall"


def _rule(name: str, group: str, **fields) -> dict:
    rule = {"Name": name, "DisplayName": name, "Description": "", "Group": group, "Enabled": True, "Direction": "Inbound",
            "Action": "Allow", "Profile": 7, "Protocol": "TCP", "LocalPort": ["Any"], "RemotePort": ["Any"],
            "LocalAddress": ["Any"], "RemoteAddress": ["Any"], "Program": "Any"}
    rule.update(fields)
    return rule


def _state(state: Path, host: str = "win01") -> dict:
    return json.loads((state / ("%s.json" % host)).read_text())


def _rules(state: Path) -> dict[str, dict]:
    return {r["Name"]: r for r in _state(state)["rules"]}


@pytest.fixture
def win01(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    return state, _load_test_inventory(tmp_path, 2)


@pytest.mark.parametrize("numeric", [True, False], ids=["enums-as-numbers", "enums-as-names"])
def test_documented_forms_of_foreign_rules_do_not_abort_the_run(win01, numeric):
    state, inv = win01
    foreign = [
        # CoreNet-style outbound DNS rule: RemoteAddress keywords with a family suffix (New-NetFirewallRule help)
        _rule("Vendor-DNS-Out", "Vendor", Direction="Outbound", Protocol="UDP", RemotePort=["53"], RemoteAddress=["DNS4", "DNS6"]),
        # Profile NotApplicable (65535 in the NetSecurity Profile enum), CaptivePortal6
        _rule("Vendor-Portal-In", "Vendor", LocalPort=["8080"], RemoteAddress=["CaptivePortal6"], Profile=65535),
        _rule("Vendor-Intranet-In", "Vendor", LocalPort=["8443"], RemoteAddress=["Intranet4", "LocalSubnet6"]),
    ]
    FakeWindowsFirewall(foreign, numeric_enums=numeric).save(state / "win01.json")
    result = run(state, inv, "-e", "windows_firewall_report_foreign=true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["operation"] for e in calls(state)] == ["query", "apply", "confirm"]
    # the two inbound ones open what the plan does not; the outbound one is not looked at (outbound allowed)
    assert "2 rule(s) outside group voiceops.firewall open what the plan does not" in result.stderr
    assert set(_rules(state)) >= {r["Name"] for r in foreign}


def test_a_wildcard_name_in_the_group_never_removes_a_foreign_rule(win01):
    state, inv = win01
    stale = _rule("voiceops.firewall-in-tcp-80*", GROUP, LocalPort=["80"])  # in the group, but not a name the renderer makes
    foreign = _rule("voiceops.firewall-in-tcp-8080-admin", "", LocalPort=["8080"])  # made by hand, no group; the pattern matches it
    FakeWindowsFirewall([stale, foreign]).save(state / "win01.json")
    result = run(state, inv, "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [(e["operation"], e["remove"]) for e in calls(state)] == [("query", 0), ("apply", 1), ("confirm", 0)]
    names = set(_rules(state))
    assert "voiceops.firewall-in-tcp-8080-admin" in names and "voiceops.firewall-in-tcp-80*" not in names
    assert "+++ after: rule voiceops.firewall-in-tcp-80* (removed)" in result.stdout


def test_the_module_before_the_fix_would_have_removed_it(win01):
    """The same run against the simulated host acting as the module did before (``-Name`` unescaped)."""
    state, inv = win01
    stale = _rule("voiceops.firewall-in-tcp-80*", GROUP, LocalPort=["80"])
    foreign = _rule("voiceops.firewall-in-tcp-8080-admin", "", LocalPort=["8080"])
    FakeWindowsFirewall([stale, foreign], legacy_name_lookup=True).save(state / "win01.json")
    result = run(state, inv)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "voiceops.firewall-in-tcp-8080-admin" not in _rules(state)


def test_an_edited_setting_is_repaired_and_the_next_run_changes_nothing(win01):
    state, inv = win01
    assert run(state, inv).returncode == 0
    calls(state)
    data = _state(state)
    for rule in data["rules"]:
        if rule["Name"] == "voiceops.firewall-in-tcp-5986":
            rule["InterfaceType"] = "Wireless"  # Set-NetFirewallRule -InterfaceType Wireless: off on a wired server
        if rule["Name"] == "voiceops.firewall-in-tcp-20000":
            rule["Owner"] = "S-1-5-21-1004336348-1177238915-682003330-1001"  # Set-NetFirewallRule -Owner <SID>
    (state / "win01.json").write_text(json.dumps(data))

    result = run(state, inv, "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [(e["operation"], e["update"]) for e in calls(state)] == [("query", 0), ("apply", 2), ("confirm", 0)]
    assert "+++ after: rule voiceops.firewall-in-tcp-5986 (after; changed: interface_type)" in result.stdout
    assert "+++ after: rule voiceops.firewall-in-tcp-20000 (after; changed: owner)" in result.stdout
    rules = _rules(state)
    assert rules["voiceops.firewall-in-tcp-5986"]["InterfaceType"] == "Any"
    assert rules["voiceops.firewall-in-tcp-20000"].get("Owner") in (None, "")
    assert len(rules) == 3  # recreated, not duplicated

    again = run(state, inv, "--diff")
    assert again.returncode == 0, again.stdout + again.stderr
    assert [e["operation"] for e in calls(state)] == ["query"]
    assert "changed=1" not in again.stdout


ACTION = (REPO / "plugins" / "action" / "windows_firewall.py").read_text()


@pytest.mark.skipif("read_foreign(" not in ACTION, reason="plugins/action/windows_firewall.py does not call "
                    "_windows_host.read_foreign yet (see docs/windows.md, 'Purge and foreign rules')")
def test_an_unreadable_foreign_rule_is_listed_and_the_run_goes_on(win01):
    state, inv = win01
    odd = _rule("Vendor-Odd-In", "Vendor", LocalPort=["9"], RemoteAddress=["printers.example"])
    FakeWindowsFirewall([odd]).save(state / "win01.json")
    result = run(state, inv, "-e", "windows_firewall_report_foreign=true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["operation"] for e in calls(state)] == ["query", "apply", "confirm"]
    assert "Vendor-Odd-In" in result.stderr
