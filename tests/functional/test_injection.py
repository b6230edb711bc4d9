# -*- coding: utf-8 -*-
"""Hostile names and texts in every inventory and catalog value that reaches a rendered file or a
command preview.

For each field and each hostile value (tests/hostile.py: newline, CR, quotes, ``;``, braces,
``$()``, backtick, NUL, the Unicode quotes PowerShell reads as quotes, ``#``, 200+ characters,
``../``, a leading ``-``, a trailing backslash, ``<script>``, ``|``) the outcome must be exactly:

(a) a name (host, edge, endpoint, zone, interface, fqdn, platform, product id, component, entry id,
    program, rule group, and references to them): ``VoiceopsError`` whose problems name the
    variable and show the value as its repr (no raw control character in any problem, the path
    included), and no other exception;
(b) free text (descriptions, titles, notes, service, purpose, condition, citation section, lint
    reasons and globs, program paths): the plan succeeds and every file is safe: JSON reads back as
    the data, CSV, Markdown, HTML, JUnit XML and DOT keep the structure an ordinary value gives (a
    value cannot add a row, a tag, a statement), and every PowerShell preview argument parses
    back, as PowerShell reads quotes, to exactly the value meant.  Free text is one line: a value
    with a control character (C0 with tab, LF, CR; DEL; C1; U+2028/9) is rejected as in (a).

Every edge rule set any case produces is loaded with real ``nft -f`` into a network namespace that
also holds foreign tables: ``nft -c`` accepts it, the foreign tables are byte for byte the same
after, and our table exists.  And one real ``ansible-playbook`` run of the edge_firewall role whose
edge is named ``"edge01\\n;flush ruleset\\n#"`` must fail before applying and leave the foreign
table alone.
"""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import re
import subprocess
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import need_root_and_nft
from hostile import (
    HOSTILE,
    HOSTILE_IDS,
    CONTROL,
    EXPLORER_SCRIPTS,
    RAW_CONTROL,
    check_powershell,
    csv_skeleton,
    dot_skeleton,
    html_skeleton,
    json_problems,
    md_skeleton,
    shown,
    xml_skeleton,
)
from test_plan_playbook import ansible_env

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _artefacts, _catalog
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as win
from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._lint import apply_accepts, check_accepts, findings, gate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan as make_plan

TABLE = "voiceops"

# ------------------------------------------------------------------------------------ the estate


def base_inputs() -> dict[str, Any]:
    """A small estate that reaches every output: an edge between four zones (one external), a
    managed Windows host with a program rule, an endpoint subnet, a name-only cloud endpoint (a
    zone-wide edge element, an accepted VO107 finding), a broad UDP range (a failing VO101
    finding), management networks; a catalog extension product with its own document."""
    global_vars = {
        "voiceops_zones": {
            "mgmt": {"description": "Management network", "networks": ["10.99.0.0/24"]},
            "srv": {"description": "Servers", "networks": ["10.30.0.0/24"]},
            "cli": {"description": "Clients", "networks": ["10.60.0.0/24", "fd00:60::/64"]},
            "internet": {"description": "The internet", "external": True},
        },
        "voiceops_management_networks": ["10.99.0.0/24"],
        "voiceops_endpoints": {
            "clients": {"zone": "cli", "addresses": ["10.60.0.0/24", "fd00:60::/64"], "components": ["hx_client"]},
            "hxcloud": {"zone": "internet", "fqdn": "cloud.hx.example", "components": ["hx_cloud"]},
        },
        "voiceops_lint_accept": [{"id": "VO107", "subject": "hxcloud", "reason": "The cloud is known only by name"}],
        "voiceops_local_rules": [{"name": "monitoring", "from": "mgmt", "to": "srv", "protocol": "tcp", "ports": 9100,
                                  "owner": "Ops team", "ticket": "CHG-1", "reason": "Monitoring probe", "expires": "2099-12-31"}],
        "voiceops_lint_fail_on": "high",
    }
    host_vars = {
        "edge01": {"ansible_host": "10.99.0.1",
                   "voiceops_edge_zones": {"mgmt": ["eth0"], "srv": ["eth1"], "cli": ["eth2"], "internet": ["eth3"]}},
        "app01": {"ansible_host": "10.30.0.10", "ansible_connection": "winrm",
                  "voiceops_components": {"hx_server": {"params": {"hx_port": 7777},
                                                        "peers": {"hx_client": ["clients"]}}}},
    }
    cite = {"doc": "hx-guide", "section": "2.1 Ports"}
    catalog_extra = [{
        "product": {"id": "hx", "title": "HX dictation"},
        "documents": [{"file": "hx-guide", "title": "HX installation guide"}],
        "components": {
            "hx_server": {"title": "HX server", "platform": "windows", "notes": ["Runs as a service"],
                          "parameters": {"hx_port": {"kind": "port", "default": 7777, "configurable": True,
                                                     "description": "Call port"}}},
            "hx_client": {"title": "HX client", "platform": "any"},
            "hx_cloud": {"title": "HX cloud", "platform": "external"},
        },
        "flows": [
            {"id": "hx.call", "from": "hx_client", "to": "hx_server", "protocol": "tcp", "ports": {"param": "hx_port"},
             "service": "hx-call", "program": "HxSvc.exe", "purpose": "Clients call the HX server",
             "condition": "Only when calls are enabled", "cite": dict(cite)},
            {"id": "hx.media", "from": "hx_client", "to": "hx_server", "protocol": "udp", "ports": "20000-29999",
             "service": "hx-media", "purpose": "Call audio", "cite": dict(cite)},
            {"id": "hx.sync", "from": "hx_server", "to": "hx_cloud", "protocol": "tcp", "ports": 443,
             "service": "hx-sync", "purpose": "The server syncs with the cloud", "cite": dict(cite)},
        ],
    }]
    windows = {"program_paths": {"HxSvc.exe": "C:\\Program Files\\HX\\HxSvc.exe"}, "group": "voiceops.firewall"}
    return {"global": global_vars, "hosts": host_vars, "catalog": catalog_extra, "windows": windows}


