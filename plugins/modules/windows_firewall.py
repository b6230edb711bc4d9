#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: windows_firewall
short_description: Apply a Windows host's firewall rules from the plan in one pass
version_added: 0.1.0
description:
  - Renders on the controller the Windows Firewall rules a host needs from the plan of
    M(voiceops.firewall.plan), reads the host's rules of O(group) once, computes the adds,
    updates and removals on the controller, and applies all of them in one more call. So a host
    gets at most two module runs over WinRM (one in check mode or when nothing differs), whatever
    the number of rules. The host module is M(voiceops.firewall.win_firewall_rules).
  - Inbound rules for every flow to the host, scoped to the sources' addresses; outbound rules
    for the flows from the host only when O(outbound_default=block). Flows with the same
    direction, protocol, program and port set share one rule with the union of their remote
    addresses; the rule's description lists the flow ids. Names are deterministic
    (C(voiceops.firewall-in-tcp-5986), C(voiceops.firewall-in-udp-40000-40999-sesworker.exe)).
  - Program rules (C(SESWorker.exe), C(W3WP.exe)) need the program's full path from
    O(program_paths); a program without a known path fails the task, naming it.
  - Never a block rule. On Windows a block rule beats every allow rule whatever the order, so the
    default deny is the profile's default inbound action, which O(manage_profiles) sets.
  - Rules of other groups are never changed. With O(report_foreign=true) the enabled allow rules
    of other groups that open what the plan does not are reported.
  - The rule model, what was tested and what was not is described in C(docs/windows.md).
author:
  - voiceops.firewall maintainers (@voiceops)
