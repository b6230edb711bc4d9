# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host side of Windows Defender Firewall rules: what Windows reports, the diff, the apply call and its preview (internal API).

Pure functions, all on the controller:

- :func:`normalise_rule` / :func:`normalise_profiles` turn what Windows reports (as the
  ``win_firewall_rules`` module returns it, which is close to ``ConvertTo-Json`` of the NetSecurity
  objects: enums as numbers or names, ``Any``, scalars where a list has one element, IPv4
  networks as ``address/mask``) into the shape rendering gives (``_windows.py``), plus each
  setting the collection never sets (``SETTING_DEFAULTS``) that is not at Windows' default; they
  are strict, for the group's own rules;
- :func:`read_foreign` reads the rules of other groups one by one and lists the ones it cannot
  read, with why, instead of failing;
- :func:`diff_rules` / :func:`diff_profiles` compute the adds, updates and removals, and
  :func:`ansible_diff` shows them as Ansible's diff;
- :func:`apply_args` is the single ``apply`` call of the host module, :func:`powershell_preview`
  the cmdlets it makes, as text;
- :func:`foreign_openings` lists rules outside the collection's group that open what the plan does not.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypedDict, cast

from ._plan_types import WindowsProfile, WindowsRule
from ._ports import PortError, PortRange, format_ports, merge, parse_ports
from ._windows_model import (
    ANY,
    PROFILES,
    RECREATE_SETTINGS,
    RULE_FIELDS,
    SETTING_DEFAULTS,
    SETTING_FIELDS,
    _PORT_PROTOCOLS,
    Rule,
    WindowsFirewallError,
    _collapse,
)

# Protocols as Windows reports them by number -> the names rendering uses.
_PROTOCOL_NUMBERS = {"6": "TCP", "17": "UDP", "1": "ICMPv4", "58": "ICMPv6", "47": "47", "50": "50"}

# NetSecurity enums as ConvertTo-Json emits them (numbers) and their names (MSFT_NetFirewallRule,
# MSFT_NetFirewallProfile and the filter classes of the NetSecurity CIM provider).
_DIRECTION = {1: "Inbound", 2: "Outbound"}
_ACTION = {0: "NotConfigured", 2: "Allow", 3: "AllowBypass", 4: "Block"}  # MSFT_NetFirewallRule.Action: AllowBypass (3)
_RULE_ENABLED = {1: True, 2: False}          # enum Enabled: True = 1, False = 2
_GPO_BOOLEAN = {0: False, 1: True, 2: None}  # enum GpoBoolean: False, True, NotConfigured
_PROFILE_BITS = {1: "Domain", 2: "Private", 4: "Public"}
# Profile NotApplicable (New-NetFirewallRule -Profile: "Any, Domain, Private, Public, or NotApplicable";
# 65535 in the NetSecurity Profile enum, so it is read before the mask, whose three bits it also has).
NOT_APPLICABLE = "NotApplicable"
_PROFILE_NOT_APPLICABLE = 65535
_EDGE_TRAVERSAL = {0: "Block", 1: "Allow", 2: "DeferToUser", 3: "DeferToApp"}  # Block (0) ... Defer to App (3)
_AUTHENTICATION = {0: "NotRequired", 1: "Required", 2: "NoEncap"}
_ENCRYPTION = {0: "NotRequired", 1: "Required", 2: "Dynamic"}
_INTERFACE_TYPE_BITS = {1: "Wired", 2: "Wireless", 4: "RemoteAccess"}  # flags; 0 = Any
_DYNAMIC_TRANSPORT_BITS = {1: "ProximityApps", 2: "ProximitySharing", 4: "WifiDirectPrinting", 8: "WifiDirectDisplay",
                           16: "WifiDirectDevices"}  # flags; 0 = Any

