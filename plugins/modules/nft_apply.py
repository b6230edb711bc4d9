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
  - Replaces the collection's table and provably nothing else. The rule set is first loaded
    alone into an empty scratch network namespace (C(unshare --net)), next to probe tables with
    random names. There, a reference to any other table or chain fails, since nothing else
    exists. The rule set must load, leave the probe tables as they were (so C(flush ruleset) or
    deleting another table is refused) and create exactly one table, C(inet) O(table).
  - The host then gets only nft's own listing of that table, with the table comment
    C(managed by voiceops.firewall) in front of any comment the rule set gave it, in one
    C(nft -f) transaction that deletes and recreates the table. No other table is changed.
  - Refuses to replace a live table without that marker comment (a table voiceops.firewall did
    not write) unless O(adopt) is set. The table V(voiceops) is the exception, because earlier
    versions wrote it without the marker; its next apply marks it.
  - Idempotent. The module remembers the text it applied and the table as the kernel listed it
    right after (C(nft -s), without counters). Nothing changes when both still match. A table
    that someone edited by hand counts as drift and is replaced.
  - Sets that hold the addresses of a DNS name (C(name_<name>_4), C(name_<name>_6); declared empty
    by the rule set, filled on the edge by the DNS refresh of the role
    C(voiceops.firewall.edge_firewall)) keep their elements. The same transaction that replaces the
    table adds the live elements of each such set back, so a re-apply never empties them. Their
    elements are not drift, their declarations are.
  - With O(confirm_timeout), the host arms a rollback before applying. If the apply is not
    confirmed within that many seconds (O(confirm) from a fresh connection), the host restores
    the last confirmed table by itself. This keeps an operator from being locked out. A second
    commit-confirm apply before the first is confirmed keeps the first one's rollback point, and
    an apply without commit-confirm is refused while one is pending.
  - Concurrent runs on one host take turns on a lock file in O(state_dir).
  - Used by the role C(voiceops.firewall.edge_firewall); rule sets come from the filter
    C(voiceops.firewall.nft_ruleset).
author:
  - voiceops.firewall maintainers (@voiceops)
options:
  content:
    description:
      - The rule set, as C(nft -f) reads it. It must define the table O(table) and touch no other.
      - Required unless O(confirm) is given.
    type: str
  table:
    description:
      - Name of the C(inet) table the collection owns. A letter, then up to 31 letters, digits or
        underscores.
    type: str
    default: voiceops
  adopt:
    description:
      - Replace the live table O(table) even though it lacks the comment
        C(managed by voiceops.firewall), that is, even though voiceops.firewall did not write it.
      - Not needed for V(voiceops), the default table of earlier versions.
    type: bool
    default: false
  confirm_timeout:
    description:
      - Seconds after the apply within which O(confirm) must arrive, or the last confirmed table is
        restored. V(0) applies without commit-confirm.
    type: int
    default: 0
  confirm:
    description:
      - The token that an earlier apply returned. Cancels the pending rollback.
      - If the rollback has already run, or another apply is pending, the task fails and says so.
    type: str
  lock_timeout:
    description: Seconds to wait for another run of this module on the same table to finish.
    type: int
    default: 60
  state_dir:
    description: Where the module keeps the applied text, the listing, pending rollbacks and its lock.
    type: path
    default: /var/lib/voiceops-firewall
requirements:
  - nft (nftables), and unshare, setsid and flock (util-linux) on the managed host
