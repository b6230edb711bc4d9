# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: apply_input
author: voiceops.firewall maintainers (@voiceops)
version_added: 0.2.0
short_description: One host's part of the plan, read from a plan folder
description:
  - Reads C(apply/<host>.json) from a folder written by the plan step (M(voiceops.firewall.plan)
    with C(output_dir), or C(playbooks/plan.yml)) and returns the host's part of the plan. For an
    edge firewall, that is the topology and the flows it enforces. For a Windows host, its instance
    and the flows to and from it.
  - The filters that take a plan (C(voiceops.firewall.nft_ruleset), ...) render the same output from
    this part as from the whole plan, without a task handling the whole plan.
  - Checks that the file belongs to the same plan run as the folder (C(apply/_plan.json)), to that
    host and to that kind of target; anything else is an error naming the file.
options:
  _terms:
    description: The host's inventory name (one).
    type: list
    elements: str
    required: true
  plan_dir:
    description: The plan folder (absolute path).
    type: path
    required: true
  kind:
    description: The target the host is, C(nftables) (an edge firewall) or C(windows).
    type: str
    default: nftables
    choices: [nftables, windows]
notes:
  - Use it with C(ansible.builtin.query) (or C(wantlist=true)), which returns a list with the one part.
"""

EXAMPLES = r"""
- name: Render this edge's table from its part of the plan
  ansible.builtin.set_fact:
    ruleset: >-
      {{ query('voiceops.firewall.apply_input', inventory_hostname, plan_dir='/srv/voiceops/plan') | first
         | voiceops.firewall.nft_ruleset(inventory_hostname) }}
"""

RETURN = r"""
_list:
  description: The host's part of the plan, a plan with the keys C(docs/plan-schema.md) describes (fewer flows and instances).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _apply  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleLookupError("voiceops.firewall.apply_input: give one host name, got %d terms" % len(terms))
        try:
            return [_apply.load(self.get_option("plan_dir"), terms[0], self.get_option("kind"))]
        except VoiceopsError as exc:
            raise AnsibleLookupError("voiceops.firewall.apply_input: " + exc.message) from None