# Address keywords Windows accepts and reports as they are (never resolved here): New-/Set-NetFirewallRule
# -RemoteAddress, "Keyword: Any, LocalSubnet, DNS, DHCP, WINS, DefaultGateway, Internet, Intranet,
# IntranetRemoteAccess, PlayToDevice, CaptivePortal. Keywords can be restricted to IPv4 or IPv6 by
# appending a 4 or 6"; Ply2Renders is the rule store's name for Play To renderers.
_ADDRESS_KEYWORDS = {k.casefold(): k for base in (
    "LocalSubnet", "DNS", "DHCP", "WINS", "DefaultGateway", "Internet", "Intranet", "IntranetRemoteAccess",
    "PlayToDevice", "CaptivePortal", "Ply2Renders") for k in (base, base + "4", base + "6")}


# --------------------------------------------------------------------------- normalising

def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out: list[Any] = []
        for item in value:
            out.extend(_as_list(item))
        return out
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()] if "," in value else [value.strip()]
    return [value]


def _enum(value: Any, table: Mapping[int, Any], what: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value not in table:
            raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))
        return table[value]
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _enum(int(text), table, what)
        for name in table.values():
            # "Defer to App" is how MSFT_NetFirewallRule's documentation spells DeferToApp
            if isinstance(name, str) and name.casefold() == text.replace(" ", "").casefold():
                return name
            if isinstance(name, bool) and str(name).casefold() == text.casefold():
                return name
        if text.casefold() == "notconfigured":
            return None
    raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))


def normalise_profiles_mask(value: Any) -> list[str]:
    """``0``/``"Any"`` -> all; ``3`` -> Domain, Private; ``"Domain, Public"`` or a list -> those;
    ``65535``/``"NotApplicable"`` -> ``["NotApplicable"]`` (a profile of its own, not all three)."""
    if value is None:
        return list(PROFILES)
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.strip().isdigit():
        mask = int(value)
        if mask == _PROFILE_NOT_APPLICABLE:
            return [NOT_APPLICABLE]
        if mask == 0 or mask & 7 == 7:
            return list(PROFILES)
        return [name for bit, name in sorted(_PROFILE_BITS.items()) if mask & bit]
    names = set()
    for item in _as_list(value):
        if isinstance(item, int) or str(item).isdigit():
            names.update(normalise_profiles_mask(int(item)))
        elif str(item).casefold() == "any":
            names.update(PROFILES)
        elif str(item).casefold() == NOT_APPLICABLE.casefold():
            names.add(NOT_APPLICABLE)
        else:
            match = [p for p in PROFILES if p.casefold() == str(item).casefold()]
            if not match:
                raise WindowsFirewallError("profile: unknown value %r from the host" % (item,))
            names.add(match[0])
    return [p for p in PROFILES if p in names] + ([NOT_APPLICABLE] if NOT_APPLICABLE in names else [])


def normalise_protocol(value: Any) -> str:
    text = str(value).strip() if value is not None else ANY
    if text.isdigit():
        return _PROTOCOL_NUMBERS.get(text, text)
    for name in ("TCP", "UDP", "ICMPv4", "ICMPv6", ANY):
        if text.casefold() == name.casefold():
            return name
    return text


def normalise_ports(value: Any) -> list[str]:
    """``"Any"``, ``5986``, ``["80", "443"]``, ``"1024-65535"``, keywords like ``RPC`` -> sorted, merged."""
    items = _as_list(value)
    if not items or any(str(i).casefold() == "any" for i in items):
        return [ANY]
    ranges: list[PortRange] = []
    keywords: set[str] = set()
    for item in items:
        try:
            ranges.extend(parse_ports(str(item)))
        except PortError:
            keywords.add(str(item))
    return format_ports(merge(ranges)) + sorted(keywords)


def normalise_addresses(value: Any) -> list[str]:
    """Windows address forms -> the form rendering uses.

    ``Any``; ``10.0.0.1``; ``10.0.0.0/255.255.255.0`` (how Windows reports IPv4 subnets) or
    ``10.0.0.0/24``; ``10.0.0.1-10.0.0.9`` ranges; IPv6 ``fd00::/64``; keywords (``LocalSubnet``)
    are kept as names.
    """
    items = _as_list(value)
    if not items or any(str(i).casefold() == "any" for i in items):
        return [ANY]
    nets: list[Any] = []
    keywords = set()
    for item in items:
        text = str(item).strip()
        if text.casefold() in _ADDRESS_KEYWORDS:
            keywords.add(_ADDRESS_KEYWORDS[text.casefold()])
            continue
        try:
            if "-" in text:
                lo, hi = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
                nets.extend(ipaddress.summarize_address_range(lo, hi))
            else:
                nets.append(ipaddress.ip_network(text, strict=False))
        except (ValueError, TypeError) as exc:
            raise WindowsFirewallError("address: %r from the host is not an address, range or keyword (%s)" % (text, exc)) from exc
    return _collapse(nets) + sorted(keywords) if nets else sorted(keywords)


