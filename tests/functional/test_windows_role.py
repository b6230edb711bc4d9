# -*- coding: utf-8 -*-
"""The windows_firewall role run for real with ansible-playbook against simulated Windows hosts.

Every module execution goes through tests/functional/windows/fake_windows_host.py, which
replaces ActionBase._execute_module (one module execution = one command over the host's WinRM
shell) and logs each call; raw commands would be logged and fail. So these tests count the
host round trips the role makes, for the example estate and for hosts with 6 and 501 rules.
What they do not show: that the PowerShell module works on Windows (see docs/windows.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from test_plan_playbook import ansible_env

RUNNER = REPO / "tests" / "functional" / "windows" / "fake_windows_host.py"
SITE = REPO / "tests" / "functional" / "windows" / "site.yml"
sys.path.insert(0, str(REPO / "tests"))
from windows_fake import FakeWindowsFirewall  # noqa: E402

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w  # noqa: E402


def run(state: Path, inventory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(RUNNER), str(state), "-i", str(inventory), str(SITE),
           "-e", "vault_windows_password=not-a-secret", *extra]
    return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=600, check=False)


def calls(state: Path) -> list[dict]:
    log = state / "calls.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return entries


def per_host(entries: list[dict]) -> Counter:
    assert all(e.get("module") == "voiceops.firewall.win_firewall_rules" for e in entries), entries
    return Counter(e["host"] for e in entries)


WINDOWS = ["dc01", "dc02", "fs01", "lic01", "mob01", "slive01", "speech01", "speech02", "sql01", "timc01", "web01", "wfm01"]


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory):
    state = tmp_path_factory.mktemp("fakewin")
    inventory = REPO / "inventories" / "example"
    out = {}
    out["check"] = (run(state, inventory, "--check", "--diff"), calls(state), sorted(p.name for p in state.glob("*.json")),
                    {p.name: p.read_text() for p in state.glob("*.json")})
    out["apply"] = (run(state, inventory), calls(state))
    out["again"] = (run(state, inventory, "--diff"), calls(state))
    return state, out


def test_check_mode_reads_once_per_host_and_changes_nothing(example_runs):
    out = example_runs[1]
    result, entries, _names, before = out["check"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert per_host(entries) == Counter({h: 1 for h in WINDOWS})
    assert {e["operation"] for e in entries} == {"query"}
    # the simulated hosts saved only what they had (nothing): no rule was created
    assert all(json.loads(text)["rules"] == [] for text in before.values())
    assert "changed=1" in result.stdout
    assert "--- before: rule voiceops.firewall-in-tcp-5986 (absent)" in result.stdout
    assert "+++ after: rule voiceops.firewall-in-tcp-5986 (added)" in result.stdout


def test_apply_is_one_read_one_write_and_a_confirmation_per_host(example_runs):
    state, out = example_runs
    result, entries = out["apply"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert per_host(entries) == Counter({h: 3 for h in WINDOWS})
    for host in WINDOWS:
        ops = [e for e in entries if e["host"] == host]
        assert [e["operation"] for e in ops] == ["query", "apply", "confirm"]  # commit-confirm over a fresh connection
        assert json.loads((state / ("%s.json" % host)).read_text())["pending"] == {}  # confirmed: no restore left
    counts = {h: len(json.loads((state / ("%s.json" % h)).read_text())["rules"]) for h in WINDOWS}
    assert counts == {"dc01": 18, "dc02": 17, "fs01": 2, "lic01": 2, "mob01": 2, "slive01": 2, "speech01": 8,
                      "speech02": 4, "sql01": 2, "timc01": 3, "web01": 2, "wfm01": 3}


def test_second_run_changes_nothing_and_only_reads(example_runs):
    out = example_runs[1]
    result, entries = out["again"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert per_host(entries) == Counter({h: 1 for h in WINDOWS})
    assert "changed=1" not in result.stdout and "--- before" not in result.stdout


def _load_test_inventory(tmp_path: Path, rules: int) -> Path:
    """One Windows host whose plan gives `rules` port rules (plus the WinRM rule)."""
    inv = tmp_path / ("inv%d" % rules)
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"windows": {"hosts": {
        "win01": {"ansible_host": "10.0.0.5"}}}}}}))
    winrm = yaml.safe_load((REPO / "inventories" / "example" / "group_vars" / "windows" / "winrm.yml").read_text())
    (inv / "group_vars" / "windows.yml").write_text(yaml.safe_dump(winrm))
    extra = [{"product": {"id": "loadtest", "title": "Load test"},
              "documents": [{"file": "loadtest.md", "title": "Load test"}],
              "components": {"lt_server": {"title": "Server", "platform": "windows"},
                             "lt_client": {"title": "Client", "platform": "any"}},
              "flows": [{"id": "loadtest.p%03d" % i, "from": "lt_client", "to": "lt_server", "protocol": "tcp",
                         "ports": 20000 + 2 * i, "service": "svc%d" % i, "purpose": "Load test.",
                         "cite": {"doc": "loadtest.md", "section": "1"}} for i in range(rules)]}]
    (inv / "group_vars" / "all" / "estate.yml").write_text(yaml.safe_dump({
        "voiceops_zones": {"lan": {"networks": ["10.0.0.0/16"]}, "mgmt": {"networks": ["10.99.0.0/24"]}},
        "voiceops_management_networks": ["10.99.0.0/24"],
        "voiceops_endpoints": {"clients": {"zone": "lan", "addresses": ["10.0.1.0/24"], "components": ["lt_client"]}},
        "voiceops_catalog_extra": extra,
    }))
    (inv / "host_vars").mkdir()
    (inv / "host_vars" / "win01.yml").write_text(yaml.safe_dump({"voiceops_components": ["lt_server"]}))
    return inv


def test_the_number_of_host_calls_does_not_depend_on_the_number_of_rules(tmp_path):
    seen = {}
    for rules in (5, 500):
        state = tmp_path / ("state%d" % rules)
        state.mkdir()
        inv = _load_test_inventory(tmp_path, rules)
        sequence = []
        for extra in (("--check",), (), ()):
            result = run(state, inv, *extra)
            assert result.returncode == 0, result.stdout + result.stderr
            sequence.append([e["operation"] for e in calls(state)])
        stored = json.loads((state / "win01.json").read_text())["rules"]
        assert len(stored) == rules + 1  # + the WinRM rule
        seen[rules] = sequence
    assert seen[5] == seen[500] == [["query"], ["query", "apply", "confirm"], ["query"]]


def test_purge_removes_stale_rules_of_the_group_and_never_a_foreign_rule(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    inv = _load_test_inventory(tmp_path, 2)
    foreign = {"Name": "RemoteDesktop-UserMode-In-TCP", "DisplayName": "Remote Desktop", "Description": "",
               "Group": "@FirewallAPI.dll,-28752", "Enabled": True, "Direction": "Inbound", "Action": "Allow",
               "Profile": 7, "Protocol": "TCP", "LocalPort": ["3389"], "RemotePort": ["Any"],
               "LocalAddress": ["Any"], "RemoteAddress": ["Any"], "Program": "Any"}
    stale = dict(foreign, Name="voiceops.firewall-in-tcp-8080", Group="voiceops.firewall", LocalPort=["8080"])
    FakeWindowsFirewall([foreign, stale]).save(state / "win01.json")
    result = run(state, inv, "--diff", "-e", "windows_firewall_report_foreign=true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["operation"] for e in calls(state)] == ["query", "apply", "confirm"]
    names = {r["Name"] for r in json.loads((state / "win01.json").read_text())["rules"]}
    assert "RemoteDesktop-UserMode-In-TCP" in names and "voiceops.firewall-in-tcp-8080" not in names
    assert "+++ after: rule voiceops.firewall-in-tcp-8080 (removed)" in result.stdout
    assert "1 rule(s) outside group voiceops.firewall open what the plan does not" in result.stderr


def test_a_missing_program_path_fails_before_any_host_call(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    (inv / "group_vars" / "windows" / "windows_firewall.yml").unlink()
    result = run(state, inv, "--limit", "speech01,speech02,fs01")
    assert result.returncode != 0
    assert "windows_firewall_program_paths: the full path of SESWorker.exe is not known" in result.stdout
    assert per_host(calls(state)) == Counter({"fs01": 3})  # query, apply, confirm


def test_the_lockout_guard_refuses_an_apply_that_would_shut_the_controller_out(tmp_path):
    """The host sees the controller at 192.0.2.7, which no management network holds: nothing changes."""
    state = tmp_path / "state"
    state.mkdir()
    inv = _load_test_inventory(tmp_path, 2)
    fake = FakeWindowsFirewall()
    fake.connections = ["192.0.2.7"]
    fake.save(state / "win01.json")
    result = run(state, inv)
    assert result.returncode != 0
    assert "nothing was changed, the new rules would lock the controller out" in result.stdout
    assert "this connection comes from 192.0.2.7 as the host sees it" in result.stdout
    assert [e["operation"] for e in calls(state)] == ["query"]
    assert json.loads((state / "win01.json").read_text())["rules"] == []
    # from the management network it goes through
    fake.connections = ["10.99.0.254"]
    fake.save(state / "win01.json")
    assert run(state, inv).returncode == 0
    assert [e["operation"] for e in calls(state)] == ["query", "apply", "confirm"]


def test_an_unconfirmed_apply_is_restored_by_the_host(tmp_path):
    """The new rules cut the controller off: the confirmation cannot reach the host, the role says when
    the host puts the old rules back, and the scheduled restore does."""
    state = tmp_path / "state"
    state.mkdir()
    inv = _load_test_inventory(tmp_path, 2)
    old = {"Name": "voiceops.firewall-in-tcp-8080", "DisplayName": "old", "Description": "", "Group": "voiceops.firewall",
           "Enabled": True, "Direction": "Inbound", "Action": "Allow", "Profile": 7, "Protocol": "TCP", "LocalPort": ["8080"],
           "RemotePort": ["Any"], "LocalAddress": ["Any"], "RemoteAddress": ["10.0.1.0/24"], "Program": "Any"}
    fake = FakeWindowsFirewall([old])
    fake.refuse_after_apply = True
    fake.save(state / "win01.json")
    before = {r["name"]: r for r in (w.normalise_rule(r) for r in fake.run({"operation": "query", "group": w.GROUP})["rules"])}

    result = run(state, inv)
    assert result.returncode != 0
    assert "could not be reached over a fresh connection after its rules were changed" in result.stdout
    assert "restores the previous rules of voiceops.firewall" in result.stdout
    assert [e["operation"] for e in calls(state)] == ["query", "apply", "confirm"]  # the confirmation was attempted
    saved = json.loads((state / "win01.json").read_text())
    (token, pending), = saved["pending"].items()
    assert {r["name"] for r in pending["rules"]} == set(before)  # what the restore puts back: the group as it was
    assert "voiceops.firewall-in-tcp-8080" not in {r["Name"] for r in saved["rules"]}  # the apply did happen

    # The timeout passes on the host: the scheduled restore runs before anything else is answered.
    saved["pending"][token]["rollback_at"] = 0
    (state / "win01.json").write_text(json.dumps(saved))
    again = run(state, inv, "--check")
    assert again.returncode == 0, again.stdout + again.stderr
    restored = FakeWindowsFirewall.load(state / "win01.json")
    assert restored.pending == {} and not restored.refusing
    after = {r["name"]: r for r in (w.normalise_rule(r) for r in restored.run({"operation": "query", "group": w.GROUP})["rules"])}
    assert after == before