attributes:
  check_mode:
    support: full
    description: >-
      Loads the rule set into the scratch namespace, checks the resulting transaction with
      C(nft -c) on the host, and reports whether the table would change.
  diff_mode:
    support: full
    description: >-
      Shows nft's listing of the live table before and nft's listing of O(content) (loaded in the
      scratch namespace, marked as the collection's) after, so both sides have nft's own layout
      and a one-line hand edit shows as a one-line difference. The elements of name sets, which
      DNS fills on the edge, are left out of both sides.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with nftables.
notes:
  - Needs root on the managed host (C(unshare --net) and nftables).
  - The scratch namespace has no network devices, so a rule set that names devices where nft
    resolves them while loading (a flowtable's or a netdev chain's C(devices)) is rejected.
    Matching interfaces by name (C(iifname)) works.
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

- name: Take over a table of the same name that was created by hand
  voiceops.firewall.nft_apply:
    content: "{{ lookup('ansible.builtin.file', 'edge.nft') }}"
    table: edge
    adopt: true
"""

RETURN = r"""
token:
  description:
    - Token to confirm the apply with; empty when no commit-confirm was asked for, or nothing was
      applied and no apply is pending.
    - When nothing changed but the table in force is still awaiting confirmation and O(confirm_timeout)
      is set, the pending apply's token.
  returned: always
  type: str
rollback_at:
  description: Unix time at which the host restores the last confirmed table unless confirmed.
  returned: when a rollback is armed
  type: int
drift:
  description: The live table differed from what the module applied last.
  returned: always
  type: bool
ruleset:
  description:
    - The transaction the module loads (or would load) with C(nft -f) on the host; nft's listing of
      the table after loading O(content) in the scratch namespace, marked as the collection's.
    - The role C(voiceops.firewall.edge_firewall) persists this text.
  returned: when O(content) is given and accepted
  type: str
"""

import fcntl
import ipaddress
import json
import os
import re
import secrets
import shlex
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import COMMENT_MAX, DEFAULT_TABLE, MARKER, NAME_SET, TABLE_NAME

LEGACY_TABLE = DEFAULT_TABLE  # written unmarked by versions before the marker; replaced without adopt
# The head of a table as nft lists it: a flags line, then the comment; like nft's lexer, a quoted
# string may span lines and never contains a quote.
LISTED_HEAD = re.compile(r'table inet (\S+) \{\n((?:\tflags [^\n]*\n)?)(?:\tcomment "([^"]*)"\n)?')
# A set's head in nft's listing, and the start of its elements (which may run over several lines).
LISTED_SET = re.compile(r"\tset (\S+) \{$")
LISTED_ELEMENTS = "\t\telements = {"
PROBE_FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
SCRATCH_SECONDS = 60
WATCHER_LOCK_WAIT = 60
# A pending rollback this long past its deadline has no watcher left (the host rebooted, say).
STALE_AFTER = WATCHER_LOCK_WAIT + 30

# Runs in an empty network namespace: load probe tables with random names, then the content (its
# output goes to stderr, so a 'list' in it cannot pose as ours), then require the probes unchanged
# and print the tables (JSON, one line) and nft's listing of our table.
SCRATCH = r"""
nft=$4
probes() { for family in ip ip6 inet arp bridge netdev; do "$nft" -s list table "$family" "$1" || return 1; done; }
printf '%s' "$3" | "$nft" -f - >&2 || exit 10
before=$(probes "$2") || exit 10
"$nft" -f - >&2 || exit 11
after=$(probes "$2" 2>/dev/null) || exit 12
[ "$after" = "$before" ] || exit 12
"$nft" -j list tables || exit 10
"$nft" -s list table inet "$1" 2>/dev/null
exit 0
"""


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
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _paths(state_dir, table):
    return dict((key, os.path.join(state_dir, "%s.%s" % (table, suffix))) for key, suffix in (
        ("text", "nft"), ("live", "live"), ("pending", "pending"), ("rollback", "rollback.nft"),
        ("marker", "rolled-back"), ("lock", "lock")))


def _lock(module, path, timeout, create=True):
    """Hold an exclusive lock on path until the module exits; the rollback watcher takes it too."""
    try:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
    except FileNotFoundError:
        return None  # check mode before any apply: there is nothing to read consistently
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                module.fail_json(msg="lock_timeout: another nft_apply held %s for more than %d s; nothing was changed "
                                     "(raise lock_timeout if applies on this host take that long)" % (path, timeout))
            time.sleep(0.1)


def _scratch_listing(module, content, table):
    """Load content alone into an empty network namespace; nft's listing of our table there.

    Whatever the content says happens only there: a reference to any other table fails (nothing
    else exists), and flushing or deleting other tables shows as changed probe tables.
    """
    probe = "vo_probe_%s" % secrets.token_hex(6)
    probes = "".join("table %s %s {\n\tchain c {\n\t\tcounter\n\t}\n}\n" % (family, probe) for family in PROBE_FAMILIES)
    argv = [module.get_bin_path("timeout", required=True), str(SCRATCH_SECONDS),
            module.get_bin_path("unshare", required=True), "--net", "sh", "-c", SCRATCH, "sh",
            table, probe, probes, module.get_bin_path("nft", required=True)]
    rc, out, err = module.run_command(argv, data=content, binary_data=True)
    failures = {
        11: "content: nft rejected the rule set; nothing was changed. It was loaded alone into an empty scratch "
            "network namespace, where any reference to a table other than inet %s fails" % table,
        12: "content: the rule set flushes or deletes tables other than inet %s (flush ruleset, delete table ...); "
            "refused, nothing was changed" % table,
        124: "content: loading the rule set did not end within %d s (a 'monitor' command?); nothing was changed"
             % SCRATCH_SECONDS,
    }
    if rc != 0:
        module.fail_json(msg=failures.get(rc, "could not load the rule set into a scratch network namespace "
                                              "(unshare --net needs root); nothing was changed"), stderr=err)
    head, _sep, listing = out.partition("\n")
    tables = [(item["table"]["family"], item["table"]["name"]) for item in json.loads(head)["nftables"] if "table" in item]
    others = sorted("%s %s" % t for t in set(tables) - set((f, probe) for f in PROBE_FAMILIES) - {("inet", table)})
    if others:
        module.fail_json(msg="content: the rule set creates table %s besides inet %s; only table inet %s may be "
                             "defined; nothing was changed" % (", ".join(others), table, table))
    if ("inet", table) not in tables:
        module.fail_json(msg="content: the rule set does not define table inet %s; nothing was changed" % table)
    return listing


def _table_comment(listing):
    head = LISTED_HEAD.match(listing or "")
    return head.group(3) if head else None


def _is_marked(listing):
    comment = _table_comment(listing)
    return comment is not None and (comment == MARKER or comment.startswith(MARKER + "; "))


def _transaction(module, listing, table):
    """The only text the host gets: our table, deleted and recreated from nft's listing, marked as ours."""
    head = LISTED_HEAD.match(listing)
    if head is None or head.group(1) != table:
        module.fail_json(msg="nft listed table inet %s in an unexpected form; nothing was changed" % table,
                         listing=listing[:300])
    comment = head.group(3)
    if comment is None:
        comment = MARKER
    elif not _is_marked(listing):
        comment = "%s; %s" % (MARKER, comment)
    if len(comment.encode("utf-8")) > COMMENT_MAX:
        module.fail_json(msg="content: the table comment %r is too long to follow the marker %r (nft allows %d "
                             "bytes in all); nothing was changed" % (head.group(3), MARKER, COMMENT_MAX))
    return 'table inet %s\ndelete table inet %s\ntable inet %s {\n%s\tcomment "%s"\n%s' % (
        table, table, table, head.group(2), comment, listing[head.end():])


def _without_name_elements(listing):
    """nft's listing with the elements of the name sets left out: DNS fills those on the edge, so
    they are neither drift nor part of a diff."""
    if listing is None:
        return None
    out = []
    in_name = skipping = False
    for line in listing.split("\n"):
        if skipping:
            skipping = not line.rstrip().endswith("}")
            continue
        head = LISTED_SET.match(line)
        if head:
            in_name = NAME_SET.fullmatch(head.group(1)) is not None
        elif line == "\t}":
            in_name = False
        elif in_name and line.startswith(LISTED_ELEMENTS):
            skipping = not line.rstrip().endswith("}")
            continue
        out.append(line)
    return "\n".join(out)


def _name_sets(listing):
    """The name sets a listing declares, with their type line (``type ipv4_addr``)."""
    found = {}
    current = None
    for line in (listing or "").split("\n"):
        head = LISTED_SET.match(line)
        if head:
            current = head.group(1) if NAME_SET.fullmatch(head.group(1)) else None
        elif current and line.startswith("\t\ttype "):
            found[current] = line.strip()
            current = None
    return found


def _address(value):
    """An element of a live name set as nft -j lists it, checked: an address or a prefix, else None."""
    if isinstance(value, dict) and "elem" in value:
        value = value["elem"].get("val")
    if isinstance(value, dict) and "prefix" in value:
        value = "%s/%s" % (value["prefix"].get("addr"), value["prefix"].get("len"))
    if not isinstance(value, str):
        return None
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def _carried_elements(module, table, live, listing):
    """``add element`` lines that put the live elements of the name sets back into the new table
    (only sets that the new table declares with the same type); appended to the transaction."""
    wanted = _name_sets(listing)
    kept = _name_sets(live)
    common = sorted(name for name in wanted if kept.get(name) == wanted[name])
    if not common:
        return ""
    rc, out, _err = _nft(module, ["-j", "list", "table", "inet", table])
    if rc != 0:
        return ""
    lines = []
    for item in json.loads(out).get("nftables", []):
        data = item.get("set")
        if not data or data.get("name") not in common:
            continue
        addresses = [a for a in (_address(e) for e in data.get("elem", [])) if a is not None]
        if addresses:
            lines.append("add element inet %s %s { %s }\n" % (table, data["name"], ", ".join(addresses)))
    return "".join(lines)


def _pending(path):
    """(token, deadline) of the apply awaiting confirmation, or None (no file, or an empty or broken one)."""
    fields = (_read(path) or "").split()
    if len(fields) < 2 or not fields[1].isdigit():
        return None
    return fields[0], int(fields[1])


def _when(deadline):
    return "%s (in %d s)" % (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(deadline)), max(0, deadline - time.time()))


