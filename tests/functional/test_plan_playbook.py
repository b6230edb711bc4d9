# -*- coding: utf-8 -*-
"""The plan playbook run for real with ansible-playbook on the example inventory.

- its output is pinned by golden files (tests/golden/example). On a difference the test shows a
  unified diff, writes ``<golden file>.actual`` beside the golden file and names the command that
  accepts it after review (tests/golden_check.py); it never rewrites a golden file;
- two runs give byte-identical files and the second run changes nothing;
- bad input fails with the variable path and value, and writes nothing.
"""

from __future__ import annotations

import json
import os
from xml.etree import ElementTree
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import REPO, collection_root
from golden_check import assert_files_match_golden, read_outputs

GOLDEN = REPO / "tests" / "golden" / "example"
# The files the example's plan writes: the reviewed golden folder (not a second hand-kept list;
# tests/unit/test_outputs.py checks the writer against _artefacts.OUTPUTS).
ARTEFACTS = tuple(sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*")
                         if p.is_file() and p.suffix != ".svg" and not p.name.endswith(".actual")))


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collection_root())
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_LOCAL_TEMP"] = env.get("ANSIBLE_LOCAL_TEMP", "/tmp/voiceops-ansible-tmp")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def playbook(inventory: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
           str(REPO / "playbooks" / "plan.yml"), "-e", "voiceops_output_dir=%s" % out, *extra]
    return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "out"
    first = playbook(REPO / "inventories" / "example", out)
    assert first.returncode == 0, first.stdout + first.stderr
    return out, first


