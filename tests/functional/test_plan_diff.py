# -*- coding: utf-8 -*-
"""The policy diff for reviews (issue 16, item 3): a known change of the example inventory gives the
reviewed diff (golden), and a change that touches nothing gives an empty one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import REPO
from golden_check import assert_matches_golden
from test_plan_playbook import ansible_env, playbook

GOLDEN = REPO / "tests" / "golden" / "diff"


def _diff(base: Path, change: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / "diff.yml"),
           "-e", "voiceops_diff_base=%s" % base, "-e", "voiceops_diff_change=%s" % change]
    return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


def test_a_known_change_gives_the_reviewed_diff_and_no_change_gives_none(tmp_path):
    base = tmp_path / "base"
    assert playbook(REPO / "inventories" / "example", base, "-e", "voiceops_plan_diagrams=false").returncode == 0
    # The change: the softphone RTP range narrowed, and a new workstation subnet in the clients zone.
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    endpoints = inv / "group_vars" / "all" / "endpoints.yml"
    data = yaml.safe_load(endpoints.read_text())
    name, first = next((n, e) for n, e in sorted(data["voiceops_endpoints"].items()) if e.get("zone") == "clients")
    data["voiceops_endpoints"]["workstations_new"] = dict(first, addresses=["10.60.9.0/24"])
    endpoints.write_text(yaml.safe_dump(data))
    zones_file = inv / "group_vars" / "all" / "zones.yml"
    zones = yaml.safe_load(zones_file.read_text())
    zones["voiceops_zones"]["clients"]["networks"].append("10.60.8.0/22")
    zones_file.write_text(yaml.safe_dump(zones))
    change = tmp_path / "change"
    # the lint gate would stop on the change's new high finding (which the diff must show): report it, do not stop
    made = playbook(inv, change, "-e", "voiceops_plan_diagrams=false", "-e", "voiceops_lint_fail_on=never")
    assert made.returncode == 0, made.stdout + made.stderr

    result = _diff(base, change)
    assert result.returncode == 0, result.stdout + result.stderr
    diff = json.loads((change / "diff.json").read_text())
    assert diff["summary"]["added"] > 0 and diff["summary"]["removed"] == 0
    assert [f["id"] for f in diff["findings"]["new"]] == ["VO101"] and "workstations_new" in diff["findings"]["new"][0]["message"]
    assert all(e["src"] == "workstations_new" or e["dst"] == "workstations_new"
               for p in diff["pairs"] for e in p["added"] + p["changed"]), name
    assert all(e["citation"]["title"] and e["citation"]["doc"] for p in diff["pairs"] for e in p["added"])
    assert_matches_golden((change / "diff.md").read_text(), GOLDEN / "example-new-subnet.md")

    same = _diff(base, base)
    assert same.returncode == 0, same.stdout + same.stderr
    assert json.loads((base / "diff.json").read_text())["summary"] == {
        "added": 0, "removed": 0, "changed": 0, "findings_new": 0, "findings_resolved": 0}
    assert "No flow is added, removed or changed" in (base / "diff.md").read_text()
