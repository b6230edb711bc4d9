# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A policy diff for reviews: what a change opens or closes, where, and on whose word (internal API).

Given two plans (the base branch's and the change's), :func:`plan_diff` lists the flows added,
removed and changed, grouped by zone pair, each with its enforcement points, why it exists (the
catalog's purpose) and its citation (document title and section, and the file name for
machines), and with the findings of both, the lint findings the change brings and resolves.
:func:`diff_markdown` writes it for a pull-request comment. Both are deterministic.

A flow is the same flow in both plans when its id is (``<entry>:<src>><dst>``); it *changed*
when anything a firewall enforces differs: protocol, ports, ICMP types, the ends' addresses and
names, program, enforcement points, or the direction of replies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import VoiceopsError
from ._views import md_cell

# What a firewall enforces of a flow: a difference here is a change a reviewer must see.
ENFORCED = ("protocol", "ports", "icmp_types", "program", "replies_only", "enforced_by", "src_zone", "dst_zone")
END_FIELDS = ("addresses", "fqdn")


def _check(plan: Any, which: str) -> Mapping[str, Any]:
    if not isinstance(plan, Mapping) or not isinstance(plan.get("flows"), list):
        raise VoiceopsError("%s: give a plan (plan.json, or the plan voiceops.firewall.plan returns)" % which)
    return plan


def _cite(flow: Mapping[str, Any]) -> dict[str, Any]:
    cite = flow.get("citation") or {}
    return {"doc": cite.get("doc"), "title": cite.get("title") or cite.get("doc"), "section": cite.get("section")}


def _entry(flow: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": flow["id"], "service": flow.get("service"), "protocol": flow["protocol"], "ports": list(flow.get("ports") or []),
            "src": flow["src"]["name"], "dst": flow["dst"]["name"], "enforced_by": list(flow.get("enforced_by") or []),
            "why": flow.get("purpose"), "citation": _cite(flow), **({"local": dict(flow["local"])} if flow.get("local") else {})}


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    out = {}
    for key in ENFORCED + ("local",):  # a local rule's owner, reason, ticket or expiry: a reviewer sees it too
        if before.get(key) != after.get(key):
            out[key] = [before.get(key), after.get(key)]
    for end in ("src", "dst"):
        for key in END_FIELDS:
            if before[end].get(key) != after[end].get(key):
                out["%s.%s" % (end, key)] = [before[end].get(key), after[end].get(key)]
    return out


def _finding_key(finding: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(finding.get("id")), str(finding.get("flow")), str(finding.get("subject")), str(finding.get("message")))


def plan_diff(base: Any, change: Any, base_findings: Iterable[Mapping[str, Any]] | None = None,
              change_findings: Iterable[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The flows the change adds, removes and changes, by zone pair, and the findings it brings and resolves."""
    old = {f["id"]: f for f in _check(base, "base")["flows"]}
    new = {f["id"]: f for f in _check(change, "change")["flows"]}
    pairs: dict[tuple[str, str], dict[str, list[Any]]] = {}

    def pair(flow: Mapping[str, Any]) -> dict[str, list[Any]]:
        return pairs.setdefault((flow["src_zone"], flow["dst_zone"]), {"added": [], "removed": [], "changed": []})

    for fid in sorted(new.keys() - old.keys()):
        pair(new[fid])["added"].append(_entry(new[fid]))
    for fid in sorted(old.keys() - new.keys()):
        pair(old[fid])["removed"].append(_entry(old[fid]))
    for fid in sorted(old.keys() & new.keys()):
        changes = _changes(old[fid], new[fid])
        if changes:
            pair(new[fid])["changed"].append(dict(_entry(new[fid]), changes=changes))
    before = {_finding_key(f): f for f in base_findings or []}
    after = {_finding_key(f): f for f in change_findings or []}
    brought = [dict(after[k]) for k in sorted(after.keys() - before.keys())]
    resolved = [dict(before[k]) for k in sorted(before.keys() - after.keys())]
    ordered = [dict(src_zone=s, dst_zone=d, **pairs[(s, d)]) for s, d in sorted(pairs)]
    return {
        "summary": {"added": sum(len(p["added"]) for p in ordered), "removed": sum(len(p["removed"]) for p in ordered),
                    "changed": sum(len(p["changed"]) for p in ordered), "findings_new": len(brought),
                    "findings_resolved": len(resolved)},
        "pairs": ordered,
        "findings": {"new": brought, "resolved": resolved},
    }


def _ports(entry: Mapping[str, Any]) -> str:
    return "%s %s" % (entry["protocol"], ",".join(entry["ports"])) if entry["ports"] else entry["protocol"]


def _value(value: Any) -> str:
    if isinstance(value, Mapping):  # a local rule's marking
        return ", ".join("%s %s" % (k, v) for k, v in sorted(value.items()) if v is not None) or "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def diff_markdown(diff: Mapping[str, Any]) -> str:
    """The diff as Markdown for a pull-request comment: a summary, then a table per zone pair."""
    s = diff["summary"]
    lines = ["# Firewall policy change", ""]
    if not any(s.values()):
        lines += ["No flow is added, removed or changed, and no lint finding comes or goes.", ""]
        return "\n".join(lines)
    lines += ["%d flow(s) added, %d removed, %d changed; %d new lint finding(s), %d resolved." % (
        s["added"], s["removed"], s["changed"], s["findings_new"], s["findings_resolved"]), ""]
    for p in diff["pairs"]:
        lines += ["## %s -> %s" % (p["src_zone"], p["dst_zone"]), "",
                  "| | flow | ports | enforced by | why | source |", "|---|---|---|---|---|---|"]
        for mark, key in (("+ opens", "added"), ("- closes", "removed"), ("~ changes", "changed")):
            for e in p[key]:
                what = md_cell("%s -> %s (%s)" % (e["src"], e["dst"], e["service"]))
                if key == "changed":
                    what += "<br>" + "<br>".join(md_cell("%s: %s -> %s" % (k, _value(v[0]), _value(v[1])))
                                                 for k, v in sorted(e["changes"].items()))
                cite = e["citation"]
                lines.append("| %s | %s | %s | %s | %s | %s § %s |" % (
                    mark, what, md_cell(_ports(e)), md_cell(", ".join(e["enforced_by"]) or "nothing"), md_cell(e["why"] or ""),
                    md_cell(cite["title"] or ""), md_cell(cite["section"] or "")))
        lines.append("")
    for title, key in (("New lint findings", "new"), ("Resolved lint findings", "resolved")):
        if diff["findings"][key]:
            lines += ["## %s" % title, ""]
            lines += ["- **%s** %s: %s" % (md_cell(str(f.get("id"))), md_cell(str(f.get("severity"))), md_cell(str(f.get("message"))))
                      for f in diff["findings"][key]]
            lines.append("")
    return "\n".join(lines)
