# -*- coding: utf-8 -*-
"""What a Windows host reports beyond the fields the collection renders (issue 14, items 1 and 8).

Item 1: address keywords with a 4 or 6 suffix and ``Profile`` ``NotApplicable`` are documented
forms, not errors; a rule of another group that cannot be read is listed with why, never fatal,
while the collection's own rules stay strict.

Item 8: the settings the collection never sets (``InterfaceType``, ``Service``, ``IcmpType``,
``EdgeTraversalPolicy``, the security filter, ``Owner``, ``Platform``, ...) must have Windows'
default on every rule of the group; an edit on the host is drift that the diff shows and the
apply repairs (in place where a cmdlet parameter sets the default back, else by recreating the
rule), and a second run is clean.

Each raw value below is in a form Windows documents; the comment next to it names the source.
"""

from __future__ import annotations

import copy

import pytest

import windows_fake
from conftest import REPO
from example_inventory import example_vars, plan_of, role_program_paths
from test_windows_diff import WINRM_AS_WINDOWS_REPORTS_IT
from windows_fake import FakeWindowsFirewall

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows_host as host
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows_model as model
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError

PLAN = plan_of(*example_vars())


def rendered(name: str, **kwargs) -> list[dict]:
    return w.render_host(PLAN, name, program_paths=role_program_paths(example_vars()[1][name]), **kwargs)[0]


def winrm_rule() -> dict:
    return [r for r in rendered("fs01") if r["name"] == "voiceops.firewall-in-tcp-5986"][0]


# ------------------------------------------------------------------ item 1: documented forms

# New-NetFirewallRule / Set-NetFirewallRule -RemoteAddress (Windows Server 2022 and 2025 help):
# "Keyword: Any, LocalSubnet, DNS, DHCP, WINS, DefaultGateway, Internet, Intranet,
# IntranetRemoteAccess, PlayToDevice, CaptivePortal. Keywords can be restricted to IPv4 or IPv6 by
# appending a 4 or 6 (for example, keyword "LocalSubnet4" ...)".
DOCUMENTED_KEYWORDS = ["LocalSubnet", "DNS", "DHCP", "WINS", "DefaultGateway", "Internet", "Intranet",
                       "IntranetRemoteAccess", "PlayToDevice", "CaptivePortal"]


@pytest.mark.parametrize("keyword", [k + suffix for k in DOCUMENTED_KEYWORDS for suffix in ("", "4", "6")])
def test_every_documented_address_keyword_is_read(keyword):
    for key in ("RemoteAddress", "LocalAddress"):
        got = w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, key: [keyword, "10.99.0.0/255.255.255.0"]})
        field = "remote_addresses" if key == "RemoteAddress" else "local_addresses"
        assert got[field] == ["10.99.0.0/24", keyword]
        # as Windows spells it, whatever the case the host reports
        assert w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, key: keyword.upper()})[field] == [keyword]


@pytest.mark.parametrize("raw", [
    "NotApplicable",  # New-NetFirewallRule -Profile: "Any, Domain, Private, Public, or NotApplicable"
    65535,  # the NetSecurity Profile enum: NotApplicable = 65535 (0xFFFF, all bits set: not "all profiles")
    "65535",
])
def test_profile_not_applicable_is_its_own_value(raw):
    got = w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, "Profile": raw})
    assert got["profiles"] == ["NotApplicable"]
    # a rule of the group with it is drift: the plan's profiles are set back
    changes = w.diff_rules([winrm_rule()], [got])
    assert [u["fields"] for u in changes["update"]] == [["profiles"]]


def test_action_allow_bypass_is_read():
    # MSFT_NetFirewallRule.Action: Allow (2), AllowBypass (3), Block (4)
    assert w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, "Action": 3})["action"] == "AllowBypass"


