# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``explorer.html``: one self-contained page to explore the plan in a browser (internal API).

A pure function of the plan, its lint findings and the files the targets rendered (each edge's
report ``edge/<edge>.json``, each Windows host's rules ``windows/<host>.json`` with its ``name_ends``,
how it handles ends known only by name) and of the names
of the other files of the output folder (the diagrams it links to). The page holds:

- the data, once, as compact JSON in ``<script type="application/json">``: every string once in
  a table (``s``), everything else as indices into it or into the other lists, so that a
  10,000-host estate stays a few megabytes; ``<``, ``>``, ``&`` and the two JavaScript line
  separators are written as ``\\uXXXX`` escapes, so no name from the inventory can close the
  script element or start markup (the script puts every value into the page as text, never as HTML);
- plain JavaScript and CSS, inline: nothing is fetched; links go only to files of the output
  folder (relative), and only when followed.

The same plan gives the same bytes: every list is in a fixed order and the JSON is sorted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._nft import DROP_LOG_IN_PREFIX, DROP_LOG_PREFIX
from ._plan_types import Finding, Flow, Plan
from ._schema import PROTO_ORDER
from ._views import zone_matrix
from ._windows import rule_flows

_EDGE_REPORT = re.compile(r"edge/([^/]+)\.json\Z")
_WINDOWS_RULES = re.compile(r"windows/([^/]+)\.json\Z")
_DIAGRAM = re.compile(r"diagrams/([^/]+)\.(?:dot|svg)\Z")
_ANY = ("0.0.0.0/0", "::/0")
_SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
_NONE = -1  # an absent string or item
_DIGITS = re.compile(r"(\d+)")


def natural(name: str) -> tuple[Any, ...]:
    """Sort key: ``r2`` before ``r10``, as a person counts (the name itself breaks ties, ``r01``/``r1``)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(name)) + ((1, 0, name),)


class _Strings:
    """The page's string table: each distinct string once, referred to by its index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.items: list[str] = []

    def __call__(self, text: Any) -> int:
        if text is None:
            return _NONE
        text = str(text)
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.items)
            self.items.append(text)
        return found

    def many(self, texts: Iterable[Any]) -> list[int]:
        return [self(t) for t in texts]


def diagram_links(names: Iterable[str]) -> list[str]:
    """The SVG drawings of the output folder's diagrams (``dot`` draws ``<name>.svg`` beside each
    ``<name>.dot``), sorted, as relative links."""
    found = set()
    for name in names:
        match = _DIAGRAM.match(name)
        if match:
            found.add("diagrams/%s.svg" % match.group(1))
    return sorted(found)


def explorer_data(plan: Plan, findings: list[Finding], files: Mapping[str, str],
                  matrix: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None) -> dict[str, Any]:
    """The page's data; the script's reader (``_SCRIPT``) names each list's layout.

    - ``flows``: four numbers per flow, in the plan's order, flattened: source and destination
      (indices into ``hosts``), kind (into ``kinds``: what flows of one catalog entry between the
      same components share) and where it is enforced (the flow's ``enforced_by``: four times
      an index into ``enforcers``, lists of the enforcement points other than the flow's ends,
      plus 1 when its source enforces it and 2 when its destination does: a Windows host
      enforces its own flows, and one list per pair of hosts would be one list per flow);
    - ``kinds``: ``[entry, source component, destination component, protocol, ports, service,
      purpose, document title, section, document, product, program]``;
    - the rest: see ``_hosts``, ``_findings``, ``_cells``, ``_edge``, ``_windows``.

    An end known only by name (no addresses) is "by name" in a cell when an edge matches it by the
    set it fills from DNS (the report's ``by_name``) and none enforces it as its whole zone (the
    report's ``zone_wide``). When no edge lists it, the Windows hosts that enforce the flow decide
    (``windows/<host>.json``'s ``name_ends``): addresses resolved at plan time count as by name,
    no rule on each of them as neither; otherwise (a Windows rule for any remote address, or nothing
    that enforces it) it counts as any address, like ``0.0.0.0/0``.
    """
    strings = _Strings()
    zones = sorted(plan.get("zones", {}), key=natural)
    zone_index = {z: i for i, z in enumerate(zones)}
    flows = plan.get("flows", [])
    hosts, host_index = _hosts(plan, flows, strings, zone_index)
    edge_index = {e: i for i, e in enumerate(sorted(plan.get("edges", {})))}
    reports = {e: json.loads(files["edge/%s.json" % e]) for e in edge_index if "edge/%s.json" % e in files}
    named = _named_ends(reports.values())
    windows_how = _windows_modes(files, host_index, flows)
    kinds: dict[tuple[Any, ...], int] = {}
    enforcers: dict[tuple[int, ...], int] = {}
    flat: list[int] = []
    any_address = {strings.items[row[0]]: _is_any([strings.items[a] for a in row[3]]) for row in hosts}
    cells: dict[tuple[str, str], list[Any]] = {}  # zone pair -> [sources, destinations, flows with an end: any address, by name]
    for flow in flows:
        src, dst, cite = flow["src"], flow["dst"], flow["citation"]
        key = (flow["entry"], src["component"], dst["component"], flow["protocol"], ",".join(flow["ports"]) or None,
               flow["service"], flow["purpose"], cite.get("title") or cite["doc"], cite["section"], cite["doc"],
               flow["product"], flow.get("program"))
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = len(kinds)
        points = flow.get("enforced_by") or ()
        others = tuple(strings.many(p for p in points if p != src["name"] and p != dst["name"]))
        enforcer = enforcers.get(others)
        if enforcer is None:
            enforcer = enforcers[others] = len(enforcers)
        flat += (host_index[src["name"]], host_index[dst["name"]], kind,
                 4 * enforcer + (1 if src["name"] in points else 0) + (2 if dst["name"] in points else 0))
        cell = cells.get((flow["src_zone"], flow["dst_zone"]))
        if cell is None:
            cell = cells[(flow["src_zone"], flow["dst_zone"])] = [set(), set(), 0, 0]
        cell[0].add(src["name"])
        cell[1].add(dst["name"])
        ends = [_end_match(any_address[end["name"]], end["addresses"], named.get((flow["id"], side)),
                           windows_how.get((flow["id"], side), ()))
                for side, end in (("src", src), ("dst", dst))]
        if "any" in ends:
            cell[2] += 1
        elif "name" in ends:
            cell[3] += 1
    flow_index = {f["id"]: i for i, f in enumerate(flows)}
    finding_rows = _findings(findings, flow_index, strings)
    data = {
        "v": 1,
        "zones": [[strings(z), 1 if plan["zones"][z].get("external") else 0] for z in zones],
        "hosts": hosts,
        "flows": flat,
        "kinds": [strings.many(key) for key in kinds],
        "enforcers": [list(key) for key in enforcers],
        "cells": _cells(plan, flows, matrix, cells, zone_index, strings, finding_rows),
        "findings": finding_rows,
        "edges": [_edge(plan, e, reports.get(e), files, strings, flow_index) for e in edge_index],
        "windows": _windows(files, strings, host_index, flows),
        "diagrams": diagram_links(files),
        "warnings": strings.many(plan.get("warnings", [])),
        "summary": [len(flows), len(zones), sum(1 for h in plan.get("instances", {}).values() if h.get("kind") == "host"),
                    sum(1 for h in plan.get("instances", {}).values() if h.get("kind") != "host")],
    }
    data["s"] = strings.items
    return data


