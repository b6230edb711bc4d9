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
  catalog_dir:
    description:
      - An absolute folder whose C(*.yml) catalog files replace the built-in catalog (C(catalog/)
        of the collection), for example the C(catalog/) of another checkout of the collection.
      - C(playbooks/catalog_diff.yml) plans the same inventory with a base catalog and with the
        built-in one to show what a catalog change does (C(docs/reports.md)).
      - Defaults to the built-in catalog. O(catalog_paths) and O(catalog_extra) are added to either.
    type: path
  output_dir:
    description:
      - Also write the plan's files into this folder, the ones C(playbooks/plan.yml) writes
        (see C(docs/reports.md)) - C(plan.json), C(flows.md), C(edge/<edge>.nft) and
        C(edge/<edge>.json) per edge firewall, C(windows/<host>.json) and C(windows/<host>.md)
        per Windows host, C(matrix.md), C(matrix.csv), C(matrix.html), C(findings.json),
        C(findings.xml), C(explorer.html) (a page to explore the plan in a browser), and with
        O(diagrams) the diagram sources C(diagrams/estate.dot),
        C(diagrams/product-<product>.dot) and C(diagrams/view-<component>.dot) (drawing them to
        SVG is left to C(dot)).
      - The apply inputs, C(apply/<host>.json) per host a target enforces on and C(apply/_plan.json),
        hold each host's part of the plan, which the roles apply a host from (C(docs/scaling.md)).
      - Byte-identical to what the filters give, written in Python without passing the plan
        through Ansible's templating, which costs seconds per task on a large estate.
        C(plan.json) and the apply inputs have one flow per line (the data of C(to_nice_json)).
      - A file is rewritten only when its content changed (the task reports C(changed) then),
        through a temporary file and a rename. Nothing is written in check mode, and nothing at
        all when any file cannot be rendered.
      - Files the plan no longer has (an edge firewall removed from the inventory) are left
        alone.
    type: path
  artefacts:
    description:
      - With O(output_dir), which files to write. V(all) is every file listed under O(output_dir).
        V(apply) is only the apply inputs C(apply/) (what the roles read); the roles use it
        when they plan for themselves.
    type: str
    choices: [all, apply]
    default: all
  plan:
    description:
      - A plan computed earlier (the RV(plan) of this module, e.g. handed from one AWX workflow job
        to the next through C(set_stats)). Instead of planning from the inventory, its lint and
        files are made from it; the inventory is read only for the Windows hosts' role variables.
      - Give it once per play, on a task of its own with O(output_dir), then pass that folder to
        the roles (C(windows_firewall_plan_dir), C(edge_firewall_plan_dir)).
    type: raw
  diagrams:
    description: With O(output_dir), also write the diagram sources.
    type: bool
    default: true
  diagram_views:
    description:
      - With O(output_dir) and O(diagrams), the components that get a diagram of their own
        (see the C(voiceops.firewall.diagrams) filter). A component not in the plan is left out.
    type: list
    elements: str
    default: [speechexec_mobile_service]
  return_findings:
    description:
      - Return the lint findings (RV(findings)). With O(output_dir) they are in C(findings.json)
        too; a large estate has thousands, which Ansible copies into the task's result. RV(lint)
        is returned either way.
    type: bool
    default: true
  return_plan:
    description:
      - Return the plan (RV(plan)). Set it to V(false) on a large estate when only the files,
        the summary and the lint are needed; a registered plan of tens of thousands of flows
        makes every later task that reads it slow.
    type: bool
    default: true
notes:
  - The zones, management networks and unmanaged endpoints come from the variables
    C(voiceops_zones), C(voiceops_management_networks), C(voiceops_endpoints) and C(voiceops_routes)
    (the way between zones where several are equally short) of the play's host.
  - Every name that reaches a file, a rule set or a command is checked against a narrow pattern before
    anything is planned (C(docs/security.md)); a C(voiceops_*) variable the collection does not know
    gives a warning with the closest known name.
  - The security lint reads C(voiceops_lint_accept) and C(voiceops_lint_fail_on) from the same place.
  - Local rules (one-off flows with an owner and an expiry date) come from C(voiceops_local_rules); the expiry checks use
    the controller's UTC date or C(voiceops_today) (C(docs/inventory.md), C(docs/lint.md)).
attributes:
  check_mode:
    support: full
    description: The plan changes nothing. With O(output_dir), check mode reports which files would change and writes none.
  diff_mode:
    support: full
    description: With O(output_dir), each changed file's old and new text (a file larger than Ansible's diff limit is named only).
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

- name: Write every file of the plan for review, without returning the plan itself (large estates)
  voiceops.firewall.plan:
    output_dir: "{{ playbook_dir }}/output"
    return_plan: false
  register: voiceops_plan_files

- name: Show the flows from the clients zone to the speech zone
  ansible.builtin.debug:
    msg: "{{ voiceops_plan.plan | voiceops.firewall.zone_flows('clients', 'speech') }}"
"""

RETURN = r"""
plan:
  description: The plan; its schema is described in C(docs/plan-schema.md).
  returned: success and O(return_plan)
  type: dict
  contains:
    schema_version:
      description: Version of the plan schema.
      type: int
      sample: 2
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
      description: Edge firewalls, their kind (target) and the zones they join.
      type: dict
    routes:
      description: The declared routes (C(voiceops_routes)).
      type: list
      elements: dict
    paths:
      description: Per zone pair with flows, the hops through the edges, in order.
      type: dict
    unenforced:
      description: Zone pairs whose flows no edge and no Windows host enforces, with how many.
      type: list
      elements: dict
    warnings:
      description: Things the plan could not do (a missing peer, a port the vendor does not give).
      type: list
      elements: str
targets:
  description: Every host the plan enforces on, with its kind of target (C(nftables), C(windows)).
  returned: success
  type: dict
  sample: {"edge01": "nftables", "dc01": "windows"}
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
  returned: success and O(return_findings)
  type: list
  elements: dict
lint:
  description: >-
    C(fail_on) (the gate from C(voiceops_lint_fail_on), default C(high)) and C(blocking), the
    unaccepted findings at or above it, and every expired local rule or acceptance (VO202, whatever the gate).
    The plan does not fail on them; the playbook decides.
  returned: success
  type: dict
output_dir:
  description: The folder the files went to, made absolute.
  returned: with O(output_dir)
  type: str
files:
  description: Every file of the plan, in a fixed order, with C(name) (relative to O(output_dir)), C(path) and C(changed).
  returned: with O(output_dir)
  type: list
  elements: dict
  sample: [{"name": "edge/edge01.nft", "path": "/srv/plan/edge/edge01.nft", "changed": true}]
problems:
  description: On failure, every problem found in the inventory or catalog.
  returned: failure
  type: list
  elements: str
"""
