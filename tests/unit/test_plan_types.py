# -*- coding: utf-8 -*-
"""The plan's TypedDicts (plugin_utils/_plan_types.py) against what the planner returns.

Every mapping in the example plan must have every required key of its type, and no key the type
does not declare (required or NotRequired), all the way down (flows, their ends and citations,
instances, edges, paths, routes, security checks, findings); leaf values are checked against the
declared types too. So a key added to, renamed in or dropped from the planner fails here until
``_plan_types.py`` (and docs/plan-schema.md) say so. The same holds for what the targets render
from the example plan: each edge's report, and each Windows host's rules (rendered and read back)
and profiles.
"""

from __future__ import annotations

import copy
import types
import typing
from typing import Any, Union

import pytest

from example_inventory import example_outcome, example_vars, plan_of, role_program_paths
from windows_fake import FakeWindowsFirewall

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _lint, _nft, _plan_types as T, _windows


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _problems(value: Any, tp: Any, path: str) -> list[str]:
    """Why ``value`` is not a ``tp`` (empty: it is)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return []
    if origin in (Union, types.UnionType):
        tried = [_problems(value, alt, path) for alt in typing.get_args(tp)]
        return [] if any(not p for p in tried) else ["%s: matches none of %s: %s" % (path, tp, tried)]
    if tp is type(None):
        return [] if value is None else ["%s: %r is not None" % (path, value)]
    if _is_typeddict(tp):
        if not isinstance(value, dict):
            return ["%s: %r is not a %s" % (path, value, tp.__name__)]
        out = ["%s: %s lacks required key %r" % (path, tp.__name__, k) for k in sorted(tp.__required_keys__ - set(value))]
        out += ["%s: key %r is not declared in %s" % (path, k, tp.__name__)
                for k in sorted(set(value) - tp.__required_keys__ - tp.__optional_keys__)]
        hints = typing.get_type_hints(tp)
        for key in sorted(set(value) & set(hints)):
            out += _problems(value[key], hints[key], "%s.%s" % (path, key))
        return out
    if origin is list:
        if not isinstance(value, list):
            return ["%s: %r is not a list" % (path, value)]
        (item,) = typing.get_args(tp)
        return [p for i, v in enumerate(value) for p in _problems(v, item, "%s[%d]" % (path, i))]
    if origin is dict:
        if not isinstance(value, dict):
            return ["%s: %r is not a dict" % (path, value)]
        key_tp, item = typing.get_args(tp)
        return [p for k, v in value.items() for p in _problems(k, key_tp, "%s key" % path) + _problems(v, item, "%s[%r]" % (path, k))]
    if tp is int:  # bool is an int to Python, not to the schema
        return [] if isinstance(value, int) and not isinstance(value, bool) else ["%s: %r is not an int" % (path, value)]
    if isinstance(tp, type):
        return [] if isinstance(value, tp) else ["%s: %r is not a %s" % (path, value, tp.__name__)]
    raise AssertionError("%s: the test cannot check the type %r" % (path, tp))


@pytest.fixture(scope="module")
def outcome():
    return example_outcome()


def test_the_example_plan_has_exactly_the_declared_keys(outcome):
    assert _problems(outcome.plan, T.Plan, "plan") == []


def test_the_example_covers_the_optional_keys(outcome):
    """The check above is only as good as the example: it must have the parts that are sometimes absent."""
    plan = outcome.plan
    assert plan["flows"] and plan["edges"] and plan["paths"] and plan["unenforced"] and plan["security_checks"]
    assert {"outbound_default" in i for i in plan["instances"].values()} == {True, False}
    assert {"via" in f["citation"] for f in plan["flows"]} == {True, False}
    assert any(f["src"]["fqdn"] or f["dst"]["fqdn"] for f in plan["flows"])
    assert {bool(c["check"]) for c in plan["security_checks"]} == {True}
    used = {k for c in plan["security_checks"] for k in c["check"]}
    assert used == T.Check.__required_keys__ | T.Check.__optional_keys__, "every key of Check comes from the catalog"


def test_a_plan_with_routes_has_the_declared_route_keys():
    global_vars, host_vars = example_vars()
    global_vars = copy.deepcopy(global_vars)
    global_vars["voiceops_routes"] = [{"from": "clients", "to": "internet", "via": []},
                                      {"from": "speech", "to": "internet", "via": [], "through": ["edge01"]}]
    plan = plan_of(global_vars, host_vars)
    assert [sorted(r) for r in plan["routes"]] == [["from", "to", "via"], ["from", "through", "to", "via"]]
    assert _problems(plan, T.Plan, "plan") == []


def test_findings_have_the_declared_keys(outcome):
    assert outcome.findings
    assert _problems(outcome.findings, list[T.Finding], "findings") == []
    assert all("accepted" in f for f in outcome.findings)  # the pipeline's findings have been through apply_accepts
    raw = _lint.findings(outcome.plan)
    assert _problems(raw, list[T.Finding], "raw findings") == []
    assert not any("accepted" in f for f in raw)  # NotRequired: set only by apply_accepts
    assert {f["citation"] is None for f in raw} == {True, False}


def test_the_checker_sees_drift(outcome):
    """A renamed, an extra and a missing key, and a wrong leaf type, each fail."""
    plan = copy.deepcopy(outcome.plan)
    flow = plan["flows"][0]
    flow["src"]["host"] = flow["src"].pop("name")
    flow["extra"] = 1
    del plan["instances"][sorted(plan["instances"])[0]]["features"]
    plan["summary"]["flows"] = "many"
    text = "\n".join(_problems(plan, T.Plan, "plan"))
    assert "plan.flows[0].src: End lacks required key 'name'" in text
    assert "plan.flows[0].src: key 'host' is not declared in End" in text
    assert "plan.flows[0]: key 'extra' is not declared in Flow" in text
    assert "lacks required key 'features'" in text
    assert "plan.summary.flows: 'many' is not an int" in text


# What the targets render: an edge's report and a Windows host's rules and profiles.

def test_edge_reports_have_the_declared_keys(outcome):
    plan = outcome.plan
    for edge in sorted(plan["edges"]):
        report = _nft.render_edge(plan, edge)[1].as_dict()
        assert _problems(report, T.NftReport, "report of %s" % edge) == []
    elements = [e for v in report["trace"].values() for e in v]
    assert {("service" in e, "ports" in e) for e in elements} == {(True, True), (False, False)}, "maps and sets"
    assert report["by_name"] and report["name_rules"] and report["name_sets"]
    zone_plan = dict(plan, edges=dict(plan["edges"], **{edge: dict(plan["edges"][edge], fqdn_ends="zone")}))
    zone = _nft.render_edge(zone_plan, edge)[1].as_dict()
    assert _problems(zone, T.NftReport, "report of %s" % edge) == []
    assert zone["zone_wide"]


def test_a_flow_no_edge_can_enforce_is_reported_with_the_declared_keys(outcome):
    plan = copy.deepcopy(outcome.plan)
    edge = sorted(plan["edges"])[0]
    flow = next(f for f, place in _nft.edge_placements(plan, edge) if place.kind == "forward" and f["dst"]["addresses"])
    flow["src"] = dict(flow["src"], addresses=["fd00:99::1"])
    flow["dst"] = dict(flow["dst"], addresses=[a for a in flow["dst"]["addresses"] if ":" not in a])
    report = _nft.render_edge(plan, edge)[1].as_dict()
    assert [n["flow"] for n in report["not_enforceable"]] == [flow["id"]]
    assert _problems(report, T.NftReport, "report") == []


@pytest.mark.parametrize("outbound", ["allow", "block"])
def test_windows_rules_and_profiles_have_the_declared_keys(outcome, outbound):
    plan = outcome.plan
    host_vars = example_vars()[1]
    for host in _windows.windows_hosts(plan):
        rules = _windows.render_host(plan, host, program_paths=role_program_paths(host_vars[host]), outbound_default=outbound)[0]
        assert rules and _problems(rules, list[T.WindowsRule], "rules of %s" % host) == []
        # RULE_FIELDS, and icmp_type on an ICMP rule the catalog narrows (the AD pings: echo requests)
        assert [sorted(set(r) - {"icmp_type"}) for r in rules] == [sorted(_windows.RULE_FIELDS)] * len(rules)
        assert all(r["protocol"] in ("ICMPv4", "ICMPv6") for r in rules if "icmp_type" in r)
        # read back from the host, the rules are what was rendered (icmp_type included): a second run changes nothing
        fake_again = FakeWindowsFirewall()
        fake_again.run(_windows.apply_args(_windows.GROUP, _windows.diff_rules(rules, []), []))
        back = [_windows.normalise_rule(r) for r in fake_again.run({"operation": "query", "group": _windows.GROUP})["rules"]]
        assert not any(_windows.diff_rules(rules, back)[k] for k in ("add", "update", "remove"))
        # and as the host reports them back, normalised
        fake = FakeWindowsFirewall()
        fake.run(_windows.apply_args(_windows.GROUP, _windows.diff_rules(rules, []), []))
        query = fake.run({"operation": "query", "group": _windows.GROUP})
        current = [_windows.normalise_rule(r) for r in query["rules"]]
        assert _problems(current, list[T.WindowsRule], "rules of %s read back" % host) == []
    profiles = _windows.desired_profiles(_windows.PROFILES, outbound)
    assert _problems(profiles, dict[str, T.WindowsProfile], "profiles") == []
    assert _problems(_windows.normalise_profiles(query["profiles"]), dict[str, T.WindowsProfile], "profiles read back") == []