def _outputs(root: Path) -> list[str]:
    """Every file the plan writes, except the SVG drawings (graphviz's version shows in them)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix != ".svg")


def test_plan_matches_golden_files(example_run):
    out = example_run[0]
    assert _outputs(out) == sorted(ARTEFACTS), "the plan writes other files than ARTEFACTS names"
    # every file against tests/golden/example, and no golden file (but the SVG drawings) without a file
    assert_files_match_golden(read_outputs(out, ARTEFACTS), GOLDEN, keep=lambda name: not name.endswith(".svg"))


def test_second_run_is_identical_and_changes_nothing(example_run):
    out, first = example_run
    before = {name: (out / name).read_bytes() for name in ARTEFACTS}
    second = playbook(REPO / "inventories" / "example", out)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed=0" in second.stdout
    assert {name: (out / name).read_bytes() for name in ARTEFACTS} == before
    assert "changed=0" not in first.stdout


def test_diagrams_are_drawn_as_svg(example_run):
    out = example_run[0]
    dots = sorted((out / "diagrams").glob("*.dot"))
    assert len(dots) == 7
    for dot in dots:
        svg = ElementTree.parse(dot.with_suffix(".svg")).getroot()
        assert svg.tag.endswith("svg")
        assert "voiceops" in dot.read_text()


def test_lint_gate_fails_the_play_after_writing_the_reports(tmp_path):
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    (inv / "group_vars" / "all" / "lint.yml").write_text("voiceops_lint_fail_on: medium\n")
    out = tmp_path / "out"
    result = playbook(inv, out)
    assert result.returncode != 0
    assert "finding(s) at or above 'medium'" in result.stdout
    findings = json.loads((out / "findings.json").read_text())
    assert {f["id"] for f in findings} >= {"VO101", "VO105", "VO106", "VO107"}
    junit = ElementTree.parse(out / "findings.xml").getroot()
    assert int(junit.get("failures")) == sum(1 for f in findings if f["severity"] in ("medium", "high", "critical"))


def test_plan_json_has_the_documented_fields(example_run):
    out = example_run[0]
    plan = json.loads((out / "plan.json").read_text())
    assert plan["schema_version"] == 2
    for key in ("zones", "instances", "edges", "routes", "paths", "unenforced", "flows", "warnings", "summary"):
        assert key in plan, key
    assert all(edge["kind"] == "nftables" for edge in plan["edges"].values())
    for flow in plan["flows"]:
        for key in ("id", "src_zone", "dst_zone", "src", "dst", "protocol", "ports", "entry", "citation", "enforced_by"):
            assert key in flow, (flow["id"], key)
        assert flow["citation"]["doc"] and flow["citation"]["section"]
    assert [f["id"] for f in plan["flows"]] == sorted(f["id"] for f in plan["flows"])


def test_check_mode_writes_nothing(tmp_path):
    out = tmp_path / "out"
    result = playbook(REPO / "inventories" / "example", out, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not out.exists()


def test_check_diff_after_an_inventory_change_shows_the_changed_files_and_writes_nothing(example_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(example_run[0], out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    speech02 = inv / "host_vars" / "speech02.yml"
    data = yaml.safe_load(speech02.read_text())
    data["voiceops_components"]["speech_server"]["params"] = {"rtp_ports": "41000-41999"}
    speech02.write_text(yaml.safe_dump(data))
    result = playbook(inv, out, "--check", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed=1" in result.stdout
    assert "-\t\t\t10.10.0.5 . 10.30.0.11 comment \"ms_speech_server.rtp:sip_gw01>speech02\" : jump svc_udp_1024-65535" in result.stdout
    assert "+\t\t\t10.10.0.5 . 10.30.0.11 comment \"ms_speech_server.rtp:sip_gw01>speech02\" : jump svc_udp_41000-41999" in result.stdout
    assert "edge/edge01.nft (on disk)" in result.stdout and "matrix.html (plan)" in result.stdout
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def _broken_inventory(tmp_path: Path, host: str, data: dict) -> Path:
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    (inv / "host_vars" / ("%s.yml" % host)).write_text(yaml.safe_dump(data))
    return inv


@pytest.mark.parametrize("host,data,message", [
    ("speech01", {"voiceops_components": {"speech_server": {"params": {"rtp_ports": "40999-40000"}}}},
     "hostvars['speech01'].voiceops_components.speech_server.params.rtp_ports: range 40999-40000 is reversed"),
    ("timc01", {"voiceops_components": {"timc": {"params": {"sip_tls_port": 7425}}}},
     "hostvars['timc01'].voiceops_components.timc.params.sip_tls_port: the catalog says sip_tls_port of timc is not configurable"),
    ("lic01", {"voiceops_components": ["speechexec_licence_server"]},
     "hostvars['lic01'].voiceops_components.speechexec_licence_server: unknown component (did you mean 'speechexec_license_server'?)"),
    ("fs01", {"ansible_host": "192.0.2.9", "voiceops_components": ["file_server"]},
     "hostvars['fs01'].ansible_host: fs01 is in none of the networks of voiceops_zones"),
])
def test_bad_input_fails_and_writes_nothing(tmp_path, host, data, message):
    inv = _broken_inventory(tmp_path, host, data)
    out = tmp_path / "out"
    result = playbook(inv, out)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout
    assert not out.exists()


def _changed_inventory(tmp_path: Path) -> Path:
    """The example inventory with speech02's RTP range narrowed: plan.json, edge01's files and more change."""
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    speech02 = inv / "host_vars" / "speech02.yml"
    data = yaml.safe_load(speech02.read_text())
    data["voiceops_components"]["speech_server"]["params"] = {"rtp_ports": "41000-41999"}
    speech02.write_text(yaml.safe_dump(data))
    return inv


def _tree(root: Path) -> dict[str, object]:
    """Every entry under ``root``, links not followed: bytes of files, targets of links."""
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else "dir"
    return out


def test_a_file_named_edge_fails_the_run_and_changes_nothing(example_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(example_run[0], out)
    shutil.rmtree(out / "edge")
    (out / "edge").write_text("a file where the plan wants a folder\n")
    before = _tree(out)
    result = playbook(_changed_inventory(tmp_path), out)
    assert result.returncode != 0
    assert _tree(out) == before  # plan.json and flows.md too: nothing half-written
    assert "voiceops.firewall.plan: output_dir: %s: edge: exists and is not a folder" % out in result.stdout, result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_an_edge_host_named_with_dot_dots_writes_nothing_outside_the_output_folder(tmp_path):
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    edge_vars = yaml.safe_load((inv / "host_vars" / "edge01.yml").read_text())
    (inv / "host_vars" / "edge01.yml").unlink()
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    hosts["all"]["children"]["edge_firewalls"]["hosts"] = {"../../../escaped": dict(edge_vars, ansible_host="10.99.0.1")}
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    out = tmp_path / "a" / "b" / "out"
    result = playbook(inv, out, "-e", "voiceops_plan_diagrams=false")
    assert not list(tmp_path.rglob("escaped*")), result.stdout  # edge/../../../escaped.nft is tmp_path/a/
    assert result.returncode != 0, result.stdout
    assert "../../../escaped" in result.stdout
    assert not out.exists() or not list(out.rglob("*.nft"))


def test_dot_does_not_write_through_a_linked_svg(example_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(example_run[0], out)
    outside = tmp_path / "precious.txt"
    outside.write_text("not an svg, outside the output folder\n")
    (out / "diagrams" / "estate.svg").unlink()
    (out / "diagrams" / "estate.svg").symlink_to(outside)
    (out / "diagrams" / "estate.dot").write_text("digraph tampered {}\n")  # so the plan rewrites it and dot would draw it
    result = playbook(REPO / "inventories" / "example", out)
    assert outside.read_text() == "not an svg, outside the output folder\n"
    assert result.returncode != 0
    assert "estate.svg: not in %s/diagrams, or exists and is a link" % out in result.stdout, result.stdout


def _no_pwd_run(inv: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """ansible-playbook under ``env -i``: as from cron, no PWD and only the variables ansible needs."""
    env = ansible_env()
    keep = {name: env[name] for name in ("PATH", "ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_NOCOLOR",
                                         "ANSIBLE_FORCE_COLOR", "ANSIBLE_LOCAL_TEMP")}
    cmd = ["env", "-i", *("%s=%s" % item for item in keep.items()),
           str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inv), str(REPO / "playbooks" / "plan.yml"), *extra]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_without_a_working_directory_the_play_asks_for_voiceops_output_dir(tmp_path):
    inv = tmp_path / ("inv-%s" % uuid.uuid4().hex)
    shutil.copytree(REPO / "inventories" / "example", inv)
    at_root = Path("/output") / inv.name
    root_existed = Path("/output").exists()
    try:
        result = _no_pwd_run(inv, tmp_path, "-e", "voiceops_plan_diagrams=false")
        assert not at_root.exists(), "wrote to %s at the file system's root" % at_root
        assert result.returncode != 0, result.stdout
        assert "PWD is not set" in result.stdout and "voiceops_output_dir=/path/to/folder" in result.stdout, result.stdout
        assert not (tmp_path / "output").exists()
    finally:  # the old playbook wrote there: clean up what this test made
        if at_root.exists():
            shutil.rmtree(at_root)
        if not root_existed and Path("/output").exists() and not os.listdir("/output"):
            os.rmdir("/output")


def test_without_a_working_directory_an_explicit_output_dir_works(tmp_path):
    out = tmp_path / "out"
    result = _no_pwd_run(REPO / "inventories" / "example", tmp_path, "-e", "voiceops_output_dir=%s" % out,
                         "-e", "voiceops_plan_diagrams=false")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "plan.json").read_bytes() == (GOLDEN / "plan.json").read_bytes()


def test_the_default_output_dir_is_output_inventory_under_pwd(tmp_path):
    env = dict(ansible_env(), PWD=str(tmp_path))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories" / "example"),
           str(REPO / "playbooks" / "plan.yml"), "-e", "voiceops_plan_diagrams=false"]
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "output" / "example" / "plan.json").read_bytes() == (GOLDEN / "plan.json").read_bytes()


def test_a_misspelt_variable_is_named_with_a_suggestion(tmp_path):
    """voiceops_compnents used to drop the host from the plan without a word."""
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "example", inv)
    host_file = inv / "host_vars" / "fs01.yml"
    host_file.write_text(host_file.read_text().replace("voiceops_components:", "voiceops_compnents:"))
    result = playbook(inv, tmp_path / "out", "-e", "voiceops_plan_diagrams=false", "-e", "voiceops_lint_fail_on=never")
    assert result.returncode == 0, result.stdout
    assert "'voiceops_compnents' (on 'fs01'): not a variable of voiceops.firewall, ignored; did you mean " \
           "voiceops_components?" in " ".join((result.stdout + result.stderr).split()), result.stderr
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert "fs01" not in plan["instances"]
