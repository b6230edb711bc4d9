# -*- coding: utf-8 -*-
"""Run ansible-playbook with every module execution answered by a simulated Windows host.

Usage: python fake_windows_host.py STATE_DIR ansible-playbook-arguments...
   or: VOICEOPS_FAKE_WINDOWS_STATE=STATE_DIR python fake_windows_host.py ansible-playbook-arguments...

ActionBase._execute_module (the one path by which an action runs a module on a host: over WinRM
one module execution is one command in the host's remote shell) is replaced, in this process
and in the workers it forks, by a function that

- appends one line per call to STATE_DIR/calls.jsonl (host, module, operation, check mode,
  numbers of adds/updates/removals, and which ansible-playbook run made the call);
- answers voiceops.firewall.win_firewall_rules from STATE_DIR/<host>.json through
  tests/windows_fake.py, and saves the host's state for the next run.

ActionBase._low_level_execute_command (raw commands: temp dirs, ...) is replaced by one that
logs and fails, so any other traffic to the host would show up. Tasks delegated to the
controller (local connection: the roles' temporary plan folder) run for real. Everything else (inventory,
role, argument validation, templating, the plan, the action plugin) is ansible's real code.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for windows_fake

from ansible.errors import AnsibleConnectionFailure, AnsibleError  # noqa: E402
from ansible.plugins.action import ActionBase  # noqa: E402

from windows_fake import FakeWindowsFirewall  # noqa: E402

# The state folder: $VOICEOPS_FAKE_WINDOWS_STATE (when ansible-runner starts this as its
# ansible-playbook binary), else the first argument.
STATE_DIR = Path(os.environ.get("VOICEOPS_FAKE_WINDOWS_STATE") or sys.argv.pop(1)).resolve()
# One ansible-playbook run (its process and start; the workers it forks inherit it), so that the
# calls of successive runs against one state folder can be told apart (the Molecule scenario of
# roles/windows_firewall counts reads and writes per host and run).
RUN = "%d-%d" % (os.getpid(), time.time_ns())


def _log(entry: dict[str, Any]) -> None:
    line = json.dumps(dict(entry, run=RUN), sort_keys=True) + "\n"
    fd = os.open(STATE_DIR / "calls.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


_REAL_EXECUTE_MODULE = ActionBase._execute_module
_REAL_LOW_LEVEL = ActionBase._low_level_execute_command


def _on_controller(action: ActionBase) -> bool:
    """A task delegated to the controller (the roles' temporary plan folder): it runs for real."""
    return getattr(action._connection, "transport", None) == "local"


def fake_execute_module(self: ActionBase, module_name: str | None = None, module_args: dict[str, Any] | None = None,
                        tmp: Any = None, task_vars: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    if _on_controller(self):
        return _REAL_EXECUTE_MODULE(self, module_name=module_name, module_args=module_args, tmp=tmp, task_vars=task_vars, **kwargs)
    # As ActionBase does: a task that calls a module directly (the normal action) names neither.
    module_name = module_name or self._task.action
    module_args = self._task.args if module_args is None else module_args
    host = (task_vars or {}).get("inventory_hostname", "?")
    args = dict(module_args or {})
    _log({"host": host, "module": module_name, "operation": args.get("operation"), "check_mode": bool(self._task.check_mode),
          "add": len(args.get("add") or []), "update": len(args.get("update") or []),
          "remove": len(args.get("remove") or []), "profiles": len(args.get("profiles") or [])})
    if module_name != "voiceops.firewall.win_firewall_rules":
        raise AnsibleError("fake Windows host: unexpected module %s" % module_name)
    state = STATE_DIR / ("%s.json" % host)
    firewall = FakeWindowsFirewall.load(state)
    if firewall.expire():  # a restore whose time has come runs first, as the scheduled task would have
        firewall.save(state)
    if firewall.refusing:  # the rules of the last apply cut the controller off
        raise AnsibleConnectionFailure("fake Windows host %s: connection refused (the rules of the last apply let the controller "
                                       "no longer in)" % host)
    result = firewall.run(args, check_mode=bool(self._task.check_mode))
    firewall.save(state)
    return result


def fake_low_level_execute_command(self: ActionBase, cmd: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if _on_controller(self):
        return _REAL_LOW_LEVEL(self, cmd, *args, **kwargs)
    _log({"host": "?", "module": None, "raw": cmd[:200]})
    raise AnsibleError("fake Windows host: unexpected raw command %r" % cmd[:200])


ActionBase._execute_module = fake_execute_module  # type: ignore[method-assign]
ActionBase._low_level_execute_command = fake_low_level_execute_command  # type: ignore[method-assign]

if __name__ == "__main__":
    from ansible.cli.playbook import main

    sys.argv[0] = "ansible-playbook"
    main()
