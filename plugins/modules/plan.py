#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: plan
short_description: Compute the network flows of a voice and speech estate
version_added: 0.1.0
description:
  - Reads the catalog (what each product component needs, with citations) and the inventory
    (which hosts and endpoints run which components, in which zones, with which overrides), and
    returns every flow the estate needs, who talks to whom on what, and why.
  - Runs on the controller only (an action plugin); no remote host is contacted.
  - Computes the plan for the whole estate in one go from all hosts' variables. Run it once per
    play (set C(run_once) on the task) and hand the result to the roles.
  - Bad input fails the task with every problem listed, each naming the variable path and the
    value; nothing downstream runs.
  - The inventory model is described in C(docs/inventory.md), the catalog format in
    C(docs/catalog.md) and the returned plan in C(docs/plan-schema.md).
author:
  - voiceops.firewall maintainers (@voiceops)
options:
  hosts:
    description:
      - Inventory hosts whose variables describe the estate.
      - Hosts without C(voiceops_components) or C(voiceops_edge_zones) are skipped.
      - Defaults to every host in the inventory (C(groups['all'])).
    type: list
    elements: str
  catalog_paths:
    description:
      - Extra catalog files in the format of the built-in catalog, added to it.
      - Defaults to the variable C(voiceops_catalog_paths).
    type: list
    elements: path
  catalog_extra:
    description:
      - Extra catalog data given inline, one item per catalog file.
      - Defaults to the variable C(voiceops_catalog_extra).
    type: list
    elements: dict
notes:
  - The zones, management networks and unmanaged endpoints come from the variables
    C(voiceops_zones), C(voiceops_management_networks) and C(voiceops_endpoints) of the play's host.
  - The security lint reads C(voiceops_lint_accept) and C(voiceops_lint_fail_on) from the same place.
attributes:
  check_mode:
    support: full
    description: The plan changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
"""

EXAMPLES = r"""
- name: Compute the plan once for the whole estate
  voiceops.firewall.plan:
  run_once: true
  register: voiceops_plan

- name: Show the flows from the clients zone to the speech zone
  ansible.builtin.debug:
    msg: "{{ voiceops_plan.plan | voiceops.firewall.zone_flows('clients', 'speech') }}"
"""

RETURN = r"""
plan:
  description: The plan; its schema is described in C(docs/plan-schema.md).
  returned: success
  type: dict
  contains:
    schema_version:
      description: Version of the plan schema.
      type: int
      sample: 1
    flows:
      description: Every flow, sorted by id.
      type: list
      elements: dict
    zones:
      description: Zones with their networks.
      type: dict
    instances:
      description: Hosts and endpoints that take part in flows.
      type: dict
    edges:
      description: Edge firewalls and the zones they join.
      type: dict
    warnings:
      description: Things the plan could not do (a missing peer, a port the vendor does not give).
      type: list
      elements: str
summary:
  description: Counts of flows, per product and zone pairs.
  returned: success
  type: dict
  sample: {"flows": 120, "zone_pairs": 9, "cross_zone_flows": 80, "flows_by_product": {"swyx": 40}}
findings:
  description: >-
    Security lint findings (rules in C(docs/lint.md)), each with C(id), C(severity), C(title),
    C(flow), C(subject), C(message), C(citation) and C(accepted) (the reason, when the inventory
    accepts it in C(voiceops_lint_accept)).
  returned: success
  type: list
  elements: dict
lint:
  description: >-
    C(fail_on) (the gate from C(voiceops_lint_fail_on), default C(high)) and C(blocking), the
    unaccepted findings at or above it. The plan does not fail on them; the playbook decides.
  returned: success
  type: dict
problems:
  description: On failure, every problem found in the inventory or catalog.
  returned: failure
  type: list
  elements: str
"""
