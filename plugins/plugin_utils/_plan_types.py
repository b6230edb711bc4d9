# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's shape as types: what ``_planner.plan`` returns and every later stage reads (internal API).

The plan is plain JSON-like data (it is written as ``plan.json`` and read back by the filters),
so its parts are ``TypedDict`` s, not classes: a reader and a type checker (``make typecheck``)
see which keys each stage consumes, and nothing changes at run time. ``docs/plan-schema.md``
describes the same keys in prose; ``tests/unit/test_plan_types.py`` checks that the example plan
has exactly the keys declared here (required and ``NotRequired``), so the two cannot drift apart.

What the targets render from the plan is typed here too, at the end: an edge's report
(``NftReport``) and a Windows rule (``WindowsRule``); the same test checks the example's.

Keys that are Python keywords (``from`` in routes and hops) need the functional ``TypedDict``
syntax.

No ``from __future__ import annotations`` here, unlike the other modules: with string
annotations Python 3.11 cannot see ``NotRequired`` at run time and would list every key in
``__required_keys__``, which the drift test reads.
"""

from typing import NotRequired, TypedDict


class SourceCitation(TypedDict):
    """A catalog citation: the vendor document (file name), its section; ``via`` a further guide it points to."""

    doc: str
    section: str
    via: NotRequired[str]


class Citation(SourceCitation):
    """A flow's citation: the catalog citation and the document's ``title``."""

    title: str


class End(TypedDict):
    """One end of a flow (``src`` or ``dst``): an inventory host or an endpoint, and its component."""

    name: str
    kind: str  # "host" or "endpoint"; "zone" for a local rule's end that is a whole zone
    zone: str
    component: str
    addresses: list[str]  # "10.0.0.1" or "10.0.0.0/24"; empty when the end is given by fqdn
    fqdn: str | None


class LocalRule(TypedDict):
    """What a local rule's flow carries instead of a catalog citation (``voiceops_local_rules``)."""

    owner: str
    reason: str | None
    ticket: str | None  # a local rule has a reason or a ticket, or both
    expires: str | None  # YYYY-MM-DD; the lint's gate fails once it is past


class Flow(TypedDict):
    """One catalog entry between two instances (docs/plan-schema.md, "A flow")."""

    id: str  # "<entry>:<src>><dst>"
    entry: str
    product: str
    service: str
    purpose: str
    src: End
    dst: End
    src_zone: str
    dst_zone: str
    protocol: str  # tcp, udp, icmp, gre or esp
    ports: list[str]  # merged and sorted ("5060", "9100-9101"); empty for portless protocols
    program: str | None
    feature: str | None
    transport: str | None  # plaintext, tls, encrypted
    tls_alternative: str | None
    replies_only: bool
    icmp_types: list[str] | None  # ICMP flows narrowed to these message types ("echo-request"); None: any
    condition: str | None
    citation: Citation  # a local rule's: doc "voiceops_local_rules", title "local rule (owner ...)", its reason as section
    local: NotRequired[LocalRule]  # only a local rule's flow (entry "local.<name>", product "local"), instead of a catalog source
    enforced_by: list[str]  # set by the planner's enforcement step; empty: nothing the plan manages enforces it


class Zone(TypedDict):
    networks: list[str]
    external: bool
    description: str | None


class Instance(TypedDict):
    """An inventory host or an endpoint of the estate (or a zone a local rule names as an end)."""

    kind: str  # "host" or "endpoint"; "zone": a local rule's end that is a whole zone (its networks)
    zone: str
    platform: str | None
    addresses: list[str]
    fqdn: str | None
    components: list[str]
    features: dict[str, list[str]]  # component -> features that are on (only components with any)
    outbound_default: NotRequired[str]  # managed Windows hosts only: "allow" or "block"


