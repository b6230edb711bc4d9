# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security lint of a plan, from the catalog's security facts (internal API).

Every rule has a stable id and a severity. A finding can be accepted in the inventory
(``voiceops_lint_accept``) with a reason; accepted findings are still reported, but
marked, and do not fail the gate (``voiceops_lint_fail_on``). The rules are listed in
docs/lint.md.
"""

from __future__ import annotations

import datetime
import fnmatch
import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ._errors import Problems
from ._plan_types import Citation, Finding, Flow, Plan, SecurityCheck, SourceCitation
from ._ports import count, parse_ports
from ._schema import GLOBAL_VARS, clean

SEVERITIES = ("info", "low", "medium", "high", "critical")
BROAD_PORTS = 1000  # more ports than this in one flow is a broad range
BROAD_V4_PREFIX = 16  # a source network this wide (or wider) counts as "a whole zone or any"
BROAD_V6_PREFIX = 48
VOICE_SERVICES = ("sip", "sips", "rtp", "sip-rtp")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str


RULES = {r.id: r for r in (
    Rule("VO101", "high", "a broad port range is open from a whole zone or from any address"),
    Rule("VO102", "critical", "a component is reached by a component its vendor does not trust (TIMC from anything but Speech Server)"),
    Rule("VO103", "high", "a feature is on that the vendor says must be off with this peer (Secure RTP with TIMC)"),
    Rule("VO104", "high", "traffic crosses zones without the feature the vendor asks for (TIMC audio without IPsec)"),
    Rule("VO105", "medium", "plaintext where the product offers TLS"),
    Rule("VO106", "high", "SIP or RTP is reachable from an external zone"),
    Rule("VO107", "medium", "a flow to a host given by name can only be enforced as any address"),
    Rule("VO108", "medium", "flows between two zones cross no edge firewall and reach no host firewall of the plan"),
    Rule("VO109", "high", "a component of one deployment sits in a zone of another (a HostedPBX classic phone in a VPNless branch)"),
    Rule("VO201", "low", "a local rule or a lint acceptance expires soon"),
    Rule("VO202", "critical", "a local rule or a lint acceptance has expired"),
)}
EXPIRY_WARN_DAYS = 14  # VO201 warns this many days before an expiry date (and on it)
EXPIRED = "VO202"  # fails the gate whatever voiceops_lint_fail_on says, and cannot be accepted


def _broad_source(flow: Flow, plan: Plan) -> bool:
    zone: Mapping[str, Any] = plan["zones"].get(flow["src_zone"], {})
    if not flow["src"]["addresses"]:
        return True
    zone_nets = set(zone.get("networks", []))
    for text in flow["src"]["addresses"]:
        net = ipaddress.ip_network(text)
        if text in zone_nets or net.prefixlen <= (BROAD_V4_PREFIX if net.version == 4 else BROAD_V6_PREFIX):
            return True
    return False


def _finding(rule: str, flow_id: str | None, subject: str, message: str, cite: Citation | SourceCitation | None) -> Finding:
    return {"id": rule, "severity": RULES[rule].severity, "title": RULES[rule].title, "flow": flow_id,
            "subject": subject, "message": message, "citation": dict(cite) if cite else None}  # type: ignore[typeddict-item]  # a copy


def _checks(plan: Plan, rule: str) -> list[SecurityCheck]:
    return [c for c in plan.get("security_checks", []) if c["check"].get("rule") == rule]


def _features(plan: Mapping[str, Any], name: str, component: str) -> list[str]:  # .get: any name, any plan.json
    return plan["instances"].get(name, {}).get("features", {}).get(component, [])


@functools.lru_cache(maxsize=1 << 12)
def _port_count(ports: tuple[str, ...]) -> int:
    """How many ports a flow's port list names, once per distinct list (flows share few lists)."""
    return count(parse_ports(list(ports)))


