# -*- coding: utf-8 -*-
"""playbooks/explain.yml run for real: a bad question fails with the collection's message alone,
and the answer is readable text, not a Python dict (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_plan_playbook import ansible_env


def explain(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories" / "example"),
           str(REPO / "playbooks" / "explain.yml")]
    for arg in args:
        cmd += ["-e", arg]
    return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


def test_a_misspelt_host_fails_with_the_did_you_mean_line_only():
    proc = explain("src=sip_gw1", "dst=speech01", "protocol=tcp", "port=5061")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert ("voiceops.firewall.explain: src: neither a host or endpoint of the plan nor an\n"
            "        IP address; did you mean sip_gw01? (got ''sip_gw1'')") in proc.stdout, out
    assert "Finalization of task args" not in out
    assert "The filter plugin" not in out
    assert out.count("FAILED!") == 1 and "failed=1" in proc.stdout


def test_several_problems_are_listed_in_one_message():
    proc = explain("src=sip_gw01", "dst=speech1", "protocol=sctp", "port=5061")
    assert proc.returncode != 0
    assert "voiceops.firewall.explain: 2 problems:" in proc.stdout
    assert "- protocol: one of tcp, udp, icmp, gre, esp (got 'sctp')" in proc.stdout
    assert "- dst: neither a host or endpoint of the plan nor an IP address; did you mean speech01? (got 'speech1')" in proc.stdout
    assert "Finalization of task args" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("protocol,verdict", [("tcp", "PERMIT"), ("udp", "DENY")])
def test_the_answer_is_readable_text(protocol, verdict):
    proc = explain("src=sip_gw01", "dst=speech01", "protocol=%s" % protocol, "port=5061")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    answer = proc.stdout.split("TASK [Answer]", 1)[1]
    assert "msg: |-\n        %s: sip_gw01 -> speech01, %s/5061\n" % (verdict, protocol) in answer, answer
    assert "from sip_gw01 (10.10.0.5, zone pbx) to speech01 (10.30.0.10, zone speech)" in answer
    assert "  edge01 (nftables): %s" % verdict.lower() in answer
    assert "{'" not in answer and "['" not in answer  # no Python reprs
    if verdict == "PERMIT":
        assert "  ms_speech_server.sip_tls:sip_gw01>speech01 (tcp 5061)" in answer
        assert "source: Configuring Windows Firewall for Speech Server § Windows Firewall Port Exceptions for Speech Server" in answer
    else:
        assert "no planned flow allows it" in answer


@pytest.mark.parametrize("src,head", [
    ("203.0.113.77", "PERMIT only if 203.0.113.77 is an address of acme.telovip.de: internet -> swyx_vpn01, udp/9944"),
    ("acme.telovip.de", "PERMIT: swyx_hosted -> swyx_vpn01, udp/9944"),
])
def test_an_end_known_only_by_name_is_that_name_not_its_zone(src, head):
    proc = explain("src=%s" % src, "dst=swyx_vpn01", "protocol=udp", "port=9944")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    answer = proc.stdout.split("TASK [Answer]", 1)[1]
    assert "msg: |-\n        %s\n" % head in answer, answer
    assert "  swyx.vpn_in:swyx_hosted>swyx_vpn01 (udp 9944)" in answer