def _hosts(plan: Plan, flows: list[Flow], strings: _Strings,
           zone_index: Mapping[str, int]) -> tuple[list[list[Any]], dict[str, int]]:
    """Every instance (and any flow end the plan's instances do not name), sorted by name:
    ``[name, kind (0 host, 1 endpoint), zone, [addresses], fqdn, [components], platform]``."""
    ends: dict[str, Mapping[str, Any]] = dict(plan.get("instances", {}))
    for flow in flows:
        for end in (flow["src"], flow["dst"]):
            if end["name"] not in ends:
                ends[end["name"]] = {"kind": end["kind"], "zone": end["zone"], "addresses": end["addresses"],
                                     "fqdn": end["fqdn"], "components": [end["component"]], "platform": None}
    names = sorted(ends, key=natural)
    rows = []
    for name in names:
        inst = ends[name]
        rows.append([strings(name), 0 if inst.get("kind") == "host" else 1, zone_index.get(inst.get("zone", ""), _NONE),
                     strings.many(inst.get("addresses") or []), strings(inst.get("fqdn")),
                     strings.many(inst.get("components") or []), strings(inst.get("platform"))])
    return rows, {n: i for i, n in enumerate(names)}


def _findings(findings: list[Finding], flow_index: Mapping[str, int], strings: _Strings) -> list[list[Any]]:
    """``[rule, severity, title, message, subject, accepted reason, flow]`` per finding, in the lint's order."""
    return [[strings(f["id"]), strings(f["severity"]), strings(f["title"]), strings(f["message"]), strings(f["subject"]),
             strings(f.get("accepted")), flow_index.get(f.get("flow") or "", _NONE)] for f in findings]


def _is_any(addresses: list[str]) -> bool:
    """An end that is any address (``0.0.0.0/0``, ``::/0``)."""
    return any(a in _ANY for a in addresses)