# One listing of other groups' rules as the query returns it: documented but unusual forms, and
# rules this collection cannot read (which must be listed, not abort the run).
FOREIGN = [
    # readable: keywords with a family suffix, NotApplicable profile, numeric enums
    {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "CoreNet-DNS-Out", "Group": "@FirewallAPI.dll,-25000", "Direction": 2,
     "Protocol": 17, "LocalPort": "Any", "RemotePort": 53, "RemoteAddress": ["DNS4", "DNS6"], "Profile": "NotApplicable"},
    {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "Captive-In", "Group": "Vendor", "LocalPort": "8080",
     "RemoteAddress": "CaptivePortal6", "Profile": "Domain, Private"},
    # unreadable: an address no documentation describes, an unknown direction, not even a rule
    {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "Odd-Address", "DisplayName": "Odd", "Group": "Vendor",
     "RemoteAddress": "printers.example"},
    {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": "Odd-Direction", "Group": "Vendor", "Direction": 9},
    {**WINRM_AS_WINDOWS_REPORTS_IT, "Name": ""},
    "not a rule",
]


def test_foreign_rules_are_read_one_by_one_and_an_unreadable_one_is_listed():
    rules, unreadable = host.read_foreign(copy.deepcopy(FOREIGN))
    assert [r["name"] for r in rules] == ["CoreNet-DNS-Out", "Captive-In"]
    assert rules[0]["remote_addresses"] == ["DNS4", "DNS6"] and rules[0]["profiles"] == ["NotApplicable"]
    assert rules[1]["profiles"] == ["Domain", "Private"]
    assert [(u["name"], u["group"]) for u in unreadable] == [
        ("Odd-Address", "Vendor"), ("Odd-Direction", "Vendor"), ("", "voiceops.firewall"), ("", "")]
    assert "'printers.example' from the host is not an address" in unreadable[0]["reason"]
    assert "Direction: unknown value 9" in unreadable[1]["reason"]
    assert "has no Name" in unreadable[2]["reason"]
    assert "not a rule" in unreadable[3]["reason"]
    assert unreadable[0]["display_name"] == "Odd"
    # and what was read goes into the foreign-rule report as before
    report = w.foreign_openings(rendered("fs01"), rules, ["Inbound", "Outbound"])
    assert [r["name"] for r in report] == ["Captive-In", "CoreNet-DNS-Out"]


def test_the_groups_own_rules_stay_strict():
    for raw in FOREIGN[2:5]:
        with pytest.raises(VoiceopsError):
            w.normalise_rule({**raw, "Group": w.GROUP})


# ------------------------------------------------------------------ item 8: settings never set

# Windows' default of every setting, in the two forms a report takes: enums as numbers (the CIM
# classes' values, as ConvertTo-Json writes them) and as names (as the module's [string] casts
# and Format-List print them). Sources: New-/Set-NetFirewallRule help ("The default value is ...")
# and the MSFT_NetFirewallRule class (EdgeTraversalPolicy Block (0)); Owner, Platform and Package
# are empty on a rule that is not a Store app's (MSFT_NetFirewallRule.Platforms: "If null, the rule
# applies to all platforms (the default)").
DEFAULTS_AS_NUMBERS = {
    "EdgeTraversalPolicy": 0, "LooseSourceMapping": False, "LocalOnlyMapping": False, "Owner": None, "Platform": [],
    "IcmpType": "Any", "DynamicTarget": 0, "Package": None, "InterfaceType": 0, "InterfaceAlias": "Any", "Service": "Any",
    "Authentication": 0, "Encryption": 0, "OverrideBlockRules": False, "LocalUser": "Any", "RemoteUser": "Any",
    "RemoteMachine": "Any",
}
DEFAULTS_AS_NAMES = {
    "EdgeTraversalPolicy": "Block", "LooseSourceMapping": "False", "LocalOnlyMapping": "False", "Owner": "", "Platform": None,
    "IcmpType": ["Any"], "DynamicTarget": "Any", "Package": "", "InterfaceType": "Any", "InterfaceAlias": ["Any"],
    "Service": "Any", "Authentication": "NotRequired", "Encryption": "NotRequired", "OverrideBlockRules": "False",
    "LocalUser": "Any", "RemoteUser": "Any", "RemoteMachine": "Any",
}


# A property the object lacks: the module's [string]$null is "", ConvertTo-StringList of $null is [].
DEFAULTS_AS_EMPTY = {k: [] if isinstance(v, list) else "" for k, v in DEFAULTS_AS_NAMES.items()}


@pytest.mark.parametrize("defaults", [DEFAULTS_AS_NUMBERS, DEFAULTS_AS_NAMES, DEFAULTS_AS_EMPTY, {}],
                         ids=["numbers", "names", "empty", "absent"])
def test_default_settings_are_no_drift(defaults):
    got = w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, **defaults})
    assert got == winrm_rule()
    assert w.diff_rules([winrm_rule()], [got])["unchanged"] == ["voiceops.firewall-in-tcp-5986"]