def normalise_program(value: Any) -> str:
    if value is None or str(value).strip() == "" or str(value).strip().casefold() == "any":
        return ANY
    return str(value).strip()


def _flags(value: Any, bits: Mapping[int, str], what: str) -> str:
    """A flags enum (InterfaceType, DynamicTransport): ``0``/``"Any"`` -> ``Any``; a mask, names or
    ``"Wired, Wireless"`` (``[string]`` of several flags) -> the names in bit order, joined by ``", "``."""
    if isinstance(value, bool):
        raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))
    if isinstance(value, int) or isinstance(value, str) and value.strip().isdigit():
        mask = int(value)
        if mask & ~sum(bits):
            raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))
        return ", ".join(name for bit, name in sorted(bits.items()) if mask & bit) or ANY
    names = set()
    for item in _as_list(value):
        text = str(item).strip()
        if text.casefold() == "any":
            continue
        match = [n for n in bits.values() if n.casefold() == text.casefold()]
        if not match:
            raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))
        names.add(match[0])
    return ", ".join(name for _bit, name in sorted(bits.items()) if name in names) or ANY


def _boolean(value: Any, what: str) -> bool:
    """``True``/``False`` as JSON, as ``"True"``/``"False"`` (``[string]`` of a Boolean) or as 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().casefold() in ("true", "false", "1", "0"):
        return value.strip().casefold() in ("true", "1")
    raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))


def _any_text(value: Any, what: str) -> str:
    """A string setting (a service name, an SDDL string, a SID): ``""``, ``null`` or ``Any`` -> ``Any``."""
    if isinstance(value, (list, tuple, dict)):
        raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))
    text = str(value).strip()
    return ANY if text == "" or text.casefold() == "any" else text


def _any_items(value: Any, what: str) -> list[str]:
    """A list setting (IcmpType, InterfaceAlias, Platform), a scalar when it has one element: empty or
    ``Any`` -> ``[Any]``, else the items, sorted (not split at commas: an interface alias may hold one)."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(i, (list, tuple, dict)) for i in items):
        raise WindowsFirewallError("%s: unknown value %r from the host" % (what, value))
    texts = sorted({str(i).strip() for i in items if i is not None and str(i).strip()})
    return [ANY] if not texts or any(t.casefold() == "any" for t in texts) else texts


# Each setting of SETTING_DEFAULTS: the names the module reports it under (the cmdlet parameter, the
# filter's CIM property), and how to read it.
_SETTING_READERS: dict[str, tuple[tuple[str, ...], Callable[[Any, str], Any]]] = {
    "interface_type": (("InterfaceType",), lambda v, what: _flags(v, _INTERFACE_TYPE_BITS, what)),
    "interface_alias": (("InterfaceAlias",), _any_items),
    "service": (("Service",), _any_text),
    "icmp_type": (("IcmpType",), _any_items),
    "dynamic_target": (("DynamicTarget", "DynamicTransport"), lambda v, what: _flags(v, _DYNAMIC_TRANSPORT_BITS, what)),
    "edge_traversal_policy": (("EdgeTraversalPolicy",), lambda v, what: _enum(v, _EDGE_TRAVERSAL, what)),
    "loose_source_mapping": (("LooseSourceMapping",), _boolean),
    "local_only_mapping": (("LocalOnlyMapping",), _boolean),
    "local_user": (("LocalUser",), _any_text),
    "remote_user": (("RemoteUser",), _any_text),
    "remote_machine": (("RemoteMachine",), _any_text),
    "authentication": (("Authentication",), lambda v, what: _enum(v, _AUTHENTICATION, what)),
    "encryption": (("Encryption",), lambda v, what: _enum(v, _ENCRYPTION, what)),
    "override_block_rules": (("OverrideBlockRules",), _boolean),
    "owner": (("Owner",), _any_text),
    "platform": (("Platform", "Platforms"), _any_items),
    "package": (("Package",), _any_text),
}


