#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nft_apply
short_description: Replace one nftables table atomically, with check, diff and commit-confirm
version_added: 0.1.0
description:
  - Validates an nftables rule set with C(nft -c) and, if it differs from what is live, replaces
    the collection's table with it in one C(nft -f) transaction. No other table is read or changed,
    and C(flush ruleset) is refused.
  - Idempotent. The module remembers the text it applied and the table as the kernel listed it
    right after (C(nft -s), without counters). Nothing changes when both still match. A table
    that someone edited by hand counts as drift and is replaced.
  - With O(confirm_timeout), the host arms a rollback before applying. If the apply is not
    confirmed within that many seconds (O(confirm) from a fresh connection), the host restores
    the previous table by itself. This keeps an operator from being locked out.
  - Used by the role C(voiceops.firewall.edge_firewall); rule sets come from the filter
    C(voiceops.firewall.nft_ruleset).
author:
  - voiceops.firewall maintainers (@voiceops)
options:
  content:
    description:
      - The rule set, as C(nft -f) reads it. It must replace the table O(table) and touch no other.
      - Required unless O(confirm) is given.
    type: str
  table:
    description: Name of the C(inet) table the collection owns.
    type: str
    default: voiceops
  confirm_timeout:
    description:
      - Seconds after the apply within which O(confirm) must arrive, or the previous table is
        restored. V(0) applies without commit-confirm.
    type: int
    default: 0
  confirm:
    description:
      - The token that an earlier apply returned. Cancels the pending rollback.
      - If the rollback has already run, the task fails and says so.
    type: str
  state_dir:
    description: Where the module keeps the applied text, the listing and pending rollbacks.
    type: path
    default: /var/lib/voiceops-firewall
requirements:
  - nft (nftables) on the managed host
attributes:
  check_mode:
    support: full
    description: Reports whether the table would change, and validates the rule set with C(nft -c).
  diff_mode:
    support: full
    description: Shows the table before (as applied last, or as listed live when it drifted) and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with nftables.
notes:
  - Needs root (or CAP_NET_ADMIN) on the managed host.
"""

EXAMPLES = r"""
- name: Apply the edge rule set with a 60 second commit-confirm
  voiceops.firewall.nft_apply:
    content: "{{ plan | voiceops.firewall.nft_ruleset(inventory_hostname) }}"
    confirm_timeout: 60
  register: applied

- name: Reconnect (a fresh connection proves management still works)
  ansible.builtin.meta: reset_connection

- name: Confirm
  voiceops.firewall.nft_apply:
    confirm: "{{ applied.token }}"
  when: applied.token is truthy
"""

RETURN = r"""
token:
  description: Token to confirm the apply with; empty when nothing was applied or no commit-confirm was asked for.
  returned: always
  type: str
rollback_at:
  description: Unix time at which the host restores the previous table unless confirmed.
  returned: when a rollback is armed
  type: int
drift:
  description: The live table differed from what the module applied last.
  returned: always
  type: bool
