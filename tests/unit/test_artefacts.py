# -*- coding: utf-8 -*-
"""The plan's files written by voiceops.firewall.plan(output_dir): same bytes as the filters, written only when changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _artefacts
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError

from example_inventory import VIEWS, example_outcome, target_settings
from golden_check import assert_files_match_golden

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "example"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_nice_json_is_to_nice_json(value):
    assert _artefacts.nice_json(value) == json.dumps(value, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


def test_nice_json_leaves_what_it_does_not_know_to_json_dumps():
    value = {"b": {1: "int key"}, "a": ("tuple", 2)}
    assert _artefacts.nice_json(value) == json.dumps(value, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


@pytest.fixture(scope="module")
def example():
    """The plan and the findings the planner and lint compute now from the example inventory
    (never the golden files: they are what the rendering must produce)."""
    outcome = example_outcome()
    assert outcome.fail_on == "high"
    return outcome.plan, outcome.findings


def test_rendered_files_are_the_golden_files(example):
    plan, findings = example
    files = _artefacts.render(plan, findings, "high", views=VIEWS, settings=target_settings(plan))
    # every file against tests/golden/example, and no golden file (but the SVG drawings) without a file
    assert_files_match_golden(files, GOLDEN, keep=lambda name: not name.endswith(".svg"))


def test_sync_writes_only_what_changed_and_nothing_in_check_mode(example, tmp_path):
    plan, findings = example
    files = _artefacts.render(plan, findings, "high", with_diagrams=False, settings=target_settings(plan))
    out = tmp_path / "out"
    checked = _artefacts.sync(str(out), files, check_mode=True)
    assert all(e["changed"] and e["before"] is None for e in checked)
    assert not out.exists()

    first = _artefacts.sync(str(out), files, check_mode=False)
    assert [e["name"] for e in first] == list(files) and all(e["changed"] for e in first)
    assert (out / "edge" / "edge01.nft").read_text() == files["edge/edge01.nft"]
    assert oct((out / "plan.json").stat().st_mode & 0o777) == "0o644"
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    again = _artefacts.sync(str(out), files, check_mode=False)
    assert not any(e["changed"] for e in again)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes  # untouched
    assert not list(out.rglob(".voiceops-*"))  # no temporary file left

    edited = dict(files, **{"matrix.md": files["matrix.md"] + "one more line\n"})
    changed = _artefacts.sync(str(out), edited, check_mode=True)
    assert [e["name"] for e in changed if e["changed"]] == ["matrix.md"]
    assert (out / "matrix.md").read_text() == files["matrix.md"]  # check mode: still the old text
    [diff] = _artefacts.diffs(changed, edited, max_size=1 << 20)
    assert diff["before"] == files["matrix.md"] and diff["after"].endswith("one more line\n")
    assert diff["before_header"].endswith("matrix.md (on disk)")
    [short] = _artefacts.diffs(changed, edited, max_size=100)
    assert "larger than the 100 bytes shown in a diff" in short["after"]


def test_a_plan_that_cannot_be_rendered_writes_nothing(example, tmp_path):
    plan, findings = example
    broken = json.loads(json.dumps(plan))
    broken["edges"]["edge01"]["zones"]["clients"] = ["eth0"]  # eth0 is the mgmt zone's interface too
    with pytest.raises(VoiceopsError, match="interface already belongs to zone"):
        _artefacts.render(broken, findings, "high")
    assert not os.listdir(tmp_path)
