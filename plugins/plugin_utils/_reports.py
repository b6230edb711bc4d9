# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports derived from a plan: port matrix (Markdown, CSV, HTML) and Graphviz diagrams (internal API).

Pure functions of the plan; deterministic text, so reports diff cleanly in review.
Like ``_views``, the plan arguments stay ``Any`` (the filters pass what the playbook gives);
the flows come typed (``list[Flow]``) from ``_views.flows_of``.
"""

from __future__ import annotations

import csv
import html
import io
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ._plan_types import Flow
from ._schema import PROTO_ORDER
from ._views import ViewError, flows_of, md_cell, zone_matrix

ZoneMatrix = dict[str, dict[str, dict[str, Any]]]


def _count(number: int, noun: str) -> str:
    return "%d %s%s" % (number, noun, "" if number == 1 else "s")


def _zones(plan: Any) -> list[str]:
    if isinstance(plan, Mapping) and isinstance(plan.get("zones"), Mapping):
        return sorted(plan["zones"])
    flows = flows_of(plan)
    return sorted({f["src_zone"] for f in flows} | {f["dst_zone"] for f in flows})


def _cell_text(cell: Mapping[str, Any] | None, sep: str = "; ") -> str:
    if not cell:
        return ""
    parts = []
    for proto in sorted(cell["ports"], key=lambda p: (PROTO_ORDER.get(p, 9), p)):
        ports = cell["ports"][proto]
        parts.append("%s %s" % (proto, ",".join(ports)) if ports else proto)
    return sep.join(parts)


def matrix_markdown(plan: Any, matrix: ZoneMatrix | None = None) -> str:
    """Zone-to-zone matrix: rows are source zones, columns destination zones (``matrix``: the plan's
    ``zone_matrix`` when the caller has it already)."""
    matrix = matrix if matrix is not None else zone_matrix(plan)
    zones = _zones(plan)
    used_dst = [z for z in zones if any(z in row for row in matrix.values())]
    lines = ["# Port matrix", "", "Rows: source zone. Columns: destination zone. Destination ports per protocol, merged.", ""]
    lines.append("| from \\ to | " + " | ".join(used_dst) + " |")
    lines.append("|---|" + "---|" * len(used_dst))
    for src in zones:
        if src not in matrix:
            continue
        cells = [_cell_text(matrix[src].get(dst), "<br>").replace("|", "\\|") for dst in used_dst]
        lines.append("| **%s** | %s |" % (src, " | ".join(cells)))
    lines.append("")
    lines.append("## Services per zone pair")
    lines.append("")
    lines.append("| from | to | flows | services |")
    lines.append("|---|---|---|---|")
    for src in sorted(matrix):
        for dst in sorted(matrix[src]):
            cell = matrix[src][dst]
            lines.append("| %s | %s | %d | %s |" % (src, dst, cell["flows"], md_cell(", ".join(cell["services"]))))
    return "\n".join(lines) + "\n"


def matrix_csv(plan: Any, matrix: ZoneMatrix | None = None) -> str:
    """One row per zone pair and protocol: src_zone,dst_zone,protocol,ports,flows,services."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["src_zone", "dst_zone", "protocol", "ports", "flows", "services"])
    cells: dict[tuple[str, str, str], list[Flow]] = defaultdict(list)
    for flow in flows_of(plan):
        cells[(flow["src_zone"], flow["dst_zone"], flow["protocol"])].append(flow)
    matrix = matrix if matrix is not None else zone_matrix(plan)
    for (src, dst, proto) in sorted(cells, key=lambda k: (k[0], k[1], PROTO_ORDER.get(k[2], 9))):
        flows = cells[(src, dst, proto)]
        writer.writerow([src, dst, proto, " ".join(matrix[src][dst]["ports"][proto]), len(flows),
                         " ".join(sorted({f["service"] for f in flows}))])
    return out.getvalue()


