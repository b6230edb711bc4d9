# -*- coding: utf-8 -*-
"""Rule names with wildcard characters (issue 14, item 2).

``Get-``, ``Set-`` and ``Remove-NetFirewallRule -Name`` take wildcards ("Wildcard characters are
accepted", NetSecurity help), so a rule of the group whose name holds ``*``, ``?`` or ``[`` matched
other rules. The host module now escapes the name
(``[System.Management.Automation.WildcardPattern]::Escape``), requires exactly one match of that
exact name in the group and changes that object (``-InputObject``).

The simulated host matches ``-Name`` as PowerShell's wildcard patterns do (about_Wildcards), and
can still act as the module did before (``legacy_name_lookup``), to show what that would have done.
"""

from __future__ import annotations

import re

import pytest

from conftest import REPO
from windows_fake import FakeWindowsFirewall, wildcard_escape, wildcard_match

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w

PS1 = (REPO / "plugins" / "modules" / "win_firewall_rules.ps1").read_text()


@pytest.mark.parametrize("pattern,name,matches", [
    # about_Wildcards: * any characters, ? one character, [abc] one of, [a-c] a range; case-insensitive
    ("voiceops.firewall-in-tcp-80*", "voiceops.firewall-in-tcp-8080-admin", True),
    ("voiceops.firewall-in-tcp-80*", "voiceops.firewall-in-tcp-80*", True),
    ("voiceops.firewall-in-tcp-80*", "Voiceops.Firewall-In-TCP-80", True),
    ("voiceops.firewall-in-tcp-8?80", "voiceops.firewall-in-tcp-8080", True),
    ("voiceops.firewall-in-tcp-8?80", "voiceops.firewall-in-tcp-880", False),
    ("voiceops.firewall-in-tcp-[1]", "voiceops.firewall-in-tcp-1", True),
    ("voiceops.firewall-in-tcp-[1]", "voiceops.firewall-in-tcp-[1]", False),  # a name with brackets does not even match itself
    ("voiceops.firewall-in-tcp-[0-2]", "voiceops.firewall-in-tcp-2", True),
    ("voiceops.firewall-in-tcp-[0-2]", "voiceops.firewall-in-tcp-3", False),
    ("plain", "PLAIN", True),
    ("plain", "plainer", False),
])
def test_the_simulated_host_matches_names_as_powershell_wildcards(pattern, name, matches):
    assert wildcard_match(pattern, name) is matches


@pytest.mark.parametrize("name", ["voiceops.firewall-in-tcp-80*", "voiceops.firewall-in-tcp-[1]", "a?b", "tick`x", "x[a-z]*?`"])
def test_an_escaped_name_matches_exactly_itself(name):
    # WildcardPattern.Escape: a backtick before each of * ? [ ] and the backtick itself
    pattern = wildcard_escape(name)
    assert wildcard_match(pattern, name)
    assert not wildcard_match(pattern, name + "x") and not wildcard_match(pattern, "x" + name)
    assert not wildcard_match(pattern, name.replace("*", "z").replace("?", "q")) or not set("*?") & set(name)


def _rule(name: str, group: str, port: str) -> dict:
    return {"Name": name, "DisplayName": name, "Description": "", "Group": group, "Enabled": True, "Direction": "Inbound",
            "Action": "Allow", "Profile": 7, "Protocol": "TCP", "LocalPort": [port], "RemotePort": ["Any"],
            "LocalAddress": ["Any"], "RemoteAddress": ["Any"], "Program": "Any"}


# A stale rule of the group whose name holds a wildcard (someone else populated the group), and a
# rule created by hand without a group whose name it matches.
STALE = _rule("voiceops.firewall-in-tcp-80*", w.GROUP, "80")
FOREIGN = _rule("voiceops.firewall-in-tcp-8080-admin", "", "8080")
OTHER = _rule("RemoteDesktop-UserMode-In-TCP", "@FirewallAPI.dll,-28752", "3389")


def _host(legacy: bool) -> FakeWindowsFirewall:
    return FakeWindowsFirewall([dict(STALE), dict(FOREIGN), dict(OTHER)], legacy_name_lookup=legacy)


def test_the_old_module_would_have_deleted_a_foreign_rule():
    fake = _host(legacy=True)
    result = fake.run({"operation": "apply", "group": w.GROUP, "remove": [STALE["Name"]]})
    # Get-NetFirewallRule -Name 'voiceops.firewall-in-tcp-80*' found both; ($existing.Group -ne $group) was @('')
    # which PowerShell takes as false, so the check passed and Remove-NetFirewallRule deleted both.
    assert not result.get("failed")
    assert sorted(fake.rules) == [OTHER["Name"]]