def _put_pending(paths, pending):
    if pending is None:
        _remove(paths["pending"])
    else:
        _write(paths["pending"], "%s %d\n" % pending)


def _arm_rollback(module, paths, table, live, timeout, pending):
    # While an earlier apply is unconfirmed, its rollback point (the last confirmed table) stays.
    if pending is None or not os.path.exists(paths["rollback"]):
        _write(paths["rollback"], "table inet %s\ndelete table inet %s\n%s" % (table, table, live or ""))
    token = secrets.token_hex(8)
    deadline = int(time.time()) + timeout
    _put_pending(paths, (token, deadline))
    nft = module.get_bin_path("nft", required=True)
    flock = module.get_bin_path("flock", required=True)
    # A watcher in its own session (setsid), so that the end of the SSH session does not end it: at
    # the deadline, under the module's lock, if this apply is still pending, it loads the rollback
    # file. If the lock stays busy it rolls back anyway: a rollback that never fires locks people out.
    watcher = (
        "sleep %d; exec 9>>%s; %s -w %d 9; read -r current rest < %s || exit 0; [ \"$current\" = %s ] || exit 0; "
        "%s -f %s; rc=$?; mv -f %s %s; echo \"restored at $(date +%%s) rc=$rc\" >> %s"
        % (timeout, shlex.quote(paths["lock"]), shlex.quote(flock), WATCHER_LOCK_WAIT, shlex.quote(paths["pending"]),
           token, shlex.quote(nft), shlex.quote(paths["rollback"]), shlex.quote(paths["pending"]),
           shlex.quote(paths["marker"]), shlex.quote(paths["marker"])))
    setsid = module.get_bin_path("setsid", required=True)
    rc, _out, err = module.run_command(
        "%s sh -c %s </dev/null >/dev/null 2>&1 &" % (shlex.quote(setsid), shlex.quote(watcher)), use_unsafe_shell=True)
    if rc != 0:
        _put_pending(paths, pending)
        module.fail_json(msg="could not start the rollback watcher; nothing was applied", stderr=err)
    return token, deadline