def findings(plan: Plan) -> list[Finding]:
    """Every finding of the plan, sorted by id, then subject.

    It reads only the plan (``plan.json`` will do): the instances' features, each flow's TLS
    twin, and the catalog's checkable security facts (``security_checks``) are recorded there.
    """
    out: list[Finding] = []
    by_name: dict[tuple[str, str, str], list[str]] = {}
    flows = plan["flows"]
    only_from = _checks(plan, "VO102")
    needs_feature = _checks(plan, "VO104")
    for flow in flows:
        fid = flow["id"]
        cite = flow["citation"]
        if flow["ports"] and _port_count(tuple(flow["ports"])) > BROAD_PORTS and _broad_source(flow, plan) \
                and not flow.get("replies_only"):
            out.append(_finding("VO101", fid, flow["dst"]["name"], "%s %s to %s from %s (%s)" % (
                flow["protocol"], ",".join(flow["ports"]), flow["dst"]["name"], flow["src"]["name"],
                ", ".join(flow["src"]["addresses"]) or flow["src"].get("fqdn") or "zone %s" % flow["src_zone"]), cite))
        for fact in only_from:
            if flow["dst"]["component"] == fact["component"] and flow["src"]["component"] not in fact["check"]["only_from"]:
                out.append(_finding("VO102", fid, flow["dst"]["name"], "%s (%s) reaches %s %s on %s %s" % (
                    flow["src"]["name"], flow["src"]["component"], fact["component"], flow["dst"]["name"], flow["protocol"],
                    ",".join(flow["ports"])), fact["citation"]))
        for fact in needs_feature:
            check = fact["check"]
            end = flow[check["end"]]  # type: ignore[literal-required]  # "src" or "dst"
            if flow["entry"] == check["entry"] and flow["src_zone"] != flow["dst_zone"] and end["component"] == fact["component"] \
                    and check["needs_feature"] not in _features(plan, end["name"], fact["component"]):
                out.append(_finding("VO104", fid, end["name"], "%s from %s (zone %s) to %s (zone %s) without the %s feature" % (
                    flow["service"], flow["src"]["name"], flow["src_zone"], flow["dst"]["name"], flow["dst_zone"],
                    check["needs_feature"]), fact["citation"]))
        if flow.get("transport") == "plaintext" and flow.get("tls_alternative"):
            out.append(_finding("VO105", fid, flow["dst"]["name"], "%s over %s %s; the TLS twin is %s (set tls_only)" % (
                flow["service"], flow["protocol"], ",".join(flow["ports"]), flow["tls_alternative"]), cite))
        # .get(zone, {}) is Zone | {}, which mypy cannot .get from
        if flow["service"] in VOICE_SERVICES and plan["zones"].get(flow["src_zone"], {}).get("external"):  # type: ignore[call-overload]
            out.append(_finding("VO106", fid, flow["dst"]["name"], "%s from %s (external zone %s) to %s" % (
                flow["service"], flow["src"]["name"], flow["src_zone"], flow["dst"]["name"]), cite))
        for side in ("src", "dst"):
            end = flow[side]
            if not end["addresses"] and end.get("fqdn"):
                # fqdn is a str here (checked above); "src_zone" or "dst_zone"
                by_name.setdefault((end["name"], end["fqdn"], flow["%s_zone" % side]), []).append(fid)  # type: ignore[arg-type,literal-required]
    for (name, fqdn, zone), ids in sorted(by_name.items()):
        out.append(_finding("VO107", None, name, "%s is given only as %s; targets enforce its %d flows as any address in zone %s"
                            % (name, fqdn, len(ids), zone), None))
    for pair in plan.get("unenforced", []):
        if pair["src_zone"] != pair["dst_zone"]:
            out.append(_finding("VO108", None, "%s>%s" % (pair["src_zone"], pair["dst_zone"]),
                                "%d flow(s) from zone %s to zone %s cross no edge firewall of the plan and reach no Windows "
                                "host firewall: nothing enforces them (join both zones on an edge, or declare the way in "
                                "voiceops_routes)" % (pair["flows"], pair["src_zone"], pair["dst_zone"]), None))
    out += _feature_conflicts(plan)
    out += _zone_conflicts(plan)
    return sorted(out, key=lambda f: (f["id"], f["subject"], f["flow"] or ""))


