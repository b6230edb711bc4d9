# -*- coding: utf-8 -*-
"""Make the collection importable as ansible_collections.voiceops.firewall for unit tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests run on shared 2-core machines: no per-example deadline (a slow example is not a bug).
settings.register_profile("voiceops", deadline=None)
settings.load_profile("voiceops")

REPO = Path(__file__).resolve().parents[1]


def _collection_root() -> Path:
    """Find or make a directory that holds ansible_collections/voiceops/firewall -> REPO."""
    parts = REPO.parts
    if len(parts) >= 4 and parts[-3] == "ansible_collections" and parts[-2] == "voiceops" and parts[-1] == "firewall":
        return Path(*parts[:-3])
    root = REPO / ".collections"
    link = root / "ansible_collections" / "voiceops" / "firewall"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO, target_is_directory=True)
    return root


sys.path.insert(0, str(_collection_root()))

SEEDS = Path(os.environ.get("VOICEOPS_SEEDS", REPO.parent / "shared" / "seeds"))


@pytest.fixture(scope="session")
def catalog():
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        if os.environ.get("CI"):
            pytest.fail("seed documents not found at %s (set VOICEOPS_SEEDS)" % SEEDS)
        pytest.skip("seed documents not found at %s (set VOICEOPS_SEEDS)" % SEEDS)
    return SEEDS


def load_script(name: str):
    """A script of scripts/ as a module (for tests of generators); skips where scripts/ is not shipped."""
    import importlib.util

    path = REPO / "scripts" / name
    if not path.is_file():  # scripts/ is not part of the Galaxy artefact
        pytest.skip("scripts/%s is not here (installed artefact)" % name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def collection_root() -> Path:
    """The directory that holds ansible_collections/voiceops/firewall."""
    return _collection_root()


def need_root_and_nft():
    if shutil.which("nft") is None or shutil.which("ip") is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("these tests need root, nft and ip (scripts/setup.sh installs them; CI runs as root)")
        pytest.skip("needs root, nft and ip")


@pytest.fixture
def netns():
    need_root_and_nft()
    name = "vo-t-%s" % uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False).stdout.split()
        for pid in pids:
            subprocess.run(["kill", "-9", pid], check=False)
        subprocess.run(["ip", "netns", "del", name], check=False)
