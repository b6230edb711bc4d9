# -*- coding: utf-8 -*-
"""voiceops.firewall.plan validates its arguments against the module DOCUMENTATION itself.

The action plugin keeps no argument spec of its own: ``_argspec`` derives it from
plugins/modules/plan.py, and a real run of the action plugin fails with Ansible's own messages.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
import yaml

from ansible_collections.voiceops.firewall.plugins.action import plan as action
from ansible_collections.voiceops.firewall.plugins.modules import plan as plan_doc
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import module_argument_spec


def test_the_action_keeps_no_argument_spec_of_its_own():
    assert not hasattr(action, "ARGUMENT_SPEC")


def test_every_documented_option_is_in_the_derived_spec():
    options = yaml.safe_load(plan_doc.DOCUMENTATION)["options"]
    spec = module_argument_spec("plan")
    assert sorted(options) == sorted(spec)
    for name, doc in options.items():
        assert spec[name]["type"] == doc["type"], name
        assert spec[name].get("elements") == doc.get("elements"), name
        assert spec[name].get("default") == doc.get("default"), name
        assert bool(spec[name].get("required")) == bool(doc.get("required")), name
        assert "description" not in spec[name], name


def run_action(args: dict[str, Any], task_vars: dict[str, Any] | None = None) -> tuple[dict[str, Any], mock.Mock]:
    """voiceops.firewall.plan's run() as Ansible calls it, with the planning itself stubbed out."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.template import Templar

    task = Task.load({"action": "voiceops.firewall.plan", "args": args})
    loader = DataLoader()
    module = action.ActionModule(task, connection=mock.Mock(), play_context=PlayContext(), loader=loader,
                                 templar=Templar(loader), shared_loader_obj=None)
    outcome = action._pipeline.Outcome(plan={"summary": {}, "warnings": []}, findings=[], fail_on="high", blocking=[], files=None)
    with mock.patch.object(action._pipeline, "run", return_value=outcome) as planner:
        return module.run(task_vars=task_vars or {"hostvars": {}, "groups": {"all": []}}), planner


@pytest.mark.parametrize("args,message", [
    ({"diagrams": "perhaps"}, "argument 'diagrams' is of type str and we were unable to convert to bool"),
    ({"hosts": {"a": 1}}, "argument 'hosts' is of type dict and we were unable to convert to list"),
    ({"output_dri": "/tmp/x"}, "Unsupported parameters for (voiceops.firewall.plan) module: output_dri."),
])
def test_bad_arguments_fail_with_ansibles_message_before_anything_is_planned(args, message):
    result, planner = run_action(args)
    assert result["failed"]
    assert result["msg"].startswith("voiceops.firewall.plan: ")
    assert message in result["msg"], result["msg"]
    planner.assert_not_called()


def test_the_documented_defaults_reach_the_planner():
    result, planner = run_action({})
    assert not result.get("failed"), result
    kwargs = planner.call_args.kwargs
    assert kwargs["diagrams"] is True
    assert kwargs["views"] == ["speechexec_mobile_service"]
    assert kwargs["render"] is False
    assert "plan" in result  # return_plan defaults to true


def test_a_default_list_is_not_shared_between_runs():
    first, planner = run_action({})
    planner.call_args.kwargs["views"].append("changed by a caller")
    second, planner = run_action({})
    assert planner.call_args.kwargs["views"] == ["speechexec_mobile_service"]
