# -*- coding: utf-8 -*-
"""The catalog against the port facts of each vendor document.

Two directions:
- every fact in tests/unit/seed_facts/*.yml (read off the document by a person) is in the
  catalog, as an entry that cites that document, between those roles, with that protocol and
  at least those default ports; a fact with ``direction: unstated`` (the document gives no
  direction) matches an entry either way round, and that entry's condition must state the
  catalog's reading of the direction (``Reading (direction)``), the one place it is recorded;
- every port number the catalog takes from a document's text really occurs in that text
  (entries whose number comes from a further guide say so with ``cite.via``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _ports

FACTS_DIR = Path(__file__).parent / "seed_facts"


def _fact_files() -> list[Path]:
    return sorted(FACTS_DIR.glob("*.yml"))


def _default_ports(catalog, entry):
    if entry.ports is not None:
        return entry.ports
    if entry.param is None:
        return None
    role = entry.dst if entry.param_on == "dst" else entry.src
    sets = [catalog.components[c].parameters[entry.param].default for c in catalog.role_players(role)]
    sets = [s for s in sets if s]
    return _ports.union(*sets) if sets else ()


def _facts():
    for path in _fact_files():
        data = yaml.safe_load(path.read_text())
        for idx, fact in enumerate(data["facts"]):
            yield pytest.param(data["doc"], fact, id="%s-%d-%s" % (path.stem, idx, fact.get("note", "")[:30]))


def test_every_document_has_facts(seeds_dir):
    docs = sorted(p.name for p in seeds_dir.glob("*.txt"))
    covered = sorted(yaml.safe_load(p.read_text())["doc"] for p in _fact_files())
    assert covered == docs


@pytest.mark.parametrize("doc,fact", list(_facts()))
def test_fact_is_in_catalog(catalog, doc, fact):
    want = _ports.parse_ports(fact["ports"]) if fact.get("ports") is not None else None
    candidates = []
    unstated = fact.get("direction") == "unstated"
    ends = {(fact["from"], fact["to"]), (fact["to"], fact["from"])} if unstated else {(fact["from"], fact["to"])}
    for entry in catalog.entries.values():
        if entry.cite.doc != doc or entry.protocol != fact["protocol"]:
            continue
        if (entry.src, entry.dst) not in ends:
            continue
        candidates.append(entry.id)
        have = _default_ports(catalog, entry)
        if want is None or (have and _ports.is_subset(want, have)):
            if unstated and "Reading (direction)" not in (entry.condition or ""):
                continue  # the entry of a direction the document gives no reading for: not this fact's
            return
    pytest.fail("no entry citing %s: %s -> %s %s %s%s (same roles and protocol: %s)"
                % (doc, fact["from"], fact["to"], fact["protocol"], fact.get("ports"),
                   ", either way round with a 'Reading (direction)' in its condition" if unstated else "", candidates))


def test_catalog_numbers_occur_in_their_documents(catalog, seeds_dir):
    texts = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in seeds_dir.glob("*.txt")}
    numbers = {doc: set(re.findall(r"\d+", text)) for doc, text in texts.items()}
    missing = []

    def check(where, cite, ports):
        if cite is None or cite.via or cite.doc not in numbers or not ports:
            return
        for lo, hi in ports:
            if (lo, hi) == (1, 65535):
                continue  # "any port": the documents say it in words
            for value in (lo, hi):
                if str(value) not in numbers[cite.doc]:
                    missing.append("%s: %d not in %s" % (where, value, cite.doc))

    for entry in catalog.entries.values():
        check(entry.id, entry.cite, entry.ports)
    for comp in catalog.components.values():
        for param in comp.parameters.values():
            check("%s.%s" % (comp.name, param.name), param.cite, param.default)
    assert not missing, "\n".join(missing)


def test_every_entry_cites_a_seed_or_says_via(catalog, seeds_dir):
    seeds = {p.name for p in seeds_dir.glob("*.txt")}
    wrong = [e.id for e in catalog.entries.values() if e.cite.doc not in seeds and not e.cite.via]
    assert not wrong
