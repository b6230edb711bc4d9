# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective firewall policy of a Windows host, checked against the planned rules before an apply (internal API).

The rules of the collection live in the host's local store (``PersistentStore``). Whether they
take effect depends on what else applies to the host: Group Policy, block rules and the firewall
service. The query of ``win_firewall_rules`` reads that once per run (docs/windows.md, "Effective
policy"), and :func:`read_policy` turns it into one shape; :func:`check_policy` compares it with the
rules the host should have and returns findings, each with an ``id``, a ``severity`` and a message
naming the rule, profile or setting:

- ``service-stopped``, ``service-disabled``, ``service-missing`` (error): Windows Defender Firewall
  (service ``mpssvc``) is not running or will not start; the action fails before any change;
- ``service-manual`` (warning): it runs now but is not started at boot;
- ``local-rules-ignored`` (warning): Group Policy turns local policy merge off
  (``AllowLocalFirewallRules False``) in a profile the rules use: the rules are kept, not in effect;
- ``inbound-rules-ignored`` (warning): ``AllowInboundRules False`` (every inbound rule ignored);
- ``firewall-off`` (warning): the firewall is off in a profile the rules use, by Group Policy or,
  with profiles not managed, locally;
- ``gpo-default-inbound``, ``gpo-default-outbound`` (warning): Group Policy sets a default action
  other than the one the role sets, or blocks outbound while no outbound rules are planned;
- ``block-overlap`` (warning): an enabled block rule (Group Policy or local, in the active store)
  overlaps a planned allow (a block rule wins over an allow rule on Windows); it names the block
  rule and the planned flows;
- ``policy-unread`` (warning): part of the effective policy could not be read, so it was not checked.

Everything here is pure and never raises on what the host reports: a value it cannot read is a
``policy-unread`` finding, not a failure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict, cast

from ._ports import PortError, PortRange, merge, parse_range
from ._windows import rule_flows
from ._windows_host import NOT_APPLICABLE, read_foreign
from ._windows_model import ANY, PROFILES, Rule

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

SERVICE = "mpssvc"  # Windows Defender Firewall (Get-Service -Name mpssvc)

# Get-Service: Status is a System.ServiceProcess.ServiceControllerStatus (Stopped 1, StartPending 2,
# StopPending 3, Running 4, ContinuePending 5, PausePending 6, Paused 7), StartType a ServiceStartMode
# (Boot 0, System 1, Automatic 2, Manual 3, Disabled 4; PowerShell 6+ also names AutomaticDelayedStart).
_SERVICE_STATUS = {1: "Stopped", 2: "StartPending", 3: "StopPending", 4: "Running", 5: "ContinuePending", 6: "PausePending",
                   7: "Paused"}
_START_TYPE = {0: "Boot", 1: "System", 2: "Automatic", 3: "Manual", 4: "Disabled", 10: "AutomaticDelayedStart"}
# MSFT_NetFirewallProfile (Get-/Set-NetFirewallProfile help): Enabled, AllowInboundRules and
# AllowLocalFirewallRules are GpoBoolean ("False, True, or NotConfigured"; 0, 1, 2), the default
# actions are Action ("NotConfigured, Allow, or Block"; 0, 2, 4). NotConfigured is "valid only when
# configuring a GPO": in the RSOP store it means Group Policy leaves the setting to the local store.
_GPO_BOOLEAN: dict[int, bool | None] = {0: False, 1: True, 2: None}
_PROFILE_ACTION: dict[int, str | None] = {0: None, 2: "Allow", 4: "Block"}
# Get-NetFirewallRule -PolicyStoreSourceType: "None, Local, GroupPolicy, Dynamic, Generated, Hardcoded"
# (the order of [MS-FASP] FW_RULE_ORIGIN_TYPE: INVALID 0, LOCAL 1, GP 2, DYNAMIC 3, AUTOGEN 4, HARDCODED 5).
_ORIGIN = {0: "None", 1: "Local", 2: "GroupPolicy", 3: "Dynamic", 4: "Generated", 5: "Hardcoded"}
LOCAL = "Local"
GROUP_POLICY = "GroupPolicy"

# Port keywords of New-NetFirewallRule -LocalPort (RPC, RPCEPMap, ...) that stand for known ports: the RPC
# endpoint mapper listens on TCP 135; dynamic RPC uses the dynamic port range, 49152-65535 unless changed
# (netsh int ipv4 show dynamicport tcp). Both are "may" overlaps. Other keywords (IPHTTPSIn, Teredo,
# PlayToDiscovery, ...) are not matched.
_PORT_KEYWORDS: dict[str, tuple[PortRange, ...]] = {"rpcepmap": ((135, 135),), "rpc": ((49152, 65535),)}
_ALL_PORTS: PortRange = (0, 65535)
_PORT_PROTOCOLS = ("TCP", "UDP")

# Environment variables a program path is stored with (Windows keeps the path as given and expands it
# when matching), at their default values, so that %SystemRoot%\x.exe and C:\Windows\x.exe meet.
_PROGRAM_VARIABLES = (("%systemroot%", "c:\\windows"), ("%windir%", "c:\\windows"), ("%programfiles(x86)%", "c:\\program files (x86)"),
                      ("%programfiles%", "c:\\program files"), ("%programdata%", "c:\\programdata"), ("%systemdrive%", "c:"))


class ServiceState(TypedDict):
    """Windows Defender Firewall's service as ``Get-Service -Name mpssvc`` reports it."""

    name: str
    status: str  # a ServiceControllerStatus name (Running, Stopped, ...), NotFound when there is no such service
    start_type: str  # a ServiceStartMode name (Automatic, Manual, Disabled, ...)


class ProfilePolicy(TypedDict):
    """One profile's settings in one store; ``None`` is NotConfigured (or not reported)."""

    enabled: bool | None
    default_inbound_action: str | None
    default_outbound_action: str | None
    allow_inbound_rules: bool | None
    allow_local_rules: bool | None


class BlockRule(TypedDict):
    """An enabled block rule of the active store and where it comes from."""

    rule: Rule
    group: str
    origin: str  # PolicyStoreSourceType: Local, GroupPolicy, Dynamic, ... ("" when not reported)
    source: str  # PolicyStoreSource: the GPO's name, PersistentStore, ... ("" when not reported)
    service: str  # the service filter: Any, or the Windows service the rule is limited to


class Unread(TypedDict):
    what: str
    reason: str


class EffectivePolicy(TypedDict):
    """What :func:`read_policy` makes of the query."""

    reported: bool  # the host reported the effective policy at all
    service: ServiceState | None  # None: not reported
    active: dict[str, ProfilePolicy]  # Get-NetFirewallProfile -PolicyStore ActiveStore: in force now
    gpo: dict[str, ProfilePolicy]  # Get-NetFirewallProfile -PolicyStore RSOP: what Group Policy sets
    block_rules: list[BlockRule]
    unread: list[Unread]


class Overlap(TypedDict):
    """What :func:`block_overlap` finds between a block rule and one planned allow rule."""

    rule: str  # the planned rule
    flows: list[str]  # the planned flows it carries
    profiles: list[str]  # where they meet
    whole: bool  # the block rule covers every packet the planned rule allows (in those profiles)
    certain: bool  # False when the overlap depends on a keyword the host resolves (LocalSubnet, RPC, ...)


class _FindingFields(TypedDict):
    id: str
    severity: str
    subject: str  # the rule, profile or service the finding is about
    message: str


class PolicyFinding(_FindingFields, total=False):
    """One finding of :func:`check_policy`; the optional keys are set where they apply."""

    profiles: list[str]
    rule: str  # block-overlap: the blocking rule
    source: str  # block-overlap: Group Policy (with the GPO's name) or local
    blocks: list[Overlap]  # block-overlap: the planned rules it blocks
    flows: list[str]  # block-overlap: the planned flows that cannot take effect


class _Unknown(ValueError):
    """A value the host reported that no documented form has."""


# --------------------------------------------------------------------------- reading

def _enum(value: Any, table: Mapping[int, Any], what: str) -> Any:
    """A documented enum value as a number or a name (case and blanks ignored); ``NotConfigured`` is None."""
    if isinstance(value, bool):
        if True in table.values() or False in table.values():
            return value
        raise _Unknown("%s: %r" % (what, value))
    if isinstance(value, int):
        if value in table:
            return table[value]
        raise _Unknown("%s: %r" % (what, value))
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _enum(int(text), table, what)
        if text.casefold() == "notconfigured" and None in table.values():
            return None
        for name in table.values():
            if name is not None and str(name).casefold() == text.replace(" ", "").casefold():
                return name
    raise _Unknown("%s: %r" % (what, value))


def _service_value(raw: Mapping[str, Any], key: str, table: Mapping[int, Any], unread: list[Unread]) -> str:
    try:
        return str(_enum(raw.get(key), table, "%s %s" % (SERVICE, key)))
    except _Unknown as exc:
        unread.append({"what": "the firewall service", "reason": "unknown value %s" % exc})
        return str(raw.get(key))


def _service(raw: Any, unread: list[Unread]) -> ServiceState:
    if raw is None:
        return {"name": SERVICE, "status": "NotFound", "start_type": ""}
    if not isinstance(raw, Mapping):
        unread.append({"what": "the firewall service", "reason": "not a service: %r" % (raw,)})
        return {"name": SERVICE, "status": "Unknown", "start_type": ""}
    return {"name": str(raw.get("Name") or SERVICE), "status": _service_value(raw, "Status", _SERVICE_STATUS, unread),
            "start_type": _service_value(raw, "StartType", _START_TYPE, unread)}


_PROFILE_KEYS: tuple[tuple[str, str, Mapping[int, Any]], ...] = (
    ("Enabled", "enabled", _GPO_BOOLEAN),
    ("DefaultInboundAction", "default_inbound_action", _PROFILE_ACTION),
    ("DefaultOutboundAction", "default_outbound_action", _PROFILE_ACTION),
    ("AllowInboundRules", "allow_inbound_rules", _GPO_BOOLEAN),
    ("AllowLocalFirewallRules", "allow_local_rules", _GPO_BOOLEAN),
)


def _profiles(raw: Any, store: str, unread: list[Unread]) -> dict[str, ProfilePolicy]:
    out: dict[str, ProfilePolicy] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            unread.append({"what": "the profiles of the %s store" % store, "reason": "not a profile: %r" % (item,)})
            continue
        names = [p for p in PROFILES if p.casefold() == str(item.get("Name")).strip().casefold()]
        if not names:
            unread.append({"what": "the profiles of the %s store" % store, "reason": "unexpected Name %r" % (item.get("Name"),)})
            continue
        values: dict[str, Any] = {}
        for key, field, table in _PROFILE_KEYS:
            values[field] = None
            if item.get(key) in (None, ""):
                continue
            try:
                values[field] = _enum(item[key], table, "%s profile %s" % (names[0], key))
            except _Unknown as exc:
                unread.append({"what": "the %s store" % store, "reason": "unknown value %s" % exc})
        out[names[0]] = cast(ProfilePolicy, values)
    return out


def _block_rules(raw: Any, unread: list[Unread]) -> list[BlockRule]:
    out: list[BlockRule] = []
    for item in raw if isinstance(raw, list) else []:
        rules, bad = read_foreign([item])
        for reason in bad:
            unread.append({"what": "block rule %s" % (reason["name"] or "?"), "reason": reason["reason"]})
        if not rules:
            continue
        fields = item if isinstance(item, Mapping) else {}
        try:
            origin = str(_enum(fields.get("PolicyStoreSourceType"), _ORIGIN, "PolicyStoreSourceType")) \
                if fields.get("PolicyStoreSourceType") not in (None, "") else ""
        except _Unknown:
            origin = str(fields.get("PolicyStoreSourceType"))
        service = str(fields.get("Service") or ANY).strip()
        out.append({"rule": rules[0], "group": str(fields.get("Group") or ""), "origin": origin,
                    "source": str(fields.get("PolicyStoreSource") or ""),
                    "service": ANY if service.casefold() in ("", "any", "*") else service})
    return sorted(out, key=lambda b: b["rule"]["name"])


def read_policy(query: Mapping[str, Any]) -> EffectivePolicy:
    """The effective policy as the ``win_firewall_rules`` query reports it (``firewall_service``,
    ``active_profiles``, ``gpo_profiles``, ``block_rules``, ``policy_unread``). Never raises."""
    keys = ("firewall_service", "active_profiles", "gpo_profiles", "block_rules", "policy_unread")
    unread: list[Unread] = []
    reported_unread = query.get("policy_unread")
    if isinstance(reported_unread, Mapping):
        unread.extend({"what": str(k), "reason": str(v)} for k, v in sorted(reported_unread.items()))
    return {
        "reported": any(k in query for k in keys),
        "service": _service(query.get("firewall_service"), unread) if "firewall_service" in query else None,
        "active": _profiles(query.get("active_profiles"), "ActiveStore", unread),
        "gpo": _profiles(query.get("gpo_profiles"), "RSOP", unread),
        "block_rules": _block_rules(query.get("block_rules"), unread),
        "unread": unread,
    }


# --------------------------------------------------------------------------- overlap of a block rule and a planned allow

def _port_ranges(items: Sequence[str]) -> tuple[list[PortRange], set[str], bool]:
    """``(ranges, other keywords, uncertain)``: ``Any`` is every port; RPC and RPCEPMap their usual ports (uncertain)."""
    if not items or any(str(i).casefold() == "any" for i in items):
        return [_ALL_PORTS], set(), False
    ranges: list[PortRange] = []
    keywords: set[str] = set()
    uncertain = False
    for item in items:
        try:
            ranges.append(parse_range(str(item)))
        except PortError:
            key = str(item).strip().casefold()
            if key in _PORT_KEYWORDS:
                ranges.extend(_PORT_KEYWORDS[key])
                uncertain = True
            else:
                keywords.add(key)
    return ranges, keywords, uncertain


def _ports_meet(block: Sequence[str], allow: Sequence[str]) -> tuple[bool, bool, bool]:
    """``(overlap, block covers allow, uncertain)`` of two port lists."""
    b_ranges, b_keys, b_unsure = _port_ranges(block)
    a_ranges, a_keys, a_unsure = _port_ranges(allow)
    meet = any(lo <= a_hi and a_lo <= hi for lo, hi in b_ranges for a_lo, a_hi in a_ranges) or bool(b_keys & a_keys)
    b_merged = merge(r for r in b_ranges if r != _ALL_PORTS) if _ALL_PORTS not in b_ranges else (_ALL_PORTS,)
    covers = a_keys <= b_keys and all(any(lo <= a_lo and a_hi <= hi for lo, hi in b_merged) for a_lo, a_hi in a_ranges)
    return meet, meet and covers, meet and (b_unsure or a_unsure)


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(items: Sequence[str]) -> tuple[list[_Network], set[str]] | None:
    """``None`` for ``Any``; else ``(networks, keywords)`` (a range ``a-b`` as the networks it spans)."""
    if not items or any(str(i).casefold() == "any" for i in items):
        return None
    nets: list[_Network] = []
    keywords: set[str] = set()
    for item in items:
        text = str(item).strip()
        try:
            if "-" in text:
                lo, hi = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
                nets.extend(ipaddress.summarize_address_range(lo, hi))  # two versions: TypeError
            else:
                nets.append(ipaddress.ip_network(text, strict=False))
        except (ValueError, TypeError):
            keywords.add(text)  # LocalSubnet, DNS4, Intranet, ...: resolved on the host
    return nets, keywords


def _addresses_meet(block: Sequence[str], allow: Sequence[str]) -> tuple[bool, bool, bool]:
    """``(overlap, block covers allow, uncertain)`` of two address lists; a keyword of the block rule
    (LocalSubnet, DNS, Internet, ...) is resolved on the host, so it may meet any address (uncertain)."""
    b = _networks(block)
    a = _networks(allow)
    if b is None:
        return True, True, False
    b_nets, b_keys = b
    if a is None:
        return bool(b_nets or b_keys), False, False
    a_nets, a_keys = a
    meet = any(x.version == y.version and x.overlaps(y) for x in b_nets for y in a_nets)
    meet_keys = bool(b_keys & a_keys)
    covers = (a_keys <= b_keys
              and all(any(n.version == o.version and n.subnet_of(o) for o in b_nets) for n in a_nets))  # type: ignore[arg-type]
    if meet or meet_keys:
        return True, covers, False
    if b_keys:
        return True, False, True
    return False, False, False


def _program_key(program: str) -> str:
    text = program.strip().casefold().replace("/", "\\")
    for variable, value in _PROGRAM_VARIABLES:
        if text.startswith(variable):
            text = value + text[len(variable):]
            break
    return text


def _programs_meet(block: str, allow: str) -> tuple[bool, bool]:
    if block == ANY:
        return True, True
    if allow == ANY:
        return True, False  # the block rule stops that program's share of the allowed traffic
    same = _program_key(block) == _program_key(allow)
    return same, same


def _rule_profiles(rule: Mapping[str, Any]) -> list[str]:
    """A rule's profiles; ``NotApplicable`` is taken as all three (a rule the profile does not limit)."""
    names = list(rule.get("profiles") or PROFILES)
    return list(PROFILES) if NOT_APPLICABLE in names else [p for p in PROFILES if p in names]


def block_overlap(block: Mapping[str, Any], allow: Mapping[str, Any]) -> Overlap | None:
    """Whether the block rule ``block`` stops traffic the allow rule ``allow`` lets through, both in the
    normalised rule shape (``_windows_host``): same direction, protocols, local and remote ports,
    local and remote addresses, program and profiles that meet. ``None`` when they do not."""
    if block.get("direction") != allow.get("direction") or not block.get("enabled", True) or not allow.get("enabled", True):
        return None
    profiles = [p for p in _rule_profiles(allow) if p in _rule_profiles(block)]
    if not profiles:
        return None
    b_proto, a_proto = str(block.get("protocol") or ANY), str(allow.get("protocol") or ANY)
    if b_proto != ANY and a_proto != ANY and b_proto.casefold() != a_proto.casefold():
        return None
    whole = b_proto == ANY or b_proto.casefold() == a_proto.casefold()
    certain = True
    if b_proto.upper() in _PORT_PROTOCOLS or a_proto.upper() in _PORT_PROTOCOLS:
        for key in ("local_ports", "remote_ports"):
            meet, covers, unsure = _ports_meet(block.get(key) or [ANY], allow.get(key) or [ANY])
            if not meet:
                return None
            whole, certain = whole and covers, certain and not unsure
    for key in ("local_addresses", "remote_addresses"):
        meet, covers, unsure = _addresses_meet(block.get(key) or [ANY], allow.get(key) or [ANY])
        if not meet:
            return None
        whole, certain = whole and covers, certain and not unsure
    meet, covers = _programs_meet(str(block.get("program") or ANY), str(allow.get("program") or ANY))
    if not meet:
        return None
    whole = whole and covers and set(_rule_profiles(allow)) <= set(profiles)
    return {"rule": str(allow.get("name", "")), "flows": rule_flows(allow) if allow.get("description") else [],
            "profiles": profiles, "whole": whole, "certain": certain}


# --------------------------------------------------------------------------- findings

def _finding(ident: str, severity: str, subject: str, message: str) -> PolicyFinding:
    return {"id": ident, "severity": severity, "subject": subject, "message": message}


def _off(value: bool | None) -> bool:
    return value is False


def _service_findings(service: ServiceState) -> list[PolicyFinding]:
    status, start = service["status"], service["start_type"]
    fix = ("Set its start type back to Automatic (Windows' default) and start it (Start-Service -Name mpssvc, or the Services "
           "console, as an administrator; where Group Policy or an endpoint product stopped it, there), then run again")
    if status == "NotFound":
        return [_finding("service-missing", ERROR, SERVICE, "the Windows Defender Firewall service (mpssvc) was not found on the "
                         "host, so no firewall rule is enforced")]
    if status != "Running":
        return [_finding("service-stopped", ERROR, SERVICE,
                         "the Windows Defender Firewall service (mpssvc) is %s (start type %s): no rule and no profile setting is "
                         "enforced, and rules written now would not be checked by Windows. %s" % (status, start or "unknown", fix))]
    if start == "Disabled":
        return [_finding("service-disabled", ERROR, SERVICE,
                         "the Windows Defender Firewall service (mpssvc) is running but its start type is Disabled: after the next "
                         "restart no rule is enforced. %s" % fix)]
    if start == "Manual":
        return [_finding("service-manual", WARNING, SERVICE,
                         "the Windows Defender Firewall service (mpssvc) runs, but its start type is Manual, not Automatic (Windows' "
                         "default): it may not start after a restart, and then no rule is enforced")]
    return []


def _profile_findings(policy: EffectivePolicy, profiles: Sequence[str], rules: Sequence[Mapping[str, Any]],
                      want_profiles: Mapping[str, Mapping[str, Any]], outbound_default: str, group: str) -> list[PolicyFinding]:
    out: list[PolicyFinding] = []
    empty: ProfilePolicy = {"enabled": None, "default_inbound_action": None, "default_outbound_action": None,
                            "allow_inbound_rules": None, "allow_local_rules": None}
    for name in profiles:
        active, gpo = policy["active"].get(name, empty), policy["gpo"].get(name, empty)
        using = [r for r in rules if name in _rule_profiles(r)]
        inbound = [r for r in using if r.get("direction") == "Inbound"]
        want = want_profiles.get(name) or {}
        if _off(gpo["allow_local_rules"]) or _off(active["allow_local_rules"]):
            tightens = want.get("default_inbound_action") == "Block" and gpo["default_inbound_action"] is None
            finding = _finding(
                "local-rules-ignored", WARNING, name,
                "Group Policy sets AllowLocalFirewallRules False for the %s profile (local policy merge off): Windows ignores local "
                "rules there, so the %d rule(s) of group %s are written to the local store and kept, but are not in effect in that "
                "profile; only Group Policy's rules apply.%s Ask the owner of the GPO to allow local rules (Windows Defender "
                "Firewall properties, %s profile, Settings, Customize, Apply local firewall rules: Yes) or to deploy these rules "
                "by Group Policy" % (
                    name, len(using), group,
                    " With windows_firewall_manage_profiles the role sets DefaultInboundAction Block there (Group Policy does not "
                    "set it), so only Group Policy's allow rules admit inbound traffic, this connection included; commit-confirm "
                    "restores the previous settings if the controller is cut off." if tightens else "",
                    name))
            finding["profiles"] = [name]
            out.append(finding)
        if inbound and (_off(gpo["allow_inbound_rules"]) or _off(active["allow_inbound_rules"])):
            out.append(_finding("inbound-rules-ignored", WARNING, name,
                                "AllowInboundRules is False for the %s profile%s: Windows ignores every inbound rule there, so the "
                                "%d inbound rule(s) of group %s are not in effect in that profile"
                                % (name, " (set by Group Policy)" if _off(gpo["allow_inbound_rules"]) else "", len(inbound), group)))
        if _off(gpo["enabled"]):
            out.append(_finding("firewall-off", WARNING, name,
                                "Group Policy turns Windows Defender Firewall off for the %s profile: neither the rules of group %s "
                                "nor a default action apply there, so every connection is let in%s"
                                % (name, group, " (the role's Enabled True is overridden)" if want else "")))
        elif _off(active["enabled"]) and not want:
            out.append(_finding("firewall-off", WARNING, name,
                                "Windows Defender Firewall is off for the %s profile and windows_firewall_manage_profiles is false, so "
                                "the rules of group %s do not apply there" % (name, group)))
        gpo_in, gpo_out = gpo["default_inbound_action"], gpo["default_outbound_action"]
        if want and gpo_in is not None and gpo_in != want.get("default_inbound_action"):
            out.append(_finding("gpo-default-inbound", WARNING, name,
                                "Group Policy sets DefaultInboundAction %s for the %s profile, the role sets %s: Group Policy wins, so "
                                "%s" % (gpo_in, name, want.get("default_inbound_action"),
                                        "every inbound connection not blocked by a rule is let in there; the rules restrict nothing"
                                        if gpo_in == "Allow" else "inbound traffic is blocked there unless a rule allows it")))
        if gpo_out is not None and want and gpo_out != want.get("default_outbound_action"):
            out.append(_finding("gpo-default-outbound", WARNING, name,
                                "Group Policy sets DefaultOutboundAction %s for the %s profile, the role sets %s: Group Policy wins, so "
                                "%s" % (gpo_out, name, want.get("default_outbound_action"),
                                        "outbound traffic is blocked there unless a rule allows it, and no outbound rules were rendered "
                                        "(windows_firewall_outbound_default: allow): the host's outbound flows of the plan are blocked"
                                        if gpo_out == "Block" else "outbound traffic is not restricted there")))
        elif gpo_out == "Block" and not want and outbound_default == "allow":
            out.append(_finding("gpo-default-outbound", WARNING, name,
                                "Group Policy blocks outbound traffic by default in the %s profile but windows_firewall_outbound_default "
                                "is allow, so no outbound rules were rendered: the host's outbound flows of the plan are blocked unless "
                                "other rules allow them" % name))
    return out


def _in_effect(policy: EffectivePolicy, profile: str, direction: str, local: bool, want: bool) -> bool:
    """Whether a rule of the local store (``local``) or of Group Policy is in effect in ``profile``."""
    empty: dict[str, Any] = {}
    active: Mapping[str, Any] = policy["active"].get(profile) or empty
    gpo: Mapping[str, Any] = policy["gpo"].get(profile) or empty
    if _off(gpo.get("enabled")) or (_off(active.get("enabled")) and not want):
        return False
    if direction == "Inbound" and (_off(gpo.get("allow_inbound_rules")) or _off(active.get("allow_inbound_rules"))):
        return False
    return not (local and (_off(gpo.get("allow_local_rules")) or _off(active.get("allow_local_rules"))))


def _source_text(block: BlockRule) -> str:
    if block["origin"] == GROUP_POLICY:
        return "Group Policy%s" % (" (GPO %s)" % block["source"] if block["source"] else "")
    if block["origin"] == LOCAL:
        return "the local store%s" % (" (group %s)" % block["group"] if block["group"] else "")
    return "%s%s" % (block["origin"] or "the active store", " (%s)" % block["source"] if block["source"] else "")


def _overlap_findings(policy: EffectivePolicy, rules: Sequence[Mapping[str, Any]], profiles: Sequence[str],
                      want_profiles: Mapping[str, Any], group: str, own_names: set[str]) -> list[PolicyFinding]:
    out: list[PolicyFinding] = []
    for block in policy["block_rules"]:
        rule = block["rule"]
        if rule["action"] != "Block" or not rule["enabled"]:
            continue
        if block["group"] == group and block["origin"] in (LOCAL, "") and rule["name"] in own_names:
            continue  # a rule of the group made a block rule by hand: the apply sets it back (or removes it)
        if block["service"] != ANY:
            continue  # limited to one Windows service (service hardening): the plan does not say which service serves a flow
        local = block["origin"] == LOCAL
        block_in = [p for p in _rule_profiles(rule) if _in_effect(policy, p, rule["direction"], local, p in want_profiles)]
        hits: list[Overlap] = []
        for allow in rules:
            if allow.get("direction") != rule["direction"]:
                continue
            allow_in = [p for p in _rule_profiles(allow) if p in profiles
                        and _in_effect(policy, p, str(allow.get("direction")), True, p in want_profiles)]
            hit = block_overlap({**rule, "profiles": block_in}, {**allow, "profiles": allow_in}) if block_in and allow_in else None
            if hit:
                hits.append(hit)
        if not hits:
            continue
        flows = sorted({f for h in hits for f in h["flows"]})
        certain = all(h["certain"] for h in hits)
        parts = ["%s%s (%s; flows %s)" % ("all of " if h["whole"] else "part of ", h["rule"], ", ".join(h["profiles"]),
                                          ", ".join(h["flows"]) or "none listed") for h in hits]
        finding = _finding(
            "block-overlap", WARNING, rule["name"],
            "block rule %s (%s, from %s) %s traffic that the planned rules allow: %s. A block rule wins over an allow rule on "
            "Windows, so these planned flows cannot take effect where they meet it: %s.%s Narrow or remove the block rule (%s), "
            "or plan the flows differently" % (
                rule["name"], rule["display_name"] or rule["name"], _source_text(block), "blocks" if certain else "may block",
                "; ".join(parts), ", ".join(flows) or "none listed",
                "" if certain else " The overlap depends on an address or port keyword the host resolves (LocalSubnet, DNS, RPC, ...).",
                "in the GPO" if block["origin"] == GROUP_POLICY else "Remove-NetFirewallRule or Set-NetFirewallRule on the host"))
        finding["rule"] = rule["name"]
        finding["source"] = _source_text(block)
        finding["blocks"] = hits
        finding["flows"] = flows
        finding["profiles"] = sorted({p for h in hits for p in h["profiles"]}, key=PROFILES.index)
        out.append(finding)
    return out


def check_policy(policy: EffectivePolicy, rules: Sequence[Mapping[str, Any]], *, profiles: Iterable[str] = PROFILES,
                 want_profiles: Mapping[str, Mapping[str, Any]] | None = None, outbound_default: str = "allow",
                 group: str = "voiceops.firewall", own_names: Iterable[str] = ()) -> list[PolicyFinding]:
    """Findings on the effective ``policy`` for the planned ``rules`` (the group's rules after the apply).

    ``profiles`` are the profiles the rules use (``windows_firewall_profiles``); ``want_profiles`` the
    profile settings the role sets (empty without ``windows_firewall_manage_profiles``); ``own_names``
    the names of the group's rules that the apply sets or removes (a block rule of the group among them
    is being repaired, not reported). Errors first, then by id and subject.
    """
    if not policy["reported"]:
        return []
    wanted = {str(p).casefold() for p in profiles}
    used = [p for p in PROFILES if p.casefold() in wanted]
    want = dict(want_profiles or {})
    findings: list[PolicyFinding] = []
    if policy["service"] is not None:
        findings += _service_findings(policy["service"])
    findings += _profile_findings(policy, used, rules, want, outbound_default, group)
    findings += _overlap_findings(policy, rules, used, want, group, set(own_names))
    unread = policy["unread"]
    if any(f["severity"] == ERROR for f in findings):  # the service is not running: that the active store was not read says nothing more
        unread = [u for u in unread if u["what"] != "active_store"]
    if unread:
        findings.append(_finding("policy-unread", WARNING, "effective policy",
                                 "part of the effective policy could not be read, so it was not checked: %s"
                                 % "; ".join("%s (%s)" % (u["what"], u["reason"]) for u in unread)))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order.get(f["severity"], len(order)), f["id"], f["subject"]))


def refusals(findings: Iterable[PolicyFinding]) -> list[PolicyFinding]:
    """The findings that stop an apply (severity error)."""
    return [f for f in findings if f["severity"] == ERROR]


def warning_lines(findings: Iterable[PolicyFinding]) -> list[str]:
    """One Ansible warning per finding of severity warning."""
    return ["effective policy, %s (%s): %s" % (f["id"], f["subject"], f["message"]) for f in findings if f["severity"] == WARNING]
