# -*- coding: utf-8 -*-
"""Every playbook the README and the docs tell a user to run is shipped (issue 15: the quick start
ran a site.yml that the collection did not have)."""

from __future__ import annotations

import re

import pytest

from conftest import REPO

DOCS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md"), *(REPO / "roles").glob("*/README.md")])
PLAYBOOKS = REPO / "playbooks"

# playbooks/<name>.yml anywhere; voiceops.firewall.<name> run by ansible-playbook or listed as a playbook;
# any other file that an ansible-playbook command line names
IN_FOLDER = re.compile(r"\bplaybooks/([\w-]+)\.yml\b")
BY_NAME = (re.compile(r"ansible-playbook\b[^\n`]*?\bvoiceops\.firewall\.(\w+)"),
           re.compile(r"`voiceops\.firewall\.(\w+)` \(playbook\)"))
ON_COMMAND_LINE = re.compile(r"ansible-playbook\b[^\n`]*?\s([\w./-]+\.ya?ml)\b")


def references() -> list[tuple[str, str]]:
    """(where, what) for every playbook reference: what is a path relative to the repository."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        where = doc.relative_to(REPO).as_posix()
        found += [(where, "playbooks/%s.yml" % m.group(1)) for m in IN_FOLDER.finditer(text)]
        found += [(where, "playbooks/%s.yml" % m.group(1)) for pattern in BY_NAME for m in pattern.finditer(text)]
        found += [(where, m.group(1)) for m in ON_COMMAND_LINE.finditer(text)]
    return sorted(set(found))


def test_the_docs_name_playbooks():
    named = {what for _where, what in references()}
    assert {"playbooks/plan.yml", "playbooks/apply.yml", "playbooks/site.yml", "playbooks/explain.yml"} <= named


@pytest.mark.parametrize("where,what", references())
def test_each_playbook_the_docs_name_exists(where, what):
    assert (REPO / what).is_file(), "%s names %s, which the collection does not ship" % (where, what)


def test_the_checker_catches_a_missing_playbook():
    assert ON_COMMAND_LINE.search("4. Apply: `ansible-playbook site.yml -i inventories/yours --check`").group(1) == "site.yml"
    assert not (REPO / "site.yml").exists()
    assert BY_NAME[0].search("ansible-playbook -i inv voiceops.firewall.site --check").group(1) == "site"
