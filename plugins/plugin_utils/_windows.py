# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows Defender Firewall rules rendered from the plan for one host, and their review table (internal API).

Pure functions, all on the controller: :func:`render_host` turns the plan's flows of one Windows
host into the rule set the host should have, deterministic and sorted; :func:`desired_profiles`
gives the profile settings; :func:`rules_markdown` the rules as a table for review.  The host
side (normalising what Windows reports, the diff, the apply arguments, the preview, foreign
rules) is ``_windows_host.py``; the rule shape both use is ``_windows_model.py``.

The model is documented in ``docs/windows.md``.  A rule is never a block rule: on Windows a
block rule beats every allow rule whatever the order, so the default deny is the profile's
default inbound (and, when chosen, outbound) action.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import socket
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ._errors import Problems
from ._plan_types import Plan, WindowsProfile
from ._schema import clean, program_paths_spec, rule_group
from ._windows_host import (
    ansible_diff,
    apply_args,
    diff_profiles,
    diff_rules,
    foreign_openings,
    module_rule,
    normalise_profiles,
    normalise_rule,
    powershell_preview,
)
from ._windows_model import ANY, GROUP, PROFILES, RULE_FIELDS, _PORT_PROTOCOLS, Rule, WindowsFirewallError, _collapse, allows_port

# The host side and the rule shape, re-exported because many tests reach them as ``_windows.X``;
# code imports them from ``_windows_host`` and ``_windows_model``.
__all__ = ["ANY", "GROUP", "MAX_NAME", "PROFILES", "PROTOCOLS", "RULE_FIELDS", "Rule", "WindowsFirewallError",
           "ansible_diff", "apply_args", "desired_profiles", "diff_profiles", "diff_rules", "foreign_openings", "module_rule",
           "normalise_profiles", "normalise_rule", "permitting_rule", "powershell_preview", "render_host", "rule_flows",
           "rule_name", "rules_markdown", "windows_hosts", "windows_protocol", "FLOWS_MARK"]

MAX_NAME = 80  # characters of a rule name after its group (hashed beyond)

# Protocols as Windows names them (New-NetFirewallRule -Protocol); others by number.
PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "gre": "47", "esp": "50"}
_PROTOCOL_LABELS = {"47": "GRE", "50": "ESP"}  # for names and display names only


def windows_hosts(plan: Plan) -> list[str]:
    """Managed Windows hosts of the plan (inventory hosts, not endpoints)."""
    return sorted(name for name, inst in plan.get("instances", {}).items()
                  if inst.get("platform") == "windows" and inst.get("kind") == "host")


