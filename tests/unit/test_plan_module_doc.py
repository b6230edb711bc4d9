# -*- coding: utf-8 -*-
"""The action plugin's argument spec and the module documentation say the same thing."""

from __future__ import annotations

import yaml

from ansible_collections.voiceops.firewall.plugins.action.plan import ARGUMENT_SPEC
from ansible_collections.voiceops.firewall.plugins.modules import plan as plan_doc


def test_argument_spec_matches_documentation():
    options = yaml.safe_load(plan_doc.DOCUMENTATION)["options"]
    assert sorted(options) == sorted(ARGUMENT_SPEC)
    for name, spec in ARGUMENT_SPEC.items():
        assert options[name]["type"] == spec["type"], name
        assert options[name].get("elements") == spec.get("elements"), name
        assert options[name].get("default") == spec.get("default"), name
        assert bool(options[name].get("required")) == bool(spec.get("required")), name
