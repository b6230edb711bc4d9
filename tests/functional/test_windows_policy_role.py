# -*- coding: utf-8 -*-
"""The effective-policy preflight (issue 14, item 7) through real ansible-playbook runs of the
windows_firewall role and of playbooks/audit.yml, against simulated hosts (tests/windows_fake.py)
that report Group Policy, block rules and the firewall service in the documented forms:

- the Windows Firewall service stopped: the role fails before any change, saying what to do;
- Group Policy with local policy merge off: the apply runs, a warning says the rules are not in effect;
- a Group Policy block rule on TCP 5060: a warning names it and the planned flow it blocks;
- the audit records the findings (audit.json ``policy``, a JUnit test case each); a warning does not
  fail it, a stopped service does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from conftest import REPO
from test_plan_playbook import ansible_env
from test_windows_role import RUNNER, calls, run
from windows_fake import FakeWindowsFirewall

GROUP = "voiceops.firewall"
SIP_RULE = "voiceops.firewall-in-tcp-5060"


def _inventory(tmp_path: Path) -> Path:
    """One Windows host (win01) with an inbound SIP flow on TCP 5060 from the PBX network, and WinRM."""
    inv = tmp_path / "inv"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "host_vars").mkdir()
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"windows": {"hosts": {"win01": {"ansible_host": "10.0.0.5"}}}}}}))
    winrm = yaml.safe_load((REPO / "inventories" / "example" / "group_vars" / "windows" / "winrm.yml").read_text())
    (inv / "group_vars" / "windows.yml").write_text(yaml.safe_dump(winrm))
    extra = [{"product": {"id": "siptest", "title": "SIP test"}, "documents": [{"file": "siptest.md", "title": "SIP test"}],
              "components": {"sip_server": {"title": "SIP server", "platform": "windows"},
                             "sip_pbx": {"title": "PBX", "platform": "any"}},
              "flows": [{"id": "siptest.sip", "from": "sip_pbx", "to": "sip_server", "protocol": "tcp", "ports": 5060,
                         "service": "sip", "purpose": "SIP signalling.", "cite": {"doc": "siptest.md", "section": "1"}}]}]
    (inv / "group_vars" / "all" / "estate.yml").write_text(yaml.safe_dump({
        "voiceops_zones": {"lan": {"networks": ["10.0.0.0/16"]}, "mgmt": {"networks": ["10.99.0.0/24"]}},
        "voiceops_management_networks": ["10.99.0.0/24"],
        "voiceops_endpoints": {"pbx": {"zone": "lan", "addresses": ["10.0.1.0/24"], "components": ["sip_pbx"]}},
        "voiceops_catalog_extra": extra,
    }))
    (inv / "host_vars" / "win01.yml").write_text(yaml.safe_dump({"voiceops_components": ["sip_server"]}))
    return inv


@pytest.fixture
def win01(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    return state, _inventory(tmp_path)


def _host(state: Path) -> dict:
    return json.loads((state / "win01.json").read_text())


def _gpo_block_5060() -> dict:
    """A Group Policy rule that blocks TCP 5060 inbound from anywhere (stored form)."""
    return {"Name": "{5b1c0a4e-block-sip}", "DisplayName": "Block SIP", "Description": "", "Group": "", "Enabled": True,
            "Direction": "Inbound", "Action": "Block", "Profile": 7, "Protocol": "TCP", "LocalPort": ["5060"], "RemotePort": ["Any"],
            "LocalAddress": ["Any"], "RemoteAddress": ["Any"], "Program": "Any", "PolicyStoreSource": "Corp firewall baseline"}


def test_a_stopped_firewall_service_fails_the_role_before_any_change(win01):
    state, inv = win01
    fake = FakeWindowsFirewall()
    fake.service = {"Status": "Stopped", "StartType": "Disabled"}
    fake.save(state / "win01.json")
    result = run(state, inv)
    assert result.returncode != 0
    out = result.stdout
    assert "voiceops.firewall.windows_firewall: nothing was changed: the Windows Defender Firewall service (mpssvc) is Stopped " \
           "(start type Disabled)" in out, out
    assert "Start-Service -Name mpssvc" in out
    assert [e["operation"] for e in calls(state)] == ["query"]  # no apply, no confirmation
    assert _host(state)["rules"] == [] and _host(state)["pending"] == {}
    # check mode says the same
    check = run(state, inv, "--check")
    assert check.returncode != 0 and "is Stopped" in check.stdout
    # started again: the apply goes through
    fake.service = {"Status": "Running", "StartType": "Automatic"}
    fake.save(state / "win01.json")
    calls(state)
    again = run(state, inv)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [e["operation"] for e in calls(state)] == ["query", "apply", "confirm"]


def test_group_policy_without_local_merge_warns_and_the_apply_still_runs(win01):
    state, inv = win01
    fake = FakeWindowsFirewall(numeric_enums=False)
    fake.gpo_profiles["Domain"]["AllowLocalFirewallRules"] = "False"
    fake.save(state / "win01.json")
    result = run(state, inv, "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["operation"] for e in calls(state)] == ["query", "apply", "confirm"]
    assert {r["Name"] for r in _host(state)["rules"]} == {SIP_RULE, "voiceops.firewall-in-tcp-5986"}  # kept for when the GPO changes
    text = " ".join((result.stdout + result.stderr).split())
    assert "effective policy, local-rules-ignored (Domain): Group Policy sets AllowLocalFirewallRules False for the Domain " \
           "profile (local policy merge off)" in text, text
    assert "2 rule(s) of group voiceops.firewall are written to the local store and kept, but are not in effect in that profile" in text
    assert "policy_findings:" in result.stdout and "id: local-rules-ignored" in result.stdout  # the task result (-v, YAML)
    # the next run changes nothing and says it again
    again = run(state, inv)
    assert again.returncode == 0 and "changed=0" in again.stdout
    assert [e["operation"] for e in calls(state)] == ["query"]
    assert "local-rules-ignored (Domain)" in " ".join(again.stderr.split())


def test_a_group_policy_block_rule_on_5060_is_named_with_the_planned_flow(win01):
    state, inv = win01
    fake = FakeWindowsFirewall()
    fake.gpo_rules.append(_gpo_block_5060())
    fake.save(state / "win01.json")
    result = run(state, inv)
    assert result.returncode == 0, result.stdout + result.stderr
    sip = next(r for r in _host(state)["rules"] if r["Name"] == SIP_RULE)
    flow = sip["Description"].split("Flows: ")[1]
    assert flow.startswith("siptest.sip:")
    text = " ".join(result.stderr.split())
    assert "effective policy, block-overlap ({5b1c0a4e-block-sip}): block rule {5b1c0a4e-block-sip} (Block SIP, from Group " \
           "Policy (GPO Corp firewall baseline)) blocks traffic that the planned rules allow: all of %s" % SIP_RULE in text, text
    assert "cannot take effect where they meet it: %s." % flow in text
    assert "5986" not in text.split("block-overlap")[1].split("[WARNING]")[0]  # the WinRM rule is not blocked


def _audit(state: Path, inv: Path, out: Path) -> tuple[subprocess.CompletedProcess[str], list[dict], ElementTree.Element]:
    cmd = [sys.executable, str(RUNNER), str(state), "-i", str(inv), str(REPO / "playbooks" / "audit.yml"),
           "-e", "vault_windows_password=not-a-secret", "-e", "voiceops_output_dir=%s" % out]
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=600, check=False)
    records = json.loads((out / "audit.json").read_text())
    return proc, records, ElementTree.parse(out / "audit.xml").getroot()


def test_the_audit_records_policy_findings_and_fails_only_on_an_error(win01, tmp_path):
    state, inv = win01
    FakeWindowsFirewall().save(state / "win01.json")
    assert run(state, inv).returncode == 0
    fake = FakeWindowsFirewall.load(state / "win01.json")
    fake.gpo_profiles["Domain"]["AllowLocalFirewallRules"] = "False"
    fake.gpo_rules.append(_gpo_block_5060())
    fake.save(state / "win01.json")
    before = _host(state)["rules"]
    calls(state)

    proc, records, junit = _audit(state, inv, tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # in sync; the findings are not drift
    record, = records
    assert (record["missing"], record["extra"], record["modified"], record["policy_failed"]) == ([], [], [], False)
    assert [(f["id"], f["severity"], f["subject"]) for f in record["policy"]] == [
        ("block-overlap", "warning", "{5b1c0a4e-block-sip}"), ("local-rules-ignored", "warning", "Domain")]
    assert junit.get("failures") == "0" and junit.get("tests") == "3"
    cases = {c.get("name"): c for c in junit.iter("testcase")}
    assert set(cases) == {"in sync with the plan", "policy warning: block-overlap ({5b1c0a4e-block-sip})",
                          "policy warning: local-rules-ignored (Domain)"}
    policy_case = cases["policy warning: local-rules-ignored (Domain)"]
    assert policy_case.get("classname") == "voiceops.audit.win01.policy"
    assert "AllowLocalFirewallRules False" in policy_case.findtext("system-out")

    fake = FakeWindowsFirewall.load(state / "win01.json")
    fake.service = {"Status": "Stopped", "StartType": "Automatic"}
    fake.save(state / "win01.json")
    proc, records, junit = _audit(state, inv, tmp_path / "out2")
    assert proc.returncode != 0
    assert "Drift on ['win01']" in proc.stdout, proc.stdout
    record, = records
    assert record["policy_failed"] is True and record["missing"] == [] and record["modified"] == []
    assert [f["id"] for f in record["policy"]][0] == "service-stopped"
    failure = next(c for c in junit.iter("testcase") if c.get("name") == "policy error: service-stopped (mpssvc)").find("failure")
    assert failure.get("type") == "policy" and "is Stopped" in failure.text
    assert junit.get("failures") == "1"
    assert {e["operation"] for e in calls(state)} == {"query"}  # the audit changed nothing
    assert _host(state)["rules"] == before
