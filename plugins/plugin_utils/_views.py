# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Views derived from a plan: per-zone flows, the zone matrix, tables (internal API).

These are pure functions over the plan dictionary (as the planner returns it, or
as read back from ``plan.json``), so filters, reports and tests share them.

Types: the filters hand these functions whatever the playbook passes (a plan, or a list of flows
such as ``zone_flows`` returns), so the plan arguments stay ``Any`` and :func:`flows_of` is the
edge: it checks the argument and returns it as ``list[Flow]`` (``_plan_types``), which the rest reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from ._plan_types import End, Flow
from ._ports import format_ports, parse_ports, union


class ViewError(ValueError):
    """Bad argument to a view; the message names the argument."""


def flows_of(plan_or_flows: Any, argument: str = "plan") -> list[Flow]:
    if isinstance(plan_or_flows, Mapping) and "flows" in plan_or_flows:
        flows = plan_or_flows["flows"]
    else:
        flows = plan_or_flows
    if not isinstance(flows, list) or not all(isinstance(f, Mapping) and "protocol" in f for f in flows):
        raise ViewError("%s must be a plan (with 'flows') or a list of flows, got %s" % (argument, type(plan_or_flows).__name__))
    return flows


def zone_flows(plan: Any, src_zone: str | None = None, dst_zone: str | None = None,
               cross_zone_only: bool = False) -> list[Flow]:
    """Flows from ``src_zone`` to ``dst_zone`` (None: any zone), in plan order."""
    flows = flows_of(plan)
    zones = plan.get("zones") if isinstance(plan, Mapping) else None
    for arg, value in (("src_zone", src_zone), ("dst_zone", dst_zone)):
        if value is not None and not isinstance(value, str):
            raise ViewError("%s must be a zone name, got %r" % (arg, value))
        if value is not None and zones is not None and value not in zones:
            raise ViewError("%s %r is not a zone of this plan (zones: %s)" % (arg, value, ", ".join(sorted(zones))))
    return [
        f for f in flows
        if (src_zone is None or f["src_zone"] == src_zone)
        and (dst_zone is None or f["dst_zone"] == dst_zone)
        and (not cross_zone_only or f["src_zone"] != f["dst_zone"])
    ]


def merge_ports(ports: Iterable[Any]) -> list[str]:
    """Merge port specs (``80``, ``"443"``, ``"1000-2000"``, lists of them) into sorted, merged ranges."""
    if isinstance(ports, (str, int)):
        ports = [ports]
    sets = []
    for item in ports:
        try:
            sets.append(parse_ports(item))
        except ValueError as exc:
            raise ViewError("%r is not a port or range: %s" % (item, exc)) from exc
    return format_ports(union(*sets))


def port_sets(flows: Iterable[Flow]) -> dict[str, list[str]]:
    """Per protocol, the merged destination ports of ``flows``; portless protocols map to []."""
    by_proto: dict[str, list[Any]] = defaultdict(list)
    for flow in flows:
        by_proto[flow["protocol"]].append(parse_ports(flow["ports"]) if flow["ports"] else ())
    return {proto: format_ports(union(*sets)) for proto, sets in sorted(by_proto.items())}


def zone_matrix(plan: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """``{src_zone: {dst_zone: {"flows": n, "ports": {proto: [merged ports]}, "services": [...]}}}``."""
    cells: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for flow in flows_of(plan):
        cells[(flow["src_zone"], flow["dst_zone"])].append(flow)
    matrix: dict[str, dict[str, dict[str, Any]]] = {}
    for (src, dst) in sorted(cells):
        flows = cells[(src, dst)]
        matrix.setdefault(src, {})[dst] = {
            "flows": len(flows),
            "ports": port_sets(flows),
            "services": sorted({f["service"] for f in flows}),
        }
    return matrix


def _ports_text(flow: Flow) -> str:
    return ",".join(flow["ports"]) if flow["ports"] else "-"


def _end_text(end: End) -> str:
    return end["name"]


def _row_key(flow: Flow) -> tuple[Any, ...]:
    first = parse_ports(flow["ports"])[0][0] if flow["ports"] else 0
    return (flow["src"]["name"], flow["dst"]["name"], flow["protocol"], first, flow["id"])


def md_cell(text: Any) -> str:
    """Text for one Markdown table cell: a '|' or a line break would start another cell or row."""
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def flow_table(plan: Any) -> str:
    """A Markdown table of every flow, grouped by zone pair, for people and code review."""
    flows = flows_of(plan)
    lines = ["# Flows", ""]
    if isinstance(plan, Mapping) and "summary" in plan:
        summary = plan["summary"]
        lines.append("%d flows between %d zone pairs (%d cross a zone boundary)."
                     % (summary["flows"], summary["zone_pairs"], summary["cross_zone_flows"]))
        lines.append("")
    by_pair: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for flow in flows:
        by_pair[(flow["src_zone"], flow["dst_zone"])].append(flow)
    for src_zone, dst_zone in sorted(by_pair):
        lines.append("## %s -> %s" % (src_zone, dst_zone))
        lines.append("")
        lines.append("| source | destination | proto | ports | service | program | why | source document |")
        lines.append("|---|---|---|---|---|---|---|---|")
        rows = sorted(by_pair[(src_zone, dst_zone)], key=_row_key)
        for flow in rows:
            cite = flow["citation"]
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s § %s |" % (
                md_cell("%s (%s)" % (_end_text(flow["src"]), flow["src"]["component"])),
                md_cell("%s (%s)" % (_end_text(flow["dst"]), flow["dst"]["component"])),
                flow["protocol"],
                _ports_text(flow),
                md_cell(flow["service"]),
                md_cell(flow["program"] or ""),
                md_cell(flow["purpose"]),
                md_cell(cite.get("title") or cite["doc"]),  # the document's title, as a person reads it
                md_cell(cite["section"]),
            ))
        lines.append("")
    if isinstance(plan, Mapping) and plan.get("warnings"):
        lines.append("## Warnings")
        lines.append("")
        lines.extend("- " + md_cell(w) for w in plan["warnings"])
        lines.append("")
    return "\n".join(lines)