def _feature_conflicts(plan: Plan) -> list[Finding]:
    """VO103: an instance whose component has a feature on that must not meet the ``with`` components."""
    out = []
    flows = plan["flows"]
    for fact in _checks(plan, "VO103"):
        comp, check = fact["component"], fact["check"]
        others = set(check["with"])
        for name, inst in sorted(plan["instances"].items()):
            if check["feature"] not in inst.get("features", {}).get(comp, []):
                continue
            peers = sorted({f["src"]["name"] for f in flows if f["dst"]["name"] == name and f["src"]["component"] in others}
                           | {f["dst"]["name"] for f in flows if f["src"]["name"] == name and f["dst"]["component"] in others})
            if peers or others & set(inst["components"]):
                out.append(_finding("VO103", None, name, "%s %s has %s on and uses %s (%s)" % (
                    comp, name, check["feature"], ", ".join(sorted(others)), ", ".join(peers) or "on the same host"),
                    fact["citation"]))
    return out


def _some(items: list[str], shown: int = 3) -> str:
    """The first ``shown`` items and how many more: a finding's message stays one readable line at any size."""
    more = len(items) - shown
    return "; ".join(items[:shown]) + (" and %d more" % more if more > 0 else "")


def _zone_conflicts(plan: Plan) -> list[Finding]:
    """VO109: an instance whose component shares its zone with components its vendor documents for another
    deployment (``not_in_zone_with``). One finding per instance and component; ``subject`` is the instance."""
    out = []
    by_zone: dict[str, list[tuple[str, list[str]]]] = {}
    for name, inst in sorted(plan["instances"].items()):
        if inst.get("kind") != "zone":
            by_zone.setdefault(inst["zone"], []).append((name, list(inst["components"])))
    for fact in _checks(plan, "VO109"):
        comp, others = fact["component"], set(fact["check"]["not_in_zone_with"])
        for zone, members in sorted(by_zone.items()):
            meets = ["%s runs %s" % (name, ", ".join(sorted(others & set(comps)))) for name, comps in members if others & set(comps)]
            for name, comps in members:
                if comp in comps and meets:
                    out.append(_finding("VO109", None, name, "%s runs %s in zone %s, where %s: the catalog documents %s for "
                                        "another deployment of the product (security fact %s), so its flows go where this "
                                        "zone's devices do not talk: use %s there instead (or accept VO109 for subject %s "
                                        "with the reason)" % (
                                            name, comp, zone, _some(meets), comp, fact["id"],
                                            " or ".join(fact["check"].get("instead", [])) or "the zone's own component", name),
                                        fact["citation"]))
    return out


def check_accepts(raw: Any) -> list[dict[str, str]]:
    """``voiceops_lint_accept``: a list of {id, flow or subject (globs), reason, owner, expires}; reason required."""
    problems = Problems()
    items = clean(GLOBAL_VARS["voiceops_lint_accept"], raw, "voiceops_lint_accept", problems)
    problems.raise_if_any()
    accepts = []
    for idx, item in enumerate(items):
        path = "voiceops_lint_accept[%d]" % idx
        if item.get("id") not in RULES:
            problems.add(path + ".id", item.get("id"), "not a lint rule (%s)" % ", ".join(sorted(RULES)))
        elif item["id"] == EXPIRED:
            problems.add(path + ".id", item["id"], "an expiry cannot be accepted: extend the expires date or remove the rule")
        if not item.get("reason", "").strip():
            problems.add(path + ".reason", item.get("reason"), "an accepted finding needs a reason")
        if not item.get("flow") and not item.get("subject"):
            problems.add(path, item, "say which finding: flow (a flow id or glob) or subject (a host or glob)")
        accepts.append(dict({k: item[k] for k in ("id", "flow", "subject", "reason", "owner", "expires") if item.get(k)}, path=path))
    problems.raise_if_any()
    return accepts


def apply_accepts(found: list[Finding], accepts: list[dict[str, str]], today: str | None = None) -> list[Finding]:
    """Mark each finding an acceptance matches; an acceptance past its ``expires`` (given ``today``) no longer does."""
    out = []
    for finding in found:
        finding = dict(finding, accepted=None)  # type: ignore[assignment]  # a copy, with "accepted"
        for acc in accepts:
            if acc["id"] != finding["id"] or finding["id"] == EXPIRED:
                continue
            if today is not None and acc.get("expires") and acc["expires"] < today:
                continue
            if "flow" in acc and not fnmatch.fnmatchcase(finding["flow"] or "", acc["flow"]):
                continue
            if "subject" in acc and not fnmatch.fnmatchcase(finding["subject"], acc["subject"]):
                continue
            finding["accepted"] = acc["reason"]
            break
        out.append(finding)
    return out