_HTML_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:22px;margin:0 0 4px}p.sub{color:#5b6775;margin:0 0 16px}
table.m{border-collapse:collapse;font-size:12px}
table.m th,table.m td{border:1px solid #d5dbe3;padding:6px 8px;vertical-align:top;text-align:left}
table.m thead th{background:#22324a;color:#fff;position:sticky;top:0;z-index:2}
table.m tbody th{background:#eef2f7;white-space:nowrap;position:sticky;left:0;z-index:1}
table.m thead th:first-child{left:0;z-index:3}
td.e{background:#fff}td.x{background:#e9f6ec}
td.self{background:repeating-linear-gradient(45deg,#e3e7ee 0 6px,#f3f5f8 6px 12px)}
td.ext{background:#fff4e5}
.p{display:block;white-space:nowrap}.p b{display:inline-block;min-width:34px;color:#22324a}
.n{color:#5b6775;font-size:11px;display:block;margin-top:2px}
.legend span{display:inline-block;padding:2px 8px;margin-right:8px;border:1px solid #d5dbe3}
.legend .x{background:#e9f6ec}.legend .ext{background:#fff4e5}.legend .e{background:#fff}
.legend .self{background:repeating-linear-gradient(45deg,#e3e7ee 0 6px,#f3f5f8 6px 12px)}
"""


def matrix_html(plan: Any, title: str = "Port matrix", matrix: ZoneMatrix | None = None) -> str:
    """A self-contained HTML page (no scripts, no external files) with the zone-to-zone matrix."""
    matrix = matrix if matrix is not None else zone_matrix(plan)
    zones = _zones(plan)
    external = {z for z, d in (plan.get("zones") or {}).items() if d.get("external")} if isinstance(plan, Mapping) else set()
    total = len(flows_of(plan))
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
           "<title>%s</title>" % html.escape(title), "<style>%s</style></head><body>" % _HTML_STYLE.strip(),
           "<h1>%s</h1>" % html.escape(title),
           "<p class=\"sub\">%s. Rows: source zone; columns: destination zone; destination ports per protocol "
           "(merged). Replies are allowed by connection state and are not listed.</p>" % _count(total, "flow"),
           "<p class=\"legend\"><span class=\"x\">allowed</span>"
           "<span class=\"ext\">to or from an external zone</span>"
           "<span class=\"self\">inside one zone</span><span class=\"e\">nothing allowed</span></p>",
           "<p class=\"sub\">A cell merges every flow of its zone pair: it does not mean every host of one zone may reach "
           "every host of the other. Which hosts, and on whose word: <code>flows.md</code> and <code>explorer.html</code>.</p>",
           "<table class=\"m\"><thead><tr><th>from \\ to</th>"]
    out += ["<th>%s</th>" % html.escape(z) for z in zones]
    out.append("</tr></thead><tbody>")
    for src in zones:
        out.append("<tr><th>%s</th>" % html.escape(src))
        for dst in zones:
            cell = matrix.get(src, {}).get(dst)
            if not cell:
                out.append("<td class=\"e\"></td>")
                continue
            klass = "self" if src == dst else ("ext" if src in external or dst in external else "x")
            lines = []
            for proto in sorted(cell["ports"], key=lambda p: (PROTO_ORDER.get(p, 9), p)):
                ports = cell["ports"][proto]
                lines.append("<span class=\"p\"><b>%s</b> %s</span>" % (proto, html.escape(", ".join(ports)) if ports else ""))
            lines.append("<span class=\"n\">%s: %s</span>" % (_count(cell["flows"], "flow"), html.escape(", ".join(cell["services"]))))
            out.append("<td class=\"%s\">%s</td>" % (klass, "".join(lines)))
        out.append("</tr>")
    out.append("</tbody></table></body></html>")
    return "\n".join(out) + "\n"


# --- Graphviz ---------------------------------------------------------------------------------
#
# Every diagram draws a zone in the same colour: ``zone_colours`` gives each zone of the plan its
# place in one fixed palette (the plan's zones sorted), so a zone keeps its colour from the estate
# overview to every product diagram. Visible labels stay short; the full lists (services, ports,
# citations, hosts) are in tooltips, which Graphviz writes as SVG ``<title>`` (a browser shows
# them on hover). Text taken from the inventory goes through ``_esc`` before it is joined into a
# label, and every attribute value through ``_dot_id``.

# Twelve light colours that dark text reads well on and that stay apart from each other (the
# qualitative "Set3" scheme of ColorBrewer); the 13th zone starts the list again.
ZONE_PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
                "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")
EDGE_FILL = "#37474f"
OVERVIEW_MAX_ZONES = 24  # above this many zones the overview draws one node per site (see zone_diagram_dot)
_FONT = "fontname=\"Helvetica\""


def zone_colours(plan: Any) -> dict[str, str]:
    """The fill colour of each zone of ``plan`` (``#rrggbb``), the same in every diagram of the plan.

    The zones are sorted and take the palette's colours in turn, so the mapping depends only on the
    plan's zone names. Other reports (the explorer page) use it to colour zones the same way.
    """
    return {zone: ZONE_PALETTE[idx % len(ZONE_PALETTE)] for idx, zone in enumerate(_zones(plan))}


def _dot_id(text: str) -> str:
    """A quoted DOT string; ``\\n`` in ``text`` stays a DOT line break.

    DOT's only escape in a quoted string is ``\\"`` (a backslash cannot be escaped), so a value
    ending in a backslash would turn the closing quote into an escaped one: a space keeps it apart.
    Node and cluster names go in as they are (DOT keeps a backslash in a name); label and tooltip
    text built from inventory names must have gone through ``_esc`` first.
    """
    if text.endswith("\\"):
        text += " "
    return '"%s"' % text.replace('"', '\\"')


def _esc(text: str) -> str:
    """Inventory text for a label: its backslashes doubled, so Graphviz shows them as they are and does
    not read ``\\N``, ``\\G``, ``\\l`` in a name as its own escapes; ``&`` as ``&amp;``, since Graphviz
    keeps an entity such as ``&lt;`` in a label as it is; line breaks as spaces."""
    return " ".join(str(text).replace("\\", "\\\\").replace("&", "&amp;").splitlines())


def _tip(lines: list[str]) -> str:
    """Lines of inventory text as one tooltip. Graphviz unescapes a tooltip twice (``\\\\N`` still
    becomes the node's name), so a backslash takes four; ``&`` as in ``_esc``."""
    return "\\n".join(" ".join(str(line).replace("\\", "\\" * 4).replace("&", "&amp;").splitlines()) for line in lines)


def _short(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def _ports_text(flow: Flow) -> str:
    if flow["ports"]:
        return "%s/%s" % (flow["protocol"], ",".join(flow["ports"]))
    return flow["protocol"]


def _services(flows: list[Flow]) -> list[tuple[str, list[str]]]:
    """(service, sorted "proto/ports" texts) of ``flows``, by service name."""
    by_service: dict[str, set[str]] = defaultdict(set)
    for flow in flows:
        by_service[flow["service"]].add(_ports_text(flow))
    return [(svc, sorted(ports)) for svc, ports in sorted(by_service.items())]


def _label(flows: list[Flow], limit: int = 3) -> str:
    """The short visible label of an arrow: at most ``limit`` service names and "+N more"."""
    names = [_short(svc, 24) for svc, _ports in _services(flows)]
    if len(names) > limit:
        names = names[:limit - 1] + ["+%d more" % (len(names) - limit + 1)]
    return "\\n".join(_esc(n) for n in names)


def _citation(flow: Flow) -> str:
    cite = flow.get("citation") or {}
    return ", ".join(str(cite[k]) for k in ("doc", "section") if cite.get(k))


def _flows_tooltip(head: str, flows: list[Flow]) -> str:
    """Every service of ``flows`` with its ports and where the catalog cites it from."""
    lines = [head]
    cites: dict[str, set[str]] = defaultdict(set)
    for flow in flows:
        if _citation(flow):
            cites[flow["service"]].add(_citation(flow))
    for svc, ports in _services(flows):
        line = "%s %s" % (svc, " ".join(ports))
        if cites.get(svc):
            line += " [%s]" % "; ".join(sorted(cites[svc]))
        lines.append(line)
    return _tip(lines)


def _zone_desc(plan: Any, zone: str) -> str:
    return str((plan.get("zones", {}).get(zone) or {}).get("description") or "")


def _header(name: str, heading: list[str], graph: str) -> list[str]:
    label = "\\n".join(_esc(x) for x in heading)
    return ["digraph %s {" % name,
            "  graph [%s, fontsize=16, labelloc=t, label=%s, tooltip=%s, pad=0.3, %s];" % (_FONT, _dot_id(label), _dot_id(_tip(heading)), graph),
            "  node [shape=box, style=\"rounded,filled\", fillcolor=white, %s, fontsize=11, color=\"#5b6775\"];" % _FONT,
            "  edge [%s, fontsize=9, color=\"#3a5a80\", fontcolor=\"#22324a\", arrowsize=0.7];" % _FONT]


def _edge_node(plan: Any, edge: str, indent: str = "  ") -> str:
    info = plan["edges"][edge]
    joins = ["%s (%s)" % (zone, ", ".join(ifaces)) for zone, ifaces in sorted(info.get("zones", {}).items())]
    tip = _tip(["edge firewall %s (%s)" % (edge, info.get("kind", "")), "joins: " + "; ".join(joins)])
    return "%s%s [label=%s, shape=hexagon, style=filled, fillcolor=%s, fontcolor=white, color=%s, tooltip=%s];" % (
        indent, _dot_id("edge:" + edge), _dot_id("%s\\nedge firewall" % _esc(edge)), _dot_id(EDGE_FILL), _dot_id(EDGE_FILL), _dot_id(tip))


def diagram_dot(plan: Any, product: str | None = None, title: str | None = None, component: str | None = None) -> str:
    """Communication diagram: instances grouped by zone, one arrow per (source, destination) pair.

    With ``product``, only that product's flows (and the instances they touch) are drawn; with
    ``component``, only the flows to or from that component (a view like a vendor's
    "Mobile Service specific overview"). Each arrow shows at most three services, its label
    underlined and tied to it by a line (``decorate``); its tooltip lists every service with its
    ports and citation, and the edge firewalls that enforce it.
    """
    if not isinstance(plan, Mapping) or "instances" not in plan:
        raise ViewError("plan must be a plan with 'instances' (as voiceops.firewall.plan returns it)")
    flows = [f for f in flows_of(plan) if (product is None or f["product"] == product)
             and (component is None or component in (f["src"]["component"], f["dst"]["component"]))]
    if component is not None and not flows:
        raise ViewError("component %r has no flows in this plan" % component)
    if product is not None and not flows:
        raise ViewError("product %r has no flows in this plan (products: %s)" % (
            product, ", ".join(sorted({f["product"] for f in flows_of(plan)}))))
    pairs: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for flow in flows:
        pairs[(flow["src"]["name"], flow["dst"]["name"])].append(flow)
    used = sorted({n for pair in pairs for n in pair})
    instances = plan["instances"]
    colours = zone_colours(plan)
    edges = set(plan.get("edges") or {})
    zones = sorted({instances[n]["zone"] for n in used})
    heading = [title or "Communication overview" + "".join(": %s" % x for x in (product, component) if x)]
    crossing = sorted({e for f in flows for e in f.get("enforced_by") or [] if e in edges and f["src_zone"] != f["dst_zone"]})
    if crossing:
        heading.append("enforced between zones by %s; hover an arrow for its ports, citations and edge firewalls" % ", ".join(crossing))
    out = _header("voiceops", heading, "rankdir=LR, nodesep=0.3, ranksep=0.8, splines=true, newrank=true")
    for zone in zones:
        desc = _zone_desc(plan, zone)
        out.append("  subgraph %s {" % _dot_id("cluster_" + zone))
        out.append("    label=%s; tooltip=%s; style=\"rounded,filled\"; fillcolor=%s; color=\"#8a96a3\"; fontsize=12;"
                   % (_dot_id(_esc(zone)), _dot_id(_tip([zone + (": " + desc if desc else "")])), _dot_id(colours.get(zone, "#ffffff"))))
        for name in used:
            inst = instances[name]
            if inst["zone"] != zone:
                continue
            comps = [c for c in inst["components"] if not c.startswith("managed_") and c != name]
            shown = ", ".join(_short(c, 28) for c in comps[:2]) + (" +%d" % (len(comps) - 2) if len(comps) > 2 else "")
            where = inst.get("fqdn") or ", ".join(inst["addresses"])
            tip = [name + (" (edge firewall)" if name in edges else ""), "zone: " + zone, "components: " + ", ".join(comps), "at: " + where]
            out.append("    %s [label=%s, tooltip=%s%s];" % (
                _dot_id(name), _dot_id("%s\\n%s" % (_esc(name), _esc(shown)) if shown else _esc(name)),
                _dot_id(_tip(tip)),
                ", shape=hexagon, fillcolor=%s, fontcolor=white" % _dot_id(EDGE_FILL) if name in edges else ""))
        out.append("  }")
    # one arrow per pair of ends; when both talk to each other it has two heads and its tooltip both directions
    # (drawn from the end that sends more flows, so the layout reads from senders to receivers)
    for (src, dst) in sorted(pairs):
        back = len(pairs.get((dst, src), []))
        if back > len(pairs[(src, dst)]) or (back == len(pairs[(src, dst)]) and src > dst):
            continue
        both = [(src, dst)] + ([(dst, src)] if back and src != dst else [])
        sections = []
        for (one, other) in both:
            flows_here = pairs[(one, other)]
            via = sorted({e for f in flows_here for e in f.get("enforced_by") or [] if e in edges})
            head = "%s -> %s: %s%s" % (one, other, _count(len(flows_here), "flow"), " through " + ", ".join(via) if via else "")
            sections.append(_flows_tooltip(head, flows_here))
        every = [f for pair in both for f in pairs[pair]]
        text = _dot_id("\\n".join(sections))
        style = ", style=dashed" if any(f.get("replies_only") for f in every) else ""
        out.append("  %s -> %s [label=%s, decorate=true, tooltip=%s, labeltooltip=%s%s%s];" % (
            _dot_id(src), _dot_id(dst), _dot_id(_label(every)), text, text, ", dir=both" if len(both) > 1 else "", style))
    out.append("}")
    return "\n".join(out) + "\n"


def products(plan: Any) -> list[str]:
    return sorted({f["product"] for f in flows_of(plan)})


def sites(plan: Any) -> dict[str, str]:
    """The site of each zone that has one: a zone that exactly one edge firewall joins is at that edge's
    site (named after the edge). Zones that several edges join (a WAN, the internet) or none are left out."""
    joined: dict[str, set[str]] = defaultdict(set)
    for edge, info in (plan.get("edges") or {}).items():
        for zone in info.get("zones") or {}:
            joined[zone].add(edge)
    return {zone: next(iter(edges)) for zone, edges in sorted(joined.items()) if len(edges) == 1}


def _legs(plan: Any, flows: list[Flow]) -> tuple[dict[tuple[str, str], list[Flow]], dict[tuple[str, str], list[Flow]]]:
    """Split the cross-zone flows along their paths: ``legs[(a, b)]`` are the flows that go from zone
    ``a`` into edge ``b`` or from edge ``a`` into zone ``b`` (edges as ``edge:<name>``); ``direct`` the
    flows between two zones that no edge is on the path of."""
    paths = plan.get("paths") or {}
    legs: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    direct: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for flow in flows:
        src, dst = flow["src_zone"], flow["dst_zone"]
        if src == dst:
            continue
        hops = paths.get("%s>%s" % (src, dst)) or []
        if not hops:
            direct[(src, dst)].append(flow)
        for hop in hops:
            for edge in hop.get("edges") or []:
                legs[(hop["from"], "edge:" + edge)].append(flow)
                legs[("edge:" + edge, hop["to"])].append(flow)
    return legs, direct


def zone_diagram_dot(plan: Any, title: str = "Estate overview: zones, edge firewalls and the flows through them",
                     max_zones: int = OVERVIEW_MAX_ZONES) -> str:
    """The whole estate at zone level, small enough for one screen.

    One node per zone (its host count; the hosts, networks and description in its tooltip), one
    hexagon per edge firewall. A flow between two zones is drawn along its path: an arrow from the
    source zone into each edge it crosses and on to the next zone (a WAN between two sites is a
    zone of its own), labelled with the number of flows and their services (every service, port
    and zone pair in the tooltip). Zones that no edge separates are joined by a red dashed arrow.
    Zones that one edge alone joins are boxed together as that edge's site when the plan has
    several edges; with more than ``max_zones`` zones each such site is drawn as one node.
    """
    if not isinstance(plan, Mapping) or "instances" not in plan:
        raise ViewError("plan must be a plan with 'instances' (as voiceops.firewall.plan returns it)")
    if isinstance(max_zones, bool) or not isinstance(max_zones, int) or max_zones < 1:
        raise ViewError("max_zones must be a whole number of at least 1, got %r" % (max_zones,))
    flows = flows_of(plan)
    colours = zone_colours(plan)
    zones = _zones(plan)
    members: dict[str, list[str]] = defaultdict(list)
    for name, inst in sorted(plan["instances"].items()):
        members[inst["zone"]].append(name)
    inside: dict[str, int] = defaultdict(int)
    for flow in flows:
        if flow["src_zone"] == flow["dst_zone"]:
            inside[flow["src_zone"]] += 1
    edges = sorted(plan.get("edges") or {})
    site_of = sites(plan) if len(edges) > 1 else {}
    grouped = len(zones) > max_zones and bool(site_of)
    # node of each zone and edge: a zone's own node, or (grouped) its site's node
    node = {z: ("site:" + site_of[z] if grouped and z in site_of else z) for z in zones}
    node.update({"edge:" + e: ("site:" + e if grouped else "edge:" + e) for e in edges})
    legs, direct = _legs(plan, flows)
    out = _header("voiceops_zones", [title], "rankdir=LR, nodesep=0.25, ranksep=0.9, splines=true, newrank=true")

    def zone_line(zone: str, indent: str) -> str:
        names = members.get(zone, [])
        desc = _zone_desc(plan, zone)
        networks = (plan.get("zones", {}).get(zone) or {}).get("networks") or []
        count = _count(len(names), "host") if names else "no hosts"
        if inside.get(zone):
            count += "\\n%s inside" % _count(inside[zone], "flow")
        tip = [zone + (": " + desc if desc else ""), "networks: " + ", ".join(networks), "hosts: " + (", ".join(names) or "none")]
        return "%s%s [label=%s, fillcolor=%s, tooltip=%s];" % (
            indent, _dot_id(zone), _dot_id("%s\\n%s" % (_esc(zone), count)), _dot_id(colours.get(zone, "#ffffff")),
            _dot_id(_tip(tip)))

    for edge in edges:
        own = [z for z in zones if site_of.get(z) == edge]
        if grouped:
            hosts = sum(len(members.get(z, [])) for z in own)
            tip = _tip(["site of edge firewall %s" % edge] + ["%s: %s" % (z, ", ".join(members.get(z, [])) or "no hosts") for z in own])
            out.append("  %s [label=%s, shape=box3d, style=filled, fillcolor=\"#eceff1\", tooltip=%s];" % (
                _dot_id("site:" + edge), _dot_id("site %s\\n%s, %s" % (_esc(edge), _count(len(own), "zone"), _count(hosts, "host"))), _dot_id(tip)))
            continue
        if site_of:
            out.append("  subgraph %s {" % _dot_id("cluster_site_" + edge))
            out.append("    label=%s; tooltip=%s; style=\"rounded,dashed\"; color=\"#78909c\"; fontsize=12;" % (
                _dot_id("site " + _esc(edge)), _dot_id(_tip(["site of edge firewall %s: the zones it alone joins" % edge]))))
            out.extend(zone_line(z, "    ") for z in own)
            out.append(_edge_node(plan, edge, "    "))
            out.append("  }")
        else:
            out.append(_edge_node(plan, edge))
    out.extend(zone_line(z, "  ") for z in zones if z not in site_of)
    # one arrow per (node, node) pair; a leg sends a zone into an edge or an edge into a zone
    arrows: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for (a, b), here in list(legs.items()) + list(direct.items()):
        a, b = node.get(a, a), node.get(b, b)  # (a transit zone of a path is a zone of the plan; .get for a partial plan)
        if a != b:
            arrows[(a, b)].extend(here)
    unenforced = {(node.get(a, a), node.get(b, b)) for (a, b) in direct}
    for (a, b) in sorted(arrows):
        here = arrows[(a, b)]
        # between a zone and an edge the busier direction places the zone (senders left, receivers right)
        back = arrows.get((b, a), [])
        minor = len(back) > len(here) or (len(back) == len(here) and a > b)
        pairs: dict[tuple[str, str], list[Flow]] = defaultdict(list)
        for flow in here:
            pairs[(flow["src_zone"], flow["dst_zone"])].append(flow)
        lines = ["%s -> %s: %s%s" % (a.split(":")[-1], b.split(":")[-1], _count(len(here), "flow"),
                                     ", not through any edge firewall" if (a, b) in unenforced else "")]
        for (src, dst), flows_here in sorted(pairs.items()):
            lines.append("%s -> %s: %s" % (src, dst, "; ".join("%s %s" % (s, " ".join(p)) for s, p in _services(flows_here))))
        names = sorted({f["service"] for f in here})
        shown = ", ".join(_short(s, 18) for s in names[:2]) + (" +%d" % (len(names) - 2) if len(names) > 2 else "")
        label = "%s\\n%s" % (_count(len(here), "flow"), _esc(shown))
        style = ", color=\"#c62828\", fontcolor=\"#c62828\", style=dashed" if (a, b) in unenforced else ""
        text = _dot_id(_tip(lines))
        out.append("  %s -> %s [label=%s, tooltip=%s, labeltooltip=%s, penwidth=%.1f%s%s];" % (
            _dot_id(a), _dot_id(b), _dot_id(label), text, text, min(4.0, 0.8 + len(here) / 25.0), style,
            ", constraint=false" if minor else ""))
    out.append("}")
    return "\n".join(out) + "\n"


def diagrams(plan: Any, views: list[str] | None = None) -> list[dict[str, str]]:
    """Every diagram the plan playbook draws: the estate by zone, one per product, one per view.

    A view is a component name (for example ``speechexec_mobile_service``); a view whose
    component is not in the plan is left out.
    """
    out = [{"name": "estate", "dot": zone_diagram_dot(plan)}]
    for product in products(plan):
        if product != "management":
            out.append({"name": "product-%s" % product, "dot": diagram_dot(plan, product=product)})
    used = {f[side]["component"] for f in flows_of(plan) for side in ("src", "dst")}
    for view in views or []:
        if view in used:
            out.append({"name": "view-%s" % view, "dot": diagram_dot(plan, component=view)})
    return out