def _named_ends(reports: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(flow, end) -> how the edges match that end known only by name: ``name`` when every edge that
    lists it matches it by its DNS set, ``zone`` when one enforces it as its whole zone."""
    out: dict[tuple[str, str], str] = {}
    for report in reports:
        for entry in report.get("by_name", []):
            out.setdefault((entry["flow"], entry["end"]), "name")
        for entry in report.get("zone_wide", []):
            out[(entry["flow"], entry["end"])] = "zone"
    return out


def _end_match(any_address: bool, addresses: list[str], named: str | None, windows: Iterable[int] = ()) -> str | None:
    """``any`` for an end that is any address, or known only by name and not matched by name on
    every edge that enforces it; ``name`` for one the edges match by name. An end no edge lists
    goes by how the Windows hosts that enforce the flow handle it (``windows``: their modes,
    ``_WIN_ANY``, ``_WIN_SKIP``, ``_WIN_RESOLVE``): ``name`` when none admits any address and one
    allows the addresses resolved at plan time, None when each has no rule for it (the flow
    is allowed nowhere), ``any`` when one allows any remote address (or in a way this page does
    not know) or nothing enforces it."""
    if any_address:
        return "any"
    if addresses:
        return None
    if named is not None:
        return "name" if named == "name" else "any"
    modes = set(windows)
    if not modes or not modes <= {_WIN_SKIP, _WIN_RESOLVE}:  # any address, or a mode this page does not know
        return "any"
    return "name" if _WIN_RESOLVE in modes else None


def _cells(plan: Plan, flows: list[Flow], matrix: Mapping[str, Mapping[str, Mapping[str, Any]]] | None,
           cells: Mapping[tuple[str, str], list[Any]], zone_index: Mapping[str, int], strings: _Strings,
           finding_rows: list[list[Any]]) -> list[list[Any]]:
    """Per zone pair with flows: ``[src zone, dst zone, flows, source ends, destination ends,
    flows with an end that is any address (``0.0.0.0/0``, or a name enforced as its whole zone),
    ports text, worst severity of an open finding about its flows (-1: none), flows with an end
    matched by name (a set the edge fills from DNS) and none that is any address]``."""
    matrix = matrix if matrix is not None else zone_matrix(plan)
    worst: dict[tuple[str, str], int] = {}
    for row in finding_rows:
        if row[6] != _NONE and row[5] == _NONE:
            flow = flows[row[6]]
            pair = (flow["src_zone"], flow["dst_zone"])
            worst[pair] = max(worst.get(pair, _NONE), _SEVERITY_RANK.get(strings.items[row[1]], 0))
    rows = []
    for src in sorted(matrix):
        for dst in sorted(matrix[src]):
            if src not in zone_index or dst not in zone_index:
                continue
            cell = matrix[src][dst]
            ports = "; ".join("%s %s" % (proto, ",".join(ports)) if ports else proto
                              for proto, ports in sorted(cell["ports"].items(), key=lambda p: (PROTO_ORDER.get(p[0], 9), p[0])))
            ends = cells.get((src, dst), [set(), set(), 0, 0])
            rows.append([zone_index[src], zone_index[dst], cell["flows"], len(ends[0]), len(ends[1]), ends[2],
                         strings(ports), worst.get((src, dst), _NONE), ends[3]])
    return rows


def _edge(plan: Plan, edge: str, report: Mapping[str, Any] | None, files: Mapping[str, str], strings: _Strings,
          flow_index: Mapping[str, int]) -> list[Any]:
    """``[name, [[zone, [interfaces]]], counts, [[set, [[element, service, ports, [flows]]]]],
    [[flow, end, fqdn, enforced as]] (ends enforced as their whole zone), [[flow, why]], [forward flows],
    [input flows], rule set file, [[flow, end, fqdn, enforced as, [sets]]] (ends matched by name),
    [[set, fqdn, family]] (the name sets), [[chain, protocol, version, source, destination, ports,
    [flows]]] (the rules matching them; an end ``[set or networks, fqdn]``, ``[-1, -1]`` for the
    edge itself), drop logging ``[rate, burst, prefix, prefix to the edge]`` (``[]``: off),
    how it matches ends known only by name (``name``, ``zone``)]``."""
    data = plan["edges"][edge]
    zones = [[strings(z), strings.many(ifs)] for z, ifs in sorted(data.get("zones", {}).items())]
    log = data.get("log_drops")
    log_drops = [strings(log.get("rate")), strings(log.get("burst")), strings(DROP_LOG_PREFIX % ("<src>", "<dst>")),
                 strings(DROP_LOG_IN_PREFIX % "<zone>")] if isinstance(log, Mapping) else []
    fqdn_ends = strings(data.get("fqdn_ends") or "name")
    if report is None:
        return [strings(edge), zones, {}, [], [], [], [], [], _NONE, [], [], [], log_drops, fqdn_ends]
    sets = [[strings(name), [[strings(e["element"]), strings(e.get("service")),
                              strings(",".join(e["ports"])) if e.get("ports") else _NONE,
                              [flow_index[f] for f in e["flows"] if f in flow_index]] for e in elements]]
            for name, elements in sorted(report.get("trace", {}).items())]
    zone_wide = [[flow_index.get(z["flow"], _NONE), strings(z["end"]), strings(z.get("fqdn") or None), strings(z["enforced_as"])]
                 for z in report.get("zone_wide", [])]
    not_enforceable = [[flow_index.get(n["flow"], _NONE), strings(n["why"])] for n in report.get("not_enforceable", [])]
    by_name = [[flow_index.get(b["flow"], _NONE), strings(b["end"]), strings(b["fqdn"]), strings(b["enforced_as"]), strings.many(b["sets"])]
               for b in report.get("by_name", [])]
    name_sets = [[strings(n["set"]), strings(n["fqdn"]), n["family"]] for n in report.get("name_sets", [])]
    name_rules = [[strings(r["chain"]), strings(r["protocol"]), r["version"], _name_match(r["src"], strings),
                   _name_match(r.get("dst"), strings), strings(",".join(r["ports"])) if r.get("ports") else _NONE,
                   [flow_index[f] for f in r["flows"] if f in flow_index]] for r in report.get("name_rules", [])]
    rule_set = "edge/%s.nft" % edge
    return [strings(edge), zones, report.get("counts", {}), sets, zone_wide, not_enforceable,
            [flow_index[f] for f in report.get("forward_flows", []) if f in flow_index],
            [flow_index[f] for f in report.get("input_flows", []) if f in flow_index],
            strings(rule_set) if rule_set in files else _NONE, by_name, name_sets, name_rules, log_drops, fqdn_ends]


def _name_match(match: Mapping[str, Any] | None, strings: _Strings) -> list[int]:
    """One end of a name rule: ``[set, fqdn]`` or ``[networks, -1]``; ``[-1, -1]``: the edge itself."""
    if match is None:
        return [_NONE, _NONE]
    if "set" in match:
        return [strings(match["set"]), strings(match.get("fqdn"))]
    return [strings(", ".join(match.get("networks", []))), _NONE]


_WIN_ANY, _WIN_SKIP, _WIN_RESOLVE = 0, 1, 2
_WIN_MODES = {"any": _WIN_ANY, "skip": _WIN_SKIP, "resolve": _WIN_RESOLVE}


def _host_name_ends(files: Mapping[str, str], host: str, flows: list[Flow],
                    flow_index: Mapping[str, int]) -> list[tuple[int, int, int, str]]:
    """``(flow, end (0 source, 1 destination), mode, text)`` per end known only by name that the Windows
    host ``host`` handles, as its target wrote it into ``windows/<host>.json`` (``name_ends``, from
    ``_windows.name_ends``): mode ``_WIN_*``, text the addresses resolved at plan time; a mode this page
    does not know is ``-1`` with the target's own words."""
    data = json.loads(files.get("windows/%s.json" % host, "{}"))
    out = []
    for row in data.get("name_ends", []):
        if row["flow"] in flow_index:
            mode = _WIN_MODES.get(row.get("mode"), _NONE)
            text = ", ".join(row.get("addresses", [])) if mode == _WIN_RESOLVE else ("" if mode != _NONE else row["enforced_as"])
            index = flow_index[row["flow"]]
            out.append((index, 1 if flows[index]["src"]["name"] == host else 0, mode, text))
    return out


def _windows_modes(files: Mapping[str, str], host_index: Mapping[str, int], flows: list[Flow]) -> dict[tuple[str, str], list[int]]:
    """(flow id, end) -> the modes of the Windows hosts that handle that end known only by name (a
    ``resolve`` that found no address has no rule, as ``skip``)."""
    flow_index = {f["id"]: i for i, f in enumerate(flows)}
    out: dict[tuple[str, str], list[int]] = {}
    for name in sorted(files):
        match = _WINDOWS_RULES.match(name)
        if not match or match.group(1) not in host_index:
            continue
        for flow, side, mode, text in _host_name_ends(files, match.group(1), flows, flow_index):
            no_rule = mode == _WIN_RESOLVE and not text
            out.setdefault((flows[flow]["id"], "dst" if side else "src"), []).append(_WIN_SKIP if no_rule else mode)
    return out


def _windows(files: Mapping[str, str], strings: _Strings, host_index: Mapping[str, int], flows: list[Flow]) -> list[list[Any]]:
    """Per Windows host with rules: ``[host, group, [rule], [warnings], rules file, [name end]]``, a rule being
    ``[display name, direction (0 in, 1 out), protocol, local ports, remote ports, remote addresses,
    local addresses, program, [flows], icmp types]``, a name end ``[flow, end (0 source, 1 destination),
    mode (0 any address, 1 skipped: no rule, 2 resolved at plan time; -1 unknown), addresses resolved
    or the text of an unknown mode]`` (``windows/<host>.json``'s ``name_ends``, as the target rendered it)."""
    flow_index = {f["id"]: i for i, f in enumerate(flows)}
    out = []
    for name in sorted(files):
        match = _WINDOWS_RULES.match(name)
        if not match or match.group(1) not in host_index:
            continue
        data = json.loads(files[name])
        rules = [[strings(r["display_name"]), 0 if r["direction"] == "Inbound" else 1, strings(r["protocol"]),
                  strings(", ".join(r["local_ports"])), strings(", ".join(r["remote_ports"])),
                  strings(", ".join(r["remote_addresses"])), strings(", ".join(r["local_addresses"])),
                  strings(r["program"]), [flow_index[f] for f in rule_flows(r) if f in flow_index],
                  strings(", ".join(r["icmp_type"])) if r.get("icmp_type") else _NONE]
                 for r in data.get("rules", [])]
        host = match.group(1)
        markdown = "windows/%s.md" % host
        name_ends = [[flow, side, mode, strings(text) if text else _NONE]
                     for flow, side, mode, text in _host_name_ends(files, host, flows, flow_index)]
        out.append([host_index[host], strings(data.get("group")), rules, strings.many(data.get("warnings", [])),
                    strings(markdown) if markdown in files else _NONE, name_ends])
    return out


def script_json(data: Any) -> str:
    """``data`` as compact JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or
    ``&`` (so no ``</script>`` or ``<!--``) and no U+2028/U+2029, all as ``\\uXXXX`` escapes."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def page_json(data: Mapping[str, Any]) -> str:
    """The page's data as :func:`script_json` writes it, one item of each list per line (a flow,
    four numbers, per line), so that a change to the plan shows as changed lines in a review."""
    parts = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, list) and value:
            step = 4 if key == "flows" else 1
            items = [script_json(value[i:i + step])[1:-1] if step > 1 else script_json(value[i]) for i in range(0, len(value), step)]
            parts.append("%s:[\n%s\n]" % (script_json(key), ",\n".join(items)))
        else:
            parts.append("%s:%s" % (script_json(key), script_json(value)))
    return "{\n" + ",\n".join(parts) + "\n}"


def explorer_html(plan: Plan, findings: list[Finding], files: Mapping[str, str],
                  matrix: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None) -> str:
    """The page: ``files`` are the output folder's other files (path -> text), as rendered so far."""
    data = page_json(explorer_data(plan, findings, files, matrix))
    return "".join((
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
        "style-src 'unsafe-inline'; img-src 'self'\">\n",
        "<title>Policy explorer</title>\n<style>", _STYLE, "</style></head>\n<body>\n", _BODY,
        "<script type=\"application/json\" id=\"data\">", data, "</script>\n",
        "<script>", _SCRIPT, "</script>\n</body></html>\n",
    ))