def test_the_module_removes_exactly_the_rule_of_the_group():
    fake = _host(legacy=False)
    result = fake.run({"operation": "apply", "group": w.GROUP, "remove": [STALE["Name"]]})
    assert not result.get("failed") and result["done"] == ["remove voiceops.firewall-in-tcp-80*"]
    assert sorted(fake.rules) == sorted([FOREIGN["Name"], OTHER["Name"]])


def test_an_update_by_a_wildcard_name_changes_only_the_rule_of_the_group():
    update = {"name": STALE["Name"], "display_name": "d", "description": "", "direction": "Inbound", "action": "Allow",
              "enabled": True, "profiles": ["Domain"], "protocol": "TCP", "local_ports": ["81"], "remote_ports": ["Any"],
              "local_addresses": ["Any"], "remote_addresses": ["10.0.0.0/8"], "program": "Any"}
    old = _host(legacy=True)
    old.run({"operation": "apply", "group": w.GROUP, "update": [update]})
    assert old.rules[FOREIGN["Name"]]["LocalPort"] == ["81"]  # the foreign rule was rewritten
    new = _host(legacy=False)
    result = new.run({"operation": "apply", "group": w.GROUP, "update": [update]})
    assert not result.get("failed")
    assert new.rules[FOREIGN["Name"]] == FOREIGN and new.rules[STALE["Name"]]["LocalPort"] == ["81"]


def test_a_bracket_name_of_the_group_can_be_removed():
    bracket = _rule("voiceops.firewall-in-tcp-[1]", w.GROUP, "1")
    one = _rule("voiceops.firewall-in-tcp-1", "", "1")
    old = FakeWindowsFirewall([dict(bracket), dict(one)], legacy_name_lookup=True)
    result = old.run({"operation": "apply", "group": w.GROUP, "remove": [bracket["Name"]]})
    assert result["failed"] and sorted(old.rules) == sorted([bracket["Name"], one["Name"]])  # refused: stuck for ever
    new = FakeWindowsFirewall([dict(bracket), dict(one)])
    assert not new.run({"operation": "apply", "group": w.GROUP, "remove": [bracket["Name"]]}).get("failed")
    assert sorted(new.rules) == [one["Name"]]


@pytest.mark.parametrize("op", ["update", "remove"])
def test_a_name_that_is_not_exactly_one_rule_of_the_group_is_refused(op):
    fake = FakeWindowsFirewall([dict(FOREIGN), dict(OTHER)])
    arg = {"name": FOREIGN["Name"], "display_name": "d", "description": "", "direction": "Inbound", "action": "Allow",
           "enabled": True, "profiles": ["Domain"], "protocol": "TCP", "local_ports": ["1"], "remote_ports": ["Any"],
           "local_addresses": ["Any"], "remote_addresses": ["Any"], "program": "Any"}
    for name, why in ((FOREIGN["Name"], "is in group '', not 'voiceops.firewall'"), ("absent-rule", "0 rules")):
        result = fake.run({"operation": "apply", "group": w.GROUP, op: [dict(arg, name=name) if op == "update" else name]})
        assert result["failed"] and why in result["msg"], result
    assert sorted(fake.rules) == sorted([FOREIGN["Name"], OTHER["Name"]]) and fake.rules[FOREIGN["Name"]] == FOREIGN


def _calls(cmdlet: str) -> list[str]:
    """Every call of ``cmdlet`` in the module's code (comments left out), as the rest of its line."""
    code = "\n".join(line.split(" #")[0] for line in PS1.splitlines() if not line.strip().startswith("#"))
    return [m.group(1) for m in re.finditer(r"\b%s\b([^\n]*)" % re.escape(cmdlet), code)]


def test_the_module_never_changes_a_rule_by_name():
    # Set, Remove and Rename act on the object that Get-OwnRule checked, never on a -Name pattern
    for cmdlet in ("Set-NetFirewallRule", "Remove-NetFirewallRule", "Rename-NetFirewallRule"):
        calls = _calls(cmdlet)
        assert calls, cmdlet
        for rest in calls:
            assert rest.startswith(" -InputObject $") and "-Name " not in rest, (cmdlet, rest)
    # the only -Name lookup is of an escaped name, and exactly one match of that exact name is required
    lookups = [rest for rest in _calls("Get-NetFirewallRule") if "-Name" in rest]
    assert lookups == [" -Name $pattern -PolicyStore PersistentStore -ErrorAction Stop)"]
    assert "$pattern = [System.Management.Automation.WildcardPattern]::Escape($Name)" in PS1
    assert "if ($found.Count -ne 1)" in PS1 and "if ($rule.Name -ne $Name)" in PS1 and "if ($rule.Group -ne $group)" in PS1
    # every update and removal goes through that lookup
    assert PS1.count("= Get-OwnRule -Name ") == 2
