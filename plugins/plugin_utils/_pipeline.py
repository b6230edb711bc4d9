# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From inventory variables to a plan, its lint findings and its files, in one call (internal API).

``voiceops.firewall.plan`` (the action) reads variables and writes files; everything between
is here, so that the input fuzzer (``scripts/fuzz.py``) runs exactly what the action runs.
Bad input raises :class:`VoiceopsError` and nothing else: the catalog and every variable pass
the schema (``_schema.py``) before anything is planned or rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import _artefacts
from ._catalog import load_catalog
from ._estate import build_estate
from ._lint import apply_accepts, check_accepts, expiry_findings, findings, gate, today
from ._errors import Problems, VoiceopsError, closest
from ._plan_types import Finding, Plan
from ._planner import SCHEMA_VERSION, plan
from ._targets import WINDOWS_SETTINGS, windows_defaults, windows_settings

# What the plan reads: the play's variables, and per inventory host these.
GLOBAL_VARS = ("voiceops_zones", "voiceops_management_networks", "voiceops_endpoints", "voiceops_routes",
               "voiceops_lint_accept", "voiceops_lint_fail_on", "voiceops_local_rules", "voiceops_today")
HOST_VARS = ("voiceops_components", "voiceops_zone", "voiceops_addresses", "voiceops_platform",
             "voiceops_edge_zones", "voiceops_edge_passthrough", "voiceops_edge_log_drops", "voiceops_edge_fqdn_ends",
             "ansible_host", "ansible_port", "ansible_winrm_port", "ansible_psrp_port", "ansible_ssh_port", "ansible_psrp_protocol", "ansible_connection")
ROLE_VARS = WINDOWS_SETTINGS  # the target roles' variables that shape the targets' files
# Every other inventory variable of the collection (read by the playbooks and roles).
OTHER_VARS = ("voiceops_catalog_paths", "voiceops_catalog_extra", "voiceops_output_dir", "voiceops_plan_diagrams",
              "voiceops_plan_views", "voiceops_plan_dir", "voiceops_apply_dir", "voiceops_apply_edges",
              "voiceops_apply_windows", "voiceops_diff_base", "voiceops_diff_change", "voiceops_diff_dir", "voiceops_base_catalog_dir",
              "voiceops_audit_dir", "voiceops_audit_hosts", "voiceops_audit_fail_on_drift")
KNOWN_VARS = frozenset(GLOBAL_VARS + tuple(v for v in HOST_VARS if v.startswith("voiceops_")) + OTHER_VARS)


def unknown_variables(names_by_host: Mapping[str, Iterable[str]]) -> list[str]:
    """Warnings for ``voiceops_*`` variables the collection does not know, with a "did you mean".

    A misspelt ``voiceops_components`` or ``voiceops_edge_zones`` would otherwise drop a host or
    an edge from the plan without a word.
    """
    hosts_of: dict[str, list[str]] = {}
    for host in sorted(names_by_host):
        for name in names_by_host[host]:
            if isinstance(name, str) and name.startswith("voiceops_") and name not in KNOWN_VARS:
                hosts_of.setdefault(name, []).append(host)
    out = []
    for name in sorted(hosts_of):
        hosts = hosts_of[name]
        close = closest(name, KNOWN_VARS)
        out.append("%r (on %s%s): not a variable of voiceops.firewall, ignored%s" % (
            name, ", ".join(repr(h) for h in hosts[:5]), " and %d more" % (len(hosts) - 5) if len(hosts) > 5 else "",
            "; did you mean %s?" % close if close else ""))
    return out


@dataclass
class Outcome:
    plan: Plan
    findings: list[Finding]  # after apply_accepts: every finding has "accepted"
    fail_on: Any
    blocking: list[Finding]
    files: dict[str, str] | None  # relative path -> text; None when no files were asked for


def run(global_vars: Mapping[str, Any], host_vars: Mapping[str, Mapping[str, Any]], catalog_paths: Any = None,
        catalog_extra: Any = None, render: bool = False, diagrams: bool = True, views: list[str] | None = None,
        role_vars: Mapping[str, Mapping[str, Any]] | None = None, artefacts: str = "all", catalog_dir: Any = None) -> Outcome:
    """Plan the estate; with ``render``, also every file of the plan (in memory, nothing written).

    ``role_vars``: per host, the target roles' variables (``windows_firewall_*``), over the
    roles' own defaults, for the targets' files. ``artefacts``: ``all`` files, or only the
    ``apply`` inputs (``_apply.py``).
    """
    catalog = load_catalog(extra_paths=catalog_paths, extra_data=catalog_extra, directory=catalog_dir)
    estate = build_estate(global_vars, host_vars, catalog)
    windows = _windows_settings(sorted(name for name, inst in estate.instances.items()
                                       if inst.kind == "host" and inst.platform == "windows"), role_vars)
    the_plan = plan(catalog, estate, frozenset(h for h, s in windows.items() if s["outbound_default"] == "block"))
    return _outcome(the_plan, global_vars, windows, render, diagrams, views, artefacts)


def from_plan(the_plan: Any, global_vars: Mapping[str, Any], render: bool = False, diagrams: bool = True,
              views: list[str] | None = None, role_vars: Mapping[str, Mapping[str, Any]] | None = None,
              artefacts: str = "all") -> Outcome:
    """:func:`run` for a plan computed earlier (given to the plan action as ``plan``): its lint and
    files, without the inventory's estate. Only the schema version is checked: the plan is the
    collection's own output, handed over between plays or jobs."""
    if not isinstance(the_plan, Mapping) or not isinstance(the_plan.get("flows"), list) or not isinstance(the_plan.get("instances"), Mapping):
        raise VoiceopsError("plan: give a plan that voiceops.firewall.plan returned (a dictionary with flows and instances)")
    if the_plan.get("schema_version") != SCHEMA_VERSION:
        raise VoiceopsError("plan: schema version %r, this collection reads %d: plan again with this version of the collection"
                            % (the_plan.get("schema_version"), SCHEMA_VERSION))
    windows = _windows_settings(sorted(name for name, inst in the_plan["instances"].items()
                                       if inst.get("kind") == "host" and inst.get("platform") == "windows"), role_vars)
    return _outcome(the_plan, global_vars, windows, render, diagrams, views, artefacts)  # type: ignore[arg-type]


def _windows_settings(hosts: list[str], role_vars: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    defaults = windows_defaults()
    problems = Problems()
    windows = {name: windows_settings(name, (role_vars or {}).get(name, {}), defaults, problems) for name in hosts}
    problems.raise_if_any()
    return windows


def _outcome(the_plan: Plan, global_vars: Mapping[str, Any], windows: Mapping[str, Mapping[str, Any]], render: bool,
             diagrams: bool, views: list[str] | None, artefacts: str) -> Outcome:
    # Expiry (local rules, acceptances) is the only part that depends on the date: it reaches the
    # gate and the lint's own reports (findings), never the plan or a target's files.
    accepts = check_accepts(global_vars.get("voiceops_lint_accept"))
    on = today(global_vars.get("voiceops_today"))
    found = apply_accepts(sorted(findings(the_plan) + expiry_findings(the_plan, accepts, on),
                                 key=lambda f: (f["id"], f["subject"], f["flow"] or "")), accepts, on)
    fail_on = global_vars.get("voiceops_lint_fail_on", "high")
    blocking = gate(found, fail_on)
    files = _artefacts.render(the_plan, found, fail_on, diagrams, views, {"windows": windows}, artefacts) if render else None
    return Outcome(the_plan, found, fail_on, blocking, files)
