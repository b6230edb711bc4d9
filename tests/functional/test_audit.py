# -*- coding: utf-8 -*-
"""Drift audit against real nftables: the edge role applies the plan inside a network namespace the
test creates (Ansible's local connection runs there), the audit reports it in sync (the marker
comment nft_apply adds to the table is no drift), a hand edit is named as drift, and nothing is
changed by the audit."""

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

INVENTORY = {
    "all": {
        "hosts": {
            "edge": {"ansible_connection": "local", "ansible_host": "10.99.0.1",
                     "voiceops_edge_zones": {"mgmt": "m0", "speech": "s0", "pbx": "p0"}},
            "speech01": {"ansible_host": "10.30.0.10", "ansible_connection": "winrm",
                         "voiceops_components": {"speech_server": {"params": {"rtp_ports": "40000-40999"}}}},
        },
        "vars": {
            "voiceops_zones": {"mgmt": {"networks": ["10.99.0.0/24"]}, "speech": {"networks": ["10.30.0.0/24"]},
                               "pbx": {"networks": ["10.10.0.0/24"]}},
            "voiceops_management_networks": ["10.99.0.0/24"],
            "voiceops_endpoints": {"sip_gw": {"zone": "pbx", "addresses": ["10.10.0.5"], "components": ["sip_gateway"]}},
            "voiceops_lint_fail_on": "never",
        },
    }
}

APPLY = [{"name": "Apply", "hosts": "edge", "gather_facts": False,
          "roles": [{"role": "voiceops.firewall.edge_firewall",
                     "vars": {"edge_firewall_confirm_timeout": 30, "edge_firewall_state_dir": "{{ state_dir }}"}}]}]


def run(ns: str, tmp: Path, playbook: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", "netns", "exec", ns, str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp / "hosts.yml"),
           "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "state_dir=%s" % (tmp / "state"),
           "-e", "voiceops_output_dir=%s" % (tmp / "out"), str(playbook), *extra]
    return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


def audit(ns: str, tmp: Path) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    proc = run(ns, tmp, REPO / "playbooks" / "audit.yml", "-e", "voiceops_audit_hosts=edge")
    records = json.loads((tmp / "out" / "audit.json").read_text())
    return proc, records


def nft(ns: str, *args: str) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, "nft", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def lab(netns, tmp_path):
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(INVENTORY))
    (tmp_path / "apply.yml").write_text(yaml.safe_dump(APPLY))
    return netns, tmp_path


def test_audit_finds_nothing_then_names_a_hand_edit(lab):
    ns, tmp = lab
    proc, records = audit(ns, tmp)  # nothing applied yet: everything is missing
    assert proc.returncode != 0 and "Drift on" in proc.stdout
    assert records[0]["table_present"] is False and records[0]["missing"]

    applied = run(ns, tmp, tmp / "apply.yml")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = run(ns, tmp, tmp / "apply.yml")
    assert "changed=0" in again.stdout, again.stdout

    # nft_apply marks the table as the collection's (a table comment); that is no drift
    assert nft(ns, "list", "table", "inet", "voiceops").startswith(
        'table inet voiceops {\n\tcomment "managed by voiceops.firewall; edge edge"\n')
    proc, records = audit(ns, tmp)
    assert proc.returncode == 0, proc.stdout
    assert records == [{"host": "edge", "target": "nftables", "table_present": True, "missing": [], "extra": [],
                        "modified": [], "foreign": []}]

    before = nft(ns, "-s", "list", "table", "inet", "voiceops")
    nft(ns, "delete", "element", "inet", "voiceops", "pbx__speech_udp4", "{ 10.10.0.5 . 10.30.0.10 }")
    nft(ns, "add", "rule", "inet", "voiceops", "fwd_pbx__speech", "tcp", "dport", "3389", "accept")
    edited = nft(ns, "-s", "list", "table", "inet", "voiceops")
    assert edited != before

    proc, records = audit(ns, tmp)
    assert proc.returncode != 0
    record = records[0]
    assert record["missing"] == ["element pbx__speech_udp4: 10.10.0.5 . 10.30.0.10 : jump svc_udp_40000-40999  "
                                 "(ms_speech_server.rtp:sip_gw>speech01)"]
    assert len(record["extra"]) == 1 and "fwd_pbx__speech" in record["extra"][0] and "3389" in record["extra"][0]
    assert nft(ns, "-s", "list", "table", "inet", "voiceops") == edited  # the audit changed nothing
    junit = ElementTree.parse(tmp / "out" / "audit.xml").getroot()
    assert junit.get("failures") == "2"


def test_persistence_writes_an_include_the_nftables_service_loads(lab):
    ns, tmp = lab
    conf = tmp / "nftables.conf"
    conf.write_text("#!/usr/sbin/nft -f\nflush ruleset\n")
    persist = tmp / "nftables.d" / "voiceops.nft"
    extra = ("-e", "edge_firewall_persist=true", "-e", "edge_firewall_persist_path=%s" % persist,
             "-e", "edge_firewall_nftables_conf=%s" % conf)
    first = run(ns, tmp, tmp / "apply.yml", *extra)
    assert first.returncode == 0, first.stdout + first.stderr
    assert 'include "%s"' % persist in conf.read_text().splitlines()
    assert "table inet voiceops {" in persist.read_text()
    second = run(ns, tmp, tmp / "apply.yml", *extra)
    assert "changed=0" in second.stdout, second.stdout
    # what the service would load at boot is what is in force now
    check = subprocess.run(["ip", "netns", "exec", ns, "nft", "-c", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    assert nft(ns, "-s", "list", "table", "inet", "voiceops") == _listing_of(ns, persist)


def _listing_of(ns: str, path: Path) -> str:
    """Load ``path`` into a throw-away namespace inside ``ns`` and list the table."""
    return subprocess.run(["ip", "netns", "exec", ns, "unshare", "--net", "sh", "-c",
                           'nft -f "$1" && nft -s list table inet voiceops', "sh", str(path)],
                          capture_output=True, text=True, check=True).stdout
