# -*- coding: utf-8 -*-
"""One list of output files (issue 17): ``_artefacts.OUTPUTS``.

The writer makes exactly the files it lists, and the three places a person reads about them
(the plan module's documentation of ``output_dir``, the header of ``playbooks/plan.yml``, the
table in ``docs/reports.md``) name every one of them.
"""

from __future__ import annotations

import pytest

from conftest import REPO
from example_inventory import example_outcome

from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import module_documentation
from ansible_collections.voiceops.firewall.plugins.plugin_utils._artefacts import OUTPUTS, output_pattern

PATTERNS = [pattern for pattern, _what in OUTPUTS]


def _kinds(name: str) -> list[str]:
    matching = [p for p in PATTERNS if output_pattern(p).match(name)]
    literal = [p for p in matching if "<" not in p]
    return literal or matching  # apply/_plan.json is itself, not an apply/<host>.json


def test_the_writer_makes_exactly_the_listed_files():
    files = example_outcome(render=True).files
    assert files
    for name in files:
        assert len(_kinds(name)) == 1, "%s: not in OUTPUTS (or in it twice)" % name
    used = {_kinds(name)[0] for name in files}
    assert used == set(PATTERNS), "listed but never written: %s" % sorted(set(PATTERNS) - used)


@pytest.mark.parametrize("where,text", [
    ("plugins/modules/plan.py (output_dir)", "\n".join(module_documentation("plan")["options"]["output_dir"]["description"])),
    ("playbooks/plan.yml (header)", (REPO / "playbooks" / "plan.yml").read_text().split("\n- name:")[0]),
    ("docs/reports.md", (REPO / "docs" / "reports.md").read_text()),
])
def test_every_listed_file_is_named_where_people_read(where, text):
    missing = [p for p in PATTERNS if p not in text]
    assert not missing, "%s does not name %s" % (where, ", ".join(missing))