@functools.lru_cache(maxsize=1 << 12)
def _collapse_addresses(addresses: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`_collapse` of address strings, once per distinct set (hosts share their sources)."""
    return tuple(_collapse(_parse_network(a) for a in addresses))


@functools.lru_cache(maxsize=1 << 16)
def _parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def _slug_ports(ports: list[str]) -> str:
    return "_".join(ports) if ports else ""


def rule_name(direction: str, protocol: str, ports: list[str], program: str | None, group: str = GROUP) -> str:
    """Deterministic, readable name, unique per group: ``voiceops.firewall-in-tcp-5986``,
    ``voiceops.firewall-in-udp-40000-40999-sesworker.exe``.

    The group comes first because a store holds one rule per name, whatever its group: names
    without it would collide when the group is changed (every add fails and the old group's
    rules stay) or when a second group (a test's) holds the same flows. The part after the group
    is hashed when it is longer than :data:`MAX_NAME`."""
    parts = ["in" if direction == "Inbound" else "out", _PROTOCOL_LABELS.get(protocol, protocol).lower()]
    if ports:
        parts.append(_slug_ports(ports))
    if program:
        parts.append(program.lower())
    tail = "-".join(parts)
    if len(tail) > MAX_NAME:
        tail = "-".join(parts[:2] + [hashlib.sha256(tail.encode()).hexdigest()[:12]])
    return "%s-%s" % (group.lower().replace(" ", "-"), tail)


def _program_path(program: str, program_paths: Mapping[str, Any], flow_id: str, problems: Problems) -> list[str] | None:
    """The program's full paths (several where configured: W3WP.exe in System32 and in SysWOW64)."""
    for key, path in program_paths.items():
        if key.casefold() == program.casefold():
            return sorted(set(path)) if isinstance(path, list) else [path]
    why = ("the full path of %s is not known (flow %s needs a program rule for it); add it, e.g. "
           "windows_firewall_program_paths: {%s: 'C:\\...\\%s'}" % (program, flow_id, program, program))
    if not any(("the full path of %s is" % program) in item for item in problems.items):
        problems.add("windows_firewall_program_paths", dict(program_paths), why)
    return None


# What a Windows domain member needs outbound, by name: DNS, Kerberos, Netlogon (the secure channel and
# NTLM pass-through, over SMB named pipes), time (Kerberos depends on it), and certificate revocation
# lists (HTTP). With outbound blocked by default, a host without these stops working as a domain
# member; ``render_host`` refuses unless each has an outbound rule (or the setting leaves it out).
OUTBOUND_ESSENTIALS: dict[str, tuple[tuple[str, int], ...]] = {
    "dns": (("UDP", 53), ("TCP", 53)),
    "kerberos": (("TCP", 88), ("UDP", 88)),
    "netlogon": (("TCP", 445),),
    "time": (("UDP", 123),),
    "crl": (("TCP", 80),),
}


def missing_essentials(rules: Iterable[Rule], essentials: Iterable[str]) -> list[str]:
    """The essentials (``OUTBOUND_ESSENTIALS`` names) that no outbound rule of ``rules`` allows."""
    out = []
    outbound = [r for r in rules if r["direction"] == "Outbound" and r["action"] == "Allow"]
    for name in essentials:
        for protocol, port in OUTBOUND_ESSENTIALS[name]:
            if not any(r["protocol"] in (protocol, ANY) and allows_port(r["remote_ports"], port) for r in outbound):
                out.append("%s (%s %d)" % (name, protocol.lower(), port))
    return out


FQDN_REMOTE = ("any", "skip", "resolve")


def resolve_name(fqdn: str) -> list[str]:
    """The addresses ``fqdn`` resolves to on the controller now (``fqdn_remote: resolve``), sorted;
    raises OSError (``socket.gaierror``) when it does not resolve."""
    if fqdn.startswith("*."):
        raise OSError("a wildcard name cannot be resolved")
    infos = socket.getaddrinfo(fqdn, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    addrs = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos
             if info[0] in (socket.AF_INET, socket.AF_INET6)}
    if not addrs:
        raise OSError("no IPv4 or IPv6 address")
    return [str(a) for a in sorted(addrs, key=lambda a: (a.version, a))]


def _name_end(remote: Mapping[str, Any], flow_id: str, fqdn_remote: str, resolved: dict[str, list[str]],
              problems: Problems) -> dict[str, Any]:
    """How the rule of a flow whose remote end is known only by name enforces that end: ``mode``
    (``any``, ``skip``: no rule, ``resolve``), the ``addresses`` its rule gets, and in words
    (``enforced_as``, the review table's column and ``name_ends`` of ``windows/<host>.json``)."""
    fqdn = remote.get("fqdn") or ""
    row: dict[str, Any] = {"flow": flow_id, "name": remote["name"], "fqdn": fqdn}
    if fqdn_remote == "skip":
        return dict(row, mode="skip", addresses=[], enforced_as="skipped (no rule)")
    if fqdn_remote == "resolve" and fqdn:
        if fqdn not in resolved:
            try:
                resolved[fqdn] = resolve_name(fqdn)
            except (OSError, UnicodeError) as exc:
                problems.add("windows_firewall_fqdn_remote", "resolve", "%s (%s, flow %s) does not resolve on the controller "
                             "at plan time: %s" % (fqdn, remote["name"], flow_id, exc))
                resolved[fqdn] = []
        return dict(row, mode="resolve", addresses=list(resolved[fqdn]),
                    enforced_as="resolved at plan time: %s" % ", ".join(resolved[fqdn]))
    return dict(row, mode="any", addresses=["0.0.0.0/0", "::/0"],
                enforced_as="any address (name %s not enforced)" % (fqdn or remote["name"]))


def render_host(plan: Plan, host: str, *, program_paths: Mapping[str, Any] | None = None,
                profiles: Iterable[str] = PROFILES, outbound_default: str = "allow", fqdn_remote: str = "any",
                group: str = GROUP, outbound_essentials: Iterable[str] = (),
                resolved: dict[str, list[str]] | None = None,
                named: list[dict[str, Any]] | None = None) -> tuple[list[Rule], list[str]]:
    """The rules ``host`` should have, sorted by name, and warnings.

    Flows to the host become inbound rules scoped to the sources' addresses; flows from the host
    become outbound rules only when ``outbound_default`` is ``block``.  Flows with the same
    direction, protocol, program and port set share one rule whose remote addresses are the
    union of theirs (each of those flows allows exactly those ports, so nothing is widened) and
    whose description lists the flow ids.

    A remote end known only by name gets any address (``fqdn_remote: any``), no rule (``skip``),
    or the addresses the name resolves to on the controller now (``resolve``; filled into
    ``resolved``, name -> addresses): the output then depends on DNS at plan time. ``named``, when
    given, receives how each such end is enforced (:func:`_name_end`), for the review table and
    ``windows/<host>.json``.
    """
    problems = Problems()
    resolved = {} if resolved is None else resolved
    instances = plan.get("instances", {})
    if host not in instances:
        raise WindowsFirewallError("host: %s is not in the plan (Windows hosts of the plan: %s)"
                                   % (host, ", ".join(windows_hosts(plan)) or "none"))
    inst = instances[host]
    if inst.get("platform") != "windows" or inst.get("kind") != "host":
        raise WindowsFirewallError("host: %s is not a managed Windows host in the plan (platform %s, kind %s)"
                                   % (host, inst.get("platform"), inst.get("kind")))
    profile_list = _check_profiles(profiles, problems)
    if outbound_default not in ("allow", "block"):
        problems.add("windows_firewall_outbound_default", outbound_default, "allow or block")
    if fqdn_remote not in FQDN_REMOTE:
        problems.add("windows_firewall_fqdn_remote", fqdn_remote, "any, skip or resolve")
    # The group is how the module finds its own rules: Get-NetFirewallRule -Group takes
    # wildcards, so a group of '*' would make every rule on the host look like ours.
    clean(rule_group, group, "windows_firewall_group", problems)
    paths = clean(program_paths_spec, dict(program_paths or {}), "windows_firewall_program_paths", problems)
    problems.raise_if_any()

    warnings: list[str] = []
    groups: dict[tuple[str, str, tuple[str, ...], str | None, str | None], dict[str, Any]] = {}
    for flow in plan.get("flows", []):
        if flow["dst"]["name"] == host:
            direction, remote = "Inbound", flow["src"]
        elif flow["src"]["name"] == host and outbound_default == "block":
            direction, remote = "Outbound", flow["dst"]
        else:
            continue
        nets = list(remote.get("addresses") or [])
        if not nets:
            end = _name_end(remote, flow["id"], fqdn_remote, resolved, problems)
            if named is not None:
                named.append(end)
            if end["mode"] == "skip":
                warnings.append("%s: %s is given only by name (%s); Windows Firewall cannot scope a rule to a name, "
                                "so this flow gets no rule (windows_firewall_fqdn_remote: skip)"
                                % (flow["id"], remote["name"], remote.get("fqdn")))
                continue
            if end["mode"] == "resolve":
                warnings.append("%s: %s is given only by name (%s); the rule allows the addresses it resolved to on the "
                                "controller at plan time (windows_firewall_fqdn_remote: resolve): %s"
                                % (flow["id"], remote["name"], remote.get("fqdn"), ", ".join(end["addresses"]) or "none"))
                if not end["addresses"]:
                    continue
            else:
                warnings.append("%s: %s is given only by name (%s); Windows Firewall cannot scope a rule to a name, "
                                "so the rule allows any remote address on these ports"
                                % (flow["id"], remote["name"], remote.get("fqdn")))
            nets = end["addresses"]
        program = flow.get("program") or None
        found = _program_path(program, paths, flow["id"], problems) if program else None
        program_paths_found: list[str | None] = list(found) if found else [None]
        ports = tuple(flow.get("ports") or ())
        if flow["protocol"] == "icmp":
            ports = tuple(flow.get("icmp_types") or ())  # an ICMP rule's "ports" are its message types (none: any)
            by_version: dict[str, list[str]] = defaultdict(list)
            for net in nets:
                by_version[windows_protocol("icmp", 6 if ":" in net else 4)].append(net)
            targets = sorted(by_version.items())
        else:
            targets = [(windows_protocol(flow["protocol"], 4), nets)]
        several = len(program_paths_found) > 1  # one rule per path, told apart in the name
        for protocol, pnets in targets:
            for program_path in program_paths_found:
                key = (direction, protocol, ports, program, program_path if several else None)
                entry = groups.setdefault(key, {"nets": [], "flows": [], "services": set(), "path": program_path})
                entry["nets"].extend(pnets)
                entry["flows"].append(flow["id"])
                entry["services"].add(flow.get("service") or flow["entry"])
                if flow.get("local"):  # a local rule: its description says so, and whose it is
                    entry.setdefault("local", set()).add("%s (owner %s)" % (flow["entry"], flow["local"]["owner"]))
    problems.raise_if_any()

    rules: list[Rule] = []
    for (direction, protocol, ports, program, one_of_paths), entry in groups.items():
        port_list = list(ports)
        # a program with several paths: each path's rule is named after the program and its folder's hash
        tagged = "%s-%s" % (program, hashlib.sha256(one_of_paths.casefold().encode()).hexdigest()[:6]) if one_of_paths else program
        name = rule_name(direction, protocol, port_list, tagged, group)
        services = ", ".join(sorted(entry["services"]))
        shown_ports = " " + ",".join(port_list) if port_list else ""
        remote_ports = port_list if direction == "Outbound" and protocol in _PORT_PROTOCOLS else [ANY]
        local_ports = port_list if direction == "Inbound" and protocol in _PORT_PROTOCOLS else [ANY]
        rule: Rule = {
            "name": name,
            "display_name": "%s: %s %s%s%s (%s)" % (
                group, "in" if direction == "Inbound" else "out", _PROTOCOL_LABELS.get(protocol, protocol),
                shown_ports, " " + program if program else "", services),
            "description": "Managed by %s (do not edit). %s%s%s" % (
                group, "Local rules: %s. " % "; ".join(sorted(entry["local"])) if entry.get("local") else "",
                FLOWS_MARK, ", ".join(sorted(set(entry["flows"])))),
            "direction": direction,
            "action": "Allow",
            "enabled": True,
            "profiles": list(profile_list),
            "protocol": protocol,
            "local_ports": local_ports,
            "remote_ports": remote_ports,
            "local_addresses": [ANY],
            "remote_addresses": list(_collapse_addresses(tuple(sorted(set(entry["nets"]))))),
            "program": entry["path"] or ANY,
        }
        if protocol in ICMP_TYPE_NUMBERS and port_list:
            rule["icmp_type"] = sorted((ICMP_TYPE_NUMBERS[protocol][t] for t in port_list), key=int)
        rules.append(rule)
    rules.sort(key=lambda r: r["name"])
    essentials = list(outbound_essentials)
    unknown = [e for e in essentials if e not in OUTBOUND_ESSENTIALS]
    if unknown:
        raise WindowsFirewallError("windows_firewall_outbound_essentials: %s: not one of %s"
                                   % (", ".join(map(str, unknown)), ", ".join(OUTBOUND_ESSENTIALS)))
    missing = missing_essentials(rules, essentials) if outbound_default == "block" else []
    if missing:
        raise WindowsFirewallError(
            "windows_firewall_outbound_default: block would leave %s without what a Windows domain member needs outbound: %s. "
            "Give the host those flows (a component in the catalog's ad_member role reaches the domain controllers for DNS, "
            "Kerberos, Netlogon and time; CRL downloads need an entry of your own, e.g. in voiceops_catalog_extra), or list in "
            "windows_firewall_outbound_essentials only the ones it needs ([] for a host outside a domain)" % (host, ", ".join(missing)))
    names = [r["name"] for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:  # pragma: no cover - only by a hash collision of two over-long names
        raise WindowsFirewallError("rule names collide: %s" % ", ".join(dupes))
    return rules, sorted(set(warnings))


FLOWS_MARK = "Flows: "

# The catalog's ICMP message types (``_schema.ICMP_TYPES``) as New-NetFirewallRule -IcmpType takes
# them, per protocol: ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) number them differently.
ICMP_TYPE_NUMBERS = {
    "ICMPv4": {"echo-request": "8", "destination-unreachable": "3", "time-exceeded": "11"},
    "ICMPv6": {"echo-request": "128", "destination-unreachable": "1", "time-exceeded": "3"},
}  # a rule's description lists the flow ids it carries after this


def windows_protocol(protocol: str, version: int) -> str:
    """The Windows name of a plan protocol (ICMP has one per IP version)."""
    if protocol == "icmp":
        return "ICMPv6" if version == 6 else "ICMPv4"
    return PROTOCOLS[protocol]


def rule_flows(rule: Mapping[str, Any]) -> list[str]:
    """The flow ids a rule carries (from its description)."""
    listed = rule["description"].split(FLOWS_MARK, 1)
    return [i.strip() for i in listed[1].split(",")] if len(listed) == 2 else []


_AnyRule = TypeVar("_AnyRule", bound=Mapping[str, Any])  # a Rule, or a rule as render_host hands it out


def permitting_rule(rules: Iterable[_AnyRule], direction: str, protocol: str, port: int | None,
                    remote: str | None) -> _AnyRule | None:
    """The first allow rule of ``rules`` that lets this packet through, read from the rules as rendered."""
    addr = ipaddress.ip_address(remote) if remote is not None else None
    name = windows_protocol(protocol, addr.version if addr is not None else 4) if protocol in PROTOCOLS or protocol == "icmp" else None
    for rule in rules:
        if rule["direction"] != direction or rule["action"] != "Allow" or not rule["enabled"]:
            continue
        if rule["protocol"] not in (name, ANY):
            continue
        ports = rule["local_ports"] if direction == "Inbound" else rule["remote_ports"]
        if port is not None and not allows_port(ports, port):
            continue
        if rule["remote_addresses"] == [ANY]:
            return rule
        if addr is not None and any(addr in net for net in (ipaddress.ip_network(a, strict=False) for a in rule["remote_addresses"] if a != ANY)
                                    if net.version == addr.version):
            return rule
    return None


def rules_markdown(host: str, group: str, rules: Sequence[Mapping[str, Any]], warnings: list[str],
                   named: Sequence[Mapping[str, Any]] = ()) -> str:
    """The rules of one host as a Markdown table, for review beside ``windows/<host>.json``;
    ``named``: how each remote end known only by name is enforced (``render_host``'s ``named``)."""
    def cell(values: Any) -> str:
        text = ", ".join(values) if isinstance(values, list) else str(values)
        return text.replace("|", "\\|")

    lines = ["# Windows Defender Firewall rules of %s" % host, "",
             "Group `%s`: %d rules. Every rule of the group that is not listed here is removed on apply "
             "(with `windows_firewall_purge`)." % (group, len(rules)), "",
             "| name | direction | protocol | local ports | remote ports | remote addresses | program | flows |",
             "|---|---|---|---|---|---|---|---|"]
    for rule in rules:
        shown = [cell(rule[key]) for key in ("name", "direction", "protocol", "local_ports", "remote_ports",
                                             "remote_addresses", "program")]
        lines.append("| %s |" % " | ".join(shown + [cell(rule_flows(rule))]))
    if named:
        lines += ["", "## Ends known only by name", "", "| flow | end | name | enforced as |", "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % (cell(row["flow"]), cell(row["name"]), cell(row["fqdn"]), cell(row["enforced_as"]))
                  for row in named]
    if warnings:
        lines += ["", "## Warnings", ""] + ["- %s" % cell(w) for w in warnings]
    return "\n".join(lines) + "\n"


def _check_profiles(profiles: Iterable[str], problems: Problems) -> list[str]:
    out = []
    for value in profiles:
        match = [p for p in PROFILES if isinstance(value, str) and p.casefold() == value.casefold()]
        if not match:
            problems.add("windows_firewall_profiles", value, "one of %s" % ", ".join(PROFILES))
            continue
        out.append(match[0])
    if not out and not problems:
        problems.add("windows_firewall_profiles", [], "at least one profile")
    return [p for p in PROFILES if p in out]


def desired_profiles(profiles: Iterable[str], outbound_default: str) -> dict[str, WindowsProfile]:
    """Profile settings the role enforces: firewall on, inbound default block, outbound as chosen."""
    problems = Problems()
    names = _check_profiles(profiles, problems)
    problems.raise_if_any()
    outbound = "Block" if outbound_default == "block" else "Allow"
    return {name: {"enabled": True, "default_inbound_action": "Block", "default_outbound_action": outbound}
            for name in names}
