# -*- coding: utf-8 -*-
"""The catalog diff (issue 15, item 5): playbooks/catalog_diff.yml plans the example inventory with a
base catalog folder and with the collection's catalog, and names exactly the flows a catalog change
changes, with their citation; the same catalog gives an empty diff."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from test_plan_playbook import ansible_env

ENTRY = "swyx.yealink_cti"
FLOW = "swyx.yealink_cti:swyx_pbx>yealink_phones"  # the example inventory's PBX and Yealink phones


def _catalog_diff(base_catalog: Path, out: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories" / "example"),
           str(REPO / "playbooks" / "catalog_diff.yml"),
           "-e", "voiceops_base_catalog_dir=%s" % base_catalog, "-e", "voiceops_diff_dir=%s" % out]
    return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


def _with_port(catalog_dir: Path, entry_id: str, old: str, new: str) -> None:
    """Change the ports line of one entry in a copied catalog file (text edit: anchors stay as written)."""
    path = catalog_dir / "swyx.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: %s\n" % entry_id)
    end = text.index("\n  - id:", start + 1)
    block = text[start:end]
    assert block.count("    ports: %s\n" % old) == 1
    path.write_text(text[:start] + block.replace("    ports: %s\n" % old, "    ports: %s\n" % new) + text[end:], encoding="utf-8")


def test_a_changed_port_in_the_catalog_is_the_one_change_of_the_diff(tmp_path):
    base = tmp_path / "base-catalog"
    shutil.copytree(REPO / "catalog", base)
    _with_port(base, ENTRY, "65012", "65013")  # the base catalog had another port for Yealink CTI
    out = tmp_path / "diff"
    result = _catalog_diff(base, out)
    assert result.returncode == 0, result.stdout + result.stderr
    diff = json.loads((out / "diff.json").read_text())
    assert diff["summary"] == {"added": 0, "removed": 0, "changed": 1, "findings_new": 0, "findings_resolved": 0}
    changed = [e for p in diff["pairs"] for e in p["changed"]]
    assert [e["id"] for e in changed] == [FLOW]
    assert changed[0]["changes"] == {"ports": [["65013"], ["65012"]]}
    assert changed[0]["citation"] == {
        "doc": "004_46eb3e2f8c217d31.txt",
        "title": "Swyx InstantPBX / HostedPBX port list (German, as of 04/2020)",
        "section": "HostedPBX classic (mit VPN) / Tisch-Systemtelefone der Modellreihen Yealink TxxS innerhalb Ihres Netzes",
    }
    markdown = (out / "diff.md").read_text()
    assert "0 flow(s) added, 0 removed, 1 changed" in markdown
    assert "ports: 65013 -> 65012" in markdown and "Yealink TxxS" in markdown


def test_the_same_catalog_gives_an_empty_diff(tmp_path):
    base = tmp_path / "base-catalog"
    shutil.copytree(REPO / "catalog", base)
    out = tmp_path / "diff"
    result = _catalog_diff(base, out)
    assert result.returncode == 0, result.stdout + result.stderr
    diff = json.loads((out / "diff.json").read_text())
    assert diff["summary"] == {"added": 0, "removed": 0, "changed": 0, "findings_new": 0, "findings_resolved": 0}
    assert diff["pairs"] == []
    assert "No flow is added, removed or changed" in (out / "diff.md").read_text()


def test_a_folder_without_catalog_files_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "diff"
    result = _catalog_diff(empty, out)
    assert result.returncode != 0
    assert "catalog_dir: no catalog files (*.yml) in this folder" in result.stdout + result.stderr
    assert not out.exists()
