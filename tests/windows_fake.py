# -*- coding: utf-8 -*-
"""A stand-in for a Windows host's firewall, for tests on machines without Windows.

It answers the arguments of voiceops.firewall.win_firewall_rules the way that module does
(plugins/modules/win_firewall_rules.ps1), and reports rules the way Windows does: enums as
numbers (as ConvertTo-Json and Ansible's JSON writer emit them) or as names, a single value as
a scalar, IPv4 subnets as ``address/mask``, Profile ``Any`` (0) for all profiles, protocols by
number for ESP and GRE. It is a simulation written from the NetSecurity documentation, not
Windows: the real module is exercised only by tests/integration/targets/windows_firewall.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path
from typing import Any

_DIRECTION = {"Inbound": 1, "Outbound": 2}
_ACTION = {"Allow": 2, "Block": 4}
_PROFILE_BITS = {"Domain": 1, "Private": 2, "Public": 4}


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


class FakeWindowsFirewall:
    def __init__(self, rules: list[dict[str, Any]] | None = None, profiles: dict[str, dict[str, Any]] | None = None,
                 numeric_enums: bool = True) -> None:
        self.rules: dict[str, dict[str, Any]] = {r["Name"]: r for r in (rules or [])}
        self.profiles = profiles or {
            name: {"Enabled": True, "DefaultInboundAction": "NotConfigured", "DefaultOutboundAction": "NotConfigured"}
            for name in ("Domain", "Private", "Public")}
        self.numeric_enums = numeric_enums
        self.calls: list[dict[str, Any]] = []

    # ---- persistence between ansible-playbook runs
    @classmethod
    def load(cls, path: Path) -> FakeWindowsFirewall:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(data["rules"], data["profiles"], data.get("numeric_enums", True))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"rules": list(self.rules.values()), "profiles": self.profiles,
                                    "numeric_enums": self.numeric_enums}, indent=1, sort_keys=True))

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
        }

    def report(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A stored rule as the query reports it."""
        out = dict(stored)
        mask = stored["Profile"]
        if self.numeric_enums:
            out["Enabled"] = 1 if stored["Enabled"] else 2
            out["Direction"] = _DIRECTION[stored["Direction"]]
            out["Action"] = _ACTION[stored["Action"]]
            out["Profile"] = 0 if mask == 7 else mask
        else:
            out["Enabled"] = "True" if stored["Enabled"] else "False"
            out["Profile"] = "Any" if mask == 7 else ", ".join(n for n, b in _PROFILE_BITS.items() if mask & b)
        out["Protocol"] = {"TCP": "TCP", "UDP": "UDP"}.get(stored["Protocol"], stored["Protocol"])
        for key in ("LocalPort", "RemotePort", "LocalAddress", "RemoteAddress"):
            out[key] = _scalar_if_one(stored[key])
        return out

    # ---- the module
    def run(self, args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
        self.calls.append(copy.deepcopy(args))
        group = args["group"]
        if args["operation"] == "query":
            rules = [self.report(r) for n, r in sorted(self.rules.items()) if r["Group"] == group]
            result: dict[str, Any] = {"changed": False, "rules": rules, "profiles": [
                {"Name": n, "Enabled": "True" if p["Enabled"] else "False",
                 "DefaultInboundAction": p["DefaultInboundAction"], "DefaultOutboundAction": p["DefaultOutboundAction"]}
                for n, p in sorted(self.profiles.items())]}
            if args.get("foreign"):
                result["foreign_rules"] = [self.report(r) for n, r in sorted(self.rules.items())
                                           if r["Group"] != group and r["Enabled"] and r["Action"] == "Allow"]
            return result
        done: list[str] = []
        total = sum(len(args.get(k) or []) for k in ("add", "update", "remove", "profiles"))
        if total == 0:
            return {"changed": False, "done": done}
        if check_mode:
            return {"changed": True, "done": done}
        for rule in args.get("add") or []:
            if rule["name"] in self.rules:
                return {"failed": True, "msg": "add %s: a rule of that name exists" % rule["name"], "done": done,
                        "failed_step": "add %s" % rule["name"], "changed": bool(done)}
            self.rules[rule["name"]] = self.stored(rule, group)
            done.append("add %s" % rule["name"])
        for rule in args.get("update") or []:
            existing = self.rules.get(rule["name"])
            if existing is None or existing["Group"] != group:
                return {"failed": True, "msg": "update %s: not in group %s" % (rule["name"], group), "done": done,
                        "failed_step": "update %s" % rule["name"], "changed": bool(done)}
            self.rules[rule["name"]] = self.stored(rule, group)
            done.append("update %s" % rule["name"])
        for name in args.get("remove") or []:
            existing = self.rules.get(name)
            if existing is None or existing["Group"] != group:
                return {"failed": True, "msg": "remove %s: not in group %s" % (name, group), "done": done,
                        "failed_step": "remove %s" % name, "changed": bool(done)}
            del self.rules[name]
            done.append("remove %s" % name)
        for prof in args.get("profiles") or []:
            self.profiles[prof["name"]] = {"Enabled": prof["enabled"], "DefaultInboundAction": prof["default_inbound_action"],
                                           "DefaultOutboundAction": prof["default_outbound_action"]}
            done.append("profile %s" % prof["name"])
        return {"changed": True, "done": done}