def _confirm(module, paths, token):
    pending = _pending(paths["pending"])
    if pending and pending[0] == token:
        os.remove(paths["pending"])
        module.exit_json(changed=False, token=token, drift=False, msg="confirmed")
    if pending:
        module.fail_json(msg="confirm: %s is not the pending apply. A different apply (token %s) is pending; unless "
                             "that token is confirmed, its rollback fires at %s" % (token, pending[0], _when(pending[1])))
    record = (_read(paths["marker"]) or "").strip()
    if record.split(" ", 1)[0] == token:
        module.fail_json(msg="confirm: too late: the host already rolled this apply back and restored the table that "
                             "was in force before it (rollback record: %s)" % record.replace("\n", "; "))
    if record:
        module.fail_json(msg="confirm: no pending apply with token %s; the last rollback on this host was of another "
                             "apply (rollback record: %s)" % (token, record.replace("\n", "; ")))
    module.fail_json(msg="confirm: no pending apply with token %s, and no rollback has run on this host" % token)


def _live_pending(module, paths):
    """The pending apply, dropping one whose watcher is long gone (its deadline passed without a rollback)."""
    pending = _pending(paths["pending"])
    if pending and pending[1] + STALE_AFTER < time.time():
        module.warn("dropped pending apply %s: its rollback was due at %s but never ran (was the host rebooted?)"
                    % (pending[0], time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(pending[1]))))
        if not module.check_mode:
            _remove(paths["pending"])
        return None
    return pending