def _rename_key(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


def _set_edge_name(d: dict[str, Any], v: str) -> None:
    _rename_key(d["hosts"], "edge01", v)


def _set_host_name(d: dict[str, Any], v: str) -> None:
    _rename_key(d["hosts"], "app01", v)


def _set_endpoint_name(d: dict[str, Any], v: str) -> None:
    _rename_key(d["global"]["voiceops_endpoints"], "clients", v)
    d["hosts"]["app01"]["voiceops_components"]["hx_server"]["peers"]["hx_client"] = [v]


def _set_cloud_name(d: dict[str, Any], v: str) -> None:
    _rename_key(d["global"]["voiceops_endpoints"], "hxcloud", v)
    d["global"]["voiceops_lint_accept"][0]["subject"] = v


def _set_zone_name(d: dict[str, Any], v: str) -> None:
    _rename_key(d["global"]["voiceops_zones"], "cli", v)
    d["global"]["voiceops_endpoints"]["clients"]["zone"] = v
    _rename_key(d["hosts"]["edge01"]["voiceops_edge_zones"], "cli", v)


def _set_iface(d: dict[str, Any], v: str) -> None:
    d["hosts"]["edge01"]["voiceops_edge_zones"]["cli"] = [v]


def _app_config(d: dict[str, Any]) -> dict[str, Any]:
    return d["hosts"]["app01"]["voiceops_components"]["hx_server"]


def _set_component_ref(d: dict[str, Any], v: str) -> None:
    _rename_key(d["hosts"]["app01"]["voiceops_components"], "hx_server", v)


def _catalog(d: dict[str, Any]) -> dict[str, Any]:
    return d["catalog"][0]


def _entry(d: dict[str, Any], entry_id: str = "hx.call") -> dict[str, Any]:
    return next(e for e in _catalog(d)["flows"] if e["id"] == entry_id)


def _set_component_name(d: dict[str, Any], v: str) -> None:
    _rename_key(_catalog(d)["components"], "hx_server", v)
    for entry in _catalog(d)["flows"]:
        for side in ("from", "to"):
            if entry[side] == "hx_server":
                entry[side] = v
    _set_component_ref(d, v)


def _set_program(d: dict[str, Any], v: str) -> None:
    _entry(d)["program"] = v
    d["windows"]["program_paths"] = {v: "C:\\Program Files\\HX\\HxSvc.exe"}


def _set_component_fqdn(d: dict[str, Any], v: str) -> None:
    del d["global"]["voiceops_endpoints"]["hxcloud"]["fqdn"]
    _catalog(d)["components"]["hx_cloud"]["fqdn"] = v


def _set_document_title(d: dict[str, Any], v: str) -> None:
    _catalog(d)["documents"][0]["title"] = v


def _setter(path: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Callable[[dict[str, Any], str], None]:
    def set_value(d: dict[str, Any], v: str) -> None:
        path(d)[key] = v
    return set_value


@dataclass(frozen=True)
class Field:
    id: str
    kind: str  # "name": every hostile value is rejected; "text": encoded, unless unrepresentable
    base: str  # the ordinary value hostile values are made from
    set: Callable[[dict[str, Any], str], None]
    where: tuple[str, ...]  # what the error message must name (parts of the variable path)
    reaches: str  # the outputs it reaches today (for people reading a failure)


FIELDS = [
    # inventory: names
    Field("edge_host_name", "name", "edge01", _set_edge_name, ("hostvars",),
          "nft header and table comment, edge/<name>.nft path, plan.json, flow ids"),
    Field("host_name", "name", "app01", _set_host_name, ("hostvars",),
          "flow ids (nft element comments, PowerShell -Description, JUnit), DOT nodes, flows.md, plan.json"),
    Field("endpoint_name", "name", "clients", _set_endpoint_name, ("voiceops_endpoints",),
          "flow ids, DOT nodes, flows.md, findings, plan.json"),
    Field("name_only_endpoint_name", "name", "hxcloud", _set_cloud_name, ("voiceops_endpoints",),
          "flow ids, VO107 finding subject/message, edge report zone_wide, DOT"),
    Field("zone_name", "name", "cli", _set_zone_name, ("voiceops_zones",),
          "nft chain/set/map names, matrix md/csv/html, DOT clusters, flows.md headings"),
    Field("edge_interface", "name", "eth2", _set_iface, ("voiceops_edge_zones",),
          "nft ifname strings in managed_ifs and zone_pairs"),
    Field("endpoint_fqdn", "name", "cloud.hx.example", _setter(lambda d: d["global"]["voiceops_endpoints"]["hxcloud"], "fqdn"),
          ("voiceops_endpoints", "fqdn"), "DOT node label, VO107 message, edge report, plan.json"),
    Field("local_rule_owner", "name", "Ops team", _setter(lambda d: d["global"]["voiceops_local_rules"][0], "owner"),
          ("voiceops_local_rules", "owner"), "flows.md citation, nft element comments via the flow, Windows descriptions, explain, gate"),
    Field("local_rule_ticket", "name", "CHG-1", _setter(lambda d: d["global"]["voiceops_local_rules"][0], "ticket"),
          ("voiceops_local_rules", "ticket"), "flows.md citation, explain, the gate's message"),
    Field("endpoint_zone_ref", "name", "cli", _setter(lambda d: d["global"]["voiceops_endpoints"]["clients"], "zone"),
          ("voiceops_endpoints", "zone"), "(a reference; unknown)"),
    Field("host_platform", "name", "windows", _setter(lambda d: d["hosts"]["app01"], "voiceops_platform"),
          ("voiceops_platform",), "plan.json"),
    Field("endpoint_platform", "name", "any", _setter(lambda d: d["global"]["voiceops_endpoints"]["clients"], "platform"),
          ("voiceops_endpoints", "platform"), "plan.json"),
    Field("component_ref", "name", "hx_server", _set_component_ref, ("voiceops_components",), "(a reference; unknown)"),
    Field("component_param_name", "name", "hx_port",
          lambda d, v: _app_config(d).__setitem__("params", {v: 7777}), ("params",), "(a reference; unknown)"),
    Field("component_peer_name", "name", "clients",
          lambda d, v: _app_config(d).__setitem__("peers", {"hx_client": [v]}), ("peers",), "(a reference; unknown)"),
    Field("component_peer_role", "name", "hx_client",
          lambda d, v: _app_config(d).__setitem__("peers", {v: ["clients"]}), ("peers",), "(a reference; unknown)"),
    Field("lint_accept_id", "name", "VO107", _setter(lambda d: d["global"]["voiceops_lint_accept"][0], "id"),
          ("voiceops_lint_accept", "id"), "(a reference; unknown)"),
    Field("windows_firewall_group", "name", "voiceops.firewall", _setter(lambda d: d["windows"], "group"),
          ("group",), "PowerShell preview header comment, -Group, rule display names"),
    # inventory: free text
    Field("zone_description", "text", "Servers", _setter(lambda d: d["global"]["voiceops_zones"]["srv"], "description"),
          ("voiceops_zones", "description"), "DOT cluster and node labels, plan.json"),
    Field("lint_accept_reason", "text", "The cloud is known only by name",
          _setter(lambda d: d["global"]["voiceops_lint_accept"][0], "reason"), ("voiceops_lint_accept", "reason"),
          "findings.xml skipped message, findings.json"),
    Field("lint_accept_subject", "text", "hxcloud", _setter(lambda d: d["global"]["voiceops_lint_accept"][0], "subject"),
          ("voiceops_lint_accept", "subject"), "(a glob; matched, not printed)"),
    Field("windows_program_path", "text", "C:\\Program Files\\HX\\HxSvc.exe",
          lambda d, v: d["windows"].__setitem__("program_paths", {"HxSvc.exe": v}), ("windows_firewall_program_paths",),
          "PowerShell -Program"),
    # catalog extension: names
    Field("catalog_product_id", "name", "hx", _setter(lambda d: _catalog(d)["product"], "id"),
          ("voiceops_catalog_extra[0]", "product"), "diagrams/product-<id>.dot path, DOT title, plan.json"),
    Field("catalog_component_name", "name", "hx_server", _set_component_name, ("voiceops_catalog_extra[0]", "components"),
          "flow ends (DOT labels, flows.md), plan.json, diagram view names"),
    Field("catalog_entry_id", "name", "hx.call", _setter(_entry, "id"), ("voiceops_catalog_extra[0]", "flows"),
          "flow ids (nft element comments, PowerShell -Description, JUnit), plan.json"),
    Field("catalog_entry_program", "name", "HxSvc.exe", _set_program, ("voiceops_catalog_extra[0]", "program"),
          "Windows rule -Name and -DisplayName, flows.md"),
    Field("catalog_component_fqdn", "name", "cloud.hx.example", _set_component_fqdn,
          ("voiceops_catalog_extra[0]", "fqdn"), "the endpoint's fqdn (DOT, findings)"),
    # catalog extension: free text
    Field("catalog_entry_service", "text", "hx-call", _setter(_entry, "service"), ("voiceops_catalog_extra[0]", "service"),
          "PowerShell -DisplayName, DOT edge labels, matrix md/csv/html, flows.md"),
    Field("catalog_product_title", "text", "HX dictation", _setter(lambda d: _catalog(d)["product"], "title"),
          ("voiceops_catalog_extra[0]", "title"), "(not printed today)"),
    Field("catalog_component_title", "text", "HX server", _setter(lambda d: _catalog(d)["components"]["hx_server"], "title"),
          ("voiceops_catalog_extra[0]", "title"), "(not printed today)"),
    Field("catalog_component_notes", "text", "Runs as a service",
          lambda d, v: _catalog(d)["components"]["hx_server"].__setitem__("notes", [v]),
          ("voiceops_catalog_extra[0]", "notes"), "(not printed today)"),
    Field("catalog_entry_purpose", "text", "Clients call the HX server", _setter(_entry, "purpose"),
          ("voiceops_catalog_extra[0]", "purpose"), "flows.md, plan.json"),
    Field("catalog_entry_condition", "text", "Only when calls are enabled", _setter(_entry, "condition"),
          ("voiceops_catalog_extra[0]", "condition"), "plan.json"),
    Field("catalog_cite_section", "text", "2.1 Ports", lambda d, v: _entry(d)["cite"].__setitem__("section", v),
          ("voiceops_catalog_extra[0]", "section"), "flows.md, plan.json"),
    Field("catalog_document_title", "text", "HX installation guide", _set_document_title,
          ("voiceops_catalog_extra[0]", "title"), "plan.json citation title"),
]
FIELD_IDS = [f.id for f in FIELDS]
FIELDS_BY_ID = {f.id: f for f in FIELDS}

# ----------------------------------------------------------------------------------- the pipeline


@pytest.fixture(autouse=True, scope="module")
def _builtin_catalog_parsed_once():
    """Parse the built-in catalog files once for this module (two thirds of a case's time otherwise);
    every load still gets its own copy, and everything else load_catalog does is unchanged."""
    real = getattr(_catalog, "read_yaml", None)
    if real is None:
        yield
        return
    cache: dict[str, bytes] = {}
    builtin = str(_catalog.BUILTIN_DIR)

    def read_yaml(path: Any) -> Any:
        key = str(path)
        if not key.startswith(builtin):
            return real(path)
        if key not in cache:
            cache[key] = pickle.dumps(real(path))
        return pickle.loads(cache[key])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_catalog, "read_yaml", read_yaml)
        yield


@dataclass
class Outcome:
    kind: str  # "rejected" (VoiceopsError), "planned", "crashed" (any other exception)
    error: BaseException | None = None
    trace: str = ""
    plan: dict[str, Any] | None = None
    findings: list[dict[str, Any]] | None = None
    files: dict[str, str] | None = None
    previews: list[tuple[dict[str, Any], str]] | None = None


def run_pipeline(inputs: dict[str, Any]) -> Outcome:
    """What ``voiceops.firewall.plan`` (plugins/action/plan.py) and ``voiceops.firewall.windows_firewall``
    (plugins/action/windows_firewall.py) do with these variables, in process: catalog, estate, plan,
    lint, every file of the plan, and the PowerShell preview of a first apply and of an update of
    each Windows host (outbound rules too)."""
    inputs = copy.deepcopy(inputs)
    gv, wv = inputs["global"], inputs["windows"]
    try:
        catalog = load_catalog(extra_data=inputs["catalog"])
        estate = build_estate(gv, inputs["hosts"], catalog)
        the_plan = make_plan(catalog, estate)
        found = apply_accepts(findings(the_plan), check_accepts(gv.get("voiceops_lint_accept")))
        fail_on = gv.get("voiceops_lint_fail_on", "high")
        gate(found, fail_on)
        settings = {"windows": {host: {"program_paths": wv["program_paths"], "group": wv["group"], "outbound_default": "block"}
                                for host in win.windows_hosts(the_plan)}}
        files = _artefacts.render(the_plan, found, fail_on, True, ["hx_server"], settings)
        previews = []
        for host in win.windows_hosts(the_plan):
            rules, _warnings = win.render_host(the_plan, host, program_paths=wv["program_paths"],
                                               outbound_default="block", group=wv["group"])
            profiles = win.diff_profiles(win.desired_profiles(win.PROFILES, "block"), {})
            first = win.apply_args(wv["group"], win.diff_rules(rules, []), profiles)
            current = [dict(r, description="hand edited") for r in rules[1:]] + [dict(rules[0], name="voiceops-stale")]
            update = win.apply_args(wv["group"], win.diff_rules(rules, current), [])
            previews += [(first, win.powershell_preview(first)), (update, win.powershell_preview(update))]
    except VoiceopsError as exc:
        return Outcome("rejected", error=exc)
    except Exception as exc:  # noqa: BLE001 - any other exception is a finding of its own
        return Outcome("crashed", error=exc, trace=traceback.format_exc())
    return Outcome("planned", plan=the_plan, findings=found, files=files, previews=previews)


_CACHE: dict[tuple[str, str], Outcome] = {}


def outcome_of(field: Field, hostile_id: str) -> tuple[str, Outcome]:
    """The hostile value and what the pipeline made of it (memoised: the namespace tests reuse it)."""
    make = dict(HOSTILE)[hostile_id]
    value = make(field.base)
    key = (field.id, hostile_id)
    if key not in _CACHE:
        inputs = base_inputs()
        field.set(inputs, value)
        _CACHE[key] = run_pipeline(inputs)
    return value, _CACHE[key]


_BASE: list[Outcome] = []


def base_outcome() -> Outcome:
    if not _BASE:
        out = run_pipeline(base_inputs())
        assert out.kind == "planned", out.trace or out.error
        _BASE.append(out)
    return _BASE[0]


# ------------------------------------------------------------------------------- file checks

SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def file_problems(out: Outcome, ref: Outcome) -> list[str]:
    """Why the files and previews of ``out`` are not safe; ``ref`` is the ordinary estate's outcome."""
    assert out.files is not None and ref.files is not None and out.previews is not None
    problems = []
    if len(out.files) != len(ref.files):
        problems.append("%d files where the ordinary estate has %d: %s" % (len(out.files), len(ref.files), sorted(out.files)))
    for (name, text), (_ref_name, ref_text) in zip(out.files.items(), ref.files.items()):
        parts = name.split("/")
        if any(not SAFE_PATH.match(p) or p in (".", "..") for p in parts):
            problems.append("unsafe file name %r" % name)
        where = "%s: " % name
        if name.endswith(".json"):
            meant = {"plan.json": out.plan, "findings.json": out.findings}
            problems += [where + p for p in (json_problems(text, meant[name]) if name in meant else json_problems(text))]
        elif name.endswith(".md"):
            got, ref_skel = md_skeleton(text)[0], md_skeleton(ref_text)[0]
            if Counter(got) != Counter(ref_skel):
                problems.append(where + "Markdown lines/table rows differ from an ordinary value's: %r"
                                % sorted((Counter(got) - Counter(ref_skel)).items()))
        elif name.endswith(".csv"):
            got_rows, p = csv_skeleton(text, 6)
            problems += [where + x for x in p]
            if got_rows != csv_skeleton(ref_text, 6)[0]:
                problems.append(where + "%d CSV rows where an ordinary value gives %d" % (len(got_rows), len(csv_skeleton(ref_text, 6)[0])))
        elif name.endswith(".html"):
            own = EXPLORER_SCRIPTS if name == "explorer.html" else ()
            got_h, p = html_skeleton(text, own)
            problems += [where + x for x in p]
            if got_h != html_skeleton(ref_text, own)[0]:
                problems.append(where + "HTML elements differ from an ordinary value's")
        elif name.endswith(".xml"):
            got_x, p = xml_skeleton(text)
            problems += [where + x for x in p]
            if not p and got_x != xml_skeleton(ref_text)[0]:
                problems.append(where + "XML elements differ from an ordinary value's")
        elif name.endswith(".dot"):
            got_d, p = dot_skeleton(text)
            problems += [where + x for x in p]
            ref_d = dot_skeleton(ref_text)[0]
            if got_d != ref_d:
                problems.append(where + "DOT statements differ from an ordinary value's: extra %r, missing %r"
                                % (sorted((got_d - ref_d).items())[:3], sorted((ref_d - got_d).items())[:3]))
        elif name.endswith(".nft"):
            comments = [i for i, line in enumerate(text.splitlines()) if line.lstrip().startswith("#")]
            if comments != [0, 1]:
                problems.append(where + "comment lines at %s (only the two header lines are comments)" % comments)
            if len(text.splitlines()) != len(ref_text.splitlines()):
                problems.append(where + "%d lines where an ordinary value gives %d" % (len(text.splitlines()), len(ref_text.splitlines())))
    for args, text in out.previews:
        problems += ["PowerShell preview: " + p for p in check_powershell(text, args)]
    return problems


def expected_kind(field: Field, value: str) -> str:
    if field.kind == "name" or CONTROL.search(value):
        return "rejected"
    return "planned"


def assert_rejected(field: Field, value: str, out: Outcome) -> None:
    exc = out.error
    assert isinstance(exc, VoiceopsError)
    problems = list(exc.problems)
    mine = [p for p in problems if shown(value) in p]
    assert mine, ("the error does not show the value as %s: %s" % (shown(value), exc.message))
    missing = [w for w in field.where if not any(w in p for p in mine)]
    assert not missing, ("the error does not name the variable (%s): %s" % (", ".join(missing), exc.message))
    raw = [p for p in problems if RAW_CONTROL.search(p)]
    assert not raw, "a problem carries a raw control character (it must show values and names as repr): %r" % raw


# ------------------------------------------------------------------------------------ the tests


def test_ordinary_estate_is_planned_and_its_files_pass_the_checks():
    ref = base_outcome()
    assert file_problems(ref, ref) == []
    assert {"edge/edge01.nft", "diagrams/product-hx.dot", "diagrams/view-hx_server.dot", "findings.xml"} <= set(ref.files)
    assert ref.previews and any("-Program 'C:\\Program Files\\HX\\HxSvc.exe'" in text for _a, text in ref.previews)
    assert any(f["accepted"] for f in ref.findings) and any(not f["accepted"] and f["id"] == "VO101" for f in ref.findings)


@pytest.mark.parametrize("hostile_id", HOSTILE_IDS)
@pytest.mark.parametrize("field", FIELDS, ids=FIELD_IDS)
def test_hostile_value(field: Field, hostile_id: str):
    value, out = outcome_of(field, hostile_id)
    want = expected_kind(field, value)
    if out.kind == "crashed":
        pytest.fail("%s=%r: %s raised instead of VoiceopsError:\n%s" % (field.id, value, type(out.error).__name__, out.trace))
    if want == "rejected":
        if out.kind == "planned":
            unsafe = file_problems(out, base_outcome())
            pytest.fail("%s=%r was accepted (it reaches: %s); it must be rejected with VoiceopsError.%s" % (
                field.id, value, field.reaches,
                " The files it gave are unsafe:\n- " + "\n- ".join(unsafe[:8]) if unsafe else " (The files happen to be safe.)"))
        assert_rejected(field, value, out)
    else:
        if out.kind == "rejected":
            pytest.fail("%s=%r is free text and must be planned and encoded, but was rejected: %s" % (field.id, value, out.error))
        unsafe = file_problems(out, base_outcome())
        assert not unsafe, "%s=%r is not safely encoded:\n- %s" % (field.id, value, "\n- ".join(unsafe))


# Values no validation should reject: ordinary in real estates, and awkward for naive encoders.
ORDINARY = [
    ("edge_host_name", "edge-01.corp.example"),
    ("host_name", "app-01.corp.example"),
    ("zone_description", "Ärzte & Pflege <HQ> \"Nord\" 50% \u2014 O\u2019Brien's wing \\ 2nd floor"),
    ("lint_accept_reason", "The cloud is known only by name; reviewed by <security@example.org> & \"ops\"."),
    ("catalog_entry_service", "hx-call/tls"),
    ("windows_program_path", "C:\\Program Files (x86)\\O'Brien & Co\\HX $2\\HxSvc.exe"),
    ("catalog_entry_purpose", "Clients call the \"HX\" server | media: <udp> & 'tcp'"),
]


@pytest.mark.parametrize("field_id,value", ORDINARY, ids=["%s-%d" % (f, i) for i, (f, _v) in enumerate(ORDINARY)])
def test_ordinary_value_is_planned_and_encoded(field_id: str, value: str):
    field = FIELDS_BY_ID[field_id]
    inputs = base_inputs()
    field.set(inputs, value)
    out = run_pipeline(inputs)
    assert out.kind == "planned", "%s=%r must be accepted: %s" % (field_id, value, out.trace or out.error)
    unsafe = file_problems(out, base_outcome())
    assert not unsafe, "\n".join(unsafe)


# ------------------------------------------------------------ the PowerShell preview on its own

def _preview_args(field: str, value: str) -> dict[str, Any]:
    rule = {"name": "voiceops.firewall-in-tcp-7777-hxsvc.exe", "display_name": "voiceops.firewall: in TCP 7777 HxSvc.exe (hx-call)",
            "description": "Managed by voiceops.firewall (do not edit). Flows: hx.call:clients>app01",
            "direction": "Inbound", "action": "Allow", "enabled": True, "profiles": list(win.PROFILES), "protocol": "TCP",
            "local_ports": ["7777"], "remote_ports": ["Any"], "local_addresses": ["Any"],
            "remote_addresses": ["10.60.0.0/24", "fd00:60::/64"], "program": "C:\\HX\\HxSvc.exe"}
    remove = ["voiceops.firewall-in-udp-5000"]
    if field == "remove":
        remove = [value]
    else:
        rule[field] = value
    return {"operation": "apply", "group": win.GROUP, "add": [rule], "update": [dict(rule)], "remove": remove, "profiles": []}


@pytest.mark.parametrize("hostile_id", HOSTILE_IDS)
@pytest.mark.parametrize("field", ["name", "display_name", "description", "program", "remove"])
def test_powershell_preview_keeps_every_value_inside_its_quotes(field: str, hostile_id: str):
    """Whatever a rule's name, display name, description or program path holds (a rule name to
    remove comes from the host), each parses back as exactly one single-quoted argument."""
    value = dict(HOSTILE)[hostile_id]("voiceops-x")
    args = _preview_args(field, value)
    problems = check_powershell(win.powershell_preview(args), args)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ nft in a network namespace

FOREIGN = """table ip foreign {
\tchain c {
\t\ttype filter hook input priority 0; policy accept;
\t\tcounter comment "keep me"
\t}
}
table inet other {
\tset keep {
\t\ttype ipv4_addr
\t\telements = { 192.0.2.1 }
\t}
\tchain c2 {
\t\ttype filter hook forward priority 5; policy accept;
\t\tip saddr @keep counter accept comment "keep me too"
\t}
}
"""
FOREIGN_TABLES = (("ip", "foreign"), ("inet", "other"))

# Runs inside the namespace: per candidate, a fresh rule set with the foreign tables, then nft -c,
# nft -f, and the listings before and after (handles included: a re-created table differs).
_NS_HELPER = r"""
import json, subprocess, sys
job = json.load(sys.stdin)
def nft(*args):
    p = subprocess.run(["nft", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
out = []
for path in job["candidates"]:
    r = {"path": path}
    nft("flush", "ruleset")
    rc, _o, err = nft("-f", job["foreign"])
    assert rc == 0, err
    r["before"] = [nft("-a", "list", "table", f, t)[1] for f, t in job["tables"]]
    r["check_rc"], _o, r["check_err"] = nft("-c", "-f", path)
    r["load_rc"], _o, r["load_err"] = nft("-f", path)
    r["after"] = [nft("-a", "list", "table", f, t) for f, t in job["tables"]]
    r["ours_rc"] = nft("list", "table", "inet", job["ours"])[0]
    out.append(r)
nft("flush", "ruleset")
json.dump(out, sys.stdout)
"""


def load_in_namespace(ns: str, tmp: Path, rulesets: dict[str, str]) -> list[str]:
    """Load each rule set (label -> text) as described above; the problems found."""
    foreign = tmp / "foreign.nft"
    foreign.write_text(FOREIGN)
    paths = {}
    for label, text in rulesets.items():
        path = tmp / ("cand-%s.nft" % hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12])
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        paths[str(path)] = label
    job = {"candidates": list(paths), "foreign": str(foreign), "tables": FOREIGN_TABLES, "ours": TABLE}
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", _NS_HELPER], input=json.dumps(job),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    problems = []
    for r in json.loads(proc.stdout):
        label = paths[r["path"]]
        if r["check_rc"] != 0:
            problems.append("%s: nft -c rejects the rule set: %s" % (label, r["check_err"].strip()[:300]))
        for (fam, table), before, (rc, after, _err) in zip(FOREIGN_TABLES, r["before"], r["after"]):
            if rc != 0:
                problems.append("%s: loading it DELETED the foreign table %s %s" % (label, fam, table))
            elif after != before:
                problems.append("%s: loading it CHANGED the foreign table %s %s:\n%s" % (label, fam, table, after))
        if r["ours_rc"] != 0:
            problems.append("%s: table inet %s does not exist after loading (nft -f: %s)"
                            % (label, TABLE, r["load_err"].strip()[:200]))
    return problems


