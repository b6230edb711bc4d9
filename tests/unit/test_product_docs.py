# -*- coding: utf-8 -*-
"""docs/products/*.md are generated from the catalog; fail when they are stale."""

from __future__ import annotations

import pytest

from conftest import load_script


@pytest.fixture(scope="module")
def gen():
    return load_script("gen_product_docs.py")


def test_product_docs_are_up_to_date(gen):
    problems = gen.stale()
    assert not problems, "docs/products is stale (run: python scripts/gen_product_docs.py):\n" + "\n".join(problems)


def test_one_page_per_product_and_every_entry_listed(gen, catalog):
    pages = gen.render_all()
    assert sorted(pages) == sorted(["README.md"] + ["%s.md" % p for p in catalog.products])
    for entry in catalog.entries.values():
        assert "| `%s` |" % entry.id in pages["%s.md" % entry.product], entry.id


def test_rendering_is_deterministic(gen):
    assert gen.render_all() == gen.render_all()


def test_check_mode_names_a_stale_page(gen, tmp_path):
    gen.write(tmp_path)
    page = tmp_path / "swyx.md"
    page.write_text(page.read_text(encoding="utf-8").replace("5060", "5061"), encoding="utf-8")
    (tmp_path / "retired_product.md").write_text("old\n", encoding="utf-8")
    problems = "\n".join(gen.stale(tmp_path))
    assert "swyx.md: differs from the catalog" in problems
    assert "retired_product.md: no such product in the catalog" in problems
    assert "speechexec.md" not in problems
