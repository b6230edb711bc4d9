#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# The module is PowerShell (win_firewall_rules.ps1); this file holds its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: win_firewall_rules
short_description: Read or change the Windows Firewall rules of one rule group in a single run
version_added: 0.1.0
description:
  - The host side of M(voiceops.firewall.windows_firewall). It is deliberately thin; use that
    action (or the C(voiceops.firewall.windows_firewall) role), which decides what to change.
  - O(operation=query) returns the rules of O(group) in the local policy store with their port,
    address and application filters, the settings the collection never sets (interface type,
    interface, service, security filter, edge traversal, owner, platform, package, ICMP types), and
    the firewall profiles' state; with O(foreign=true) also the enabled allow rules of other groups
    in the effective (active) policy store, without those settings. Filters are read once per filter
    type and joined by rule, not once per rule.
  - The query also reads the effective policy, one listing per kind, for the controller to check
    (C(docs/windows.md), "Effective policy"), the Windows Defender Firewall service
    (C(Get-Service -Name mpssvc), RV(firewall_service)), the profiles as Group Policy sets them
    (C(Get-NetFirewallProfile -PolicyStore RSOP), RV(gpo_profiles)) and as they are in force
    (C(-PolicyStore ActiveStore), RV(active_profiles)), and the enabled block rules of the active store,
    from Group Policy or local (one C(Get-NetFirewallRule -PolicyStore ActiveStore -TracePolicyStore)
    listing, shared with O(foreign), with the port, address, application and service filters,
    RV(block_rules)). With the service not running, the active store is not read. What cannot be read
    is in RV(policy_unread).
  - O(operation=apply) makes the given changes in one run, in this order, so that the management
    rule is in place before anything is removed or a default action tightens, O(add)
    (C(New-NetFirewallRule)), O(update) (C(Set-NetFirewallRule)), O(remove)
    (C(Remove-NetFirewallRule)), O(profiles) (C(Set-NetFirewallProfile)).
  - Rules of other groups are never changed. Before an update or a removal the module looks the
    rule up by its exact name (C(-Name) of the NetFirewallRule cmdlets takes wildcards, so the name's
    C(*), C(?), C([) and C(]) are escaped), refuses (fails) unless exactly one rule of that name
    exists and its group is O(group), and then changes that rule object (C(-InputObject)), never a
    rule named by a pattern.
  - An update sets the rule's fields; a setting the collection never sets is changed only when the
    update names it (O(update[].interface_type) and the like), to Windows' default. With
    O(update[].recreate=true) the rule is renamed, created afresh (every setting at its default) and
    the renamed rule removed, for settings C(Set-NetFirewallRule) cannot clear.
  - Windows has no transaction for firewall rules. On the first failing change the module stops
    and fails, reporting the changes already made (RV(done)) and the failing step
    (RV(failed_step)); nothing is rolled back. Running the role again converges, because it
    compares the host with the plan again.
  - Only allow rules are accepted (O(add[].action) has the single choice C(Allow)).
author:
  - voiceops.firewall maintainers (@voiceops)