class Edge(TypedDict):
    """An edge firewall: the target that enforces on it, its addresses, zone -> interfaces."""

    kind: str  # "nftables"
    addresses: list[str]
    zones: dict[str, list[str]]
    passthrough: list[str]
    log_drops: NotRequired["LogDrops"]  # voiceops_edge_log_drops; absent: the default deny drops in silence
    fqdn_ends: NotRequired[str]  # voiceops_edge_fqdn_ends: "zone"; absent: "name" (sets filled from DNS on the edge)


class LogDrops(TypedDict):
    """How often an edge logs what its default deny drops, per zone pair (nft ``limit rate``)."""

    rate: str  # "10/minute": a count per second, minute, hour or day
    burst: int  # packets


# voiceops_routes as given (``from`` is a keyword, hence the functional syntax).
Route = TypedDict("Route", {
    "from": str,
    "to": str,
    "via": list[str],
    "through": NotRequired[list[str]],
})

# One step of a zone pair's path: from one zone to the next through every edge that joins both.
Hop = TypedDict("Hop", {"from": str, "to": str, "edges": list[str]})


class Unenforced(TypedDict):
    src_zone: str
    dst_zone: str
    flows: int


# What a security fact checks (``security_checks[].check``): ``rule`` and the keys that rule reads
# (``with`` is a keyword, hence the functional syntax).
Check = TypedDict("Check", {
    "rule": str,  # VO102, VO103, VO104 or VO109
    "only_from": NotRequired[list[str]],  # VO102: the components that may reach it
    "feature": NotRequired[str],  # VO103: the feature that must be off ...
    "with": NotRequired[list[str]],  # VO103: ... with these components
    "entry": NotRequired[str],  # VO104: the catalog entry
    "needs_feature": NotRequired[str],  # VO104: the feature it needs across zones ...
    "end": NotRequired[str],  # VO104: ... on this end ("src" or "dst")
    "not_in_zone_with": NotRequired[list[str]],  # VO109: components of another deployment, never in its zone ...
    "instead": NotRequired[list[str]],  # VO109: ... and what to use in such a zone
})


class SecurityCheck(TypedDict):
    """A catalog security fact of a component in the estate, recorded so that the lint reads only the plan."""

    id: str
    component: str
    check: Check
    citation: SourceCitation


class Summary(TypedDict):
    flows: int
    flows_by_product: dict[str, int]
    zone_pairs: int
    cross_zone_flows: int


class Plan(TypedDict):
    """What ``_planner.plan`` returns and ``plan.json`` holds (schema version 2)."""

    schema_version: int
    zones: dict[str, Zone]
    management_networks: list[str]
    instances: dict[str, Instance]
    edges: dict[str, Edge]
    routes: list[Route]
    paths: dict[str, list[Hop]]  # "<src_zone>><dst_zone>" -> hops, in order
    unenforced: list[Unenforced]
    security_checks: list[SecurityCheck]
    flows: list[Flow]  # sorted by id
    warnings: list[str]
    summary: Summary


class Finding(TypedDict):
    """One lint finding (``findings.json``; docs/lint.md)."""

    id: str  # the rule, VO101..VO108
    severity: str  # info, low, medium, high, critical
    title: str
    flow: str | None  # the flow's id; None for a finding about a host or a zone pair
    subject: str
    message: str
    citation: Citation | SourceCitation | None  # the flow's, or the security fact's; None for VO107, VO108
    # Absent in what ``_lint.findings`` returns; ``_lint.apply_accepts`` sets it (the reason, or None),
    # and ``gate``/``junit`` read it.
    accepted: NotRequired[str | None]


# What the targets render from the plan, as they write it beside their rules (docs/edge.md, docs/windows.md).

class NftElement(TypedDict):
    """One element of an edge's set or map, as the report's ``trace`` lists it."""

    element: str  # "10.0.0.1 . 10.0.1.0/24": saddr (. daddr), as in the rule set
    service: NotRequired[str]  # maps (tcp, udp) only: the service chain the element jumps to ...
    ports: NotRequired[list[str]]  # ... and the ports it accepts ("443", "5000-5050")
    flows: list[str]  # the ids of every flow behind the element, sorted


