# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The target contract: what every enforcement target does, and the registry of targets (internal API).

A target turns the flows it enforces into its own rules (nftables on an edge, Windows Defender
Firewall on a host; later firewalld or an appliance). The output writer, explain and the audit
speak to every target through this contract and never name a target's chains, sets or rule
names: those stay inside the target's module.

A target:

- ``kind``: its name in the plan (``plan["edges"][name]["kind"]`` for edges);
- ``hosts(plan)``: the plan's hosts it enforces on;
- ``files(plan, host, settings)``: its output files for one host, relative path -> text
  (deterministic: the same plan and settings give the same bytes);
- ``verdict(plan, host, settings, packet, placement)``: permit or deny for one packet, read from
  its **rendered rules**, with the rule or element that decides;
- ``drift_check``: the module that compares a live host with the plan (the audit runs it);
- ``inputs(plan)``: for each of its hosts, the part of the plan its rules are rendered from
  (the same rules as from the whole plan, whatever the host's settings), in one pass over the
  flows. The plan step writes each as ``apply/<host>.json`` (``_apply.py``), and the roles apply
  a host from its part alone: what one host costs does not grow with the estate.

A new target is one module that implements this and one line in :data:`TARGETS`
(docs/extending.md, "A new target").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from . import _windows
from ._errors import Problems, VoiceopsError
from ._json import nice_json
from ._schema import INVALID, ROLE_VARS, clean
from ._nft import render_edge
from ._plan_types import Plan
from ._topology import Placement


@dataclass(frozen=True)
class Packet:
    """What explain asks about: the two ends (name, address, zone) and what is sent."""

    src: Mapping[str, Any]
    dst: Mapping[str, Any]
    protocol: str
    port: int | None


class Target(Protocol):
    kind: str
    drift_check: str

    def hosts(self, plan: Plan) -> list[str]: ...

    def files(self, plan: Plan, host: str, settings: Mapping[str, Any]) -> dict[str, str]: ...

    def verdict(self, plan: Plan, host: str, settings: Mapping[str, Any], packet: Packet,
                placement: Placement | None) -> dict[str, Any]: ...

    def inputs(self, plan: Plan) -> dict[str, Plan]: ...


# What every part of a plan keeps: the schema version (readers check it).
_PART_KEYS = ("schema_version",)


def host_parts(plan: Plan, hosts: list[str]) -> dict[str, Plan]:
    """For each of ``hosts``: its instance and the flows it is an end of (either direction), in
    plan order; one pass over the flows. What a host target renders its rules from."""
    instances = plan.get("instances", {})
    flows: dict[str, list[Any]] = {host: [] for host in hosts}
    for flow in plan.get("flows", []):
        src, dst = flow["src"]["name"], flow["dst"]["name"]
        if dst in flows:
            flows[dst].append(flow)
        if src in flows and src != dst:
            flows[src].append(flow)
    parts = {}
    for host in hosts:
        part: dict[str, Any] = {key: plan[key] for key in _PART_KEYS if key in plan}  # type: ignore[literal-required]
        part["instances"] = {host: instances[host]} if host in instances else {}
        part["flows"] = flows[host]
        parts[host] = part
    return parts  # type: ignore[return-value]  # a part has a plan's keys, fewer of them


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


class NftEdge:
    """A Linux edge firewall: one nftables table (``_nft.py``)."""

    kind = "nftables"
    drift_check = "voiceops.firewall.nft_audit"

    def hosts(self, plan: Plan) -> list[str]:
        return sorted(name for name, edge in plan.get("edges", {}).items() if edge.get("kind", self.kind) == self.kind)

    def files(self, plan: Plan, host: str, settings: Mapping[str, Any]) -> dict[str, str]:
        text, report = render_edge(plan, host)
        return {"edge/%s.nft" % host: text, "edge/%s.json" % host: nice_json(report.as_dict())}

    def verdict(self, plan: Plan, host: str, settings: Mapping[str, Any], packet: Packet,
                placement: Placement | None) -> dict[str, Any]:
        from ._nft_verdict import edge_verdict

        try:
            _text, report = render_edge(plan, host)
        except Exception as exc:  # noqa: BLE001 - report what the target cannot render
            return {"kind": self.kind, "error": str(exc)}
        # explain passes a Placement for every edge (None only to host targets); edge_verdict's annotation says so
        return edge_verdict(report.as_dict(), packet.src, packet.dst, packet.protocol, packet.port, placement)

    def inputs(self, plan: Plan) -> dict[str, Plan]:
        """Per edge: the plan's topology (edges, zones, routes, paths, management networks), the
        edge's own instance, and the flows it enforces (``enforced_by``; every flow when a plan
        does not record it)."""
        shared = {key: value for key, value in plan.items()
                  if key not in ("flows", "instances", "summary", "warnings", "unenforced", "security_checks")}
        instances = plan.get("instances", {})
        edges = self.hosts(plan)
        flows: dict[str, list[Any]] = {edge: [] for edge in edges}
        for flow in plan.get("flows", []):
            enforced_by = flow.get("enforced_by")
            for edge in edges if enforced_by is None else enforced_by:
                if edge in flows:
                    flows[edge].append(flow)
        parts = {}
        for edge in edges:
            part = dict(shared)
            part["instances"] = {edge: instances[edge]} if edge in instances else {}
            part["flows"] = flows[edge]
            parts[edge] = part
        return parts  # type: ignore[return-value]  # a part has a plan's keys, fewer of them


_ROLE = Path(__file__).resolve().parents[2] / "roles" / "windows_firewall"


def windows_defaults() -> dict[str, Any]:
    """The role's own defaults (``roles/windows_firewall/defaults`` and the built-in program paths
    in ``vars``): one source for the role and for the plan's Windows files."""
    with open(_ROLE / "defaults" / "main.yml", encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    with open(_ROLE / "vars" / "main.yml", encoding="utf-8") as handle:
        builtin = yaml.safe_load(handle)["__windows_firewall_program_paths_default"]
    return {"group": defaults["windows_firewall_group"], "profiles": list(defaults["windows_firewall_profiles"]),
            "outbound_default": defaults["windows_firewall_outbound_default"],
            "fqdn_remote": defaults["windows_firewall_fqdn_remote"], "program_paths": dict(builtin)}


WINDOWS_SETTINGS = tuple(ROLE_VARS)


def windows_settings(host: str, host_vars: Mapping[str, Any], defaults: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    """A Windows host's settings: its variables (through the schema) over the role's defaults,
    program paths merged over the built-in ones, as the role does."""
    out = dict(defaults)
    for var, spec in ROLE_VARS.items():
        if var not in host_vars or host_vars[var] is None:
            continue
        value = clean(spec, host_vars[var], "hostvars[%r].%s" % (host, var), problems)
        if value is INVALID:
            continue
        key = var[len("windows_firewall_"):]
        out[key] = dict(defaults["program_paths"], **value) if key == "program_paths" else value
    return out


class WindowsHost:
    """A managed Windows host: Windows Defender Firewall rules in one group (``_windows.py``)."""

    kind = "windows"
    drift_check = "voiceops.firewall.windows_firewall (check mode)"

    def hosts(self, plan: Plan) -> list[str]:
        return _windows.windows_hosts(plan)

    def _rules(self, plan: Plan, host: str, settings: Mapping[str, Any], any_path: bool = False,
               resolved: dict[str, list[str]] | None = None,
               named: list[dict[str, Any]] | None = None) -> tuple[list[_windows.Rule], list[str]]:
        paths = settings.get("program_paths") or {}
        if any_path:  # a verdict does not depend on where a program is installed
            paths = dict({f["program"]: f["program"] for f in plan.get("flows", []) if f.get("program")}, **paths)
        return _windows.render_host(plan, host, program_paths=paths,
                                    profiles=settings.get("profiles", _windows.PROFILES),
                                    outbound_default=settings.get("outbound_default", "allow"),
                                    fqdn_remote=settings.get("fqdn_remote", "any"), group=settings.get("group", _windows.GROUP),
                                    resolved=resolved, named=named)

    def files(self, plan: Plan, host: str, settings: Mapping[str, Any]) -> dict[str, str]:
        named: list[dict[str, Any]] = []  # how each end known only by name is enforced, as the rules were rendered
        try:
            rules, warnings = self._rules(plan, host, settings, resolved={}, named=named)
        except VoiceopsError as exc:  # its settings are the host's variables: say whose
            raise VoiceopsError(["hostvars[%r].%s" % (host, p) if p.startswith("windows_firewall_") else p
                                 for p in exc.problems]) from exc
        group = settings.get("group", _windows.GROUP)
        data = {"host": host, "group": group, "rules": rules, "warnings": warnings,
                "profiles": _windows.desired_profiles(settings.get("profiles", _windows.PROFILES),
                                                      settings.get("outbound_default", "allow"))}
        if named:  # how each remote end known only by name is enforced, for readers such as the explorer
            data["name_ends"] = named
        return {"windows/%s.json" % host: _json(data),
                "windows/%s.md" % host: _windows.rules_markdown(host, group, rules, warnings, named)}

    def verdict(self, plan: Plan, host: str, settings: Mapping[str, Any], packet: Packet,
                placement: Placement | None) -> dict[str, Any]:
        try:
            rules, _warnings = self._rules(plan, host, settings, any_path=True)
        except Exception as exc:  # noqa: BLE001 - report what the target cannot render
            return {"kind": self.kind, "error": str(exc)}
        inbound = packet.dst.get("name") == host
        remote = packet.src if inbound else packet.dst
        direction = "Inbound" if inbound else "Outbound"
        if not inbound and settings.get("outbound_default", "allow") == "allow":
            return {"kind": self.kind, "verdict": "permit", "rule": "outbound default allow"}
        rule = _windows.permitting_rule(rules, direction, packet.protocol, packet.port, remote.get("address"))
        if rule is not None:
            return {"kind": self.kind, "verdict": "permit", "rule": rule["name"], "flows": _windows.rule_flows(rule)}
        return {"kind": self.kind, "verdict": "deny", "rule": "%s default block" % direction.lower()}

    def inputs(self, plan: Plan) -> dict[str, Plan]:
        """Per Windows host: its instance and the flows to and from it (outbound rules depend on
        the host's ``outbound_default``, which the role may set differently from the plan)."""
        return host_parts(plan, self.hosts(plan))


# The registry: one line per target.
TARGETS: dict[str, Target] = {
    NftEdge.kind: NftEdge(),
    WindowsHost.kind: WindowsHost(),
}


def target_inputs(plan: Plan) -> dict[str, dict[str, Plan]]:
    """Per target kind: each of its hosts' part of the plan (``Target.inputs``)."""
    return {kind: target.inputs(plan) for kind, target in TARGETS.items()}


def target_files(plan: Plan, settings: Mapping[str, Mapping[str, Mapping[str, Any]]],
                 inputs: Mapping[str, Mapping[str, Plan]] | None = None) -> dict[str, str]:
    """Every target's files for every host it enforces on, in registry and host order, each
    rendered from the host's part of the plan (``inputs``, computed when not given)."""
    inputs = inputs if inputs is not None else target_inputs(plan)
    files: dict[str, str] = {}
    for kind, target in TARGETS.items():
        for host in target.hosts(plan):
            files.update(target.files(inputs[kind][host], host, settings.get(kind, {}).get(host, {})))
    return files
