# -*- coding: utf-8 -*-
"""voiceops.firewall.nft_apply run by Ansible against real nftables, inside a network namespace
that the test creates and removes (so the host's own rule set is never touched).

Covers: apply, idempotency, check mode, diff, drift, a rejected rule set leaving the previous one
in force, refusal to touch other tables, a foreign table surviving, and commit-confirm rollback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from test_plan_playbook import ansible_env

PLAYBOOK = [{
    "name": "nft_apply under test",
    "hosts": "localhost",
    "gather_facts": False,
    "tasks": [
        {"name": "Apply", "register": "r", "ignore_errors": True,
         "voiceops.firewall.nft_apply": {
             "content": "{{ lookup('ansible.builtin.file', content_file) if content_file else omit }}",
             "confirm": "{{ confirm | default(omit) }}",
             "table": "{{ table | default('vo_t') }}",
             "confirm_timeout": "{{ confirm_timeout | default(0) }}",
             "state_dir": "{{ state_dir }}"}},
        {"name": "Save the result", "check_mode": False, "diff": False,
         "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": "{{ result_file }}", "mode": "0600"}},
    ],
}]

RULESET = (
    "table inet vo_t\n"
    "delete table inet vo_t\n"
    "table inet vo_t {\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority filter; policy accept;\n"
    "\t\ttcp dport %d counter accept\n"
    "\t}\n"
    "}\n"
)


class Lab:
    def __init__(self, ns: str, tmp: Path) -> None:
        self.ns = ns
        self.tmp = tmp
        self.state = tmp / "state"
        self.playbook = tmp / "apply.yml"
        self.playbook.write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))

    def nft(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.ns, "nft", *args], capture_output=True, text=True, check=check)

    def listing(self, table: str = "vo_t") -> str | None:
        proc = self.nft("-s", "list", "table", "inet", table, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def apply(self, content: str | None = None, *flags: str, **extra) -> dict:
        content_file = ""
        if content is not None:
            path = self.tmp / ("content-%s.nft" % uuid.uuid4().hex[:6])
            path.write_text(content)
            content_file = str(path)
        result_file = self.tmp / "result.json"
        if result_file.exists():
            result_file.unlink()
        evars = dict(content_file=content_file, state_dir=str(self.state), result_file=str(result_file), **extra)
        varfile = self.tmp / "vars.json"
        varfile.write_text(json.dumps(evars))
        cmd = ["ip", "netns", "exec", self.ns, str(Path(sys.executable).parent / "ansible-playbook"),
               "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
               "-e", "@%s" % varfile, str(self.playbook), *flags]
        proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
        assert result_file.exists(), proc.stdout + proc.stderr
        result = json.loads(result_file.read_text())
        result["_stdout"] = proc.stdout
        return result


@pytest.fixture
def lab(netns, tmp_path):
    return Lab(netns, tmp_path)


def test_apply_then_nothing_to_do(lab):
    first = lab.apply(RULESET % 5060)
    assert first["changed"] and not first.get("failed"), first
    assert "tcp dport 5060" in lab.listing()
    second = lab.apply(RULESET % 5060)
    assert not second["changed"] and not second.get("failed"), second


def test_check_mode_reports_and_changes_nothing_and_diff_shows_it(lab):
    lab.apply(RULESET % 5060)
    before = lab.listing()
    checked = lab.apply(RULESET % 5061, "--check", "--diff")
    assert checked["changed"]
    assert lab.listing() == before
    assert "tcp dport 5060" in checked["diff"]["before"] and "tcp dport 5061" in checked["diff"]["after"]


def test_hand_edit_is_drift_and_gets_replaced(lab):
    lab.apply(RULESET % 5060)
    lab.nft("add", "rule", "inet", "vo_t", "forward", "tcp", "dport", "22", "accept")
    again = lab.apply(RULESET % 5060, "--diff")
    assert again["changed"] and again["drift"]
    assert "dport 22" in again["diff"]["before"]
    assert "dport 22" not in lab.listing()
    assert not lab.apply(RULESET % 5060)["changed"]


def test_rejected_ruleset_leaves_previous_in_force(lab):
    lab.apply(RULESET % 5060)
    before = lab.listing()
    bad = lab.apply((RULESET % 5061).replace("accept", "acept"))
    assert bad.get("failed") and "nft -c rejected the rule set; nothing was changed" in bad["msg"]
    assert lab.listing() == before


def test_foreign_table_survives_and_others_are_refused(lab):
    subprocess.run(["ip", "netns", "exec", lab.ns, "nft", "add", "table", "ip", "foreign_docker"], check=True)
    subprocess.run(["ip", "netns", "exec", lab.ns, "nft", "add", "chain", "ip", "foreign_docker", "docker_forward",
                    "{ type filter hook forward priority 10; policy accept; }"], check=True)
    foreign = subprocess.run(["ip", "netns", "exec", lab.ns, "nft", "-s", "list", "table", "ip", "foreign_docker"],
                             capture_output=True, text=True, check=True).stdout
    assert lab.apply(RULESET % 5060)["changed"]
    assert lab.apply(RULESET % 5070)["changed"]
    refused = lab.apply(RULESET % 5060 + "delete table ip foreign_docker\n")
    assert refused.get("failed") and "names table ip foreign_docker" in refused["msg"]
    flush = lab.apply("flush ruleset\n" + RULESET % 5060)
    assert flush.get("failed") and "flush ruleset" in flush["msg"]
    after = subprocess.run(["ip", "netns", "exec", lab.ns, "nft", "-s", "list", "table", "ip", "foreign_docker"],
                           capture_output=True, text=True, check=True).stdout
    assert after == foreign


def test_unconfirmed_apply_is_rolled_back(lab):
    lab.apply(RULESET % 5060)
    before = lab.listing()
    applied = lab.apply(RULESET % 5099, confirm_timeout=2)
    assert applied["changed"] and applied["token"]
    assert "5099" in lab.listing()
    deadline = time.time() + 15
    while time.time() < deadline and lab.listing() != before:
        time.sleep(0.2)
    assert lab.listing() == before
    late = lab.apply(None, confirm=applied["token"])
    assert late.get("failed") and "restored the previous table" in late["msg"]


def test_confirmed_apply_stays(lab):
    lab.apply(RULESET % 5060)
    applied = lab.apply(RULESET % 5099, confirm_timeout=8)
    confirmed = lab.apply(None, confirm=applied["token"])
    assert not confirmed.get("failed"), confirmed
    time.sleep(max(0, applied["rollback_at"] + 1 - time.time()))
    assert "5099" in lab.listing()


def test_unconfirmed_first_apply_removes_the_table(lab):
    applied = lab.apply(RULESET % 5099, confirm_timeout=1)
    assert applied["token"]
    deadline = time.time() + 15
    while time.time() < deadline and lab.listing() is not None:
        time.sleep(0.2)
    assert lab.listing() is None
