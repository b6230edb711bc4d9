# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift audit reports: nft_audit's drift items as readable lines, every target's drift as JUnit XML (internal API).

:func:`drift_text` turns one item of ``nft_audit``'s ``drift`` (``module_utils/_nft_audit.py``)
into a line, writing the set element or rule it carries (nft JSON) the way nft writes it. The
audit records of every target (the edge role's and the Windows role's ``*_audit`` facts: host,
target, missing, extra, modified; the Windows role's also ``policy``, the effective-policy findings
of ``_windows_policy.py``) become JUnit XML (:func:`junit`) and the playbook's drifted check
(:func:`drifted`). Filters ``drift_text``, ``audit_junit`` and ``audit_drifted``
(``plugins/filter/audit.py``).

A policy finding is not drift: the host's rules can match the plan while Group Policy keeps them
from taking effect. Each is its own JUnit test case; only an error (the firewall service stopped or
disabled: nothing is enforced at all) fails the audit, a warning passes with its message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr


def _value_text(value: Any) -> str:
    if isinstance(value, Mapping):
        if "concat" in value:
            return " . ".join(_value_text(v) for v in value["concat"])
        if "prefix" in value:
            return "%s/%s" % (value["prefix"]["addr"], value["prefix"]["len"])
        if "range" in value:
            return "%s-%s" % tuple(_value_text(v) for v in value["range"])
    if isinstance(value, list) and len(value) == 2:  # a verdict map element
        return "%s : %s" % (_value_text(value[0]), _verdict_text(value[1]))
    return str(value)


def _verdict_text(verdict: Any) -> str:
    """``{"jump": {"target": "svc_tcp_443"}}`` -> ``jump svc_tcp_443``, as nft writes it."""
    if isinstance(verdict, Mapping) and len(verdict) == 1:
        (kind, arg), = verdict.items()
        if isinstance(arg, Mapping) and "target" in arg:
            return "%s %s" % (kind, arg["target"])
        if arg is None:
            return kind
    return json.dumps(verdict, sort_keys=True)


def drift_text(item: Mapping[str, Any]) -> str:
    """One nft_audit drift item as a line a person reads."""
    kind, name = item["kind"], item["name"]
    if kind == "rule":
        rule = json.loads(item["item"])
        comment = " comment %r" % rule["comment"] if rule.get("comment") else ""
        return "rule in chain %s:%s %s" % (name, comment, json.dumps(rule["expr"], sort_keys=True))
    detail = "  (%s)" % item["detail"] if item.get("detail") else ""  # a modified item always has one
    if kind == "element":
        return "element %s: %s%s" % (name, _value_text(json.loads(item["item"])), detail)
    return "%s %s%s" % (kind, name, detail)


def _policy(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The record's effective-policy findings (Windows records; none for other targets)."""
    return [f for f in record.get("policy") or [] if isinstance(f, Mapping)]


def policy_failed(record: Mapping[str, Any]) -> bool:
    """Whether a policy finding of the record fails the audit (severity error)."""
    return any(f.get("severity") == "error" for f in _policy(record))


def drifted(records: list[Mapping[str, Any]]) -> bool:
    """Drift on any record, or a policy error (nothing enforced on the host)."""
    return any(r["missing"] or r["extra"] or r["modified"] or policy_failed(r) for r in records)


def junit(records: list[Mapping[str, Any]]) -> str:
    """A test suite per target host; a failing test case per missing, extra or modified item, and a test case per
    policy finding (failing for an error, passing with the message for a warning)."""
    def drift_items(record: Mapping[str, Any]) -> int:
        return len(record["missing"]) + len(record["extra"]) + len(record["modified"])

    def policy_errors(record: Mapping[str, Any]) -> int:
        return sum(1 for f in _policy(record) if f.get("severity") == "error")

    total = sum(max(1, drift_items(r)) + len(_policy(r)) for r in records)
    failures = sum(drift_items(r) + policy_errors(r) for r in records)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites name="voiceops.firewall drift audit" tests="%d" failures="%d">' % (total, failures)]
    for record in sorted(records, key=lambda r: r["host"]):
        items = [(status, text) for status in ("missing", "extra", "modified") for text in record[status]]
        policy = _policy(record)
        lines.append('  <testsuite name=%s tests="%d" failures="%d">' % (
            quoteattr("%s (%s)" % (record["host"], record["target"])), max(1, len(items)) + len(policy),
            len(items) + policy_errors(record)))
        if not items:
            lines.append('    <testcase classname=%s name="in sync with the plan"/>' % quoteattr("voiceops.audit." + record["host"]))
        for status, text in items:
            lines.append("    <testcase classname=%s name=%s>" % (quoteattr("voiceops.audit." + record["host"]), quoteattr("%s: %s" % (status, text))))
            lines.append("      <failure type=%s message=%s>%s</failure>" % (quoteattr(status), quoteattr("%s on %s" % (status, record["host"])), escape(text)))
            lines.append("    </testcase>")
        for finding in policy:
            severity, message = str(finding.get("severity", "")), str(finding.get("message", ""))
            name = "policy %s: %s (%s)" % (severity, finding.get("id", "?"), finding.get("subject", ""))
            lines.append("    <testcase classname=%s name=%s>" % (quoteattr("voiceops.audit.%s.policy" % record["host"]), quoteattr(name)))
            if severity == "error":
                failure = quoteattr("policy error on %s" % record["host"])
                lines.append('      <failure type="policy" message=%s>%s</failure>' % (failure, escape(message)))
            else:
                lines.append("      <system-out>%s</system-out>" % escape(message))
            lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"
