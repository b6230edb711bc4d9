# -*- coding: utf-8 -*-
"""playbooks/site.yml (``voiceops.firewall.site``), the README's quick start, run for real against the
example inventory's Windows hosts, simulated (tests/functional/windows): check mode changes nothing,
the real run applies, and a second check finds nothing to change. The edge is left to the Molecule
lab, as in test_sliced_apply.py (``voiceops_apply_edges`` names no host)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from test_plan_playbook import ansible_env

FAKE = REPO / "tests" / "functional" / "windows" / "fake_windows_host.py"
NO_EDGES = "no_edge_in_this_test"


def site(state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # by its collection name, as the README says to run it
    cmd = [sys.executable, str(FAKE), "-i", str(REPO / "inventories" / "example"), "voiceops.firewall.site",
           "-e", "voiceops_apply_edges=%s" % NO_EDGES, "-e", "vault_windows_password=not-a-secret", *extra]
    return subprocess.run(cmd, env=dict(ansible_env(), VOICEOPS_FAKE_WINDOWS_STATE=str(state)),
                          capture_output=True, text=True, timeout=900, check=False)


def _rules(state: Path) -> dict[str, int]:
    return {p.stem: len(json.loads(p.read_text())["rules"]) for p in sorted(state.glob("*.json"))}


def test_site_plans_once_then_edges_then_windows_hosts(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    check = site(state, "--check", "--diff")
    assert check.returncode == 0, check.stdout + check.stderr
    plays = [line for line in check.stdout.splitlines() if line.startswith("PLAY [")]
    assert [p.split("]")[0] for p in plays] == [
        "PLAY [Plan once, from the whole inventory, unless a plan folder is given",
        "PLAY [Apply to the edge firewalls, one at a time",
        "PLAY [Apply to the Windows hosts",
        "PLAY [Remove the temporary plan folder"]
    assert check.stdout.count("TASK [Compute the plan and write each host's part of it]") == 1
    assert set(_rules(state).values()) == {0}  # check mode added nothing
    windows = set(_rules(state))
    assert {"speech01", "timc01", "dc01", "fs01"} <= windows

    applied = site(state)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert all(count > 0 for count in _rules(state).values()), _rules(state)

    again = site(state, "--check")
    assert again.returncode == 0, again.stdout + again.stderr
    recap = again.stdout.split("PLAY RECAP", 1)[1]
    assert all(("\n%s " % host) in recap for host in windows), recap
    assert "changed=0" in recap and "changed=1" not in recap, recap
