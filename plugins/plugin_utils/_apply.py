# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply inputs: each managed host's part of the plan, written by the plan step, read by the roles (internal API).

A role that applies one host must not pay for the whole estate. The plan step therefore writes,
next to ``plan.json``, one small file per host that a target enforces on:

- ``apply/<host>.json``: the host's part of the plan (``Target.inputs`` in ``_targets.py``: for a
  Windows host its instance and the flows to and from it; for an edge the topology and the flows
  it enforces), plus the key ``apply``: ``{"host", "kind", "plan_id"}``. A target renders the same
  rules from it as from the whole plan, with any settings.
- ``apply/_plan.json``: ``{"plan_id", "schema_version", "targets"}``, ``targets`` naming the kind
  of target of every host that has an input (``{"edge01": "nftables", "dc01": "windows"}``; the
  audit playbook reads it). A host name never starts with ``_``, so this name is never a host's.

``plan_id`` is the SHA-256 of the run's ``plan.json``. A reader checks that the host's file
carries the same ``plan_id`` as ``_plan.json``, so a folder holding files of two plan runs (the
writer leaves the files of hosts that left the plan in place) is refused instead of applying an
old host's rules.

The files have ``plan.json``'s layout (``_json.plan_json``: one flow per line), and their flows
are encoded once for ``plan.json`` and every part.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from ._errors import VoiceopsError
from ._json import plan_json
from ._plan_types import Plan
from ._schema import INSTANCE_NAME

FOLDER = "apply"
INDEX = FOLDER + "/_plan.json"
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def plan_id(plan_text: str) -> str:
    """A plan run's id: the SHA-256 of its ``plan.json`` (``sha256sum plan.json`` gives the same)."""
    return hashlib.sha256(plan_text.encode("utf-8")).hexdigest()


def path_of(host: str) -> str:
    return "%s/%s.json" % (FOLDER, host)


def files(plan: Plan, inputs: Mapping[str, Mapping[str, Plan]], plan_text: str | None = None,
          cache: dict[int, str] | None = None) -> dict[str, str]:
    """``apply/_plan.json`` and ``apply/<host>.json`` for every host of every target, in name order.

    ``plan_text``: the plan's ``plan.json`` when the caller has it (else it is made here, for the
    id); ``cache``: the encoded flows of that text, which the parts repeat (``plan_json``)."""
    cache = {} if cache is None else cache
    if plan_text is None:
        plan_text = plan_json(plan, cache)
    the_id = plan_id(plan_text)
    kinds = {host: kind for kind, parts in inputs.items() for host in parts}
    out = {INDEX: plan_json({"plan_id": the_id, "schema_version": plan.get("schema_version"), "targets": kinds})}
    for host in sorted(kinds):
        kind = kinds[host]
        part = dict(inputs[kind][host], apply={"host": host, "kind": kind, "plan_id": the_id})
        out[path_of(host)] = plan_json(part, cache)
    return out


def _read_json(plan_dir: str, relative: str, variable: str) -> Any:
    path = os.path.join(plan_dir, relative)
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise VoiceopsError("%s: %s: no such file" % (variable, path)) from exc
        if exc.errno == errno.ELOOP:
            raise VoiceopsError("%s: %s is a symbolic link; apply inputs are read only from the plan's own files"
                                % (variable, path)) from exc
        raise VoiceopsError("%s: %s: %s" % (variable, path, exc.strerror)) from exc
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise VoiceopsError("%s: %s: %s" % (variable, path, exc.strerror)) from exc
    try:
        return json.loads(data)
    except ValueError as exc:
        raise VoiceopsError("%s: %s is not JSON (%s)" % (variable, path, exc)) from exc


def load(plan_dir: str, host: str, kind: str, variable: str = "plan_dir") -> Plan:
    """The part of the plan that ``host`` (a ``kind`` target) is applied from, read from the
    plan folder ``plan_dir`` and checked: it belongs to the same plan run as the folder's index,
    to this host and to this kind of target. Errors name ``variable`` and say what to do."""
    if not isinstance(plan_dir, str) or not plan_dir or not os.path.isabs(plan_dir):
        raise VoiceopsError("%s: give the absolute path of a folder written by the plan step (got %r)" % (variable, plan_dir))
    if not isinstance(host, str) or not INSTANCE_NAME.fullmatch(host):
        raise VoiceopsError("host: %r is not a host name of a plan (letters, digits, '.', '_' and '-')" % (host,))
    if not os.path.isdir(plan_dir):
        raise VoiceopsError("%s: %s is not a folder; give the folder that voiceops.firewall.plan (output_dir) or "
                            "playbooks/plan.yml (voiceops_output_dir) wrote" % (variable, plan_dir))
    index = _read_json(plan_dir, INDEX, variable)
    if not os.path.lexists(os.path.join(plan_dir, path_of(host))):
        raise VoiceopsError("%s: %s has no apply input for %s (%s): the plan does not enforce anything on %s. Is it a "
                            "%s host of the plan (for Windows: voiceops_platform windows, ansible_connection winrm; for an "
                            "edge: voiceops_edge_zones)? Was the folder written by the plan step of this inventory?"
                            % (variable, plan_dir, host, path_of(host), host, kind))
    data = _read_json(plan_dir, path_of(host), variable)
    meta = data.pop("apply", None) if isinstance(data, dict) else None
    if not isinstance(index, Mapping) or not isinstance(meta, Mapping):
        raise VoiceopsError("%s: %s is not an apply input written by voiceops.firewall's plan step" % (variable, plan_dir))
    if meta.get("plan_id") != index.get("plan_id"):
        raise VoiceopsError("%s: %s belongs to another plan run than %s (the folder mixes two runs, e.g. %s left the "
                            "plan since): plan again into this folder, or into an empty one"
                            % (variable, path_of(host), INDEX, host))
    if meta.get("host") != host or meta.get("kind") != kind:
        raise VoiceopsError("%s: %s is the input of %s target %s, not of %s target %s"
                            % (variable, path_of(host), meta.get("kind"), meta.get("host"), kind, host))
    part: Plan = data  # the plan step's own file, checked above
    return part