class NftCounts(TypedDict):
    rules: int
    sets: int  # sets and maps
    set_elements: int
    service_chains: int
    forward_flows: int
    input_flows: int


class NftZoneWide(TypedDict):
    """A flow end given only by name, enforced as its whole zone."""

    flow: str
    end: str  # "src" or "dst"
    name: str
    fqdn: str  # "" when the end has none
    enforced_as: str  # "zone <zone>"


class NftByName(TypedDict):
    """A flow end given only by name, enforced by the sets the edge fills from DNS (``voiceops_edge_fqdn_ends: name``)."""

    flow: str
    end: str  # "src" or "dst"
    name: str
    fqdn: str  # canonical: lower case, no trailing dot
    sets: list[str]  # name_<slug>_4, name_<slug>_6: the address families the rule matches
    enforced_as: str  # "name <fqdn> (set <set>, ...)"


class NftNameMatch(TypedDict, total=False):
    set: str  # one end: the name's set ...
    fqdn: str
    networks: list[str]  # ... or networks, as the rule writes them


class NftNameRule(TypedDict):
    """A rule that matches an end by its name's set: one per chain, protocol, IP version and pair of ends."""

    chain: str
    protocol: str
    version: int
    src: NftNameMatch
    dst: NotRequired[NftNameMatch]  # absent for a rule to the edge itself
    ports: NotRequired[list[str]]  # tcp, udp
    flows: list[str]
    rule: str  # the rule as the rendered table writes it, without its counter and comment (explain quotes it)


class NftNameSet(TypedDict):
    """A set the edge fills with the addresses of one name (the DNS refresh's configuration)."""

    set: str
    fqdn: str
    family: int  # 4 or 6


class NftNotEnforceable(TypedDict):
    flow: str
    why: str


class NftReport(TypedDict):
    """What ``_nft.render_edge`` reports for one edge (``edge/<edge>.json``; the ``nft_report`` filter)."""

    edge: str
    table: str
    counts: NftCounts
    forward_flows: list[str]  # sorted
    input_flows: list[str]  # sorted
    zone_wide: list[NftZoneWide]
    by_name: list[NftByName]
    name_rules: list[NftNameRule]
    name_sets: list[NftNameSet]
    not_enforceable: list[NftNotEnforceable]
    trace: dict[str, list[NftElement]]  # set or map name -> its elements


class WindowsRule(TypedDict):
    """A Windows Defender Firewall rule: as ``_windows.render_host`` renders it (``windows/<host>.json``)
    and as ``_windows_host.normalise_rule`` reads one back from the host. Its keys are
    ``_windows_model.RULE_FIELDS``."""

    name: str
    display_name: str
    description: str  # rendered: "Managed by <group> (do not edit). Flows: <ids>"
    direction: str  # Inbound or Outbound
    action: str  # Allow (read back: also Block or NotConfigured)
    enabled: bool
    profiles: list[str]  # of Domain, Private, Public, in that order
    protocol: str  # TCP, UDP, ICMPv4, ICMPv6, a protocol number, or Any
    local_ports: list[str]  # ["Any"], or ports and ranges ("5060", "40000-40999"), then keywords (RPC)
    remote_ports: list[str]
    local_addresses: list[str]  # ["Any"], or addresses and prefixes, then keywords (LocalSubnet)
    remote_addresses: list[str]
    program: str  # a full path, or Any
    icmp_type: NotRequired[list[str]]  # an ICMP rule narrowed to some types ("8": echo request); absent: any


class WindowsProfile(TypedDict):
    """The settings of one firewall profile (Domain, Private, Public) that the collection enforces."""

    enabled: bool | None  # None: NotConfigured (read back from the host only)
    default_inbound_action: str  # Block, Allow or NotConfigured
    default_outbound_action: str