@pytest.mark.parametrize("field", FIELDS, ids=FIELD_IDS)
def test_every_rendered_edge_ruleset_loads_and_leaves_foreign_tables_alone(field: Field, netns: str, tmp_path: Path):
    """Whatever got through for this field, its edge rule sets are loaded for real (the ordinary
    estate's too, so there is always one): a value that reaches nft must not reach past our table."""
    rulesets: dict[str, str] = {}
    for name, text in base_outcome().files.items():
        if name.endswith(".nft"):
            rulesets["ordinary estate %s" % name] = text
    seen = set(rulesets.values())
    for hostile_id in HOSTILE_IDS:
        value, out = outcome_of(field, hostile_id)
        for name, text in (out.files or {}).items():
            if name.endswith(".nft") and text not in seen:
                seen.add(text)
                rulesets["%s=%r (%s)" % (field.id, value, hostile_id)] = text
    problems = load_in_namespace(netns, tmp_path, rulesets)
    assert not problems, "%d of %d rule sets are unsafe:\n- %s" % (len(problems), len(rulesets), "\n- ".join(problems))


# ------------------------------------------------------- the edge_firewall role, for real, in a namespace

E2E_NAMES = [("newline-flush-ruleset", "edge01\n;flush ruleset\n#"),
             ("newline-delete-foreign", "edge01\ndelete table ip foreign\n#")]