# (raw key, a value someone may set on the host, the normalised field and value, repaired in place?)
DRIFT = [
    # -InterfaceType Wireless silently disables the rule on a wired server; InterfaceType is a flags enum
    # (Any 0, Wired 1, Wireless 2, RemoteAccess 4) printed as "Wired, Wireless" when several are set.
    ("InterfaceType", "Wireless", "interface_type", "Wireless", True),
    ("InterfaceType", 2, "interface_type", "Wireless", True),
    ("InterfaceType", "Wired, RemoteAccess", "interface_type", "Wired, RemoteAccess", True),
    ("InterfaceType", 5, "interface_type", "Wired, RemoteAccess", True),
    ("Service", "Spooler", "service", "Spooler", True),  # -Service: a service's short name
    ("IcmpType", ["8", "3:4"], "icmp_type", ["3:4", "8"], True),  # -IcmpType: "type code: 0-255", "pairs: 3:4"
    ("IcmpType", "0", "icmp_type", ["0"], True),
    ("DynamicTarget", "ProximityApps", "dynamic_target", "ProximityApps", True),  # DynamicTransport: ProximityApps 1, ...
    ("DynamicTarget", 16, "dynamic_target", "WifiDirectDevices", True),
    ("DynamicTransport", 1, "dynamic_target", "ProximityApps", True),  # the filter's CIM property name
    ("EdgeTraversalPolicy", "Allow", "edge_traversal_policy", "Allow", True),  # Block (0), Allow (1), Defer to User (2), Defer to App (3)
    ("EdgeTraversalPolicy", 2, "edge_traversal_policy", "DeferToUser", True),
    ("EdgeTraversalPolicy", "Defer to App", "edge_traversal_policy", "DeferToApp", True),
    ("LooseSourceMapping", True, "loose_source_mapping", True, True),
    ("LocalOnlyMapping", "True", "local_only_mapping", True, True),
    # Set-NetFirewallRule has no documented value that clears these (-Package 'Any', '' and $null are
    # reported to leave an invalid 'AppPkgId=' and a rule Windows ignores): the rule is recreated.
    ("LocalUser", "D:(A;;CC;;;S-1-5-21-1-2-3-1105)", "local_user", "D:(A;;CC;;;S-1-5-21-1-2-3-1105)", False),  # SDDL
    ("RemoteUser", "D:(A;;CC;;;S-1-5-21-1-2-3-513)", "remote_user", "D:(A;;CC;;;S-1-5-21-1-2-3-513)", False),
    ("RemoteMachine", "D:(A;;CC;;;S-1-5-21-1-2-3-515)", "remote_machine", "D:(A;;CC;;;S-1-5-21-1-2-3-515)", False),
    ("Authentication", "Required", "authentication", "Required", False),  # NotRequired 0, Required 1, NoEncap 2
    ("Authentication", 2, "authentication", "NoEncap", False),
    ("Encryption", 1, "encryption", "Required", False),  # NotRequired 0, Required 1, Dynamic 2
    ("OverrideBlockRules", True, "override_block_rules", True, False),
    ("Owner", "S-1-5-21-1-2-3-1001", "owner", "S-1-5-21-1-2-3-1001", False),  # MSFT_NetFirewallRule.Owner: a SID
    ("Platform", ["6.1"], "platform", ["6.1"], False),  # Platforms: "Major.Minor+", e.g. 6.1+; null = all
    ("Platform", "10.0+", "platform", ["10.0+"], False),
    ("Package", "S-1-15-2-1-2-3", "package", "S-1-15-2-1-2-3", False),  # -Package: a Store app's SID
    ("InterfaceAlias", ["Ethernet 2"], "interface_alias", ["Ethernet 2"], False),
]


