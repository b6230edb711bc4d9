# -*- coding: utf-8 -*-
"""docs/extending.md kept true: its "new product" recipe on a throwaway catalog entry, and its
"new target" recipe on a minimal target added with one registry line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline, _targets
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explain import explain

from conftest import REPO
from example_inventory import example_vars

DOC = (REPO / "docs" / "extending.md").read_text()

RECORDER = {  # step 1 of "A new product": a catalog file's shape, citing a document it lists
    "product": {"id": "rec"},
    "documents": [{"file": "rec-guide", "title": "Recorder guide"}],
    "components": {"recorder": {"platform": "linux"}},
    "flows": [{"id": "rec.sip", "from": "speech_server", "to": "recorder", "protocol": "tcp", "ports": 5080,
               "service": "sip", "purpose": "Speech Server copies calls to the recorder.", "cite": {"doc": "rec-guide", "section": "2"}}],
}


def _run(catalog_extra: list[Any] | None = None, **extra_hosts: dict[str, Any]) -> _pipeline.Outcome:
    global_vars, host_vars = example_vars()
    host_vars = {h: {k: v for k, v in hv.items() if k in _pipeline.HOST_VARS} for h, hv in host_vars.items()}
    host_vars.update(extra_hosts)
    roles = {h: {k: v for k, v in hv.items() if k in _pipeline.ROLE_VARS} for h, hv in example_vars()[1].items()}
    return _pipeline.run(global_vars, host_vars, catalog_extra=catalog_extra, render=True, role_vars=roles)


def test_the_recipes_are_in_the_doc():
    for heading in ("## A new product", "## A new report", "## A new target"):
        assert heading in DOC
    for member in ("`kind`", "`hosts(plan)`", "`files(plan, host, settings)`", "`verdict(plan, host, settings, packet, placement)`",
                   "`drift_check`", "`inputs(plan)`"):
        assert member in DOC, member


def test_a_new_product_is_data_only():
    """Steps 1 and 4: the catalog entry and an inventory that uses it; the plan, its files and
    the edge's rule set carry it without a line of code."""
    outcome = _run([RECORDER], rec01={"ansible_host": "10.30.0.40", "voiceops_components": ["recorder"]})
    flows = [f for f in outcome.plan["flows"] if f["entry"] == "rec.sip"]
    assert {f["src"]["name"] for f in flows} == {"speech01", "speech02"}
    assert all(f["citation"]["doc"] == "rec-guide" for f in flows)
    assert "rec01" in outcome.files["flows.md"] and "Speech Server copies calls to the recorder." in outcome.files["flows.md"]


class _HostsFileTarget:
    """A minimal third target: the plan's managed Linux hosts, one text file each, and a verdict
    from its own rendered lines (a permit line per flow to the host)."""

    kind = "hostsfile"
    drift_check = "none (an example)"

    def hosts(self, plan):
        return sorted(n for n, i in plan["instances"].items() if i["kind"] == "host" and i["platform"] == "linux")

    def _lines(self, plan, host):
        return sorted("permit %s %s %s" % (f["protocol"], ",".join(f["ports"]), f["id"]) for f in plan["flows"]
                      if f["dst"]["name"] == host)

    def files(self, plan, host, settings):
        return {"hostsfile/%s.txt" % host: "\n".join(self._lines(plan, host)) + "\n"}

    def inputs(self, plan):
        return _targets.host_parts(plan, self.hosts(plan))

    def verdict(self, plan, host, settings, packet, placement):
        for line in self._lines(plan, host):
            _permit, proto, ports, flow_id = line.split(" ")
            if proto == packet.protocol and str(packet.port) in ports.split(","):
                return {"kind": self.kind, "verdict": "permit", "rule": line, "flows": [flow_id]}
        return {"kind": self.kind, "verdict": "deny", "rule": "no line"}


@pytest.fixture
def with_a_third_target(monkeypatch):
    registry = dict(_targets.TARGETS)
    registry[_HostsFileTarget.kind] = _HostsFileTarget()  # the one registry line
    monkeypatch.setattr(_targets, "TARGETS", registry)
    return registry


def test_a_new_target_is_one_class_and_one_registry_line(with_a_third_target):
    outcome = _run([RECORDER], rec01={"ansible_host": "10.30.0.40", "voiceops_components": ["recorder"]})
    assert "hostsfile/rec01.txt" in outcome.files  # the writer asks every target
    assert json.loads(outcome.files["apply/rec01.json"])["apply"]["kind"] == "hostsfile"  # and writes each host's part
    assert "permit tcp 5080 rec.sip:speech01>rec01" in outcome.files["hostsfile/rec01.txt"]
    answer = explain(outcome.plan, "speech01", "rec01", "tcp", 5080)  # explain asks it as the destination's firewall
    assert answer["targets"]["rec01"]["kind"] == "hostsfile" and answer["targets"]["rec01"]["verdict"] == "permit"
    assert answer["targets"]["rec01"]["citations"] == [{"doc": "rec-guide", "title": "Recorder guide", "section": "2"}]
    denied = explain(outcome.plan, "speech01", "rec01", "tcp", 5081)
    assert denied["targets"]["rec01"]["verdict"] == "deny"
