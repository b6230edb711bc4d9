# -*- coding: utf-8 -*-
"""docs/architecture.md's module map is generated from the code; fail when it is stale."""

from __future__ import annotations

import pytest

from conftest import load_script


@pytest.fixture(scope="module")
def gen():
    return load_script("gen_architecture.py")


def test_the_module_map_is_current(gen):
    text = gen.DOC.read_text(encoding="utf-8")
    assert gen.updated(text) == text, "docs/architecture.md is stale (run: python scripts/gen_architecture.py)"


def test_every_module_is_on_the_map_after_what_it_imports(gen):
    modules = gen._modules()
    layers = gen._layers(modules)
    where = {name: number for number, layer in enumerate(layers) for name in layer}
    assert set(where) == set(modules)
    assert "plugin_utils/_schema" in where and "plugin_utils/_targets" in where
    for name, info in modules.items():
        for dep in info["imports"]:
            if dep in where and name not in modules.get(dep, {}).get("imports", []):  # cycles aside
                assert where[dep] < where[name], (name, dep)