"""

import os
import re
import secrets
import shlex
import time

from ansible.module_utils.basic import AnsibleModule

TABLE_LINE = re.compile(r"^\s*(?:add\s+|create\s+|delete\s+|destroy\s+|flush\s+)?table\s+(\S+)\s+(\S+)")


def _nft(module, args, data=None):
    nft = module.get_bin_path("nft", required=True)
    return module.run_command([nft] + args, data=data, binary_data=True)


def _live(module, table):
    rc, out, _err = _nft(module, ["-s", "list", "table", "inet", table])
    return out if rc == 0 else None


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _check_scope(module, content, table):
    """The content may name only our table and never flush the whole rule set."""
    for number, line in enumerate(content.splitlines(), 1):
        stripped = line.split("#", 1)[0].strip()
        if re.match(r"^flush\s+ruleset\b", stripped):
            module.fail_json(msg="content line %d: 'flush ruleset' would remove every table; refused" % number)
        match = TABLE_LINE.match(stripped)
        if match and (match.group(1), match.group(2)) != ("inet", table):
            module.fail_json(msg="content line %d names table %s %s; only inet %s may be touched"
                             % (number, match.group(1), match.group(2), table))


def _arm_rollback(module, state_dir, table, previous, timeout):
    token = secrets.token_hex(8)
    rollback = os.path.join(state_dir, "%s.rollback.nft" % table)
    pending = os.path.join(state_dir, "%s.pending" % table)
    text = "table inet %s\ndelete table inet %s\n" % (table, table)
    if previous:
        text += previous
    _write(rollback, text)
    deadline = int(time.time()) + timeout
    _write(pending, "%s %d\n" % (token, deadline))
    nft = module.get_bin_path("nft", required=True)
    # A watcher in its own session (setsid), so that the end of the SSH session does not end it:
    # at the deadline, if this apply is still pending, it loads the rollback file.
    marker = os.path.join(state_dir, "%s.rolled-back" % table)
    watcher = (
        "sleep %d; read -r current rest < %s || exit 0; [ \"$current\" = %s ] || exit 0; "
        "%s -f %s; rc=$?; mv -f %s %s; echo \"restored at $(date +%%s) rc=$rc\" >> %s"
        % (timeout, shlex.quote(pending), token, shlex.quote(nft), shlex.quote(rollback),
           shlex.quote(pending), shlex.quote(marker), shlex.quote(marker)))
    setsid = module.get_bin_path("setsid", required=True)
    rc, _out, err = module.run_command(
        "%s sh -c %s </dev/null >/dev/null 2>&1 &" % (shlex.quote(setsid), shlex.quote(watcher)), use_unsafe_shell=True)
    if rc != 0:
        os.remove(pending)
        module.fail_json(msg="could not start the rollback watcher; nothing was applied", stderr=err)
    return token, deadline


def _confirm(module, state_dir, table, token):
    pending = os.path.join(state_dir, "%s.pending" % table)
    current = _read(pending)
    if current is None or current.split()[0] != token:
        rolled = _read(os.path.join(state_dir, "%s.rolled-back" % table)) or ""
        module.fail_json(msg="no pending apply with this token: the confirmation came too late and the host "
                             "restored the previous table (%s)" % rolled.strip().splitlines()[-1:])
    os.remove(pending)
    module.exit_json(changed=False, token=token, drift=False, msg="confirmed")


def main():
    module = AnsibleModule(
        argument_spec={
            "content": {"type": "str"},
            "table": {"type": "str", "default": "voiceops"},
            "confirm_timeout": {"type": "int", "default": 0},
            "confirm": {"type": "str"},
            "state_dir": {"type": "path", "default": "/var/lib/voiceops-firewall"},
        },
        required_one_of=[["content", "confirm"]],
        mutually_exclusive=[["content", "confirm"]],
        supports_check_mode=True,
    )
    params = module.params
    table = params["table"]
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,31}$", table):
        module.fail_json(msg="table: %r is not a valid nftables table name" % table)
    state_dir = params["state_dir"]
    if params["confirm_timeout"] < 0:
        module.fail_json(msg="confirm_timeout: %d is negative" % params["confirm_timeout"])
    if not module.check_mode:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
    if params["confirm"]:
        if module.check_mode:
            module.exit_json(changed=False, token=params["confirm"], drift=False)
        _confirm(module, state_dir, table, params["confirm"])

    content = params["content"]
    if not content.endswith("\n"):
        content += "\n"
    _check_scope(module, content, table)
    rc, _out, err = _nft(module, ["-c", "-f", "-"], data=content)
    if rc != 0:
        module.fail_json(msg="nft -c rejected the rule set; nothing was changed", stderr=err)

    text_path = os.path.join(state_dir, "%s.nft" % table)
    live_path = os.path.join(state_dir, "%s.live" % table)
    live = _live(module, table)
    applied_text = _read(text_path)
    applied_live = _read(live_path)
    drift = live != applied_live
    changed = drift or applied_text != content
    result = {"changed": changed, "drift": drift, "token": ""}
    if module._diff and changed:
        if drift:
            before = "# live table (%s)\n%s" % ("absent" if live is None else "changed outside voiceops.firewall", live or "")
        else:
            before = applied_text or ""
        result["diff"] = {"before": before, "after": content,
                          "before_header": "table inet %s (live)" % table, "after_header": "table inet %s (plan)" % table}
    if not changed or module.check_mode:
        module.exit_json(**result)

    if params["confirm_timeout"]:
        result["token"], result["rollback_at"] = _arm_rollback(module, state_dir, table, live, params["confirm_timeout"])
    rc, _out, err = _nft(module, ["-f", "-"], data=content)
    if rc != 0:
        if result["token"]:
            os.remove(os.path.join(state_dir, "%s.pending" % table))
        module.fail_json(msg="nft -f failed; the transaction was not applied and the previous table is in force",
                         stderr=err)
    _write(text_path, content)
    _write(live_path, _live(module, table) or "")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
