# -*- coding: utf-8 -*-
"""A stand-in for a Windows host's firewall, for tests on machines without Windows.

It answers the arguments of voiceops.firewall.win_firewall_rules the way that module does
(plugins/modules/win_firewall_rules.ps1), and reports rules the way Windows does. Each form has
its source:

- enums as numbers (the CIM classes' values, as ``ConvertTo-Json`` and Ansible's JSON writer emit
  them; MSFT_NetFirewallRule: Direction Inbound (1), Outbound (2); Action Allow (2), Block (4);
  Enabled (1), Disabled (2); EdgeTraversalPolicy Block (0), Allow (1), Defer to User (2), Defer to
  App (3)) or as names (the module's ``[string]`` casts, as ``Format-List`` prints them);
- ``Profile`` as a mask, ``0`` (``Any``) for all three, ``65535`` for ``NotApplicable`` (the
  NetSecurity Profile enum), or as names, several joined by ``", "`` (``Domain, Private``:
  ``[string]`` of a flags enum; NetworkingDsc splits ``Profile`` on ``', '`` for that reason);
- a single value as a scalar (``ConvertTo-Json`` of a one-element array property);
- IPv4 subnets as ``address/mask`` (``10.0.0.0/255.255.255.0``, how Get-NetFirewallAddressFilter
  reports them), single addresses bare, address keywords (``LocalSubnet``, ``DNS4``) as stored;
- protocols by name for TCP/UDP/ICMP and by number for the rest (``50``, ``47``);
- program paths as stored, environment variables unexpanded (``%SystemRoot%\\System32\\...``:
  Windows keeps the path as given and compares it after expansion);
- the settings the collection never sets (``InterfaceType``, ``Service``, ``IcmpType``,
  ``DynamicTarget``, ``EdgeTraversalPolicy``, the security filter, ``Owner``, ``Platform``,
  ``Package``, ``InterfaceAlias``), read from one listing per filter type, only for the group's
  rules, each with Windows' default unless a test edits it (``FakeWindowsFirewall.rules``).

``-Name`` of ``Get-``/``Set-``/``Remove-NetFirewallRule`` is a wildcard pattern (NetSecurity help:
"Wildcard characters are accepted"; about_Wildcards). The simulated module escapes the name,
requires exactly one rule of that exact name in the group and changes that rule, as the module
does; with ``legacy_name_lookup`` it acts as the module did before (the name used as a pattern),
to show what that did.

The effective policy (the query's ``firewall_service``, ``gpo_profiles``, ``active_profiles``,
``block_rules``, ``policy_unread``; docs/windows.md, "Effective policy") comes from state a test sets,
with Windows' defaults otherwise:

- ``service``: ``Get-Service -Name mpssvc``, ``Status`` and ``StartType`` (ServiceControllerStatus:
  Running is 4, Stopped 1; ServiceStartMode: Automatic 2, Manual 3, Disabled 4), running and automatic
  by default; ``None`` when the service does not exist. When it is not running the active store is not
  read (no ``active_profiles``, ``block_rules``, ``foreign_rules``), as the module does;
- ``gpo_profiles``: what Group Policy sets per profile (the RSOP store): ``Enabled``,
  ``AllowInboundRules``, ``AllowLocalFirewallRules`` as GpoBoolean (``True``, ``False``,
  ``NotConfigured``; 1, 0, 2), ``DefaultInboundAction``/``DefaultOutboundAction`` as Action
  (``NotConfigured``, ``Allow``, ``Block``; 0, 2, 4); all NotConfigured by default (no GPO). The
  ActiveStore's profiles are Group Policy's value where it sets one, else the local store's;
- ``gpo_rules``: rules from Group Policy (stored form, plus ``PolicyStoreSource``, the GPO's name); in
  the active store a GPO rule replaces a local rule of the same name ("rules that have the same name
  but come from multiple stores being merged, will overwrite one another", Get-NetFirewallRule -Name).
  Local block rules are rules of ``rules`` with ``Action`` ``Block``. Rules of the active store carry
  ``PolicyStoreSourceType`` (``Local``/``GroupPolicy``; 1/2) and their service filter (``Service``).

It is a simulation written from the NetSecurity documentation, not Windows: the real module is
exercised only by tests/integration/targets/windows_firewall.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

_DIRECTION = {"Inbound": 1, "Outbound": 2}
_ACTION = {"Allow": 2, "Block": 4}
_PROFILE_ACTION = {"NotConfigured": 0, "Allow": 2, "Block": 4}  # Action, as Get-NetFirewallProfile reports the defaults
_GPO_BOOLEAN = {"False": 0, "True": 1, "NotConfigured": 2}
_SERVICE_STATUS = {"Stopped": 1, "StartPending": 2, "StopPending": 3, "Running": 4, "ContinuePending": 5, "PausePending": 6, "Paused": 7}
_START_TYPE = {"Boot": 0, "System": 1, "Automatic": 2, "Manual": 3, "Disabled": 4}
_ORIGIN = {"Local": 1, "GroupPolicy": 2}  # PolicyStoreSourceType
_GPO_SETTINGS = ("Enabled", "DefaultInboundAction", "DefaultOutboundAction", "AllowInboundRules", "AllowLocalFirewallRules")
_PROFILE_BITS = {"Domain": 1, "Private": 2, "Public": 4}
_PROFILE_NOT_APPLICABLE = 65535  # NetSecurity Profile enum: NotApplicable = 65535

# Enums of the settings, name -> number (MSFT_NetFirewallRule; NetSecurity's EdgeTraversal,
# Authentication, Encryption enums; InterfaceType and DynamicTransport are flags).
_SETTING_ENUMS: dict[str, dict[str, int]] = {
    "EdgeTraversalPolicy": {"Block": 0, "Allow": 1, "DeferToUser": 2, "DeferToApp": 3},
    "Authentication": {"NotRequired": 0, "Required": 1, "NoEncap": 2},
    "Encryption": {"NotRequired": 0, "Required": 1, "Dynamic": 2},
}
_SETTING_FLAGS: dict[str, dict[str, int]] = {
    "InterfaceType": {"Wired": 1, "Wireless": 2, "RemoteAccess": 4},
    "DynamicTarget": {"ProximityApps": 1, "ProximitySharing": 2, "WifiDirectPrinting": 4, "WifiDirectDisplay": 8,
                      "WifiDirectDevices": 16},
}
# What New-NetFirewallRule gives a rule when the parameter is left out ("The default value is ...").
SETTING_DEFAULTS: dict[str, Any] = {
    "EdgeTraversalPolicy": "Block", "LooseSourceMapping": False, "LocalOnlyMapping": False, "Owner": None, "Platform": [],
    "IcmpType": ["Any"], "DynamicTarget": "Any", "Package": None, "InterfaceType": "Any", "InterfaceAlias": ["Any"],
    "Service": "Any", "Authentication": "NotRequired", "Encryption": "NotRequired", "OverrideBlockRules": False,
    "LocalUser": "Any", "RemoteUser": "Any", "RemoteMachine": "Any",
}
# The module's rule options that set a setting back (Set-NetFirewallRule parameters), option -> setting.
_SETTING_OPTIONS = {"interface_type": "InterfaceType", "service": "Service", "icmp_type": "IcmpType",
                    "dynamic_target": "DynamicTarget", "edge_traversal_policy": "EdgeTraversalPolicy",
                    "loose_source_mapping": "LooseSourceMapping", "local_only_mapping": "LocalOnlyMapping"}
_SETTING_CHOICES = {"interface_type": "Any", "service": "Any", "dynamic_target": "Any",
                    "edge_traversal_policy": "Block"}
_RULE_OPTIONS = {"name", "display_name", "description", "direction", "action", "enabled", "profiles", "protocol", "local_ports",
                 "remote_ports", "local_addresses", "remote_addresses", "program", "recreate"} | set(_SETTING_OPTIONS)


def _windows_address(text: str) -> str:
    """Windows reports IPv4 subnets with a mask and single addresses bare."""
    if text == "Any" or "/" not in text:
        return text
    net = ipaddress.ip_network(text)
    if net.version == 4:
        return "%s/%s" % (net.network_address, net.netmask)
    return str(net)


def _scalar_if_one(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else list(values)


# ------------------------------------------------------------------ PowerShell wildcard patterns

def wildcard_escape(text: str) -> str:
    """``[System.Management.Automation.WildcardPattern]::Escape``: a backtick before ``* ? [ ]`` and a backtick."""
    return re.sub(r"([*?\[\]`])", r"`\1", text)


def wildcard_match(pattern: str, text: str) -> bool:
    """``text -like pattern`` as the NetSecurity cmdlets match ``-Name`` (about_Wildcards): ``*``, ``?``,
    ``[abc]``, ``[a-c]``, a backtick escapes the next character; case-insensitive."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "`" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "*":
            out.append(".*")
            i += 1
        elif c == "?":
            out.append(".")
            i += 1
        elif c == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end]
            out.append("[" + "".join("-" if ch == "-" and 0 < k < len(body) - 1 else re.escape(ch) for k, ch in enumerate(body)) + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.fullmatch("".join(out), text, re.IGNORECASE | re.DOTALL) is not None


# ------------------------------------------------------------------ forms of the settings

def _as_number(key: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    name = value.replace(" ", "")
    if key in _SETTING_ENUMS:
        return next((n for k, n in _SETTING_ENUMS[key].items() if k.casefold() == name.casefold()), value)
    if key in _SETTING_FLAGS:
        parts = [p.strip() for p in value.split(",")]
        if parts == ["Any"]:
            return 0
        bits = [_SETTING_FLAGS[key].get(p) for p in parts]
        return sum(b for b in bits if b) if all(bits) else value
    return value


def _as_name(key: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    if key in _SETTING_ENUMS:
        return next((k for k, n in _SETTING_ENUMS[key].items() if n == value), value)
    if key in _SETTING_FLAGS:
        return ", ".join(k for k, b in _SETTING_FLAGS[key].items() if value & b) or "Any"
    return value


class FakeWindowsFirewall:
    def __init__(self, rules: list[dict[str, Any]] | None = None, profiles: dict[str, dict[str, Any]] | None = None,
                 numeric_enums: bool = True, legacy_name_lookup: bool = False) -> None:
        self.rules: dict[str, dict[str, Any]] = {r["Name"]: r for r in (rules or [])}
        self.profiles = profiles or {
            name: {"Enabled": True, "DefaultInboundAction": "NotConfigured", "DefaultOutboundAction": "NotConfigured"}
            for name in ("Domain", "Private", "Public")}
        self.numeric_enums = numeric_enums
        self.legacy_name_lookup = legacy_name_lookup
        self.calls: list[dict[str, Any]] = []
        # What Get-NetTCPConnection and Get-NetConnectionProfile would report (the lockout guard's query).
        self.connections: list[str] = []
        self.network_profiles: list[dict[str, Any]] = [{"name": "corp.example", "interface": "Ethernet", "category": "DomainAuthenticated"}]
        # Commit-confirm: restores scheduled by an apply (the scheduled task and its pending file), by token.
        self.pending: dict[str, dict[str, Any]] = {}
        # A test's way to make the new rules cut the controller off: after the next apply every
        # connection fails until a restore has run.
        self.refuse_after_apply = False
        self.refusing = False
        # The effective policy (see the module's docstring): the firewall service, Group Policy's profile
        # settings (RSOP) and rules.
        self.service: dict[str, Any] | None = {"Status": "Running", "StartType": "Automatic"}
        self.gpo_profiles: dict[str, dict[str, Any]] = {name: {k: "NotConfigured" for k in _GPO_SETTINGS}
                                                        for name in ("Domain", "Private", "Public")}
        self.gpo_rules: list[dict[str, Any]] = []

    # ---- persistence between ansible-playbook runs
    @classmethod
    def load(cls, path: Path) -> FakeWindowsFirewall:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        fake = cls(data["rules"], data["profiles"], data.get("numeric_enums", True), data.get("legacy_name_lookup", False))
        for key in ("connections", "network_profiles", "pending", "refuse_after_apply", "refusing", "service", "gpo_profiles",
                    "gpo_rules"):
            if key in data:
                setattr(fake, key, data[key])
        return fake

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"rules": list(self.rules.values()), "profiles": self.profiles,
                                    "numeric_enums": self.numeric_enums, "legacy_name_lookup": self.legacy_name_lookup,
                                    "connections": self.connections, "network_profiles": self.network_profiles,
                                    "pending": self.pending, "refuse_after_apply": self.refuse_after_apply,
                                    "refusing": self.refusing, "service": self.service, "gpo_profiles": self.gpo_profiles,
                                    "gpo_rules": self.gpo_rules},
                                   indent=1, sort_keys=True))

    def expire(self, now: float | None = None) -> list[str]:
        """Run the scheduled restores whose time has come, as the restore script does: remove the
        group's rules, create the saved ones, set the saved profiles. Returns their tokens."""
        now = time.time() if now is None else now
        ran = []
        for token, saved in sorted(self.pending.items()):
            if saved["rollback_at"] > now:
                continue
            for name in [n for n, r in self.rules.items() if r["Group"] == saved["group"]]:
                del self.rules[name]
            for rule in saved["rules"]:
                self.rules[rule["name"]] = self.stored(rule, saved["group"])
            for prof in saved["profiles"]:
                self.profiles[prof["name"]] = {"Enabled": prof["enabled"], "DefaultInboundAction": prof["default_inbound_action"],
                                               "DefaultOutboundAction": prof["default_outbound_action"]}
            del self.pending[token]
            self.refusing = False
            ran.append(token)
        return ran

    # ---- what the host stores, from module rule arguments (New-NetFirewallRule semantics)
    def stored(self, rule: dict[str, Any], group: str) -> dict[str, Any]:
        profiles = rule["profiles"]
        ports = rule["protocol"] in ("TCP", "UDP")
        return {
            "Name": rule["name"],
            "DisplayName": rule["display_name"],
            "Description": rule.get("description", ""),
            "Group": group,
            "Enabled": bool(rule.get("enabled", True)),
            "Direction": rule["direction"],
            "Action": rule["action"],
            "Profile": sum(_PROFILE_BITS[p] for p in profiles),
            "Protocol": rule["protocol"],
            "LocalPort": list(rule.get("local_ports", ["Any"])) if ports else ["Any"],
            "RemotePort": list(rule.get("remote_ports", ["Any"])) if ports else ["Any"],
            "LocalAddress": [_windows_address(a) for a in rule.get("local_addresses", ["Any"])],
            "RemoteAddress": [_windows_address(a) for a in rule.get("remote_addresses", ["Any"])],
            "Program": rule.get("program", "Any"),
            **copy.deepcopy(SETTING_DEFAULTS),
            **({"IcmpType": list(rule["icmp_type"])} if rule.get("icmp_type") is not None else {}),
        }

    def report(self, stored: dict[str, Any], settings: bool = True) -> dict[str, Any]:
        """A stored rule as the query reports it (``settings``: with the settings, as for the group's rules)."""
        out = {k: v for k, v in stored.items() if k not in SETTING_DEFAULTS}
        mask = stored["Profile"]
        if self.numeric_enums:
            out["Enabled"] = 1 if stored["Enabled"] else 2
            out["Direction"] = _DIRECTION[stored["Direction"]]
            out["Action"] = _ACTION[stored["Action"]]
            out["Profile"] = 0 if mask == 7 else mask
        else:
            out["Enabled"] = "True" if stored["Enabled"] else "False"
            out["Profile"] = ("NotApplicable" if mask == _PROFILE_NOT_APPLICABLE else "Any" if mask == 7
                              else ", ".join(n for n, b in _PROFILE_BITS.items() if mask & b))
        out["Protocol"] = {"TCP": "TCP", "UDP": "UDP"}.get(stored["Protocol"], stored["Protocol"])
        for key in ("LocalPort", "RemotePort", "LocalAddress", "RemoteAddress"):
            out[key] = _scalar_if_one(stored[key])
        if settings:
            for key, default in SETTING_DEFAULTS.items():
                value = copy.deepcopy(stored.get(key, default))
                if self.numeric_enums:
                    value = _as_number(key, value)
                    if isinstance(value, list):
                        value = _scalar_if_one(value) if value else value  # ConvertTo-Json: [] stays [], one element a scalar
                else:
                    value = _as_name(key, value)
                    if value is None and key in ("Owner", "Package"):
                        value = ""  # [string]$null
                out[key] = value
        return out

    # ---- the effective policy
    def _enum_out(self, table: dict[str, int], value: Any) -> Any:
        """A setting as the module reports it: its name ([string]), or in numeric mode the enum's number."""
        name = ("True" if value else "False") if isinstance(value, bool) else str(value)
        return table.get(name, name) if self.numeric_enums else name

    def _profile_report(self, name: str, settings: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": name}
        for key in _GPO_SETTINGS:
            table = _PROFILE_ACTION if key.startswith("Default") else _GPO_BOOLEAN
            out[key] = self._enum_out(table, settings.get(key, "NotConfigured"))
        return out

    def active_profiles(self) -> dict[str, dict[str, Any]]:
        """The ActiveStore's profiles: Group Policy's value where it sets one, else the local store's."""
        out = {}
        for name, local in sorted(self.profiles.items()):
            gpo = self.gpo_profiles.get(name, {})
            merged = {key: local.get(key, "NotConfigured") for key in _GPO_SETTINGS}
            merged.update({k: v for k, v in gpo.items() if str(v) != "NotConfigured"})
            out[name] = merged
        return out

    def active_rules(self) -> list[tuple[dict[str, Any], str, str]]:
        """The active store's rules: ``(stored rule, PolicyStoreSourceType, PolicyStoreSource)``; a GPO rule
        replaces a local rule of the same name."""
        gpo_names = {r["Name"] for r in self.gpo_rules}
        out = [(r, "Local", "PersistentStore") for n, r in sorted(self.rules.items()) if n not in gpo_names]
        out += [(r, "GroupPolicy", str(r.get("PolicyStoreSource") or "Firewall baseline")) for r in self.gpo_rules]
        return sorted(out, key=lambda item: item[0]["Name"])

    def _active_report(self, stored: dict[str, Any], origin: str, source: str) -> dict[str, Any]:
        out = self.report({k: v for k, v in stored.items() if k != "PolicyStoreSource"}, settings=False)
        out["PolicyStoreSource"] = source
        out["PolicyStoreSourceType"] = _ORIGIN[origin] if self.numeric_enums else origin
        out["Service"] = stored.get("Service") or "Any"
        return out

    def policy_report(self, group: str, foreign: bool) -> dict[str, Any]:
        """The effective-policy part of the query (and foreign_rules, read in the same listing)."""
        out: dict[str, Any] = {"firewall_service": None if self.service is None else {
            "Name": "mpssvc", "Status": self._enum_out(_SERVICE_STATUS, self.service["Status"]),
            "StartType": self._enum_out(_START_TYPE, self.service["StartType"])}}
        out["gpo_profiles"] = [self._profile_report(n, p) for n, p in sorted(self.gpo_profiles.items())]
        unread: dict[str, str] = {}
        if self.service is not None and self.service["Status"] == "Running":
            out["active_profiles"] = [self._profile_report(n, p) for n, p in self.active_profiles().items()]
            active = [(r, o, s) for r, o, s in self.active_rules() if r["Enabled"]]
            out["block_rules"] = [self._active_report(r, o, s) for r, o, s in active if r["Action"] == "Block"]
            if foreign:
                out["foreign_rules"] = [self._active_report(r, o, s) for r, o, s in active if r["Action"] == "Allow" and r["Group"] != group]
        else:
            unread["active_store"] = "the Windows Defender Firewall service (mpssvc) is not running, so the active store was not read"
        out["policy_unread"] = unread
        return out

    # ---- -Name lookups
    def _own_rule(self, name: str, group: str) -> tuple[list[str], str | None]:
        """The module's Get-OwnRule: ``([names to act on], error)``."""
        if self.legacy_name_lookup:
            return self._legacy_lookup(name, group)
        found = [k for k in self.rules if wildcard_match(wildcard_escape(name), k)]
        if len(found) != 1:
            return [], "rule '%s': %d rules of the local store match this name; refusing to change any" % (name, len(found))
        if found[0].casefold() != name.casefold():
            return [], "rule '%s': the store returned '%s'; refusing to change it" % (name, found[0])
        if self.rules[found[0]]["Group"] != group:
            return [], "rule '%s' is in group '%s', not '%s'; refusing to change it" % (name, self.rules[found[0]]["Group"], group)
        return found, None

    def _legacy_lookup(self, name: str, group: str) -> tuple[list[str], str | None]:
        """What the module did before issue 14 (item 2): ``$existing = Get-NetFirewallRule -Name $Name``
        (a pattern), ``if ($existing.Group -ne $group) { throw }``, then ``Set-``/``Remove-NetFirewallRule
        -Name $Name`` on every rule the pattern matches."""
        found = [k for k in self.rules if wildcard_match(name, k)]
        groups = [self.rules[k]["Group"] for k in found]
        if len(found) == 1:
            refuse = groups[0] != group
        elif not found:
            refuse = True  # $null.Group -ne $group is true
        else:
            # on an array, -ne returns the elements that differ; `if` takes an empty array, or one holding
            # a single '' or $null, as false
            differing = [g for g in groups if g != group]
            refuse = len(differing) > 1 or (len(differing) == 1 and bool(differing[0]))
        if refuse:
            return [], "rule '%s' is in group '%s', not '%s'; refusing to change it" % (name, groups[0] if groups else "", group)
        return found, None

    # ---- the module
    def _bad_rule_options(self, rule: dict[str, Any]) -> str | None:
        unknown = sorted(set(rule) - _RULE_OPTIONS)
        if unknown:
            return "Unsupported parameters for (win_firewall_rules) module: %s" % ", ".join(unknown)
        for option, only in _SETTING_CHOICES.items():
            value = rule.get(option)
            if value is not None and any(v != only for v in (value if isinstance(value, list) else [value])):
                return "value of %s must be one of: %s, got: %s" % (option, only, value)
        return None

    def run(self, args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
        self.calls.append(copy.deepcopy(args))
        group = args["group"]
        if args["operation"] == "query":
            rules = [self.report(r) for n, r in sorted(self.rules.items()) if r["Group"] == group]
            result: dict[str, Any] = {"changed": False, "rules": rules, "profiles": [
                {"Name": n, "Enabled": "NotConfigured" if p["Enabled"] is None else "True" if p["Enabled"] else "False",
                 "DefaultInboundAction": p["DefaultInboundAction"], "DefaultOutboundAction": p["DefaultOutboundAction"]}
                for n, p in sorted(self.profiles.items())]}
            result.update(self.policy_report(group, bool(args.get("foreign"))))
            if args.get("port") is not None:
                result["connections"] = sorted(set(self.connections))
                result["network_profiles"] = copy.deepcopy(self.network_profiles)
            return result
        if args["operation"] == "confirm":
            token = str(args.get("token") or "")
            if not re.fullmatch(r"[0-9a-f]{32}", token):
                return {"failed": True, "msg": "win_firewall_rules: token: not a token of this module: '%s'" % token}
            if token not in self.pending:
                return {"changed": False, "confirmed": False,
                        "msg": "no pending restore %s on the host: it ran already (the previous rules are back) or was confirmed" % token}
            del self.pending[token]
            return {"changed": False, "confirmed": True}
        done: list[str] = []

        def fail(step: str, msg: str) -> dict[str, Any]:
            return {"failed": True, "msg": "%s: %s" % (step, msg), "done": done, "failed_step": step, "changed": bool(done)}

        for rule in (args.get("add") or []) + (args.get("update") or []):
            bad = self._bad_rule_options(rule)
            if bad:
                return {"failed": True, "msg": bad, "changed": False}
        total = sum(len(args.get(k) or []) for k in ("add", "update", "remove", "profiles"))
        if total == 0:
            return {"changed": False, "done": done}
        if check_mode:
            return {"changed": True, "done": done}
        scheduled: dict[str, Any] = {}
        if (args.get("confirm_timeout") or 0) > 0:
            token = uuid.uuid4().hex
            restore = args.get("restore") or {}
            self.pending[token] = {"group": group, "rules": copy.deepcopy(restore.get("rules") or []),
                                   "profiles": copy.deepcopy(restore.get("profiles") or []),
                                   "rollback_at": int(time.time() + args["confirm_timeout"])}
            scheduled = {"token": token, "rollback_at": self.pending[token]["rollback_at"]}
            done.append("schedule restore-%s" % token)
        if self.refuse_after_apply:
            self.refusing = True
        for rule in args.get("add") or []:
            if rule["name"] in self.rules:
                return fail("add %s" % rule["name"], "a rule of that name exists")
            self.rules[rule["name"]] = self.stored(rule, group)
            done.append("add %s" % rule["name"])
        for rule in args.get("update") or []:
            step = "update %s" % rule["name"]
            names, error = self._own_rule(rule["name"], group)
            if error:
                return fail(step, error)
            if rule.get("recreate"):
                # Rename-NetFirewallRule, New-NetFirewallRule (every setting at its default), Remove the renamed one
                del self.rules[names[0]]
                self.rules[rule["name"]] = self.stored(rule, group)
            else:
                # Set-NetFirewallRule changes the parameters it is given and nothing else
                for key in names:
                    existing = self.rules[key]
                    new = self.stored(rule, existing["Group"])
                    new["Name"] = key
                    new.update({k: copy.deepcopy(existing[k]) for k in SETTING_DEFAULTS if k in existing})
                    for option, setting in _SETTING_OPTIONS.items():
                        if rule.get(option) is not None:
                            new[setting] = copy.deepcopy(rule[option])
                    self.rules[key] = new
            done.append(step)
        for name in args.get("remove") or []:
            names, error = self._own_rule(name, group)
            if error:
                return fail("remove %s" % name, error)
            for key in names:
                del self.rules[key]
            done.append("remove %s" % name)
        for prof in args.get("profiles") or []:
            self.profiles[prof["name"]] = {"Enabled": prof["enabled"], "DefaultInboundAction": prof["default_inbound_action"],
                                           "DefaultOutboundAction": prof["default_outbound_action"]}
            done.append("profile %s" % prof["name"])
        return dict({"changed": True, "done": done}, **scheduled)
