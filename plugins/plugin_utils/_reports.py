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
from ._views import ViewError, flows_of, md_cell, zone_matrix

ZoneMatrix = dict[str, dict[str, dict[str, Any]]]

PROTO_ORDER = {"tcp": 0, "udp": 1, "icmp": 2, "gre": 3, "esp": 4}


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
table.m thead th{background:#22324a;color:#fff;position:sticky;top:0}
table.m tbody th{background:#eef2f7;white-space:nowrap}
td.e{background:#fafbfc}td.x{background:#e9f6ec}td.self{background:#f4f4f4}
td.ext{background:#fff4e5}
.p{display:block;white-space:nowrap}.p b{display:inline-block;min-width:34px;color:#22324a}
.n{color:#5b6775;font-size:11px;display:block;margin-top:2px}
.legend span{display:inline-block;padding:2px 8px;margin-right:8px;border:1px solid #d5dbe3}
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
           "<p class=\"legend\"><span style=\"background:#e9f6ec\">allowed</span>"
           "<span style=\"background:#fff4e5\">to or from an external zone</span>"
           "<span style=\"background:#f4f4f4\">inside one zone</span><span>nothing allowed</span></p>",
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

_ZONE_COLOURS = ["#e8f0fb", "#eaf6ec", "#fdf3e3", "#f4ecf8", "#e6f5f6", "#fbeaea", "#f1f3e4", "#eceff3"]


def _dot_id(text: str) -> str:
    """A quoted DOT string; ``\\n`` in ``text`` stays a DOT line break.

    DOT's only escape in a quoted string is ``\\"`` (a backslash cannot be escaped), so a value
    ending in a backslash would turn the closing quote into an escaped one: a space keeps it apart.
    """
    if text.endswith("\\"):
        text += " "
    return '"%s"' % text.replace('"', '\\"')


def _label(flows: list[Flow], limit: int = 4) -> str:
    by_service: dict[str, set[str]] = defaultdict(set)
    for flow in flows:
        key = flow["service"]
        if flow["ports"]:
            by_service[key].add("%s/%s" % (flow["protocol"], ",".join(flow["ports"])))
        else:
            by_service[key].add(flow["protocol"])
    items = ["%s %s" % (svc, " ".join(sorted(ports))) for svc, ports in sorted(by_service.items())]
    if len(items) > limit:
        items = items[:limit] + ["+%d more" % (len(items) - limit)]
    return "\\n".join(i if len(i) <= 48 else i[:45] + "..." for i in items)


def diagram_dot(plan: Any, product: str | None = None, title: str | None = None, component: str | None = None) -> str:
    """Communication diagram: instances grouped by zone, one arrow per (source, destination) pair.

    With ``product``, only that product's flows (and the instances they touch) are drawn; with
    ``component``, only the flows to or from that component (a view like a vendor's
    "Mobile Service specific overview").
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
    zones = sorted({instances[n]["zone"] for n in used})
    heading = title or "Communication overview" + "".join(": %s" % x for x in (product, component) if x)
    out = ["digraph voiceops {",
           "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=16, labelloc=t, label=%s, nodesep=0.35, ranksep=1.1,"
           " splines=true, concentrate=false, pad=0.3];" % _dot_id(heading),
           "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=11, color=\"#5b6775\"];",
           "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#3a5a80\", fontcolor=\"#22324a\", arrowsize=0.7];"]
    for idx, zone in enumerate(zones):
        colour = _ZONE_COLOURS[idx % len(_ZONE_COLOURS)]
        desc = (plan.get("zones", {}).get(zone) or {}).get("description") or ""
        label = zone + ("\\n" + desc if desc else "")
        out.append("  subgraph %s {" % _dot_id("cluster_" + zone))
        out.append("    label=%s; style=\"rounded,filled\"; fillcolor=%s; color=\"#c3ccd8\"; fontsize=12;"
                   % (_dot_id(label), _dot_id(colour)))
        for name in used:
            inst = instances[name]
            if inst["zone"] != zone:
                continue
            comps = ", ".join(c for c in inst["components"] if not c.startswith("managed_"))
            where = inst.get("fqdn") or ", ".join(inst["addresses"][:2])
            out.append("    %s [label=%s];" % (_dot_id(name), _dot_id("%s\\n%s\\n%s" % (name, comps, where))))
        out.append("  }")
    for (src, dst) in sorted(pairs):
        flows_here = pairs[(src, dst)]
        style = ""
        if any(f.get("replies_only") for f in flows_here):
            style = ", style=dashed"
        out.append("  %s -> %s [label=%s%s];" % (_dot_id(src), _dot_id(dst), _dot_id(_label(flows_here)), style))
    out.append("}")
    return "\n".join(out) + "\n"


def products(plan: Any) -> list[str]:
    return sorted({f["product"] for f in flows_of(plan)})


def zone_diagram_dot(plan: Any, title: str = "Estate overview: zones and the services between them") -> str:
    """The whole estate at zone level: one node per zone (listing what runs there), one arrow per zone pair."""
    if not isinstance(plan, Mapping) or "instances" not in plan:
        raise ViewError("plan must be a plan with 'instances' (as voiceops.firewall.plan returns it)")
    flows = flows_of(plan)
    pairs: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for flow in flows:
        if flow["src_zone"] != flow["dst_zone"]:
            pairs[(flow["src_zone"], flow["dst_zone"])].append(flow)
    members: dict[str, list[str]] = defaultdict(list)
    for name, inst in sorted(plan["instances"].items()):
        members[inst["zone"]].append(name)
    zones = sorted({z for pair in pairs for z in pair} | set(members))
    out = ["digraph voiceops_zones {",
           "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=16, labelloc=t, label=%s, nodesep=0.5, ranksep=1.4, pad=0.3];"
           % _dot_id(title),
           "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11, color=\"#5b6775\"];",
           "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#3a5a80\", fontcolor=\"#22324a\", arrowsize=0.7];"]
    for idx, zone in enumerate(zones):
        desc = (plan.get("zones", {}).get(zone) or {}).get("description") or ""
        names = members.get(zone, [])
        shown = ", ".join(names[:6]) + (" +%d" % (len(names) - 6) if len(names) > 6 else "")
        label = "%s\\n%s\\n%s" % (zone, desc, shown) if desc else "%s\\n%s" % (zone, shown)
        out.append("  %s [label=%s, fillcolor=%s];" % (_dot_id(zone), _dot_id(label), _dot_id(_ZONE_COLOURS[idx % len(_ZONE_COLOURS)])))
    for (src, dst) in sorted(pairs):
        services = sorted({f["service"] for f in pairs[(src, dst)]})
        text = ", ".join(services)
        if len(services) > 5:
            text = ", ".join(services[:5]) + " +%d" % (len(services) - 5)
        out.append("  %s -> %s [label=%s, penwidth=%.1f];" % (
            _dot_id(src), _dot_id(dst), _dot_id("%s\\n%s" % (_count(len(pairs[(src, dst)]), "flow"), text)),
            min(4.0, 0.8 + len(pairs[(src, dst)]) / 20.0)))
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