@pytest.mark.parametrize("key,value,field,normalised,in_place", DRIFT, ids=["%s=%r" % (d[0], d[1]) for d in DRIFT])
def test_an_edited_setting_is_drift_the_apply_repairs(key, value, field, normalised, in_place):
    want = winrm_rule()
    raw = {**WINRM_AS_WINDOWS_REPORTS_IT, **DEFAULTS_AS_NUMBERS, key: value}
    if key == "DynamicTransport":
        del raw["DynamicTarget"]  # one name or the other, never both
    have = w.normalise_rule(raw)
    assert have[field] == normalised
    changes = w.diff_rules([want], [have])
    assert [u["fields"] for u in changes["update"]] == [[field]]
    (update,) = w.apply_args(w.GROUP, changes, [])["update"]
    base = w.module_rule(want)
    if in_place:
        assert update == {**base, field: model.SETTING_DEFAULTS[field]}
    else:
        assert update == {**base, "recreate": True}
    # the diff shows the setting before and after
    diff = w.ansible_diff(changes, {have["name"]: have}, [])
    assert diff[0]["after_header"] == "rule voiceops.firewall-in-tcp-5986 (after; changed: %s)" % field
    assert "%s: " % field in diff[0]["before"] and "%s: " % field in diff[0]["after"]
    # and the review preview names the repair
    preview = w.powershell_preview(w.apply_args(w.GROUP, changes, []))
    if in_place:
        assert "-%s " % "".join(part.title() for part in field.split("_")) in preview
    else:
        assert "Rename-NetFirewallRule -Name 'voiceops.firewall-in-tcp-5986'" in preview


@pytest.mark.parametrize("key,value,message", [
    ("InterfaceType", "Bluetooth", "InterfaceType: unknown value 'Bluetooth'"),
    ("InterfaceType", 8, "InterfaceType: unknown value 8"),
    ("EdgeTraversalPolicy", 7, "EdgeTraversalPolicy: unknown value 7"),
    ("Authentication", "Sometimes", "Authentication: unknown value 'Sometimes'"),
    ("LooseSourceMapping", "maybe", "LooseSourceMapping: unknown value 'maybe'"),
])
def test_an_unreadable_setting_of_an_own_rule_fails_clearly(key, value, message):
    with pytest.raises(VoiceopsError, match="rule voiceops.firewall-in-tcp-5986 %s" % message):
        w.normalise_rule({**WINRM_AS_WINDOWS_REPORTS_IT, key: value})


@pytest.mark.parametrize("numeric", [True, False])
@pytest.mark.parametrize("key,value,field,normalised,in_place", DRIFT[::3] + [DRIFT[0], DRIFT[-1]])
def test_the_simulated_host_is_clean_after_the_repair(numeric, key, value, field, normalised, in_place):
    desired = rendered("speech01", outbound_default="block")
    fake = FakeWindowsFirewall(numeric_enums=numeric)
    fake.run(w.apply_args(w.GROUP, w.diff_rules(desired, []), []))
    target = desired[0]["name"]
    fake.rules[target][{"DynamicTransport": "DynamicTarget"}.get(key, key)] = value  # edited by hand on the host

    def changes():
        current = [w.normalise_rule(r) for r in fake.run({"operation": "query", "group": w.GROUP})["rules"]]
        return w.diff_rules(desired, current)

    first = changes()
    assert [(u["rule"]["name"], u["fields"]) for u in first["update"]] == [(target, [field])]
    result = fake.run(w.apply_args(w.GROUP, first, []))
    assert not result.get("failed"), result
    again = changes()
    assert not (again["add"] or again["update"] or again["remove"]), again
    assert len(fake.rules) == len(desired)


def test_module_controller_and_simulated_host_know_the_same_settings():
    ps1 = (REPO / "plugins" / "modules" / "win_firewall_rules.ps1").read_text()
    assert tuple(host._SETTING_READERS) == model.SETTING_FIELDS
    # every setting is repaired one way or the other, never both
    assert set(host.SETTING_OPTIONS).isdisjoint(model.RECREATE_SETTINGS)
    assert set(host.SETTING_OPTIONS) | set(model.RECREATE_SETTINGS) == set(model.SETTING_FIELDS)
    # the module reports each under the name the controller reads first, and sets back those of SETTING_OPTIONS
    for field, (keys, _read) in host._SETTING_READERS.items():
        assert "$report.%s = " % keys[0] in ps1, field
    for option, parameter in host.SETTING_OPTIONS.items():
        assert "%s = '%s'" % (parameter, option) in ps1
    assert set(windows_fake.SETTING_DEFAULTS) == {keys[0] for keys, _read in host._SETTING_READERS.values()}
    assert windows_fake._SETTING_OPTIONS == host.SETTING_OPTIONS