def normalise_settings(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Every setting of :data:`SETTING_DEFAULTS` as the host reports it; one it does not report (or
    reports as null or "", as the module's ``[string]`` of a property the object lacks) is taken as
    Windows' default. Fails, naming the rule, on a value it cannot read."""
    out = {}
    for field, (keys, read) in _SETTING_READERS.items():
        value = next((raw[k] for k in keys + (field,) if k in raw and raw[k] is not None and raw[k] != ""), None)
        out[field] = SETTING_DEFAULTS[field] if value is None else read(value, "rule %s %s" % (name, keys[0]))
    return out


class HostRule(WindowsRule, total=False):
    """A rule of the group as the host has it: the rendered fields (:data:`RULE_FIELDS`), and each
    setting of :data:`SETTING_DEFAULTS` whose value is not Windows' default (drift)."""

    interface_type: str
    interface_alias: list[str]
    service: str
    icmp_type: list[str]
    dynamic_target: str
    edge_traversal_policy: str
    loose_source_mapping: bool
    local_only_mapping: bool
    local_user: str
    remote_user: str
    remote_machine: str
    authentication: str
    encryption: str
    override_block_rules: bool
    owner: str
    platform: list[str]
    package: str


class UnreadableRule(TypedDict):
    """A rule of another group that :func:`read_foreign` could not read, and why."""

    name: str
    display_name: str
    group: str
    reason: str


def normalise_rule(raw: Mapping[str, Any]) -> HostRule:
    """One rule of the group as the host module reports it -> the rendered shape (:data:`RULE_FIELDS`),
    plus each setting that is not at Windows' default. Fails on anything it cannot read."""
    rule = _rule_fields(raw)
    drift = {k: v for k, v in normalise_settings(raw, rule["name"]).items() if v != SETTING_DEFAULTS[k]}
    return cast(HostRule, {**rule, **drift})


def read_foreign(raw_rules: Iterable[Any] | None) -> tuple[list[Rule], list[UnreadableRule]]:
    """The rules of other groups as the query reports them (``foreign_rules``) -> ``(rules, unreadable)``.

    Each rule is read on its own (:data:`RULE_FIELDS` only: the settings do not matter to the foreign-rule
    report). One that cannot be read is listed in ``unreadable`` with the reason, never raised: it is
    not the collection's, and one unusual rule among a server's hundreds must not stop the apply.
    """
    rules: list[Rule] = []
    unreadable: list[UnreadableRule] = []
    for raw in raw_rules or []:
        fields = raw if isinstance(raw, Mapping) else {}
        try:
            if not isinstance(raw, Mapping):
                raise WindowsFirewallError("not a rule (a %s): %r" % (type(raw).__name__, raw))
            rules.append(_rule_fields(raw))
        except WindowsFirewallError as exc:
            reason = exc.message
        except (TypeError, ValueError, AttributeError) as exc:  # a value of a type no documented form has
            reason = "%s: %s" % (type(exc).__name__, exc)
        else:
            continue
        unreadable.append({"name": str(fields.get("Name") or ""), "display_name": str(fields.get("DisplayName") or ""),
                           "group": str(fields.get("Group") or ""), "reason": reason})
    return rules, unreadable


def _rule_fields(raw: Mapping[str, Any]) -> Rule:
    """The fields of :data:`RULE_FIELDS` of one reported rule."""
    def get(*keys: str) -> Any:
        for key in keys:
            if key in raw:
                return raw[key]
        return None
    name = get("Name", "name")
    if not name:
        raise WindowsFirewallError("a rule from the host has no Name: %r" % (dict(raw),))
    enabled = _enum(get("Enabled", "enabled"), _RULE_ENABLED, "rule %s Enabled" % name)
    return {
        "name": str(name),
        "display_name": str(get("DisplayName", "display_name") or ""),
        "description": str(get("Description", "description") or ""),
        "direction": _enum(get("Direction", "direction"), _DIRECTION, "rule %s Direction" % name),
        "action": _enum(get("Action", "action"), _ACTION, "rule %s Action" % name),
        "enabled": bool(enabled),
        "profiles": normalise_profiles_mask(get("Profile", "Profiles", "profiles")),
        "protocol": normalise_protocol(get("Protocol", "protocol")),
        "local_ports": normalise_ports(get("LocalPort", "local_ports")),
        "remote_ports": normalise_ports(get("RemotePort", "remote_ports")),
        "local_addresses": normalise_addresses(get("LocalAddress", "local_addresses")),
        "remote_addresses": normalise_addresses(get("RemoteAddress", "remote_addresses")),
        "program": normalise_program(get("Program", "program")),
    }


def normalise_profiles(raw: Any) -> dict[str, WindowsProfile]:
    """Profiles as reported (a list of {Name, Enabled, DefaultInboundAction, DefaultOutboundAction})."""
    out: dict[str, WindowsProfile] = {}
    for item in _as_list(raw) if not isinstance(raw, Mapping) else [dict(v, Name=k) for k, v in raw.items()]:
        name = normalise_profiles_mask(item.get("Name"))
        if len(name) != 1:
            raise WindowsFirewallError("profile: unexpected Name %r from the host" % (item.get("Name"),))
        out[name[0]] = {
            "enabled": _enum(item.get("Enabled"), _GPO_BOOLEAN, "profile %s Enabled" % name[0]),
            "default_inbound_action": _enum(item.get("DefaultInboundAction"), _ACTION, "profile %s DefaultInboundAction" % name[0]),
            "default_outbound_action": _enum(item.get("DefaultOutboundAction"), _ACTION, "profile %s DefaultOutboundAction" % name[0]),
        }
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- diffing

class RuleUpdate(TypedDict):
    rule: Rule  # as it should be
    before: Rule  # as the host has it (with the settings that are not at their defaults: a HostRule)
    fields: list[str]  # the fields of RULE_FIELDS, then of SETTING_FIELDS, that differ, in that order


class RuleChanges(TypedDict):
    """What :func:`diff_rules` finds: rules to add, to update and to remove (names), each sorted by name."""

    add: list[Rule]
    update: list[RuleUpdate]
    remove: list[str]
    stale: list[str]  # kept without purge: the group's rules that the plan no longer has
    unchanged: list[str]


class ProfileChange(TypedDict):
    name: str
    before: dict[str, Any]  # the profile's settings on the host ({} when it reports none)
    after: dict[str, Any]  # as they should be (WindowsProfile's keys)


def _comparable(rule: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: rule.get(k) for k in RULE_FIELDS}
    out["program"] = str(out["program"]).casefold()  # Windows paths are case-insensitive
    # a setting the rule does not carry is at Windows' default (rendered rules never carry one)
    out.update({k: rule.get(k, SETTING_DEFAULTS[k]) for k in SETTING_FIELDS})
    return out


def diff_rules(desired: Sequence[Rule], current: Sequence[Rule], purge: bool = True) -> RuleChanges:
    """Adds, updates (with the fields that differ) and removals, each sorted by name.

    ``current`` must hold only the rules of the collection's group (as :func:`normalise_rule` reads
    them); a rule is matched by name. Its fields (:data:`RULE_FIELDS`) are compared with the rendered
    rule, and its settings (:data:`SETTING_FIELDS`) with Windows' defaults, which the collection's
    rules must have. Without ``purge``, rules of the group that the plan no longer has are kept (``stale``).
    """
    want = {r["name"]: r for r in desired}
    have = {r["name"]: r for r in current}
    adds = [want[n] for n in sorted(set(want) - set(have))]
    updates: list[RuleUpdate] = []
    unchanged: list[str] = []
    for name in sorted(set(want) & set(have)):
        a, b = _comparable(have[name]), _comparable(want[name])
        fields = [k for k in RULE_FIELDS + SETTING_FIELDS if a[k] != b[k]]
        if fields:
            updates.append({"rule": want[name], "before": have[name], "fields": fields})
        else:
            unchanged.append(name)
    stale = sorted(set(have) - set(want))
    return {
        "add": adds,
        "update": updates,
        "remove": stale if purge else [],
        "stale": [] if purge else stale,
        "unchanged": unchanged,
    }


def diff_profiles(desired: Mapping[str, WindowsProfile], current: Mapping[str, WindowsProfile]) -> list[ProfileChange]:
    changes: list[ProfileChange] = []
    for name in sorted(desired):
        have = dict(current.get(name) or {})
        want = dict(desired[name])
        if any(have.get(k) != v for k, v in want.items()):
            changes.append({"name": name, "before": have, "after": want})
    return changes


def _yaml_block(rule: Mapping[str, Any] | None) -> str:
    """A stable, readable text of a rule for Ansible's diff output (one field per line)."""
    if not rule:
        return ""
    lines = []
    for key in RULE_FIELDS + SETTING_FIELDS if "name" in rule else sorted(rule):
        if key not in rule:
            continue
        value = rule[key]
        if isinstance(value, list):
            value = "[%s]" % ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        lines.append("%s: %s" % (key, value))
    return "\n".join(lines) + "\n"


def ansible_diff(changes: RuleChanges, current: Mapping[str, Rule], profile_changes: list[ProfileChange]) -> list[dict[str, str]]:
    """Ansible's diff format: one before/after pair per changed rule and per changed profile."""
    out = []
    for rule in changes["add"]:
        out.append({"before_header": "rule %s (absent)" % rule["name"], "after_header": "rule %s (added)" % rule["name"],
                    "before": "", "after": _yaml_block(rule)})
    for upd in changes["update"]:
        name = upd["rule"]["name"]
        after = {**upd["rule"], **{k: upd["rule"].get(k, SETTING_DEFAULTS[k]) for k in upd["fields"] if k in SETTING_DEFAULTS}}
        out.append({"before_header": "rule %s (before)" % name,
                    "after_header": "rule %s (after; changed: %s)" % (name, ", ".join(upd["fields"])),
                    "before": _yaml_block(upd["before"]), "after": _yaml_block(after)})
    for name in changes["remove"]:
        out.append({"before_header": "rule %s (present)" % name, "after_header": "rule %s (removed)" % name,
                    "before": _yaml_block(current.get(name)), "after": ""})
    for prof in profile_changes:
        out.append({"before_header": "profile %s (before)" % prof["name"], "after_header": "profile %s (after)" % prof["name"],
                    "before": _yaml_block(prof["before"]), "after": _yaml_block(prof["after"])})
    return out


# --------------------------------------------------------------------------- host module arguments

# The settings the host module sets back in place, as its rule options (Set-NetFirewallRule's
# parameter of each); the other settings of SETTING_FIELDS are repaired by recreating the rule.
SETTING_OPTIONS = {"interface_type": "InterfaceType", "service": "Service", "icmp_type": "IcmpType",
                   "dynamic_target": "DynamicTarget", "edge_traversal_policy": "EdgeTraversalPolicy",
                   "loose_source_mapping": "LooseSourceMapping", "local_only_mapping": "LocalOnlyMapping"}


def module_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as the ``win_firewall_rules`` module takes it (its ``add``/``update`` suboptions): its
    fields, and the one setting a rendered rule may carry (``icmp_type``, an ICMP rule narrowed to some types)."""
    out = {k: (list(rule[k]) if isinstance(rule[k], list) else rule[k]) for k in RULE_FIELDS}
    if rule.get("icmp_type") not in (None, SETTING_DEFAULTS["icmp_type"]):
        out["icmp_type"] = list(rule["icmp_type"])
    return out


def module_update(update: RuleUpdate) -> dict[str, Any]:
    """An ``update`` of the module: the rule, and for each setting that drifted either its default
    (set back in place) or ``recreate: true`` (when one of them cannot be set back in place)."""
    out = module_rule(update["rule"])
    drifted = [k for k in update["fields"] if k in SETTING_DEFAULTS]
    if any(k in RECREATE_SETTINGS for k in drifted):
        out["recreate"] = True
    else:
        for key in drifted:  # back to what the rule should have: its own value, or Windows' default
            value = update["rule"].get(key, SETTING_DEFAULTS[key])
            out[key] = list(value) if isinstance(value, list) else value
    return out


def apply_args(group: str, changes: RuleChanges, profile_changes: list[ProfileChange]) -> dict[str, Any]:
    """Arguments of the single ``apply`` call: everything the host must change, nothing else."""
    return {
        "operation": "apply",
        "group": group,
        "add": [module_rule(r) for r in changes["add"]],
        "update": [module_update(u) for u in changes["update"]],
        "remove": list(changes["remove"]),
        "profiles": [dict(name=p["name"], **p["after"]) for p in profile_changes],
    }


# PowerShell ends a single-quoted string at any of these, not only at the ASCII quote; each is
# escaped by doubling it (about_Quoting_Rules), so a value can never end its string early.
_PS_SINGLE_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")


def _ps_quote(value: str) -> str:
    return "'" + _PS_SINGLE_QUOTES.sub(lambda m: m.group(0) * 2, value) + "'"


def _ps_list(values: list[str]) -> str:
    return ",".join(_ps_quote(v) for v in values)


def powershell_preview(args: Mapping[str, Any]) -> str:
    """The cmdlet calls ``win_firewall_rules`` makes for ``args``, as PowerShell text.

    It mirrors the module's parameter table (``plugins/modules/win_firewall_rules.ps1``); the module
    calls the cmdlets with splatted parameters, not this text.  It is for review and golden files.
    An update or removal names its rule here by ``-Name``; the module instead looks the rule up by
    its exact name (wildcards escaped, exactly one rule, in the group) and passes that rule object.
    """
    lines = ["# win_firewall_rules apply, group %s: %d add, %d update, %d remove, %d profile(s)" % (
        args["group"], len(args["add"]), len(args["update"]), len(args["remove"]), len(args["profiles"]))]
    if args["update"] or args["remove"]:
        lines.append("# updates and removals act on the one rule of exactly that name in group %s (its name's wildcards "
                     "escaped, exactly one match), passed by -InputObject" % _ps_quote(args["group"]))

    def params(rule: Mapping[str, Any], verb: str) -> str:
        out = []
        if verb == "New":
            out += ["-Name " + _ps_quote(rule["name"]), "-DisplayName " + _ps_quote(rule["display_name"]),
                    "-Group " + _ps_quote(args["group"])]
        else:
            out += ["-Name " + _ps_quote(rule["name"]), "-NewDisplayName " + _ps_quote(rule["display_name"])]
        out += ["-Description " + _ps_quote(rule["description"]), "-Direction " + rule["direction"],
                "-Action " + rule["action"], "-Enabled " + ("True" if rule["enabled"] else "False"),
                "-Profile " + _ps_quote(", ".join(rule["profiles"])), "-Protocol " + rule["protocol"]]
        if rule["protocol"] in _PORT_PROTOCOLS:
            out += ["-LocalPort " + _ps_list(rule["local_ports"]), "-RemotePort " + _ps_list(rule["remote_ports"])]
        out += ["-LocalAddress " + _ps_list(rule["local_addresses"]), "-RemoteAddress " + _ps_list(rule["remote_addresses"])]
        if rule["program"] != ANY or verb == "Set":
            out.append("-Program " + _ps_quote(rule["program"]))
        if verb == "New" and rule.get("icmp_type") is not None:
            out.append("-IcmpType " + _ps_list(rule["icmp_type"]))
        return " ".join(out)

    for rule in args["add"]:
        lines.append("New-NetFirewallRule %s -PolicyStore PersistentStore" % params(rule, "New"))
    for rule in args["update"]:
        if rule.get("recreate"):
            # settings Set-NetFirewallRule cannot clear: a new rule, before the old one goes
            temporary = _ps_quote(rule["name"] + "~<new GUID>")
            lines.append("Rename-NetFirewallRule -Name %s -NewName %s -PolicyStore PersistentStore  # then created afresh"
                         % (_ps_quote(rule["name"]), temporary))
            lines.append("New-NetFirewallRule %s -PolicyStore PersistentStore" % params(rule, "New"))
            lines.append("Remove-NetFirewallRule -Name %s -PolicyStore PersistentStore" % temporary)
            continue
        settings = []
        for option, parameter in SETTING_OPTIONS.items():
            value = rule.get(option)
            if isinstance(value, bool):
                settings.append("-%s %s" % (parameter, "$true" if value else "$false"))
            elif isinstance(value, list):
                settings.append("-%s %s" % (parameter, _ps_list(value)))
            elif value is not None:
                settings.append("-%s %s" % (parameter, _ps_quote(value)))
        lines.append("Set-NetFirewallRule %s -PolicyStore PersistentStore" % " ".join([params(rule, "Set")] + settings))
    for name in args["remove"]:
        lines.append("Remove-NetFirewallRule -Name %s -PolicyStore PersistentStore  # the one rule of this name, in group %s"
                     % (_ps_quote(name), _ps_quote(args["group"])))
    for prof in args["profiles"]:
        lines.append("Set-NetFirewallProfile -Name %s -Enabled %s -DefaultInboundAction %s -DefaultOutboundAction %s -PolicyStore PersistentStore" % (
            prof["name"], "True" if prof["enabled"] else "False", prof["default_inbound_action"], prof["default_outbound_action"]))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- foreign rules

def _ports_cover(outer: list[str], inner: list[str]) -> bool:
    if outer == [ANY]:
        return True
    if inner == [ANY]:
        return False
    try:
        o = parse_ports([p for p in outer if p[0].isdigit()]) if any(p[0].isdigit() for p in outer) else ()
        i = parse_ports([p for p in inner if p[0].isdigit()]) if any(p[0].isdigit() for p in inner) else ()
    except PortError:
        return False
    keywords_ok = set(p for p in inner if not p[0].isdigit()) <= set(p for p in outer if not p[0].isdigit())
    return keywords_ok and all(any(olo <= lo and hi <= ohi for olo, ohi in o) for lo, hi in i)


def _addresses_cover(outer: list[str], inner: list[str]) -> bool:
    if outer == [ANY]:
        return True
    if inner == [ANY]:
        return False
    onets = [ipaddress.ip_network(a) for a in outer if a not in _ADDRESS_KEYWORDS.values()]
    for item in inner:
        if item in _ADDRESS_KEYWORDS.values():
            if item not in outer:
                return False
            continue
        net = ipaddress.ip_network(item)
        if not any(net.version == o.version and net.subnet_of(o) for o in onets):  # type: ignore[arg-type]  # same version: checked first
            return False
    return True


def foreign_openings(desired: Sequence[Mapping[str, Any]], foreign: Sequence[Mapping[str, Any]],  # Mapping: keys are computed
                     directions: Iterable[str] = ("Inbound",)) -> list[dict[str, Any]]:
    """Enabled allow rules outside the collection's group that open what no desired rule opens.

    A foreign rule is covered when one desired rule of the same direction and protocol allows
    at least its ports, remote addresses and program.  Reported, never changed.
    """
    dirs = set(directions)
    report = []
    for rule in sorted(foreign, key=lambda r: r["name"]):
        if not rule["enabled"] or rule["action"] != "Allow" or rule["direction"] not in dirs:
            continue
        ports_key = "local_ports" if rule["direction"] == "Inbound" else "remote_ports"
        covered = any(
            d["direction"] == rule["direction"] and d["protocol"] == rule["protocol"]
            and _ports_cover(d[ports_key], rule[ports_key])
            and _addresses_cover(d["remote_addresses"], rule["remote_addresses"])
            and (d["program"] == ANY or d["program"].casefold() == rule["program"].casefold())
            for d in desired)
        if not covered:
            keys = ("name", "display_name", "direction", "protocol", ports_key, "remote_addresses", "program", "profiles")
            report.append({k: rule[k] for k in keys})
    return report
