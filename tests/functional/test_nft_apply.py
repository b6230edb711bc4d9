# -*- coding: utf-8 -*-
"""voiceops.firewall.nft_apply run by Ansible against real nftables, inside a network namespace
that the test creates and removes (so the host's own rule set is never touched).

Covers: apply, idempotency, check mode, diff, drift, a rejected rule set leaving the previous one
in force, refusal to touch other tables, a foreign table surviving, commit-confirm rollback (also
to the last confirmed table across two unconfirmed applies), the confirmation's messages, and
concurrent applies taking turns on the lock. Scope and ownership: test_nft_apply_scope.py.
"""

from __future__ import annotations

import fcntl
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
             "adopt": "{{ adopt | default(omit) }}",
             "confirm_timeout": "{{ confirm_timeout | default(0) }}",
             "lock_timeout": "{{ lock_timeout | default(omit) }}",
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
    assert bad.get("failed") and "nft rejected the rule set; nothing was changed" in bad["msg"]
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
    assert refused.get("failed") and "table other than inet vo_t" in refused["msg"]
    flush = lab.apply("flush ruleset\n" + RULESET % 5060)
    assert flush.get("failed") and "flushes or deletes tables other than inet vo_t" in flush["msg"]
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
    assert late.get("failed") and "too late: the host already rolled this apply back" in late["msg"]
    assert "%s %d" % (applied["token"], applied["rollback_at"]) in late["msg"]  # the rollback record


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


def wait_for_listing(lab: Lab, want: str | None, seconds: float = 15) -> str | None:
    deadline = time.time() + seconds
    while time.time() < deadline and lab.listing() != want:
        time.sleep(0.2)
    return lab.listing()


def test_second_unconfirmed_apply_rolls_back_to_the_last_confirmed_table(lab):
    lab.apply(RULESET % 5060)
    confirmed = lab.listing()
    first = lab.apply(RULESET % 5061, confirm_timeout=30)  # its window outlasts the test
    assert first["token"] and "5061" in lab.listing()
    second = lab.apply(RULESET % 5062, confirm_timeout=2)
    assert second["token"] and second["token"] != first["token"] and "5062" in lab.listing()
    assert wait_for_listing(lab, confirmed) == confirmed  # not the unconfirmed 5061
    stale = lab.apply(None, confirm=first["token"])
    assert stale.get("failed") and "no pending apply with token %s" % first["token"] in stale["msg"]
    assert "rollback record: %s" % second["token"] in stale["msg"]


def test_wrong_token_while_an_apply_is_pending_names_the_pending_one(lab):
    applied = lab.apply(RULESET % 5061, confirm_timeout=30)
    wrong = lab.apply(None, confirm="0123456789abcdef")
    assert wrong.get("failed"), wrong
    assert "A different apply (token %s) is pending" % applied["token"] in wrong["msg"]
    assert "its rollback fires at" in wrong["msg"] and "restored" not in wrong["msg"]
    assert not lab.apply(None, confirm=applied["token"]).get("failed")


def test_confirm_with_an_empty_pending_file_says_there_is_no_pending_apply(lab):
    lab.state.mkdir(mode=0o700)
    (lab.state / "vo_t.pending").write_text("")
    result = lab.apply(None, confirm="0123456789abcdef")
    assert result.get("failed") and "Traceback" not in json.dumps(result), result
    assert "no pending apply with token 0123456789abcdef, and no rollback has run" in result["msg"]


def test_plain_apply_while_one_is_pending_is_refused(lab):
    lab.apply(RULESET % 5060)
    pending = lab.apply(RULESET % 5061, confirm_timeout=30)
    before = lab.listing()
    plain = lab.apply(RULESET % 5062)
    assert plain.get("failed") and "confirm_timeout: 0, but apply %s is still unconfirmed" % pending["token"] in plain["msg"]
    assert lab.listing() == before
    again = lab.apply(RULESET % 5061, confirm_timeout=30)  # same table, still pending: its token comes back
    assert not again["changed"] and again["token"] == pending["token"]


def test_lock_held_elsewhere_times_out_with_a_clear_error(lab):
    lab.apply(RULESET % 5060)
    before = lab.listing()
    with open(lab.state / "vo_t.lock", "w", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = lab.apply(RULESET % 5061, lock_timeout=1)
    assert result.get("failed") and result["msg"].startswith("lock_timeout: another nft_apply held"), result
    assert lab.listing() == before


CONCURRENT = [{
    "name": "nft_apply from 8 forks at once",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [
        {"name": "Apply", "register": "r", "ignore_errors": True,
         "voiceops.firewall.nft_apply": {"content": "{{ lookup('ansible.builtin.file', content_file) }}",
                                         "state_dir": "{{ state_dir }}"}},
        {"name": "Save the result", "ansible.builtin.copy": {
            "content": "{{ r | to_json }}", "dest": "{{ result_dir }}/{{ inventory_hostname }}.json", "mode": "0600"}},
    ],
}]


def run_forks(lab: Lab, contents: list[str], name: str) -> list[dict]:
    """One ansible-playbook, one local host per content, 8 forks: the module runs concurrently."""
    hosts = {}
    for number, content in enumerate(contents):
        path = lab.tmp / ("%s-%d.nft" % (name, number))
        path.write_text(content)
        hosts["h%d" % number] = {"content_file": str(path)}
    inventory = {"all": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "state_dir": str(lab.state), "result_dir": str(lab.tmp / name)}}}
    (lab.tmp / name).mkdir()
    (lab.tmp / ("%s.yml" % name)).write_text(yaml.safe_dump(inventory))
    (lab.tmp / "concurrent.yml").write_text(yaml.safe_dump(CONCURRENT, sort_keys=False))
    cmd = ["ip", "netns", "exec", lab.ns, str(Path(sys.executable).parent / "ansible-playbook"), "-f", "8",
           "-i", str(lab.tmp / ("%s.yml" % name)), str(lab.tmp / "concurrent.yml")]
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    results = [json.loads((lab.tmp / name / ("h%d.json" % number)).read_text()) for number in range(len(contents))]
    assert [r.get("failed", False) for r in results] == [False] * len(contents), proc.stdout
    return results


def test_eight_concurrent_applies_take_turns_and_leave_a_consistent_state(lab):
    """The lock covers read-decide-apply-record: of 8 identical applies exactly one changes the
    table; of 8 different (large) ones all succeed, and the record matches what is live."""
    golden = (Path(__file__).resolve().parents[1] / "golden" / "example" / "edge" / "edge01.nft").read_text()
    assert 'comment "managed by voiceops.firewall; edge edge01"' in golden
    same = run_forks(lab, [golden] * 8, "same")
    assert sum(r["changed"] for r in same) == 1, [r["changed"] for r in same]

    contents = [golden.replace("edge edge01", "edge edge01 run %d" % number) for number in range(8)]
    results = run_forks(lab, contents, "different")
    assert all(r["changed"] for r in results)
    live = lab.listing("voiceops")
    winners = [n for n in range(8) if 'edge edge01 run %d"' % n in live]
    assert len(winners) == 1, live[:300]
    assert not [p.name for p in lab.state.iterdir() if p.name.endswith(".tmp")]
    assert (lab.state / "voiceops.nft").read_text() == contents[winners[0]]
    assert (lab.state / "voiceops.live").read_text() == live
    assert not lab.apply(contents[winners[0]], table="voiceops")["changed"]
    assert lab.apply(contents[(winners[0] + 1) % 8], "--check", table="voiceops")["changed"]