def gate(found: list[Finding], fail_on: str | None) -> list[Finding]:
    """Unaccepted findings at or above ``fail_on`` (None or 'never': none)."""
    if fail_on in (None, "", "never"):
        return [f for f in found if f["id"] == EXPIRED]
    if not isinstance(fail_on, str) or fail_on not in SEVERITIES:
        problems = Problems()
        problems.add("voiceops_lint_fail_on", fail_on, "one of never, %s" % ", ".join(SEVERITIES))
        problems.raise_if_any()
    floor = SEVERITIES.index(fail_on)
    return [f for f in found if f["id"] == EXPIRED or (not f["accepted"] and SEVERITIES.index(f["severity"]) >= floor)]


def today(value: Any = None) -> str:
    """The date the expiry checks use, ``YYYY-MM-DD``: ``voiceops_today`` when given (tests, reproducible CI
    runs), else the controller's date in UTC."""
    if value is None:
        return datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    problems = Problems()
    checked = clean(GLOBAL_VARS["voiceops_today"], value, "voiceops_today", problems)
    problems.raise_if_any()
    return str(checked)


def _days(first: str, last: str) -> int:
    return (datetime.date.fromisoformat(last) - datetime.date.fromisoformat(first)).days


def expiry_findings(plan: Plan, accepts: list[dict[str, str]], on: str) -> list[Finding]:
    """VO201 and VO202 for the local rules (their flows' ``local``) and the acceptances with an ``expires`` date,
    as of the date ``on``. A date is the last day the rule or acceptance holds; VO202 from the day after."""
    out: list[Finding] = []
    seen: set[str] = set()
    for flow in plan["flows"]:
        local = flow.get("local")
        expires = local.get("expires") if local else None
        if not local or not expires or flow["entry"] in seen:
            continue
        seen.add(flow["entry"])
        who = ", ".join(["owner %s" % local["owner"]] + (["ticket %s" % local["ticket"]] if local.get("ticket") else []))
        out += _expiry(flow["id"], flow["entry"], "local rule %s (%s)" % (flow["entry"], who), expires, on,
                       "remove it from voiceops_local_rules or move its expires date")
    for acc in accepts:
        if acc.get("expires"):
            what = "lint acceptance %s (%s %s%s)" % (acc["path"], acc["id"], acc.get("flow") or acc.get("subject"),
                                                     ", owner %s" % acc["owner"] if acc.get("owner") else "")
            out += _expiry(None, acc["path"], what, acc["expires"], on, "fix the finding, or move the acceptance's expires date")
    return sorted(out, key=lambda f: (f["id"], f["subject"], f["flow"] or ""))


def _expiry(flow_id: str | None, subject: str, what: str, expires: str, on: str, fix: str) -> list[Finding]:
    left = _days(on, expires)
    if left < 0:
        return [_finding(EXPIRED, flow_id, subject, "%s has expired: its last day was %s (today is %s); %s" % (what, expires, on, fix), None)]
    if left <= EXPIRY_WARN_DAYS:
        return [_finding("VO201", flow_id, subject, "%s expires on %s, in %d day(s)" % (what, expires, left), None)]
    return []


def junit(found: list[Finding], fail_on: str | None) -> str:
    """JUnit XML: one test case per finding; failing ones fail, accepted or below the gate are skipped."""
    failing = {id(f) for f in gate(found, fail_on)}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites name="voiceops.firewall lint" tests="%d" failures="%d">' % (len(found), len(failing)),
             '  <testsuite name="voiceops.firewall lint" tests="%d" failures="%d" skipped="%d">' % (
                 len(found), len(failing), len(found) - len(failing))]
    for finding in found:
        name = "%s %s %s" % (finding["id"], finding["subject"], finding["flow"] or "")
        lines.append("    <testcase classname=%s name=%s>" % (quoteattr("voiceops.lint." + finding["id"]), quoteattr(name.strip())))
        if id(finding) in failing:
            lines.append("      <failure type=%s message=%s>%s</failure>" % (
                quoteattr(finding["severity"]), quoteattr(finding["title"]), escape(finding["message"])))
        else:
            why = "accepted: %s" % finding["accepted"] if finding["accepted"] else "severity %s is below the gate" % finding["severity"]
            lines.append("      <skipped message=%s/>" % quoteattr(why))
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"
