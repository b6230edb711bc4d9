# -*- coding: utf-8 -*-
"""A plan handed over as a variable (AWX ``set_stats``, an earlier play) is written to a plan
folder by ``voiceops.firewall.plan``'s ``plan`` option with the same apply inputs as a plan
computed from the inventory, so the roles apply it the same way (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO
from test_plan_playbook import ansible_env

PLAYBOOK = REPO / "tests" / "functional" / "handover" / "handover.yml"


def test_a_handed_over_plan_gives_the_same_apply_inputs(tmp_path):
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories" / "example"),
                          str(PLAYBOOK), "-e", "handover_dir=%s" % tmp_path], env=ansible_env(), capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    a, b = tmp_path / "from-variable", tmp_path / "from-inventory"
    names = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert names and all(n.startswith("apply/") for n in names)  # artefacts: apply writes only these
    assert sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()) == names
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert not (tmp_path / "old").exists()
