# -*- coding: utf-8 -*-
"""The systemd units of the edge's DNS refresh, rendered by Ansible from the role's templates,
pass ``systemd-analyze verify`` (the timer itself cannot run here: no systemd as PID 1).

The role validates ``edge_firewall_dns_refresh`` before it renders the units (tasks/dns.yml); the
last test renders a value that validation would refuse, to show the verify step can fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_plan_playbook import REPO, ansible_env

ROLE = REPO / "roles" / "edge_firewall"
UNITS = ("voiceops-dns-sets.service", "voiceops-dns-sets.timer")

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.template:
        src: "{role}/templates/{{{{ item }}}}.j2"
        dest: "{out}/{{{{ item }}}}"
        mode: "0644"
      loop: {units}
"""


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: scripts/setup.sh installs the Debian package systemd")
    return found


def _render(tmp_path: Path, refresh: str) -> Path:
    out = tmp_path / "units"
    out.mkdir()
    play = tmp_path / "render.yml"
    play.write_text(PLAY.format(role=ROLE, out=out, units=list(UNITS)), encoding="utf-8")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(play),
           "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "edge_firewall_table=voiceops", "-e", "edge_firewall_dns_refresh='%s'" % refresh,
           "-e", "edge_firewall_dns_script=/usr/local/libexec/voiceops/dns-sets",
           "-e", "edge_firewall_dns_config=/etc/voiceops/dns-sets.json"]
    result = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _verify(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_analyze(), "verify", *(str(out / unit) for unit in UNITS)],
                          capture_output=True, text=True, timeout=120, check=False)


def _about_ours(text: str) -> list[str]:
    return [line for line in text.splitlines() if "voiceops-dns-sets" in line]


def test_the_rendered_units_verify_clean(tmp_path):
    out = _render(tmp_path, "5min")
    timer = (out / "voiceops-dns-sets.timer").read_text(encoding="utf-8")
    assert "OnUnitActiveSec=5min" in timer
    service = (out / "voiceops-dns-sets.service").read_text(encoding="utf-8")
    assert "ExecStart=/usr/bin/env python3 /usr/local/libexec/voiceops/dns-sets /etc/voiceops/dns-sets.json" in service
    assert "CapabilityBoundingSet=CAP_NET_ADMIN" in service
    result = _verify(out)
    assert result.returncode == 0 and _about_ours(result.stdout + result.stderr) == [], result.stdout + result.stderr


def test_verify_sees_a_bad_time_span(tmp_path):
    out = _render(tmp_path, "5 bananas")  # what tasks/dns.yml refuses before rendering
    result = _verify(out)
    assert any("Failed to parse" in line for line in _about_ours(result.stdout + result.stderr)), result.stdout + result.stderr
