#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nft_audit
short_description: Report drift between the collection's nftables table and the plan, changing nothing
version_added: 0.1.0
description:
  - Lists the live table with C(nft -j -s list table inet <table>). Loads the planned rule set
    into a throw-away network namespace (C(unshare --net)) and lists it the same way. Then
    reports what is missing, extra or modified, set element by set element and rule by rule.
  - nft canonicalises both sides, so formatting never counts as drift. Counters and handles are
    ignored.
  - The elements of the sets that hold a DNS name's addresses (C(name_<name>_4), C(name_<name>_6)),
    which the edge fills from DNS, are not drift; a change to such a set's declaration is.
  - Reads only. The host's rule set is never changed.
author:
  - voiceops.firewall maintainers (@voiceops)
options:
  content:
    description: The planned rule set, as C(voiceops.firewall.nft_ruleset) renders it.
    type: str
    required: true
  table:
    description: Name of the C(inet) table the collection owns.
    type: str
    default: voiceops
requirements:
  - nft and unshare (util-linux) on the managed host, and root
attributes:
  check_mode:
    support: full
    description: It never changes anything, so it runs the same in check mode.
  diff_mode:
    support: none
    description: The drift list is the report.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with nftables.
"""

EXAMPLES = r"""
- name: Audit the edge table against the plan
  voiceops.firewall.nft_audit:
    content: "{{ plan | voiceops.firewall.nft_ruleset(inventory_hostname) }}"
  register: drift
"""

RETURN = r"""
drift:
  description: >-
    Differences, each with C(kind) (set, map, element, chain, rule), C(name) (set or chain),
    C(status) (missing, extra, modified), C(item) (the element or rule, as nft lists it in JSON)
    and C(detail).
  returned: always
  type: list
  elements: dict
in_sync:
  description: Whether the live table is exactly the planned one.
  returned: always
  type: bool
live_present:
  description: Whether the table exists on the host at all.
  returned: always
  type: bool
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.voiceops.firewall.plugins.module_utils._nft_audit import compare, normalise
from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import DEFAULT_TABLE, TABLE_NAME


def main():
    module = AnsibleModule(
        argument_spec={"content": {"type": "str", "required": True}, "table": {"type": "str", "default": DEFAULT_TABLE}},
        supports_check_mode=True,
    )
    table = module.params["table"]
    if not TABLE_NAME.fullmatch(table):
        module.fail_json(msg="table: %r is not an nftables table name (letters, digits and _, starting with a letter, "
                             "at most 32 characters)" % table)
    nft = module.get_bin_path("nft", required=True)
    unshare = module.get_bin_path("unshare", required=True)
    content = module.params["content"]
    if not content.endswith("\n"):
        content += "\n"
    rc, out, err = module.run_command([unshare, "--net", "sh", "-c", '"$2" -f - && "$2" -j -s list table inet "$1"', "sh", table, nft],
                                      data=content, binary_data=True)
    if rc != 0:
        module.fail_json(msg="the planned rule set does not load (nft -f in a throw-away namespace)", stderr=err)
    desired = normalise(json.loads(out))
    rc, out, err = module.run_command([nft, "-j", "-s", "list", "table", "inet", table])
    live_present = rc == 0
    live = normalise(json.loads(out)) if live_present else {"chains": {}, "sets": {}}
    drift = compare(desired, live)
    module.exit_json(changed=False, drift=drift, in_sync=not drift, live_present=live_present)


if __name__ == "__main__":
    main()