@pytest.mark.parametrize("edge_name", [n for _i, n in E2E_NAMES], ids=[i for i, _n in E2E_NAMES])
def test_edge_firewall_role_refuses_a_hostile_edge_name_before_applying(edge_name: str, netns: str, tmp_path: Path):
    need_root_and_nft()
    inventory = {"all": {
        "vars": {"voiceops_zones": {"mgmt": {"networks": ["10.99.0.0/24"]}, "srv": {"networks": ["10.30.0.0/24"]}},
                 "voiceops_management_networks": ["10.99.0.0/24"]},
        "hosts": {edge_name: {"ansible_connection": "local", "ansible_host": "10.99.0.1",
                              "ansible_python_interpreter": sys.executable,
                              "voiceops_edge_zones": {"mgmt": ["eth0"], "srv": ["eth1"]}}}}}
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))
    listed = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inv), "--list"],
                            env=ansible_env(), capture_output=True, text=True, timeout=120, check=True)
    assert edge_name in json.loads(listed.stdout)["_meta"]["hostvars"], "Ansible did not keep the host name as written"

    playbook = tmp_path / "edge.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Edge firewall with a hostile name", "hosts": "all", "gather_facts": False,
        "vars": {"edge_firewall_state_dir": str(tmp_path / "state"), "edge_firewall_confirm_timeout": 0},
        "roles": [{"role": "voiceops.firewall.edge_firewall"}]}], sort_keys=False))
    foreign = tmp_path / "foreign.nft"
    foreign.write_text(FOREIGN)

    def nft(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", netns, "nft", *args], capture_output=True, text=True, check=check)

    nft("-f", str(foreign))
    before = [nft("-a", "list", "table", fam, t).stdout for fam, t in FOREIGN_TABLES]
    proc = subprocess.run(["ip", "netns", "exec", netns, str(Path(sys.executable).parent / "ansible-playbook"),
                           "-i", str(inv), str(playbook)], env=ansible_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    output = proc.stdout + proc.stderr
    after = [nft("-a", "list", "table", fam, t, check=False) for fam, t in FOREIGN_TABLES]
    ours = nft("list", "table", "inet", TABLE, check=False)

    damage = ["foreign table %s %s %s" % (fam, t, "deleted" if a.returncode else "changed")
              for (fam, t), b, a in zip(FOREIGN_TABLES, before, after) if a.returncode or a.stdout != b]
    assert not damage, "the run damaged %s:\n%s" % (", ".join(damage), output[-3000:])
    assert proc.returncode != 0, "the run succeeded with a hostile edge name:\n" + output[-3000:]
    assert ours.returncode != 0, "table inet %s was applied although the run failed:\n%s" % (TABLE, output[-3000:])
    tasks = re.findall(r"^TASK \[(.*?)\]", proc.stdout, re.M)
    assert not any("Validate and apply" in t for t in tasks), (
        "the run got as far as the apply task; the name must be refused while planning:\n" + output[-3000:])
    assert "voiceops.firewall" in output and "hostvars" in output, "no clear error naming the host variable:\n" + output[-3000:]
