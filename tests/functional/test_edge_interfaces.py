# -*- coding: utf-8 -*-
"""An interface the edge neither filters nor passes on purpose stops the role before anything is
applied; declared in voiceops_edge_passthrough, it is passed by explicit, counted rules.
Real edge_firewall runs inside a network namespace the test creates (local connection)."""

from __future__ import annotations

import copy
import subprocess

import yaml

from test_audit import APPLY, INVENTORY, nft, run


def _lab(netns, tmp_path, passthrough=None):
    inventory = copy.deepcopy(INVENTORY)
    edge = inventory["all"]["hosts"]["edge"]
    if passthrough is not None:
        edge["voiceops_edge_passthrough"] = passthrough
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "apply.yml").write_text(yaml.safe_dump(APPLY))
    # veth pairs inside the namespace (no dummy driver needed): two zones' interfaces, and two no zone lists
    for name, peer in (("m0", "s0"), ("docker0", "docker1")):
        subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    return netns, tmp_path


def test_an_unlisted_interface_stops_the_role_and_nothing_is_applied(netns, tmp_path):
    ns, tmp = _lab(netns, tmp_path)
    proc = run(ns, tmp, tmp / "apply.yml")
    assert proc.returncode != 0
    text = " ".join(proc.stdout.split())
    assert "edge has interface(s) docker0, docker1 in no zone of voiceops_edge_zones" in text, proc.stdout
    assert "Validate and apply the table" not in proc.stdout
    assert "voiceops" not in nft(ns, "list", "tables")


def test_a_declared_passthrough_interface_is_passed_by_counted_rules(netns, tmp_path):
    ns, tmp = _lab(netns, tmp_path, passthrough=["docker*"])
    proc = run(ns, tmp, tmp / "apply.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    forward = nft(ns, "list", "chain", "inet", "voiceops", "forward")
    assert 'iifname @managed_ifs oifname "docker*" counter packets 0 bytes 0 accept comment "passthrough' in forward
    assert 'iifname "docker*" oifname @managed_ifs counter packets 0 bytes 0 accept comment "passthrough' in forward
    again = run(ns, tmp, tmp / "apply.yml")
    assert "changed=0" in again.stdout, again.stdout
