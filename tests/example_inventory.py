# -*- coding: utf-8 -*-
"""The example inventory's variables as the plan action reads them, for unit tests.

Reads inventories/example (hosts.yml, group_vars, host_vars) with plain YAML, the way Ansible
would resolve them for this inventory (no Jinja in the variables the plan reads), and plans it.

Tests build their input here, from the inventory, with the planner as it is now; golden files
(tests/golden/) are only ever compared with OUTPUT (tests/golden_check.py), never read as input.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from conftest import REPO

INVENTORY = REPO / "inventories" / "example"
GLOBAL_VARS = ("voiceops_zones", "voiceops_management_networks", "voiceops_endpoints")
VIEWS = ["speechexec_mobile_service"]  # playbooks/plan.yml's default voiceops_plan_views


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def _walk(group: dict[str, Any], groups: list[str], out: dict[str, dict[str, Any]], name: str) -> None:
    for host, hv in (group.get("hosts") or {}).items():
        out.setdefault(host, {"groups": set(), "vars": {}})
        out[host]["groups"].update(groups + [name])
        out[host]["vars"].update(hv or {})
    for child, sub in (group.get("children") or {}).items():
        _walk(sub or {}, groups + [name], out, child)


def example_vars() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(global variables, per-host variables) of the example inventory."""
    hosts: dict[str, dict[str, Any]] = {}
    _walk(_load(INVENTORY / "hosts.yml")["all"], [], hosts, "all")
    group_vars: dict[str, dict[str, Any]] = {}
    for gdir in sorted((INVENTORY / "group_vars").iterdir()):
        merged: dict[str, Any] = {}
        for f in sorted(gdir.glob("*.yml")):
            merged.update(_load(f))
        group_vars[gdir.name] = merged
    host_vars = {}
    for host, info in sorted(hosts.items()):
        hv: dict[str, Any] = {}
        for group in ["all"] + sorted(info["groups"] - {"all"}):
            hv.update(group_vars.get(group, {}))
        hv.update(info["vars"])
        hv_file = INVENTORY / "host_vars" / ("%s.yml" % host)
        if hv_file.exists():
            hv.update(_load(hv_file))
        host_vars[host] = hv
    global_vars = {k: copy.deepcopy(group_vars["all"][k]) for k in GLOBAL_VARS if k in group_vars["all"]}
    return global_vars, host_vars


def example_outcome(render: bool = False, diagrams: bool = True):
    """What ``voiceops.firewall.plan`` computes for the example inventory (``_pipeline.run`` with the
    variables the action passes it): the plan, its lint findings after the accepted ones, and with
    ``render`` every file of the plan playbook's output except the SVG drawings."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline

    all_vars: dict[str, Any] = {}
    for f in sorted((INVENTORY / "group_vars" / "all").glob("*.yml")):
        all_vars.update(_load(f))
    global_vars = {k: copy.deepcopy(all_vars[k]) for k in _pipeline.GLOBAL_VARS if k in all_vars}
    host_vars = example_vars()[1]
    return _pipeline.run(global_vars, {h: {k: hv[k] for k in _pipeline.HOST_VARS if k in hv} for h, hv in host_vars.items()},
                         render=render, diagrams=diagrams, views=VIEWS,
                         role_vars={h: {k: hv[k] for k in _pipeline.ROLE_VARS if k in hv} for h, hv in host_vars.items()})


def plan_of(global_vars: dict[str, Any], host_vars: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan

    catalog = load_catalog()
    return plan(catalog, build_estate(global_vars, host_vars, catalog))


def role_program_paths(host_vars: dict[str, Any]) -> dict[str, str]:
    """The program paths the role passes: its built-in ones merged with the host's variable."""
    builtin = _load(REPO / "roles" / "windows_firewall" / "vars" / "main.yml")["__windows_firewall_program_paths_default"]
    return {**builtin, **(host_vars.get("windows_firewall_program_paths") or {})}


def target_settings(plan: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The targets' settings of the example's Windows hosts, as the plan action collects them."""
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import Problems
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._targets import TARGETS, windows_defaults, windows_settings

    host_vars = example_vars()[1]
    defaults = windows_defaults()
    problems = Problems()
    settings = {"windows": {h: windows_settings(h, host_vars[h], defaults, problems) for h in TARGETS["windows"].hosts(plan)}}
    problems.raise_if_any()
    return settings