_STYLE = r"""
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;padding:8px 14px;background:#22324a;color:#fff}
header h1{font-size:16px;margin:0;font-weight:600}
header .sum{color:#c9d4e3;font-size:12px}
header nav{display:flex;gap:4px}
header button,header a{font:inherit;color:#fff;background:#34486a;border:1px solid #4c6288;border-radius:4px;padding:3px 10px;cursor:pointer;
text-decoration:none}
header button.on{background:#fff;color:#22324a}
header input{font:inherit;padding:4px 8px;border-radius:4px;border:1px solid #4c6288;width:280px}
header details{position:relative;font-size:12px}
header summary{cursor:pointer;color:#fff;background:#34486a;border:1px solid #4c6288;border-radius:4px;padding:3px 10px;list-style:none}
header details .menu{position:absolute;right:0;top:26px;z-index:20;background:#fff;border:1px solid #c4ccd7;border-radius:4px;
box-shadow:0 4px 14px rgba(20,30,50,.25);padding:4px 0;min-width:240px}
header details .menu a{display:block;color:#1d4f91;background:#fff;border:0;border-radius:0;padding:4px 12px;white-space:nowrap}
header details .menu a:hover{background:#eef2f7}
main{padding:8px 14px}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;font-size:12px;color:#3c4756;margin:0 0 6px}
.legend i{display:inline-block;width:22px;height:14px;border:1px solid #9aa5b4;vertical-align:-3px;margin-right:5px}
.mwrap{overflow:auto;max-height:calc(100vh - 100px);border:1px solid #c4ccd7;background:#fff;max-width:100%;display:inline-block}
table.m{border-collapse:separate;border-spacing:0;font-size:12px}
table.m th,table.m td{border-right:1px solid #dfe4ea;border-bottom:1px solid #dfe4ea;padding:4px 6px;text-align:left;vertical-align:top}
table.m thead th{position:sticky;top:0;z-index:2;background:#22324a;color:#fff;font-weight:600;white-space:nowrap}
table.m tbody th{position:sticky;left:0;z-index:1;background:#e9eef5;white-space:nowrap;font-weight:600;max-width:170px;overflow:hidden;text-overflow:ellipsis}
table.m thead th.corner{left:0;z-index:3;font-weight:400;color:#c9d4e3}
table.m td{min-width:92px;max-width:128px;cursor:default;background:#fff}
table.m td.f{background:#d4e6fb;cursor:pointer}
table.m td.self{background:#e4e6ea}
table.m td.f.self{background:#c9d3df}
table.m td.loose{background:repeating-linear-gradient(135deg,#ffd49a 0 6px,#ffe7c4 6px 12px);cursor:pointer}
table.m td.named{background:repeating-linear-gradient(45deg,#a9dcd5 0 3px,#e2f4f1 3px 9px);cursor:pointer}
table.m td.f:hover,table.m td.loose:hover,table.m td.named:hover{outline:2px solid #1d4f91;outline-offset:-2px}
table.m td.sel{outline:3px solid #1d4f91;outline-offset:-3px}
table.m td.fnd{box-shadow:inset 4px 0 0 #c0272d}
table.m .ext{font-style:italic}
.cnt{font-weight:600;color:#123a6b;white-space:nowrap}
.hosts{display:block;color:#3c4756;white-space:nowrap}
.ports{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;color:#2d3a4b;font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:11px;overflow:hidden}
.star{font-weight:700;color:#8a4b00}
table.m.compact th,table.m.compact td{padding:1px 3px;font-size:11px;line-height:15px;height:18px}
table.m.compact td{min-width:36px;max-width:36px;width:36px;text-align:center;overflow:hidden}
table.m.compact thead th:not(.corner){writing-mode:vertical-rl;transform:rotate(180deg);height:80px;max-height:80px;overflow:hidden;
text-overflow:ellipsis;padding:3px 1px}
table.m.compact tbody th{max-width:120px}
table.m.compact .hosts,table.m.compact .ports{display:none}
table.m.compact .sev{display:none}
.sev{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;font-weight:600;margin:0 2px;white-space:nowrap;color:#fff;cursor:help}
.sev-critical{background:#6d0016}.sev-high{background:#c0272d}.sev-medium{background:#d35f00}.sev-low{background:#8d6e00}.sev-info{background:#5a6b7d}
.sev.acc{background:#fff;border:1px solid #8795a6;color:#4a5869}
.tag{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;margin-left:4px;white-space:nowrap;border:1px solid}
.tag-name{background:#e2f4f1;color:#0d5e56;border-color:#6cbfb4}
.how{display:block;font-size:11px}
.how-name{color:#0d5e56}
.how-any{color:#9b1c1c}
.how-skip{color:#555}
.tag-any{background:#fde8e8;color:#9b1c1c;border-color:#e08a8a}
.tag-out{background:#eef2f7;color:#3c4756;border-color:#b5c0ce}
#panel{position:fixed;top:0;right:0;bottom:0;width:min(1040px,78vw);background:#fff;box-shadow:-4px 0 18px rgba(20,30,50,.25);overflow:auto;
padding:10px 16px 24px;z-index:10}
#panel[hidden]{display:none}
#panel .bar{display:flex;gap:8px;align-items:center;position:sticky;top:-10px;background:#fff;padding:6px 0;border-bottom:1px solid #dfe4ea;
margin-bottom:6px;z-index:2}
#panel h2{font-size:16px;margin:0;flex:1}
#panel h3{font-size:13px;margin:14px 0 4px;color:#22324a}
button{font:inherit;cursor:pointer;background:#eef2f7;border:1px solid #b5c0ce;border-radius:4px;padding:2px 9px;color:#1d2733}
button:disabled{opacity:.45;cursor:default}
a.h{color:#1d4f91;cursor:pointer;text-decoration:underline;text-decoration-color:#9fb6d6}
table.l{border-collapse:collapse;width:100%;font-size:12px;background:#fff}
table.l th{background:#eef2f7;text-align:left;padding:4px 6px;border-bottom:1px solid #c4ccd7;white-space:nowrap}
table.l td{padding:4px 6px;border-bottom:1px solid #e6eaef;vertical-align:top}
table.l td.mono,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px}
.addr{color:#4a5869;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px;display:block}
.why{color:#3c4756}
.cite{color:#5a6b7d;font-size:11.5px;display:block;margin-top:2px}
.cite b{font-weight:600;color:#2d3a4b}
.pager{display:flex;gap:8px;align-items:center;margin:6px 0;color:#4a5869;font-size:12px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:12px;margin:4px 0}
.kv dt{color:#5a6b7d}.kv dd{margin:0}
.note{color:#5a6b7d;font-size:12px;margin:4px 0}
.view h2{font-size:15px;margin:6px 0}
"""

_BODY = """<header><h1>Policy explorer</h1><span class="sum" id="sum"></span>
<nav id="nav"><button data-view="matrix" class="on">Matrix</button><button data-view="hosts">Hosts</button>\
<button data-view="edges">Edges</button><button data-view="findings">Findings</button></nav>
<input id="q" type="search" placeholder="Search host, address, port, service, product" aria-label="Search">
<details id="diag" hidden><summary></summary><div class="menu"></div></details></header>
<main id="main"><noscript>This page needs JavaScript; the same data is in plan.json, flows.md and matrix.html.</noscript></main>
<aside id="panel" hidden></aside>
"""