options:
  plan_dir:
    description:
      - A folder written by the plan step (M(voiceops.firewall.plan) with C(output_dir), or
        C(playbooks/plan.yml)); the host's rules are rendered from its part of the plan there,
        C(apply/<host>.json), checked to belong to the same plan run as the folder.
      - What one host costs then does not depend on the size of the estate
        (C(docs/scaling.md)). The role C(voiceops.firewall.windows_firewall) passes this.
      - Exactly one of O(plan_dir) and O(plan).
    type: path
  plan:
    description:
      - The whole plan, as returned by M(voiceops.firewall.plan) (its C(plan) key).
      - For small estates and tests. Every task that is given a plan of many thousands of flows as
        an argument pays for templating it, once per host; use O(plan_dir) instead.
      - Exactly one of O(plan_dir) and O(plan).
    type: raw
  outbound_essentials:
    description:
      - With O(outbound_default=block), what a Windows domain member needs outbound and must have an outbound rule
        for, or the task fails naming what is missing. C(dns) (UDP and TCP 53), C(kerberos) (TCP and UDP 88),
        C(netlogon) (TCP 445, the secure channel and NTLM pass-through over SMB named pipes), C(time) (UDP 123),
        C(crl) (TCP 80, certificate revocation lists).
      - V([]) for a host outside a domain that needs none of them.
    type: list
    elements: str
    choices: [dns, kerberos, netlogon, time, crl]
    default: [dns, kerberos, netlogon, time, crl]
  confirm_timeout:
    description:
      - Commit-confirm. With a value above V(0), the apply first has the host keep what it has now (the group's
        rules, the settings of the profiles it changes) and schedule their restore (a scheduled task that runs as
        SYSTEM) after this many seconds; the apply returns RV(token) and RV(rollback_at). A later
        M(voiceops.firewall.win_firewall_rules) task with C(operation=confirm) and that token, over a fresh
        connection, cancels the restore. The role C(voiceops.firewall.windows_firewall) does that.
      - V(0) applies without a restore to fall back on.
    type: int
    default: 0
  lockout_guard:
    description:
      - Before the first change, prove that the new rules still let in a connection like the one in use (TCP on its
        port, from the controller's address as the host sees it, in the profile of each connected network) wherever
        inbound traffic is blocked by default; otherwise fail and change nothing (RV(lockout) says why).
      - Turn it off only where another way in is certain (a console, an out-of-band network).
    type: bool
    default: true
  return_rules:
    description: Also return the rules the host should have (RV(rules)); they are in C(windows/<host>.json) of the plan folder too.
    type: bool
    default: false
  host:
    description:
      - The host's name in the plan. Defaults to C(inventory_hostname).
    type: str
  group:
    description:
      - The rule group that marks the rules as the collection's. Only rules of this group are
        changed or removed.
    type: str
    default: voiceops.firewall
  profiles:
    description:
      - Firewall profiles the rules apply to (C(Domain), C(Private), C(Public)), and, with
        O(manage_profiles), the profiles whose default actions are set.
      - All three by default, so that a server whose domain profile drops to C(Public) for a moment
        keeps its rules, including the management rule.
    type: list
    elements: str
    default: [Domain, Private, Public]
  outbound_default:
    description:
      - C(block) renders outbound rules for the flows from the host and, with O(manage_profiles),
        sets the profiles' default outbound action to block. C(allow) renders no outbound rules.
      - The variable decides, not the host's current setting, so the rendered rule set does not
        depend on the host; when a profile already blocks outbound and this is C(allow) without
        O(manage_profiles), a warning says so.
    type: str
    default: allow
    choices: [allow, block]
  manage_profiles:
    description:
      - Turn the firewall on for O(profiles) with default inbound action block and the default
        outbound action of O(outbound_default). Applied after the rules.
    type: bool
    default: true
  program_paths:
    description:
      - Full path of each program a flow names, by file name (the catalog names only the file),
        for example C(%SystemRoot%\System32\inetsrv\w3wp.exe) for C(W3WP.exe). Matched
        case-insensitively.
    type: dict
    default: {}
  purge:
    description:
      - Remove the rules of O(group) that the plan no longer has. Without it they are kept and
        reported.
    type: bool
    default: true
  report_foreign:
    description:
      - Also read the enabled allow rules of other groups and report those that open what the
        plan does not (RV(foreign_rules)). They are never changed.
    type: bool
    default: false
  fqdn_remote:
    description:
      - What to do with a flow whose far end is given only by a name (FQDN). Windows Firewall
        cannot scope a rule to a name.
      - C(any) allows any remote address on the flow's protocol, ports and program, with a warning;
        C(skip) renders no rule for it, with a warning.
      - C(resolve) (opt-in) resolves the name on the controller when the rules are rendered and
        scopes the rule to those addresses; the task fails naming the name when it does not
        resolve. The rules then depend on DNS at that moment (not byte-identical across DNS changes).
    type: str
    default: any
    choices: [any, skip, resolve]
notes:
  - Run M(voiceops.firewall.plan) once with C(output_dir) and pass that folder as O(plan_dir);
    the role C(voiceops.firewall.windows_firewall) does that.
attributes:
  check_mode:
    support: full
    description: Reads the host once and reports what would change; changes nothing.
  diff_mode:
    support: full
    description: One before/after pair per added, updated or removed rule and per changed profile.
  platform:
    support: full
    platforms: windows
    description: Renders and compares on the controller; the host module runs on the Windows host over WinRM.
seealso:
  - module: voiceops.firewall.plan
  - module: voiceops.firewall.win_firewall_rules
"""

EXAMPLES = r"""
- name: Compute the plan once and write each host's part of it
  voiceops.firewall.plan:
    output_dir: /srv/voiceops/plan
    artefacts: apply
    return_plan: false
  run_once: true
  delegate_to: localhost

- name: Apply each Windows host's rules
  voiceops.firewall.windows_firewall:
    plan_dir: /srv/voiceops/plan
    program_paths:
      W3WP.exe: '%SystemRoot%\System32\inetsrv\w3wp.exe'
      SESWorker.exe: 'D:\Speech Server\SESWorker.exe'
"""

RETURN = r"""
rules:
  description: The rules the host should have, sorted by name.
  returned: success and O(return_rules)
  type: list
  elements: dict
  sample:
    - name: voiceops.firewall-in-tcp-5986
      display_name: "voiceops.firewall: in TCP 5986 (winrm-https)"
      description: "Managed by voiceops.firewall (do not edit). Flows: management.winrm:management>dc01"
      direction: Inbound
      action: Allow
      enabled: true
      profiles: [Domain, Private, Public]
      protocol: TCP
      local_ports: ["5986"]
      remote_ports: [Any]
      local_addresses: [Any]
      remote_addresses: [10.99.0.0/24]
      program: Any
summary:
  description: What changed (or would change in check mode).
  returned: success
  type: dict
  sample: {"desired": 19, "added": ["voiceops.firewall-in-tcp-88"], "updated": [], "removed": [], "kept_stale": [],
           "unchanged": 18, "profiles": []}
commands:
  description: The cmdlet calls the apply makes (or would make in check mode), for review.
  returned: changed
  type: list
  elements: str
foreign_rules:
  description: Enabled allow rules of other groups that open what the plan does not.
  returned: report_foreign is true
  type: list
  elements: dict
foreign_unreadable:
  description: >-
    Rules of other groups that could not be read (an undocumented form), with C(name), C(display_name), C(group)
    and C(reason); they were not checked.
  returned: report_foreign is true
  type: list
  elements: dict
done:
  description: The changes the host made, in order.
  returned: changed and not check mode
  type: list
  elements: str
host_calls:
  description: How many times the host module ran for this host (1 or 2).
  returned: always
  type: int
  sample: 2
token:
  description: With O(confirm_timeout), the pending restore to confirm (M(voiceops.firewall.win_firewall_rules), C(operation=confirm)).
  returned: changed, not check mode, and O(confirm_timeout) above 0
  type: str
rollback_at:
  description: With O(confirm_timeout), when the host restores the previous rules unless confirmed (seconds since the epoch, the host's clock).
  returned: changed, not check mode, and O(confirm_timeout) above 0
  type: int
policy_findings:
  description:
    - What the host's effective policy means for the planned rules, read by the same query (Group Policy's profile
      settings in the RSOP store, the ActiveStore's profiles and enabled block rules, the Windows Defender Firewall
      service); C(docs/windows.md), "Effective policy". Each finding has an C(id), a C(severity) (C(error),
      C(warning)), the C(subject) it is about (a profile, a rule, C(mpssvc)) and a C(message) naming it; a
      C(block-overlap) finding also has C(rule) (the blocking rule), C(source), C(profiles), C(flows) (the planned
      flows that cannot take effect) and C(blocks) (the planned rules it meets, each with C(rule), C(flows),
      C(profiles), C(whole) and C(certain)).
    - C(service-stopped), C(service-disabled), C(service-missing) are errors; the task fails before any change
      (RV(policy_refused)). C(service-manual), C(local-rules-ignored), C(inbound-rules-ignored), C(firewall-off),
      C(gpo-default-inbound), C(gpo-default-outbound), C(block-overlap) and C(policy-unread) are warnings, also
      returned as Ansible warnings, and the apply still runs (with Group Policy ignoring local rules, the rules are kept
      for when it stops doing so, and the finding says they are not in effect).
  returned: success, and failure after the host was read
  type: list
  elements: dict
  sample:
    - id: local-rules-ignored
      severity: warning
      subject: Domain
      profiles: [Domain]
      message: "Group Policy sets AllowLocalFirewallRules False for the Domain profile (local policy merge off): ..."
    - id: block-overlap
      severity: warning
      subject: Block-SIP
      rule: Block-SIP
      source: Group Policy (GPO Corp firewall baseline)
      profiles: [Domain, Private, Public]
      flows: ["pbx.sip:pbx>speech01"]
      blocks: [{rule: voiceops.firewall-in-tcp-5060, flows: ["pbx.sip:pbx>speech01"], profiles: [Domain, Private, Public],
                whole: true, certain: true}]
      message: "block rule Block-SIP (Block SIP, from Group Policy (GPO Corp firewall baseline)) blocks traffic that ..."
policy_refused:
  description: The task failed because of a policy finding of severity C(error) (RV(policy_findings)); nothing was changed.
  returned: refused by the effective policy
  type: bool
  sample: true
lockout:
  description: Why the apply was refused by the lockout guard (O(lockout_guard)); nothing was changed.
  returned: refused
  type: list
  elements: str
problems:
  description: On bad settings, every problem found.
  returned: failure
  type: list
  elements: str
"""
