# -*- coding: utf-8 -*-
"""playbooks/plan.yml run for real with ansible-playbook on the example inventory plus a local rule
and drop logging on the edge: the local rule shows in flows.md, in the edge's rule set and in the
Windows host's rules; the edge logs its drops; once the rule has expired the play fails naming
the rule, its owner and the date, and the plan's files other than the lint's are unchanged."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import REPO
from test_plan_playbook import playbook

RULE = {"name": "rdp_helpdesk", "from": "clients", "to": "speech01", "protocol": "tcp", "ports": 3389,
        "owner": "Helpdesk team", "ticket": "INC-4711", "expires": "2027-03-31"}
LINT_FILES = ("findings.json", "findings.xml", "explorer.html")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local")
    extra_inventory = tmp / "edge_logging.yml"
    extra_inventory.write_text(yaml.safe_dump({"all": {"hosts": {"edge01": {"voiceops_edge_log_drops": {"rate": "10/minute", "burst": 5}}}}}))
    out = tmp / "out"

    def run(today: str):
        extra = tmp / ("vars-%s.json" % today)
        extra.write_text(json.dumps({"voiceops_local_rules": [RULE], "voiceops_today": today, "voiceops_plan_diagrams": False}))
        return playbook(REPO / "inventories" / "example", out, "-i", str(extra_inventory), "-e", "@%s" % extra)

    valid = run("2027-01-01")
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    expired = run("2027-04-01")
    files_after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    return out, valid, files, expired, files_after


def test_the_local_rule_is_in_flows_md_the_edge_and_the_windows_host(runs):
    out, valid, files, _expired, _after = runs
    assert valid.returncode == 0, valid.stdout + valid.stderr
    flows_md = files["flows.md"].decode()
    assert ("| clients (local) | speech01 (local) | tcp | 3389 | rdp_helpdesk |  | ticket INC-4711 | "
            "local rule (owner Helpdesk team, ticket INC-4711, expires 2027-03-31) § rdp_helpdesk: ticket INC-4711 |") in flows_md
    nft = files["edge/edge01.nft"].decode()
    assert 'comment "local.rdp_helpdesk:clients>speech01" : jump svc_tcp_3389' in nft
    assert 'log prefix "voiceops drop clients>speech "' in nft
    windows = json.loads(files["windows/speech01.json"])
    descriptions = [r["description"] for r in windows["rules"]]
    assert any("Local rules: local.rdp_helpdesk (owner Helpdesk team)." in d for d in descriptions), descriptions
    plan = json.loads(files["plan.json"])
    (flow,) = [f for f in plan["flows"] if f["id"] == "local.rdp_helpdesk:clients>speech01"]
    assert flow["local"]["owner"] == "Helpdesk team" and flow["enforced_by"] == ["edge01", "speech01"]


def test_an_expired_local_rule_fails_the_play_naming_its_owner_and_date(runs):
    _out, _valid, files, expired, after = runs
    assert expired.returncode != 0
    text = expired.stdout + expired.stderr
    assert "Stop on unaccepted lint findings" in text
    assert "VO202 local rule local.rdp_helpdesk (owner Helpdesk team, ticket INC-4711) has expired: its last day was 2027-03-31" in text
    # the date reaches only what the gate reports
    changed = sorted(name for name in set(files) | set(after) if files.get(name) != after.get(name))
    assert changed and set(changed) <= set(LINT_FILES), changed
    findings = json.loads(after["findings.json"])
    assert [f["subject"] for f in findings if f["id"] == "VO202"] == ["local.rdp_helpdesk"]