options:
  operation:
    description:
      - C(query) reads, C(apply) changes, C(confirm) cancels the restore of an apply made with
        O(confirm_timeout) (commit-confirm).
    type: str
    required: true
    choices: [query, apply, confirm]
  group:
    description:
      - The rule group (C(Group) of C(New-NetFirewallRule)) that marks the rules as the collection's.
    type: str
    required: true
  foreign:
    description:
      - With O(operation=query), also return the enabled allow rules of other groups.
    type: bool
    default: false
  add:
    description:
      - Rules to create, in O(group).
    type: list
    elements: dict
    default: []
    suboptions: &rule
      name:
        description: Unique name (C(Name), the rule's id).
        type: str
        required: true
      display_name:
        description: C(DisplayName).
        type: str
        required: true
      description:
        description: C(Description); the collection lists the flow ids here.
        type: str
        default: ''
      direction:
        description: C(Direction).
        type: str
        required: true
        choices: [Inbound, Outbound]
      action:
        description: C(Action). Only allow rules; the default deny is the profile's default action.
        type: str
        required: true
        choices: [Allow]
      enabled:
        description: C(Enabled).
        type: bool
        default: true
      profiles:
        description: C(Profile), as names (C(Domain), C(Private), C(Public)).
        type: list
        elements: str
        required: true
      protocol:
        description: C(Protocol) (C(TCP), C(UDP), C(ICMPv4), C(ICMPv6) or a number such as C(50)).
        type: str
        required: true
      local_ports:
        description: C(LocalPort); used only with C(TCP) and C(UDP).
        type: list
        elements: str
        default: [Any]
      remote_ports:
        description: C(RemotePort); used only with C(TCP) and C(UDP).
        type: list
        elements: str
        default: [Any]
      local_addresses:
        description: C(LocalAddress).
        type: list
        elements: str
        default: [Any]
      remote_addresses:
        description: C(RemoteAddress).
        type: list
        elements: str
        default: [Any]
      program:
        description: C(Program), a full path, or C(Any).
        type: str
        default: Any
      interface_type:
        description:
          - Only in O(update), to set C(InterfaceType) back to its default; left out, it is not changed.
        type: str
        choices: [Any]
      service:
        description:
          - Only in O(update), to set C(Service) back to its default; left out, it is not changed.
        type: str
        choices: [Any]
      icmp_type:
        description:
          - C(IcmpType) of an ICMP rule (C(8) for an ICMPv4 echo request, C(128) for ICMPv6; C(type:code) also
            works), in O(add) for a rule the catalog narrows to some ICMP types, and in O(update) to set it back to
            what the rule should have (C(Any) by default). Left out in an update, it is not changed.
        type: list
        elements: str
      dynamic_target:
        description:
          - Only in O(update), to set C(DynamicTarget) back to its default; left out, it is not changed.
        type: str
        choices: [Any]
      edge_traversal_policy:
        description:
          - Only in O(update), to set C(EdgeTraversalPolicy) back to its default; left out, it is not changed.
        type: str
        choices: [Block]
      loose_source_mapping:
        description:
          - Only in O(update), to set C(LooseSourceMapping); left out, it is not changed. The controller sends only V(false), the default.
        type: bool
      local_only_mapping:
        description:
          - Only in O(update), to set C(LocalOnlyMapping); left out, it is not changed. The controller sends only V(false), the default.
        type: bool
      recreate:
        description:
          - Only in O(update). Instead of C(Set-NetFirewallRule), rename the rule (C(Rename-NetFirewallRule)),
            create it afresh in O(group) (C(New-NetFirewallRule), every other setting at its default) and
            remove the renamed rule, for settings that C(Set-NetFirewallRule) cannot clear (C(Owner),
            C(Platform), C(Package), C(InterfaceAlias), the security filter). The traffic of the rule is
            never without a rule. Ignored in O(add).
        type: bool
        default: false
  update:
    description:
      - Rules of O(group) to set to the given values (same suboptions as O(add)).
    type: list
    elements: dict
    default: []
    suboptions: *rule
  remove:
    description:
      - Names of rules of O(group) to remove.
    type: list
    elements: str
    default: []
  profiles:
    description:
      - Firewall profiles to set.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The profile.
        type: str
        required: true
        choices: [Domain, Private, Public]
      enabled:
        description: Whether the firewall is on for the profile.
        type: bool
        required: true
      default_inbound_action:
        description: C(DefaultInboundAction).
        type: str
        required: true
        choices: [Allow, Block]
      default_outbound_action:
        description: C(DefaultOutboundAction).
        type: str
        required: true
        choices: [Allow, Block]
  port:
    description:
      - With O(operation=query), also report the remote addresses of the established TCP connections to this
        local port (RV(connections); the controller's connection is one of them) and the category of every
        connected network (RV(network_profiles)), for the lockout guard of M(voiceops.firewall.windows_firewall).
    type: int
  confirm_timeout:
    description:
      - With O(operation=apply) and a value above V(0), before the first change write O(restore) to
        C(%ProgramData%\voiceops.firewall\pending-<token>.json) and register the scheduled task
        C(\voiceops.firewall\restore-<token>) (runs as SYSTEM, once, this many seconds later), which puts the
        group's rules and the profiles back as O(restore) says unless O(operation=confirm) cancels it.
    type: int
    default: 0
  restore:
    description:
      - With O(confirm_timeout), what the restore puts back, decided by the controller. C(rules) are the group's
        rules before the apply (in the shape of O(add)) and C(profiles) the settings of the profiles the apply changes
        (in the shape of O(profiles)). The restore removes the rules of O(group) only and creates these.
    type: dict
  token:
    description: With O(operation=confirm), the RV(token) of the apply to confirm.
    type: str
notes:
  - Works on the local persistent policy store. Rules and profile settings from Group Policy take
    precedence over it; O(foreign=true) shows the effective rules including those.
attributes:
  check_mode:
    support: full
    description: A query changes nothing; an apply in check mode reports C(changed) without changing anything.
  diff_mode:
    support: none
    description: The diff is computed on the controller by M(voiceops.firewall.windows_firewall).
  platform:
    support: full
    platforms: windows
    description: Runs on the Windows host, with the NetSecurity PowerShell module (Windows Server 2012 and later).
seealso:
  - module: voiceops.firewall.windows_firewall
"""

EXAMPLES = r"""
- name: Read the collection's rules (what voiceops.firewall.windows_firewall does first)
  voiceops.firewall.win_firewall_rules:
    operation: query
    group: voiceops.firewall
  register: current

- name: Add one rule (normally the controller computes the whole list)
  voiceops.firewall.win_firewall_rules:
    operation: apply
    group: voiceops.firewall
    add:
      - name: voiceops.firewall-in-tcp-5986
        display_name: "voiceops.firewall: in TCP 5986 (winrm-https)"
        direction: Inbound
        action: Allow
        profiles: [Domain, Private, Public]
        protocol: TCP
        local_ports: ["5986"]
        remote_addresses: [10.99.0.0/24]
"""

RETURN = r"""
rules:
  description:
    - With O(operation=query), the rules of O(group), sorted by name. Enums are names as
      PowerShell prints them; lists stay lists.
  returned: operation is query
  type: list
  elements: dict
  sample:
    - Name: voiceops.firewall-in-tcp-5986
      DisplayName: "voiceops.firewall: in TCP 5986 (winrm-https)"
      Description: "Managed by voiceops.firewall (do not edit). Flows: management.winrm:management>dc01"
      Group: voiceops.firewall
      Enabled: "True"
      Direction: Inbound
      Action: Allow
      Profile: Any
      Protocol: TCP
      LocalPort: ["5986"]
      RemotePort: [Any]
      LocalAddress: [Any]
      RemoteAddress: [10.99.0.0/255.255.255.0]
      Program: Any
      EdgeTraversalPolicy: Block
      LooseSourceMapping: false
      LocalOnlyMapping: false
      Owner: ""
      Platform: []
      IcmpType: [Any]
      DynamicTarget: Any
      Package: ""
      InterfaceType: Any
      InterfaceAlias: [Any]
      Service: Any
      Authentication: NotRequired
      Encryption: NotRequired
      OverrideBlockRules: false
      LocalUser: Any
      RemoteUser: Any
      RemoteMachine: Any
profiles:
  description: With O(operation=query), the firewall profiles of the local persistent store.
  returned: operation is query
  type: list
  elements: dict
  sample:
    - {Name: Domain, Enabled: "True", DefaultInboundAction: Block, DefaultOutboundAction: Allow}
foreign_rules:
  description:
    - With O(foreign=true), enabled allow rules of other groups in the active store, in the shape of RV(rules)
      without the settings (from C(EdgeTraversalPolicy) on), with C(PolicyStoreSource), C(PolicyStoreSourceType)
      and C(Service) as in RV(block_rules).
  returned: operation is query, foreign is true and the firewall service is running
  type: list
  elements: dict
firewall_service:
  description:
    - The Windows Defender Firewall service, C(Get-Service -Name mpssvc), with C(Name), C(Status)
      (ServiceControllerStatus, e.g. C(Running), C(Stopped)) and C(StartType) (ServiceStartMode, e.g. C(Automatic),
      C(Manual), C(Disabled)); null when there is no such service.
  returned: operation is query
  type: dict
  sample: {Name: mpssvc, Status: Running, StartType: Automatic}
gpo_profiles:
  description:
    - The three profiles as Group Policy sets them (C(Get-NetFirewallProfile -PolicyStore RSOP), "the sum of all
      GPOs applied to the local computer"), each with C(Name), C(Enabled), C(DefaultInboundAction),
      C(DefaultOutboundAction), C(AllowInboundRules) and C(AllowLocalFirewallRules). C(Enabled) and the C(Allow*)
      settings are GpoBoolean (C(True), C(False), C(NotConfigured)), the default actions Action (C(NotConfigured),
      C(Allow), C(Block)); C(NotConfigured) is a setting Group Policy leaves to the local store.
      C(AllowLocalFirewallRules=False) means Windows ignores the local rules (local policy merge off).
  returned: operation is query and the RSOP store could be read
  type: list
  elements: dict
  sample:
    - {Name: Domain, Enabled: NotConfigured, DefaultInboundAction: NotConfigured, DefaultOutboundAction: NotConfigured,
       AllowInboundRules: NotConfigured, AllowLocalFirewallRules: "False"}
active_profiles:
  description:
    - The three profiles as they are in force (C(Get-NetFirewallProfile -PolicyStore ActiveStore)), in the shape of
      RV(gpo_profiles).
  returned: operation is query and the firewall service is running
  type: list
  elements: dict
block_rules:
  description:
    - The enabled block rules of the active store (Group Policy and local rules), in the shape of RV(foreign_rules),
      with C(PolicyStoreSourceType) (C(Local), C(GroupPolicy), C(Dynamic), C(Generated), C(Hardcoded)),
      C(PolicyStoreSource) (the GPO's name with C(-TracePolicyStore), or the store) and C(Service) (the service filter,
      C(Any) or the Windows service the rule is limited to).
  returned: operation is query and the firewall service is running
  type: list
  elements: dict
  sample:
    - Name: Block-SIP
      DisplayName: Block SIP
      Group: ""
      Enabled: "True"
      Direction: Inbound
      Action: Block
      Profile: Any
      Protocol: TCP
      LocalPort: ["5060"]
      RemotePort: [Any]
      LocalAddress: [Any]
      RemoteAddress: [Any]
      Program: Any
      PolicyStoreSource: Corp firewall baseline
      PolicyStoreSourceType: GroupPolicy
      Service: Any
policy_unread:
  description:
    - What of the effective policy could not be read, by part (C(gpo_profiles), C(active_profiles), C(active_rules),
      C(active_store)), with the reason; empty when everything was read.
  returned: operation is query
  type: dict
  sample: {active_store: "the Windows Defender Firewall service (mpssvc) is not running, so the active store was not read"}
done:
  description: With O(operation=apply), the changes made, in order (C(add NAME), C(update NAME), C(remove NAME), C(profile NAME)).
  returned: operation is apply
  type: list
  elements: str
  sample: ["add voiceops.firewall-in-tcp-5986", "remove voiceops.firewall-in-tcp-8080"]
connections:
  description: With O(port), the remote addresses of the established connections to that local port.
  returned: operation is query and port is given
  type: list
  elements: str
  sample: ["10.99.0.254"]
network_profiles:
  description: With O(port), every connected network with its C(name), C(interface) and C(category) (C(DomainAuthenticated), C(Private), C(Public)).
  returned: operation is query and port is given
  type: list
  elements: dict
token:
  description: With O(confirm_timeout), the pending restore's token, for O(operation=confirm).
  returned: operation is apply, changed, and confirm_timeout above 0
  type: str
rollback_at:
  description: With O(confirm_timeout), when the restore runs unless confirmed (seconds since the epoch).
  returned: operation is apply, changed, and confirm_timeout above 0
  type: int
confirmed:
  description: With O(operation=confirm), whether a pending restore was cancelled (false when it had run already).
  returned: operation is confirm
  type: bool
failed_step:
  description: The change that failed.
  returned: failure during apply
  type: str
  sample: add voiceops.firewall-in-tcp-5986
"""
