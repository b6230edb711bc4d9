# -*- coding: utf-8 -*-
"""Apply inputs (issue 13): each managed host's part of the plan, ``apply/<host>.json``.

The roles apply a host from its part alone, so the part must give exactly the rules the whole
plan gives, with any settings the role may be given; and a plan folder that is not one plan
run's, or a name that is not a host's, must be refused before anything is rendered.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import pytest

from conftest import REPO
from example_inventory import example_outcome

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _apply, _pipeline
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge, unlisted_interfaces
from ansible_collections.voiceops.firewall.plugins.plugin_utils._targets import TARGETS, target_inputs
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows import render_host

sys.path.insert(0, str(REPO / "benchmarks"))
import estate as generator  # noqa: E402

EXAMPLE = example_outcome().plan


def _regional_plan():
    """A generated estate with an edge per region (several edges, transit zone, internet breakout)."""
    est = generator.generate(400, seed=3, regional_edges=True)
    host_vars = {h: {k: v for k, v in hv.items() if k in _pipeline.HOST_VARS} for h, hv in est.all_host_vars().items()}
    return _pipeline.run(est.global_vars(), host_vars).plan


REGIONAL = _regional_plan()
PATHS = {"SESWorker.exe": "D:\\Speech\\SESWorker.exe", "W3WP.exe": "%SystemRoot%\\System32\\inetsrv\\w3wp.exe"}
WINDOWS_SETTINGS = [
    {},
    {"outbound_default": "block", "fqdn_remote": "skip", "profiles": ["Domain"], "group": "Voice Ops"},
]


@pytest.mark.parametrize("plan", [EXAMPLE, REGIONAL], ids=["example", "regional"])
def test_every_edge_renders_the_same_table_from_its_part(plan):
    parts = TARGETS["nftables"].inputs(plan)
    assert sorted(parts) == TARGETS["nftables"].hosts(plan) and len(parts) >= 1
    for edge, part in parts.items():
        assert len(part["flows"]) < len(plan["flows"])  # a part, not the plan
        for kwargs in ({}, {"table": "vo_test", "filter_input": False}):
            assert render_edge(part, edge, **kwargs)[0] == render_edge(plan, edge, **kwargs)[0], (edge, kwargs)
        links = list(plan["edges"][edge]["zones"].values())[0] + ["eth99", "lo"]
        assert unlisted_interfaces(part, edge, links) == unlisted_interfaces(plan, edge, links) == ["eth99"]


@pytest.mark.parametrize("plan", [EXAMPLE, REGIONAL], ids=["example", "regional"])
@pytest.mark.parametrize("settings", WINDOWS_SETTINGS, ids=["defaults", "outbound-block"])
def test_every_windows_host_renders_the_same_rules_from_its_part(plan, settings):
    parts = TARGETS["windows"].inputs(plan)
    assert sorted(parts) == TARGETS["windows"].hosts(plan) and len(parts) >= 4
    for host, part in parts.items():
        assert all(host in (f["src"]["name"], f["dst"]["name"]) for f in part["flows"])
        assert list(part["instances"]) == [host]
        assert render_host(part, host, program_paths=PATHS, **settings) == render_host(plan, host, program_paths=PATHS, **settings)


def test_the_files_name_one_plan_run_and_each_host_once():
    files = _apply.files(EXAMPLE, target_inputs(EXAMPLE))
    index = json.loads(files[_apply.INDEX])
    assert index["schema_version"] == EXAMPLE["schema_version"]
    assert index["targets"] == {h: k for k, t in TARGETS.items() for h in t.hosts(EXAMPLE)}
    assert sorted(files) == sorted([_apply.INDEX] + [_apply.path_of(h) for h in index["targets"]])
    plan_text = _apply.plan_json(EXAMPLE)
    assert index["plan_id"] == hashlib.sha256(plan_text.encode()).hexdigest()  # what sha256sum plan.json gives
    for host, kind in index["targets"].items():
        data = json.loads(files[_apply.path_of(host)])
        assert data.pop("apply") == {"host": host, "kind": kind, "plan_id": index["plan_id"]}
        assert data == TARGETS[kind].inputs(EXAMPLE)[host]
        # plan.json's layout: one flow per line, so each line of the part is a line of plan.json
        flow_lines = [line for line in files[_apply.path_of(host)].splitlines() if line.startswith('    {"citation"')]
        assert len(flow_lines) == len(data["flows"]) and all(line.rstrip(",") in plan_text for line in flow_lines)


def _folder(tmp_path, plan=EXAMPLE):
    for name, text in _apply.files(plan, target_inputs(plan)).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_load_gives_the_hosts_part(tmp_path):
    folder = _folder(tmp_path)
    part = _apply.load(str(folder), "speech01", "windows")
    assert part == TARGETS["windows"].inputs(EXAMPLE)["speech01"]
    assert _apply.load(str(folder), "edge01", "nftables") == TARGETS["nftables"].inputs(EXAMPLE)["edge01"]


def _refused(folder, host="speech01", kind="windows"):
    with pytest.raises(VoiceopsError) as info:
        _apply.load(str(folder), host, kind, variable="windows_firewall_plan_dir")
    return info.value.message


def test_load_refuses_what_is_not_this_hosts_input_of_this_run(tmp_path):
    folder = _folder(tmp_path / "a")
    assert "give the absolute path" in _refused("relative/plan")
    assert "is not a folder" in _refused(tmp_path / "nothing-here")
    assert "has no apply input for ntp01" in _refused(folder, host="ntp01")  # an endpoint host: nothing enforced on it
    assert "is not a host name" in _refused(folder, host="../speech01")
    assert "not of nftables target speech01" in _refused(folder, kind="nftables")
    # a file of another plan run in the folder: refused, not applied
    other = _folder(tmp_path / "b", _pipeline.from_plan(dict(EXAMPLE, flows=EXAMPLE["flows"][:3]), {}).plan)
    os.replace(other / "apply" / "speech01.json", folder / "apply" / "speech01.json")
    assert "belongs to another plan run than apply/_plan.json" in _refused(folder)
    (folder / "apply" / "dc01.json").write_text("{not json")
    assert "is not JSON" in _refused(folder, host="dc01")
    (folder / "apply" / "fs01.json").unlink()
    (folder / "apply" / "fs01.json").symlink_to(folder / "apply" / "dc02.json")
    assert "is a symbolic link" in _refused(folder, host="fs01")
    (folder / "apply" / "_plan.json").unlink()
    assert "_plan.json: no such file" in _refused(folder)


def test_every_message_names_the_variable(tmp_path):
    assert _refused(tmp_path / "x").startswith("windows_firewall_plan_dir: ")