# The page's script. Data layout: see explorer_data. Every value reaches the page through
# textContent or an attribute set by the DOM, never as markup.
_SCRIPT = r"""
"use strict";
(function () {
const D = JSON.parse(document.getElementById("data").textContent);
const S = D.s, PAGE = 50, SEV = ["info", "low", "medium", "high", "critical"];
const str = i => (i < 0 ? "" : S[i]);
const $ = id => document.getElementById(id);
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === "class") e.className = attrs[k];
    else if (k === "onclick") e.addEventListener("click", attrs[k]);
    else e.setAttribute(k, attrs[k]);
  }
  for (const k of kids) if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
}
const zoneName = z => (z < 0 ? "" : str(D.zones[z][0]));
const host = i => D.hosts[i];
const hostName = i => str(D.hosts[i][0]);
const isAny = h => h[3].some(a => S[a] === "0.0.0.0/0" || S[a] === "::/0");
const nameOnly = h => h[3].length === 0;
const plural = (n, w) => n + " " + w + (n === 1 ? "" : "s");
const fmt = n => n.toLocaleString("en");

// a flow: four numbers in D.flows (source, destination, kind, enforcers); a kind: [entry, source
// component, destination component, protocol, ports, service, purpose, title, section, document, product, program]
const F = D.flows, NF = F.length / 4;
const fSrc = i => F[4 * i], fDst = i => F[4 * i + 1], fKind = i => D.kinds[F[4 * i + 2]], fEnforcers = i => {
  const v = F[4 * i + 3], out = D.enforcers[v >> 2].map(str);
  if (v & 1) out.push(hostName(fSrc(i)));
  if (v & 2) out.push(hostName(fDst(i)));
  return out.sort();
};
// flows per cell and per host, and findings per flow, built once
const byCell = new Map(), byHost = new Map(), findingsOfFlow = new Map();
const push = (m, k, v) => (m.get(k) || m.set(k, []).get(k)).push(v);
for (let i = 0; i < NF; i++) {
  const s = F[4 * i], d = F[4 * i + 1];
  push(byCell, D.hosts[s][2] + ">" + D.hosts[d][2], i);
  push(byHost, s, i);
  if (d !== s) push(byHost, d, i);
}
D.findings.forEach((f, i) => { if (f[6] >= 0) push(findingsOfFlow, f[6], i); });
const windowsOf = new Map(D.windows.map(w => [w[0], w]));
const edgeOf = new Map(D.edges.map((e, i) => [str(e[0]), i]));
// how each edge and Windows host matches an end known only by name:
// (2 * flow + 0 source, 1 destination) -> [[class, text, an edge's?]]
const endHow = new Map();
D.edges.forEach(e => {
  const edge = str(e[0]), side = x => 2 * x[0] + (str(x[1]) === "dst" ? 1 : 0);
  for (const b of e[9]) if (b[0] >= 0) push(endHow, side(b),
    ["how-name", "matched by the addresses " + str(b[2]) + " resolves to on " + edge + " (set " + b[4].map(str).join(", ") + ")", 1]);
  for (const z of e[4]) if (z[0] >= 0) push(endHow, side(z), ["how-any", "any address of " + str(z[3]) + " on " + edge, 1]);
});
// a Windows host: as its windows_firewall_fqdn_remote made the target render it (windows/<host>.json, name_ends)
D.windows.forEach(w => {
  const on = " on " + hostName(w[0]);
  for (const [f, side, mode, text] of w[5]) push(endHow, 2 * f + side,
    mode === 0 ? ["how-any", "any remote address" + on + " (name not enforced)", 0] :
    mode === 1 ? ["how-skip", "no rule" + on + " (skipped)", 0] :
    mode === 2 ? (text >= 0 ? ["how-name", "resolved at plan time" + on + ": " + str(text), 0] :
      ["how-skip", "resolved at plan time" + on + ": no address, no rule", 0]) :
    ["how-skip", "on " + hostName(w[0]) + ": " + str(text), 0]);
});
const findingsOfHost = new Map();
D.findings.forEach((f, i) => { if (f[6] < 0) { const n = str(f[4]); (findingsOfHost.get(n) || findingsOfHost.set(n, []).get(n)).push(i); } });

function sevBadge(i) {
  const f = D.findings[i], acc = f[5] >= 0;
  return el("span", {class: "sev sev-" + str(f[1]) + (acc ? " acc" : ""),
    title: str(f[0]) + " " + str(f[1]) + (acc ? " (accepted: " + str(f[5]) + ")" : "") + ": " + str(f[2]) + ". " + str(f[3])},
    str(f[0]) + " " + str(f[1]) + (acc ? " accepted" : ""));
}
function endCell(hi, comp, i, side) {
  const h = host(hi), td = el("td");
  td.append(el("a", {class: "h", onclick: () => openHost(hi)}, hostName(hi)), " ", el("span", {class: "note"}, str(comp)));
  if (nameOnly(h)) {
    td.append(el("span", {class: "tag tag-name", title: "Known only by name: below, how each edge and Windows host that enforces the flow matches it"},
      "name only" + (h[4] >= 0 ? ": " + str(h[4]) : "")));
    const how = endHow.get(2 * i + side) || [];
    if (!how.some(x => x[2])) td.append(el("span", {class: "how " + (how.length ? "how-skip" : "how-any")}, "no edge matches it by name"));
    for (const [cls, text] of how) td.append(el("span", {class: "how " + cls}, text));
  } else if (isAny(h)) td.append(el("span", {class: "tag tag-any", title: "This end is any address"}, "any address"));
  if (h[3].length) td.append(el("span", {class: "addr"}, h[3].slice(0, 4).map(str).join(", ") + (h[3].length > 4 ? " +" + (h[3].length - 4) + " more" : "")));
  td.append(el("span", {class: "addr"}, "zone " + zoneName(h[2])));
  return td;
}
function flowRow(i) {
  const k = fKind(i), by = fEnforcers(i);
  const svc = el("td", null, el("b", null, str(k[5])), el("br"),
    el("span", {class: "mono"}, str(k[3]) + (k[4] >= 0 ? " " + str(k[4]) : "")));
  if (k[11] >= 0) svc.append(el("span", {class: "addr"}, "program " + str(k[11])));
  if (by.length) svc.append(el("span", {class: "addr"}, "enforced by " + by.join(", ")));
  else svc.append(el("span", {class: "tag tag-out", title: "No edge firewall or managed host of the plan enforces this flow"}, "no managed firewall"));
  const why = el("td", null, el("span", {class: "why"}, str(k[6])),
    el("span", {class: "cite", title: "document " + str(k[9])}, el("b", null, str(k[7])), " \u00a7 " + str(k[8])));
  for (const fi of findingsOfFlow.get(i) || []) why.append(" ", sevBadge(fi));
  return el("tr", {"data-flow": flowId(i)}, endCell(fSrc(i), k[1], i, 0), endCell(fDst(i), k[2], i, 1), svc, why);
}
// A paged list: never more than one page of rows in the page.
function paged(container, items, header, row, size) {
  size = size || PAGE;
  let page = 0;
  const pager = el("div", {class: "pager"}), table = el("table", {class: "l"}), body = el("tbody");
  if (header) table.append(el("thead", null, el("tr", null, ...header.map(h => el("th", null, h)))));
  table.append(body);
  container.append(pager, table);
  function draw() {
    const pages = Math.max(1, Math.ceil(items.length / size));
    page = Math.min(page, pages - 1);
    body.replaceChildren(...items.slice(page * size, (page + 1) * size).map(row));
    const prev = el("button", {onclick: () => { page--; draw(); }}, "\u2039 previous"), next = el("button", {onclick: () => { page++; draw(); }},
      "next \u203a");
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
    pager.replaceChildren(items.length ? (page * size + 1) + "\u2013" + Math.min(items.length,
      (page + 1) * size) + " of " + fmt(items.length) : "none", prev, next);
  }
  draw();
}
const flowId = i => str(fKind(i)[0]) + ":" + hostName(fSrc(i)) + ">" + hostName(fDst(i));
const FLOW_HEAD = ["from", "to", "service, protocol, ports", "why, and the source document"];

// --- the side panel, with a back stack
const panel = $("panel"), stack = [];
function show(title, fill, keep) {
  if (!keep) stack.length = 0;
  stack.push([title, fill]);
  render();
}
function render() {
  const [title, fill] = stack[stack.length - 1];
  const back = el("button", {onclick: () => { stack.pop(); if (stack.length) render(); else close(); }}, "\u2039 back");
  back.disabled = stack.length < 2;
  panel.replaceChildren(el("div", {class: "bar"}, back, el("h2", null, title), el("button", {onclick: close, title: "Close (Esc)"}, "close \u2715")));
  fill(panel);
  panel.hidden = false;
  panel.scrollTop = 0;
}
function close() { panel.hidden = true; stack.length = 0; document.querySelectorAll("td.sel").forEach(t => t.classList.remove("sel")); }
document.addEventListener("keydown", e => { if (e.key === "Escape") close(); });

function openCell(s, d) {
  const ids = byCell.get(s + ">" + d) || [];
  show(zoneName(s) + " \u2192 " + zoneName(d), p => {
    const src = new Set(ids.map(fSrc)), dst = new Set(ids.map(fDst));
    p.append(el("p", {class: "note"}, plural(ids.length, "flow") + " from " + plural(src.size, "source") + " to " + plural(dst.size, "destination") +
      ". Replies are allowed by connection state and are not listed."));
    paged(p, ids, FLOW_HEAD, flowRow);
  });
}
function openHost(hi, fresh) {
  const h = host(hi), name = hostName(hi);
  show((h[1] === 0 ? "Host " : "Endpoint ") + name, p => {
    const dl = el("dl", {class: "kv"});
    const add = (k, v) => dl.append(el("dt", null, k), el("dd", null, v));
    add("zone", zoneName(h[2]));
    add("addresses", h[3].length ? h[3].map(str).join(", ") : "none: known only by name");
    if (h[4] >= 0) add("fqdn", str(h[4]));
    add("components", h[5].map(str).join(", "));
    if (h[6] >= 0) add("platform", str(h[6]));
    p.append(dl);
    if (edgeOf.has(name)) p.append(el("p", null, el("a", {class: "h", onclick: () => openEdge(edgeOf.get(name))}, "its edge firewall rule set \u203a")));
    for (const fi of findingsOfHost.get(name) || []) p.append(el("p", {class: "note"}, sevBadge(fi), " " + str(D.findings[fi][3])));
    const ids = byHost.get(hi) || [], w = windowsOf.get(hi);
    if (w) p.append(el("p", null, el("a", {class: "h", onclick: () => $("winrules").scrollIntoView()},
      "its Windows Defender Firewall rules (" + w[2].length + ") \u2193")));
    p.append(el("h3", null, "Flows (" + fmt(ids.length) + ")"));
    paged(p, ids, FLOW_HEAD, flowRow);
    if (w) {
      p.append(el("h3", {id: "winrules"}, "Windows Defender Firewall rules, group " + str(w[1]) + " (" + w[2].length + ")"));
      if (w[4] >= 0) p.append(el("p", {class: "note"}, "As a file: ", el("a", {href: str(w[4])}, str(w[4]))));
      for (const m of w[3]) p.append(el("p", {class: "note"}, "\u26a0 " + str(m)));
      paged(p, w[2], ["rule", "protocol", "local ports", "remote ports", "remote addresses", "flows"], r => el("tr", null,
        el("td", null, str(r[0]), el("span", {class: "addr"},
          (r[1] ? "Outbound" : "Inbound") + (r[7] >= 0 && str(r[7]) !== "Any" ? ", program " + str(r[7]) : ""))),
        el("td", {class: "mono"}, str(r[2]) + (r[9] >= 0 ? " type " + str(r[9]) : "")), el("td", {class: "mono"}, str(r[3])), el("td",
          {class: "mono"}, str(r[4])),
        el("td", {class: "mono"}, str(r[5])), el("td", null, plural(r[8].length, "flow"), " ", r[8].length ? el("a", {class: "h",
          onclick: () => flowList("Flows of rule " + str(r[0]), r[8])}, "show") : "")));
    }
  }, !fresh && !panel.hidden);
}
function flowList(title, ids) { show(title, p => paged(p, ids, FLOW_HEAD, flowRow), true); }
function openEdge(ei) {
  const e = D.edges[ei], name = str(e[0]);
  show("Edge " + name, p => {
    const dl = el("dl", {class: "kv"});
    for (const z of e[1]) dl.append(el("dt", null, "zone " + str(z[0])), el("dd", {class: "mono"}, z[1].map(str).join(", ")));
    for (const k of Object.keys(e[2]).sort()) dl.append(el("dt", null, k.replace(/_/g, " ")), el("dd", null, fmt(e[2][k])));
    p.append(dl);
    if (e[8] >= 0) p.append(el("p", {class: "note"}, "The rule set as nft loads it: ", el("a", {href: str(e[8])}, str(e[8]))));
    p.append(el("p", null, el("a", {class: "h", onclick: () => flowList("Forwarded by " + name, e[6])}, plural(e[6].length, "forwarded flow")), " \u00b7 ",
      el("a", {class: "h", onclick: () => flowList("To " + name + " itself", e[7])}, plural(e[7].length, "flow") + " to the edge itself")));
    const log = e[12];
    p.append(el("p", {class: "note", id: "droplog"}, log.length ? "Drop logging on: what the default deny drops is logged, at most " +
      str(log[0]) + " (burst " + str(log[1]) + " packets) per zone pair; grep the log for \u201c" + str(log[2]) +
      "\u201d (forwarded) or \u201c" + str(log[3]) + "\u201d (to the edge itself)." :
      "Drop logging off: the default deny drops in silence (voiceops_edge_log_drops)."));
    p.append(el("p", {class: "note"}, str(e[13]) === "zone" ?
      "Ends known only by name: any address of their zone (voiceops_edge_fqdn_ends: zone)." :
      "Ends known only by name: matched by the addresses each name resolves to on the edge, in sets it fills from DNS " +
      "(voiceops_edge_fqdn_ends: " + str(e[13]) + "); a wildcard name stays any address of its zone."));
    if (e[10].length) {
      const ofSet = new Map();
      for (const b of e[9]) for (const s of b[4]) if (b[0] >= 0 && !(ofSet.get(s) || []).includes(b[0])) push(ofSet, s, b[0]);
      p.append(el("h3", {id: "namesets"}, "Name sets, filled from DNS on the edge (" + e[10].length + ")"));
      paged(p, e[10], ["set", "name", "family", "flows"], n => el("tr", {"data-set": str(n[0])}, el("td", {class: "mono"}, str(n[0])),
        el("td", {class: "mono"}, str(n[1])), el("td", null, n[2] === 6 ? "IPv6" : "IPv4"),
        el("td", null, el("a", {class: "h", onclick: () => flowList("Flows matched by " + str(n[0]), ofSet.get(n[0]) || [])},
          plural((ofSet.get(n[0]) || []).length, "flow")))), 10);
      const end = m => m[0] < 0 ? "the edge itself" : m[1] >= 0 ? "@" + str(m[0]) + " (" + str(m[1]) + ")" : str(m[0]);
      p.append(el("h3", null, "Rules that match a name set (" + e[11].length + ")"));
      paged(p, e[11], ["chain", "protocol, ports", "source", "destination", "flows"], r => el("tr", null, el("td", {class: "mono"}, str(r[0])),
        el("td", {class: "mono"}, str(r[1]) + (r[2] === 6 ? " (IPv6)" : "") + (r[5] >= 0 ? " " + str(r[5]) : "")),
        el("td", {class: "mono"}, end(r[3])), el("td", {class: "mono"}, end(r[4])),
        el("td", null, el("a", {class: "h", onclick: () => flowList("Flows of the rule in " + str(r[0]), r[6])}, plural(r[6].length, "flow")))), 10);
    }
    if (e[4].length) {
      p.append(el("h3", null, "Ends known only by name, enforced as any address of their zone (" + e[4].length + ")"));
      paged(p, e[4], ["flow", "end", "name", "enforced as"], z => el("tr", null, el("td", null, z[0] >= 0 ? el("a", {class: "h",
        onclick: () => flowList("Flow", [z[0]])}, flowId(z[0])) : ""),
        el("td", null, str(z[1])), el("td", null, str(z[2])), el("td", null, str(z[3]))), 10);
    }
    if (e[5].length) {
      p.append(el("h3", null, "Not enforceable here (" + e[5].length + ")"));
      paged(p, e[5], ["flow", "why"], z => el("tr", null, el("td", null, z[0] >= 0 ? flowId(z[0]) : ""), el("td", null, str(z[1]))), 10);
    }
    const rows = [];
    for (const s of e[3]) for (const m of s[1]) rows.push([s[0], m]);
    p.append(el("h3", null, "Address elements of its sets and maps, and the flows behind each (" + fmt(rows.length) + " in " +
      plural(e[3].length, "set") + ")"));
    p.append(el("p", {class: "note"}, "The counts above also hold the table's other sets, such as its interfaces; the .nft file has them all."));
    paged(p, rows, ["set or map", "element (source . destination)", "service chain", "ports", "flows"], ([s, m]) => el("tr", null,
      el("td", {class: "mono"}, str(s)), el("td", {class: "mono"}, str(m[0])), el("td", {class: "mono"}, str(m[1])), el("td", {class: "mono"}, str(m[2])),
      el("td", null, el("a", {class: "h", onclick: () => flowList("Flows behind " + str(m[0]), m[3])}, plural(m[3].length, "flow")))));
  });
}

// --- views
const main = $("main");
let compact = D.zones.length > 12;
function matrixView() {
  const cells = new Map(D.cells.map(c => [c[0] + ">" + c[1], c]));
  const wrap = el("div");
  const toggle = el("button", {onclick: () => { compact = !compact; view("matrix"); }}, compact ? "detailed cells" : "compact cells");
  toggle.title = "compact: the number of flows per cell (hover for hosts and ports); detailed: hosts and ports too";
  wrap.append(el("div", {class: "legend"}, toggle,
    el("span", null, el("i", {style: "background:#d4e6fb"}), "flows"),
    el("span", {title: "An end known only by name (an fqdn), matched by the addresses it resolves to on the edge " +
      "(or, where no edge matches it, on the Windows hosts that enforce it, at plan time)"},
      el("i", {style: "background:repeating-linear-gradient(45deg,#a9dcd5 0 3px,#e2f4f1 3px 9px)"}), "@ by name (DNS set)"),
    el("span", {title: "An end that is 0.0.0.0/0 or ::/0, or a name that an edge enforces as its whole zone, or that no edge matches " +
      "by name (unless the Windows hosts that enforce it resolve it at plan time or give it no rule)"},
      el("i", {style: "background:repeating-linear-gradient(135deg,#ffd49a 0 6px,#ffe7c4 6px 12px)"}), "* any address"),
    el("span", null, el("i", {style: "background:#e4e6ea"}), "inside one zone"),
    el("span", null, el("i", {style: "background:#fff"}), "nothing allowed"),
    el("span", null, el("i", {style: "background:#fff;box-shadow:inset 4px 0 0 #c0272d"}), "open lint finding"),
    el("span", null, el("em", null, "italic"), ": external zone"),
    compact ? null : el("span", null, "cells: flows, source \u2192 destination hosts, ports; rows: from, columns: to")));
  const table = el("table", {class: "m" + (compact ? " compact" : "")});
  const head = el("tr", null, el("th", {class: "corner"}, "from \u2193 to \u2192"));
  D.zones.forEach(z => head.append(el("th", {title: str(z[0]) + (z[1] ? " (external)" : ""), class: z[1] ? "ext" : ""}, str(z[0]))));
  table.append(el("thead", null, head));
  const body = el("tbody");
  D.zones.forEach((z, s) => {
    const tr = el("tr", null, el("th", {title: str(z[0]) + (z[1] ? " (external)" : ""), class: z[1] ? "ext" : ""}, str(z[0])));
    D.zones.forEach((y, d) => {
      const c = cells.get(s + ">" + d);
      const tip = str(z[0]) + " \u2192 " + str(y[0]);
      if (!c) { tr.append(el("td", {class: s === d ? "self" : "", title: tip + ": nothing allowed"})); return; }
      const cls = (c[5] ? "loose" : c[8] ? "named" : "f") + (s === d ? " self" : "") + (c[7] >= 0 ? " fnd" : "");
      const td = el("td", {class: cls, "data-cell": str(z[0]) + ">" + str(y[0]),
        title: tip + ": " + plural(c[2], "flow") + " from " + plural(c[3], "source") + " to " + plural(c[4], "destination") +
          (c[5] ? "; " + c[5] + " with an end that is any address" : "") +
          (c[8] ? "; " + c[8] + " with an end matched by name (a set the edge fills from DNS)" : "") + "\n" + str(c[6])});
      td.append(el("span", {class: "cnt"}, fmt(c[2]) + (compact ? "" : c[2] === 1 ? " flow" : " flows") + (c[5] ? "*" : "") + (c[8] ? "@" : "")));
      if (c[7] >= 0) td.append(el("span", {class: "sev sev-" + SEV[c[7]], title: "open lint finding, worst: " + SEV[c[7]]}, "!"));
      td.append(el("span", {class: "hosts"}, c[3] + " \u2192 " + c[4] + " hosts"));
      td.append(el("span", {class: "ports"}, str(c[6]).replace(/,/g, ",\u200b").replace(/-/g, "\u2011")));  // a line breaks after a comma, not in a range
      td.addEventListener("click",
        () => { document.querySelectorAll("td.sel").forEach(t => t.classList.remove("sel")); td.classList.add("sel"); openCell(s, d); });
      tr.append(td);
    });
    body.append(tr);
  });
  table.append(body);
  wrap.append(el("div", {class: "mwrap", id: "mwrap"}, table));
  requestAnimationFrame(fit);
  return wrap;
}
function hostsView(ids, title) {
  const wrap = el("div", {class: "view"}, el("h2", null, title || fmt(D.hosts.length) + " hosts and endpoints"));
  paged(wrap, ids || D.hosts.map((h, i) => i), ["name", "kind", "zone", "addresses", "components", "flows"], hi => {
    const h = host(hi), td = el("td", null, el("a", {class: "h", onclick: () => openHost(hi, true)}, hostName(hi)));
    if (nameOnly(h)) td.append(el("span", {class: "tag tag-name"}, "name only"));
    else if (isAny(h)) td.append(el("span", {class: "tag tag-any"}, "any address"));
    return el("tr", null, td, el("td", null,
      h[1] ? "endpoint" : (windowsOf.has(hi) ? "host (Windows rules)" : edgeOf.has(hostName(hi)) ? "host (edge)" : "host")),
      el("td", null, zoneName(h[2])), el("td", {class: "mono"}, h[3].length ? h[3].slice(0,
        3).map(str).join(", ") + (h[3].length > 3 ? " \u2026" : "") : str(h[4])),
      el("td", null, h[5].map(str).join(", ")), el("td", null, fmt((byHost.get(hi) || []).length)));
  }, 100);
  return wrap;
}
function edgesView() {
  const wrap = el("div", {class: "view"}, el("h2", null, plural(D.edges.length, "edge firewall")));
  paged(wrap, D.edges.map((e, i) => i), ["edge", "zones", "rules", "set elements", "forwarded flows", "name sets", "drop logging"], ei => {
    const e = D.edges[ei];
    return el("tr", null, el("td", null, el("a", {class: "h", onclick: () => openEdge(ei)}, str(e[0]))), el("td", null, e[1].map(z => str(z[0])).join(", ")),
      el("td", null, fmt(e[2].rules || 0)), el("td", null, fmt(e[2].set_elements || 0)), el("td", null, fmt(e[6].length)),
      el("td", null, fmt(e[10].length)), el("td", null, e[12].length ? "on, " + str(e[12][0]) : "off"));
  }, 100);
  if (D.warnings.length) { wrap.append(el("h2", null, "Plan warnings")); for (const w of D.warnings) wrap.append(el("p", {class: "note"}, str(w))); }
  return wrap;
}
function findingsView() {
  const wrap = el("div", {class: "view"}, el("h2", null, plural(D.findings.length, "lint finding")));
  paged(wrap, D.findings.map((f, i) => i), ["finding", "subject", "message", "flow"], fi => {
    const f = D.findings[fi];
    return el("tr", null, el("td", null, sevBadge(fi)), el("td", null, str(f[4])), el("td", null, str(f[3]), f[5] >= 0 ? el("span", {class: "cite"},
      "accepted: " + str(f[5])) : ""),
      el("td", null, f[6] >= 0 ? el("a", {class: "h", onclick: () => flowList("Flow", [f[6]])}, flowId(f[6])) : ""));
  }, 100);
  return wrap;
}
// --- search: host names, addresses (an IPv4 address also finds the networks holding it), fqdn,
// components, ports (a number finds the ranges holding it), services, products
let kindText = null, portRanges = null, hostText = null;
function ip4(t) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
  return m && m.slice(1).every(x => +x < 256) ? m.slice(1).reduce((a, x) => a * 256 + +x, 0) : null;
}
function inNet(ip, a) {
  const [net, len] = a.split("/"), n = ip4(net);
  if (n === null) return false;
  const bits = len === undefined ? 32 : +len, size = 2 ** (32 - bits);
  return Math.floor(n / size) === Math.floor(ip / size);
}
function search(q) {
  q = q.trim().toLowerCase();
  if (!kindText) {
    hostText = D.hosts.map(h => [S[h[0]], ...h[3].map(str), str(h[4]), ...h[5].map(str), zoneName(h[2])].join(" ").toLowerCase());
    kindText = D.kinds.map(k => [str(k[5]), str(k[10]), str(k[0]), str(k[1]), str(k[2]), str(k[3]), str(k[11])].join(" ").toLowerCase());
    portRanges = D.kinds.map(k => k[4] < 0 ? [] : S[k[4]].split(",").map(p => p.split("-").map(Number)));
  }
  const port = /^\d{1,5}$/.test(q) ? +q : null, ip = ip4(q);
  const hosts = [], flows = [];
  D.hosts.forEach((h, i) => {
    if (hostText[i].includes(q) || (ip !== null && h[3].some(a => inNet(ip, S[a])))) hosts.push(i);
  });
  const hostSet = new Set(hosts);
  // per kind: does it match; for a port, the width of the narrowest range holding it (-1: none)
  const width = portRanges.map((ranges, k) => {
    if (port === null) return kindText[k].includes(q) ? 0 : -1;
    let best = -1;
    for (const r of ranges) { const hi = r.length > 1 ? r[1] : r[0]; if (port >= r[0] && port <= hi && (best < 0 || hi - r[0] < best)) best = hi - r[0]; }
    return best;
  });
  for (let i = 0; i < NF; i++) {
    if (width[F[4 * i + 2]] >= 0 || (port === null && (hostSet.has(F[4 * i]) || hostSet.has(F[4 * i + 1])))) flows.push(i);
  }
  // the flows that name the port itself first, the wide ranges that hold it last
  if (port !== null) flows.sort((a, b) => width[F[4 * a + 2]] - width[F[4 * b + 2]] || a - b);
  return [hosts, flows];
}
function searchView(q) {
  const t0 = performance.now();
  const [hosts, flows] = search(q);
  const wrap = el("div", {class: "view"});
  wrap.append(el("h2", null, "\u201c" + q + "\u201d: " + plural(flows.length, "flow") + ", " + plural(hosts.length, "host") + " and endpoints"));
  wrap.append(el("p", {class: "note", id: "search-ms"},
    "searched in " + Math.round(performance.now() - t0) + " ms; a number finds the flows whose ports hold it, " +
    "an IPv4 address the hosts and networks holding it"));
  wrap.append(el("h3", null, "Flows"));
  paged(wrap, flows, FLOW_HEAD, flowRow);
  wrap.append(hostsView(hosts, "Hosts and endpoints (" + fmt(hosts.length) + ")"));
  return wrap;
}
function fit() {  // the matrix scrolls inside the window, so its headers stay in view
  const m = $("mwrap");
  if (m) m.style.maxHeight = Math.max(200, innerHeight - m.getBoundingClientRect().top - 10) + "px";
}
addEventListener("resize", fit);
let current = "matrix";
function view(name, arg) {
  current = name;
  document.querySelectorAll("#nav button").forEach(b => b.classList.toggle("on", b.dataset.view === name));
  const make = {matrix: matrixView, hosts: () => hostsView(), edges: edgesView, findings: findingsView, search: () => searchView(arg)}[name];
  main.replaceChildren(make());
}
document.querySelectorAll("#nav button").forEach(b => b.addEventListener("click", () => { $("q").value = ""; view(b.dataset.view); }));
let timer = 0;
$("q").addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    const q = $("q").value.trim(), t0 = performance.now();
    if (q) view("search", q); else view("matrix");
    performance.measure("explorer-search", {start: t0});
  }, 200);
});
const sm = D.summary;
$("sum").textContent = fmt(sm[0]) + " flows \u00b7 " + sm[1] + " zones \u00b7 " + fmt(sm[2]) + " hosts \u00b7 " + fmt(sm[3]) + " endpoints";
document.querySelector("#nav [data-view=edges]").append(" (" + fmt(D.edges.length) + ")");
document.querySelector("#nav [data-view=findings]").append(" (" + fmt(D.findings.length) + ")");
if (D.diagrams.length) {  // the drawings of the output folder, beside this page
  $("diag").hidden = false;
  $("diag").firstChild.textContent = "Diagrams (" + D.diagrams.length + ") \u25be";
  for (const d of D.diagrams) $("diag").lastChild.append(el("a", {href: d, title: d}, d.replace(/^diagrams\//, "").replace(/\.svg$/, "")));
}
view("matrix");
performance.mark("explorer-rendered");
document.body.dataset.ready = "1";
})();
"""
