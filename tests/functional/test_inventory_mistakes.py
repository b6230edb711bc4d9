# -*- coding: utf-8 -*-
"""A new user's everyday mistakes, made in a copy of the example inventory and planned with the real
``ansible-playbook playbooks/plan.yml``: the play fails with exactly one problem, the first cause,
and writes nothing (issue 15). The exact wording is pinned in tests/unit/test_estate_messages.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from test_plan_playbook import playbook


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _zone_typo(inv: Path) -> None:
    _edit(inv / "group_vars/all/endpoints.yml", lambda d: d["voiceops_endpoints"]["sip_gw01"].update(zone="pbxx"))


def _zone_typo_external(inv: Path) -> None:
    _edit(inv / "group_vars/all/endpoints.yml", lambda d: d["voiceops_endpoints"]["internet"].update(zone="intrenet"))


def _no_zone(inv: Path) -> None:
    text = (inv / "hosts.yml").read_text()
    (inv / "hosts.yml").write_text(text.replace("fs01: {ansible_host: 10.50.0.21}", "fs01: {ansible_host: 10.55.0.21}"))


def _overlap(inv: Path) -> None:
    _edit(inv / "group_vars/all/zones.yml", lambda d: d["voiceops_zones"]["mgmt"]["networks"].append("10.50.0.0/25"))


def _host_bits(inv: Path) -> None:
    _edit(inv / "group_vars/all/zones.yml", lambda d: d["voiceops_zones"]["speech"].update(networks=["10.30.0.1/24"]))


@pytest.mark.parametrize("mistake,message", [
    (_zone_typo, "voiceops_endpoints.sip_gw01.zone: unknown zone 'pbxx' (did you mean 'pbx'? known zones:"),
    (_zone_typo_external, "voiceops_endpoints.internet.zone: unknown zone 'intrenet' (did you mean 'internet'?"),
    (_no_zone, "hostvars['fs01'].ansible_host: fs01 is in none of the networks of voiceops_zones: add a network that holds 10.55.0.21"),
    (_overlap, "voiceops_zones.mgmt.networks: 10.50.0.0/25 overlaps 10.50.0.0/24 of zone infra; internal zones must not overlap"),
    (_host_bits, "voiceops_zones.speech.networks[0]: 10.30.0.1/24 has host bits set: write the network 10.30.0.0/24"),
], ids=["zone typo", "zone typo, external", "host in no zone", "overlapping zones", "host bits"])
def test_one_mistake_one_message(tmp_path, mistake, message):
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "example", inv)
    mistake(inv)
    out = tmp_path / "out"
    result = playbook(inv, out, "-e", "voiceops_plan_diagrams=false")
    assert result.returncode != 0
    msg = result.stdout.split("msg:", 1)[1].split("problems:", 1)[0]
    flat = " ".join(msg.replace("''", "'").split())  # the YAML callback folds and quotes the line
    assert " ".join(message.split()) in flat, result.stdout
    assert "problems:" in result.stdout and "2 problems" not in flat and " problems:\n" not in msg, msg
    problems = result.stdout.split("problems:", 1)[1].split("PLAY RECAP", 1)[0]
    assert problems.count("\n    - ") == 1, problems  # the list of problems has one item
    assert not out.exists()


def test_the_fix_the_message_names_plans(tmp_path):
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "example", inv)
    _no_zone(inv)
    _edit(inv / "group_vars/all/zones.yml", lambda d: d["voiceops_zones"]["infra"]["networks"].append("10.55.0.0/24"))
    result = playbook(inv, tmp_path / "out", "-e", "voiceops_plan_diagrams=false")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_classic_yealink_phone_in_the_vpnless_branch_stops_the_play(tmp_path):
    """Planned flows alone looked fine (warnings at the bottom of flows.md); the phones would get no
    SIP or RTP to the hosted PBX. The lint gate stops the play with the one finding, naming the
    component to use (the files are written, for review, as for every finding)."""
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "example", inv)
    _edit(inv / "group_vars/all/endpoints.yml",
          lambda d: d["voiceops_endpoints"]["branch_devices"].update(components=["swyx_yealink_phone"]))
    result = playbook(inv, tmp_path / "out", "-e", "voiceops_plan_diagrams=false")
    assert result.returncode != 0
    msg = " ".join(result.stdout.split("fatal: [localhost]: FAILED!", 1)[1].replace("''", "'").split())
    assert "1 finding(s) at or above 'high'" in msg, result.stdout
    assert ("VO109 branch_devices runs swyx_yealink_phone in zone branch, where branch_clients runs swyx_client" in msg
            and "use swyx_hosted_device or swyx_instant_sip_phone there instead" in msg), msg