def _diff(table, live, drift, listing):
    """Like with like: nft's listing of the live table and nft's listing of the new one (from the
    scratch namespace, marked as ours), without the name sets' elements."""
    if live is None:
        state = "absent"
    elif not _is_marked(live):
        state = "not marked as %s" % MARKER
    elif drift:
        state = "changed outside voiceops.firewall"
    else:
        state = "as applied last"
    return {"before": _without_name_elements(live) or "", "after": _without_name_elements(listing),
            "before_header": "table inet %s (live, %s)" % (table, state), "after_header": "table inet %s (plan, as nft lists it)" % table}


def main():
    module = AnsibleModule(
        argument_spec={
            "content": {"type": "str"},
            "table": {"type": "str", "default": LEGACY_TABLE},
            "adopt": {"type": "bool", "default": False},
            "confirm_timeout": {"type": "int", "default": 0},
            "confirm": {"type": "str"},
            "lock_timeout": {"type": "int", "default": 60},
            "state_dir": {"type": "path", "default": "/var/lib/voiceops-firewall"},
        },
        required_one_of=[["content", "confirm"]],
        mutually_exclusive=[["content", "confirm"]],
        supports_check_mode=True,
    )
    params = module.params
    table = params["table"]
    if not TABLE_NAME.fullmatch(table):
        module.fail_json(msg="table: %r is not a valid nftables table name (a letter, then up to 31 letters, digits "
                             "or underscores)" % table)
    for option in ("confirm_timeout", "lock_timeout"):
        if params[option] < 0:
            module.fail_json(msg="%s: %d is negative" % (option, params[option]))
    paths = _paths(params["state_dir"], table)
    if not module.check_mode:
        os.makedirs(params["state_dir"], mode=0o700, exist_ok=True)
    if params["confirm"]:
        if module.check_mode:
            module.exit_json(changed=False, token=params["confirm"], drift=False)
        _lock(module, paths["lock"], params["lock_timeout"])
        _confirm(module, paths, params["confirm"])

    content = params["content"]
    if not content.endswith("\n"):
        content += "\n"
    ruleset = _transaction(module, _scratch_listing(module, content, table), table)
    listing = ruleset.split("\n", 2)[2]  # without the two lines that delete the table first
    _lock(module, paths["lock"], params["lock_timeout"], create=not module.check_mode)
    live = _live(module, table)
    if live is not None and not _is_marked(live) and table != LEGACY_TABLE and not params["adopt"]:
        module.fail_json(msg="table: inet %s exists on this host without the comment %r, so voiceops.firewall did not "
                             "write it; refused, nothing was changed. Set adopt: true to let nft_apply replace it."
                             % (table, MARKER))
    applied_text = _read(paths["text"])
    drift = _without_name_elements(live) != _without_name_elements(_read(paths["live"]))
    changed = drift or applied_text != content or (live is not None and not _is_marked(live))
    pending = _live_pending(module, paths)
    result = {"changed": changed, "drift": drift, "token": "", "ruleset": ruleset}
    if module._diff and changed:
        result["diff"] = _diff(table, live, drift, listing)
    if not changed:
        if pending and params["confirm_timeout"]:
            # The table in force is this content, still waiting for its confirmation: hand it over.
            result["token"], result["rollback_at"] = pending
        elif pending:
            module.warn("apply %s is still unconfirmed: its rollback fires at %s" % (pending[0], _when(pending[1])))
        module.exit_json(**result)
    if pending and not params["confirm_timeout"]:
        module.fail_json(msg="confirm_timeout: 0, but apply %s is still unconfirmed and its rollback (to the last "
                             "confirmed table) fires at %s; confirm it, wait for the rollback, or apply with "
                             "confirm_timeout; nothing was changed" % (pending[0], _when(pending[1])))
    if module.check_mode:
        rc, _out, err = _nft(module, ["-c", "-f", "-"], data=ruleset)
        if rc != 0:
            module.fail_json(msg="nft -c rejected the table on this host; nothing was changed", stderr=err)
        module.exit_json(**result)

    if params["confirm_timeout"]:
        result["token"], result["rollback_at"] = _arm_rollback(module, paths, table, live, params["confirm_timeout"],
                                                               pending)
    rc, _out, err = _nft(module, ["-f", "-"], data=ruleset + _carried_elements(module, table, live, listing))
    if rc != 0:
        if result["token"]:
            _put_pending(paths, pending)
        module.fail_json(msg="nft -f failed; the transaction was not applied and the previous table is in force",
                         stderr=err)
    _write(paths["text"], content)
    _write(paths["live"], _live(module, table) or "")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
