# -*- coding: utf-8 -*-
"""The filters as Ansible loads them: real templating, ansible-doc, and error messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from example_inventory import example_vars, plan_of
from test_plan_playbook import ansible_env

PLAN = plan_of(*example_vars())  # built from the inventory, not read back from a golden file
FILTERS = ("zone_flows", "zone_matrix", "merge_ports", "flow_table", "select_flows", "nft_ruleset", "nft_report",
           "port_matrix_markdown", "port_matrix_csv", "port_matrix_html", "communication_diagram", "zone_diagram", "zone_colours",
           "diagrams", "lint_junit", "explain", "explain_check", "explain_text", "drift_text", "audit_junit", "audit_drifted", "nft_unlisted_interfaces",
           "plan_diff", "plan_diff_markdown")


def ansible_eval(expression: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Evaluate a Jinja expression with the example plan loaded as the variable ``plan``."""
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"plan": PLAN}))
    cmd = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", "ansible.builtin.debug",
           "-a", "msg={{ %s | to_json }}" % expression, "-e", "@%s" % vars_file]
    env = dict(ansible_env(), ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


def result_of(expression: str, tmp_path: Path):
    proc = ansible_eval(expression, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = proc.stdout.split("=>", 1)[1]
    return json.loads(json.loads(payload)["msg"])


def test_zone_flows(tmp_path):
    flows = result_of("plan | voiceops.firewall.zone_flows('speech', 'speech')", tmp_path)
    assert sorted({f["entry"].split(".")[0] for f in flows}) == ["ms_speech_server"]
    assert {(f["src"]["name"], f["dst"]["name"]) for f in flows} == {("speech01", "timc01"), ("timc01", "speech01")}


def test_zone_matrix_merges_ports(tmp_path):
    matrix = result_of("plan | voiceops.firewall.zone_matrix", tmp_path)
    cell = matrix["speechexec"]["infra"]
    assert {"25", "53", "88", "135", "445", "1433"} <= set(cell["ports"]["tcp"])
    assert "88" in cell["ports"]["udp"]
    assert cell["ports"]["icmp"] == []


def test_merge_ports(tmp_path):
    assert result_of("[5060, '5061', '10000-10999', '11000-12000'] | voiceops.firewall.merge_ports", tmp_path) == [
        "5060-5061", "10000-12000"]


def test_select_flows_with_jmespath(tmp_path):
    ids = result_of("plan | voiceops.firewall.select_flows(\"[?protocol=='esp'].id\")", tmp_path)
    assert ids == ["ms_speech_server.timc_esp:timc01>speech01"]


@pytest.mark.parametrize("expression,message", [
    ("plan | voiceops.firewall.zone_flows('speach')", "voiceops.firewall.zone_flows: src_zone 'speach' is not a zone of this plan"),
    ("[0] | voiceops.firewall.merge_ports", "voiceops.firewall.merge_ports: 0 is not a port or range"),
    ("'nope' | voiceops.firewall.zone_matrix", "voiceops.firewall.zone_matrix: plan must be a plan"),
    ("plan | voiceops.firewall.select_flows('[?')", "voiceops.firewall.select_flows: expression '[?'"),
])
def test_errors_name_the_argument(tmp_path, expression, message):
    proc = ansible_eval(expression, tmp_path)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", FILTERS)
def test_ansible_doc_shows_each_filter(name):
    cmd = [str(Path(sys.executable).parent / "ansible-doc"), "-t", "filter", "voiceops.firewall.%s" % name]
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "voiceops.firewall.%s" % name in proc.stdout
    assert "EXAMPLES" in proc.stdout


def test_ansible_doc_shows_the_plan_module():
    cmd = [str(Path(sys.executable).parent / "ansible-doc"), "voiceops.firewall.plan"]
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "catalog_paths" in proc.stdout
