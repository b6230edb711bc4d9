# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one validation layer: types and names of every value the plan reads (internal API).

Inventory variables and catalog files are plain data that anybody with write access to an
inventory (or a Jinja expression, or a YAML quirk) shapes.  Before the estate or the catalog is
built, each value goes through a *spec* declared here: the spec checks its type, checks a name
against the pattern its use allows (a name reaches file names, nft rule sets and PowerShell
command lines), and hands back a normalised copy (plain ``dict``/``list``/``str``, string keys,
a lone item turned into a list).  A value that fails is recorded in :class:`Problems` with its
variable path and the value, and the builders never see it, so nothing but the collection's own
error (``VoiceopsError``) leaves the planner.

The semantic checks (an unknown zone, overlapping networks, a parameter the component does not
have) stay in ``_estate.py`` and ``_catalog.py``: they need the whole estate or catalog.  What
each pattern allows, and why, is in ``docs/security.md``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import TABLE_NAME

from ._errors import Problems


class _Invalid:
    """The result of a spec for a value it rejected (already recorded as a problem)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a value with
# one of them can end a line or a comment in a rendered file.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Names, each as narrow as its widest legitimate use.  All are ASCII: a name reaches nft
# comments (cut at a byte count), Windows rule names and file names.
ZONE_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")
CATALOG_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
ENTRY_ID = re.compile(r"[a-z][a-z0-9_]{0,62}(?:\.[a-z0-9_]{1,63}){0,3}")
# Inventory host and endpoint names: DNS-like, at most 90 characters (an edge's name goes into
# its table comment after the ownership marker, which nft limits to 128 bytes in all).  No '/', no leading '.', so a name is always
# one safe path component.
INSTANCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,89}")
# Linux interface names: at most 15 characters (IFNAMSIZ), no '/', no blank, no quote.
INTERFACE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")
# An interface that an edge forwards without filtering: a name, or a prefix ending in '*' (veth*).
PASSTHROUGH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,13}\*?")
FQDN = re.compile(r"(?=.{1,253}\Z)(?:\*\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                  r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?")
# A Windows program a catalog entry names (a file name, not a path: the path is the host's).
PROGRAM = re.compile(r"[A-Za-z0-9_][A-Za-z0-9 _.()+-]{0,99}")
# A Windows firewall rule group: no wildcard characters (* ? [ ]), which the cmdlets would expand.
RULE_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
FACT_ID = re.compile(r"[a-z][a-z0-9_-]{0,62}")

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

Spec = Callable[[Any, str, Problems], Any]


def name(pattern: re.Pattern[str], what: str) -> Spec:
    """A name matching ``pattern`` entirely (``fullmatch``: a final newline is not allowed)."""

    def check(value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, str) and pattern.fullmatch(value):
            return str(value)
        problems.add(path, value, what)
        return INVALID

    return check


def text(max_len: int = 2000, required: bool = False) -> Spec:
    """Free text on one line: no control characters; numbers are taken as their text."""

    def check(value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            problems.add(path, value, "text (a string)")
            return INVALID
        if _CONTROL.search(value):
            problems.add(path, value, "one line of text without control characters")
            return INVALID
        if len(value) > max_len:
            problems.add(path, value[:60] + "...", "text of at most %d characters (got %d)" % (max_len, len(value)))
            return INVALID
        if required and not value.strip():
            problems.add(path, value, "required")
            return INVALID
        return str(value)

    return check


def boolean(value: Any, path: str, problems: Problems) -> Any:
    """true or false, also in the spellings Ansible takes from INI inventories (yes/no, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    problems.add(path, value, "true or false")
    return INVALID


def choice(values: tuple[str, ...], note: str = "") -> Spec:
    def check(value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, str) and value in values:
            return str(value)
        hint = " (%s)" % note if note else ""
        if isinstance(value, str) and value.strip().lower() in values:
            hint += " (values are lower case: %r)" % value.strip().lower()
        problems.add(path, value, "must be one of %s%s" % (", ".join(values), hint))
        return INVALID

    return check


def port_spec(value: Any, path: str, problems: Problems) -> Any:
    """A port, a range, a comma separated string or a list of them (parsed later by ``_ports``)."""
    items = value if isinstance(value, list) else [value]
    for idx, item in enumerate(items):
        ipath = "%s[%d]" % (path, idx) if isinstance(value, list) else path
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            problems.add(ipath, item, "a port (1-65535), a range like 10000-20000, or a list of them")
            return INVALID
    return list(value) if isinstance(value, list) else value


def whole_number(low: int, high: int) -> Spec:
    """An integer from ``low`` to ``high`` (not a bool; a string of digits is taken too)."""

    def check(value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, str) and value.isdigit() and value.isascii():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return int(value)
        problems.add(path, value, "a whole number from %d to %d" % (low, high))
        return INVALID

    return check


def passthrough(value: Any, _path: str, _problems: Problems) -> Any:
    """Any value: checked later, item by item, so that one bad item does not hide the others."""
    return value


def any_string(value: Any, path: str, problems: Problems) -> Any:
    if isinstance(value, str):
        return str(value)
    problems.add(path, value, "a string")
    return INVALID


def nullable(spec: Spec, default: Any = None) -> Spec:
    """``None`` (YAML's empty value) stands for ``default``."""

    def check(value: Any, path: str, problems: Problems) -> Any:
        return default_copy(default) if value is None else spec(value, path, problems)

    return check


def default_copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value


def list_of(item: Spec, what: str, one_or_list: bool = False) -> Spec:
    """A list whose items pass ``item``; with ``one_or_list`` a single item stands for a list of one."""

    def check(value: Any, path: str, problems: Problems) -> Any:
        if one_or_list and not isinstance(value, (list, tuple, Mapping)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            problems.add(path, value, what)
            return INVALID
        out = []
        ok = True
        for idx, raw in enumerate(value):
            clean = item(raw, "%s[%d]" % (path, idx), problems)
            if clean is INVALID:
                ok = False
            else:
                out.append(clean)
        return out if ok else INVALID

    return check


def mapping_of(key: Spec, value: Spec, what: str) -> Spec:
    """A mapping with keys that pass ``key`` (strings, never int/bool/date/None) and values that pass ``value``.

    Keys are checked before they are sorted or formatted; the result is a plain dict in key order.
    """

    def check(raw: Any, path: str, problems: Problems) -> Any:
        if not isinstance(raw, Mapping):
            problems.add(path, raw, what)
            return INVALID
        out: dict[str, Any] = {}
        ok = True
        for k in raw:
            # A bad key is shown escaped ([...]) so that the path itself cannot carry a line break.
            bad_path = "%s[%r]" % (path, k)
            clean_key = key(k, bad_path, problems) if isinstance(k, str) else _bad_key(k, bad_path, problems)
            if clean_key is INVALID:
                ok = False
                continue
            clean = value(raw[k], "%s.%s" % (path, clean_key), problems)
            if clean is INVALID:
                ok = False
                continue
            out[clean_key] = clean
        return dict(sorted(out.items())) if ok else INVALID

    return check


def _bad_key(key: Any, path: str, problems: Problems) -> Any:
    problems.add(path, key, "a name (a string key; YAML reads unquoted numbers, dates, yes/no and ~ as other types)")
    return INVALID


def record(fields: Mapping[str, Spec], what: str, required: tuple[str, ...] = (),
           unknown: str = "error") -> Spec:
    """A mapping with the keys ``fields`` names; ``unknown`` keys are an ``error`` or ``ignore``d.

    Absent keys are absent in the result; builders supply defaults.
    """

    def check(raw: Any, path: str, problems: Problems) -> Any:
        if not isinstance(raw, Mapping):
            problems.add(path, raw, what)
            return INVALID
        ok = True
        bad_keys = [k for k in raw if not isinstance(k, str)]
        for k in bad_keys:
            _bad_key(k, "%s[%r]" % (path, k), problems)
            ok = False
        extra = sorted(k for k in raw if isinstance(k, str) and k not in fields)
        if extra and unknown == "error":
            problems.add(path, extra, "unknown keys; allowed are %s" % ", ".join(sorted(fields)))
            ok = False
        out: dict[str, Any] = {}
        for k in fields:
            if k not in raw:
                if k in required:
                    problems.add("%s.%s" % (path, k), None, "required")
                    ok = False
                continue
            clean = fields[k](raw[k], "%s.%s" % (path, k), problems)
            if clean is INVALID:
                ok = False
            else:
                out[k] = clean
        return out if ok else INVALID

    return check


def either(by_type: list[tuple[type | tuple[type, ...], Spec]], what: str) -> Spec:
    """The first spec whose type matches the value's (a list form or a mapping form of one setting)."""

    def check(value: Any, path: str, problems: Problems) -> Any:
        for types, spec in by_type:
            if isinstance(value, types) and not (isinstance(value, bool) and bool not in _as_tuple(types)):
                return spec(value, path, problems)
        problems.add(path, value, what)
        return INVALID

    return check


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def clean(spec: Spec, value: Any, path: str, problems: Problems) -> Any:
    """Run ``spec``; ``INVALID`` when it recorded a problem."""
    return spec(value, path, problems)


# ---------------------------------------------------------------------------------------------
# What the plan reads.  Catalog vocabulary first (``_catalog.py`` imports it from here).

PORT_PROTOCOLS = ("tcp", "udp")
OTHER_PROTOCOLS = ("icmp", "gre", "esp")
PROTOCOLS = PORT_PROTOCOLS + OTHER_PROTOCOLS
PROTO_ORDER = {p: i for i, p in enumerate(PROTOCOLS)}  # how every report and rule set sorts protocols
PLATFORMS = ("windows", "linux", "device", "network", "external", "any")
PARAM_KINDS = ("port", "ports")
TRANSPORTS = ("plaintext", "tls", "encrypted")
# ICMP message types a catalog entry may narrow an ICMP flow to, by name; the numbers per IP version
# are the targets' business (ICMPv4 RFC 792, ICMPv6 RFC 4443).
ICMP_TYPES = ("echo-request", "destination-unreachable", "time-exceeded")
SIDES = ("src", "dst")

zone_name = name(ZONE_NAME, "a zone name is lower case letters, digits and _, starting with a letter, at most 31 characters")
catalog_name = name(CATALOG_NAME, "a catalog name is lower case letters, digits and _, starting with a letter, at most 63 characters")
entry_id = name(ENTRY_ID, "an entry id is catalog names joined by dots (for example swyx.sip_tls)")
instance_name = name(INSTANCE_NAME, "a host or endpoint name is letters, digits, '.', '_' and '-', starting with a letter or digit, "
                                    "at most 90 characters")
interface_name = name(INTERFACE_NAME, "an interface name is letters, digits, '_', '.' and '-', at most 15 characters")
passthrough_name = name(PASSTHROUGH, "an interface name, or a prefix of one ending in '*' (veth*), at most 15 characters")
fqdn_name = name(FQDN, "a DNS name (letters, digits, '-', '_' and dots; '*.' may lead), at most 253 characters")
program_name = name(PROGRAM, "a program file name (letters, digits, space, . _ ( ) + -), not a path")
table_name = name(TABLE_NAME, "an nftables table name is letters, digits and _, starting with a letter, at most 32 characters")
rule_group = name(RULE_GROUP, "a rule group name is letters, digits, space, '.', '_' and '-', at most 64 characters "
                              "(no wildcard: the cmdlets would match other groups' rules)")
# A document is a reference (a file name, a path or a URL), never opened nor used as a path here.
document_name = text(max_len=200, required=True)
networks = list_of(any_string, "an IP address or network, or a list of them", one_or_list=True)


def _component_settings() -> Spec:
    features = either([(list, list_of(catalog_name, "a list of feature names")),
                       (Mapping, mapping_of(catalog_name, boolean, "a mapping of feature name to true/false"))],
                      "a list of feature names or a mapping of feature name to true/false")
    settings = record({
        "params": nullable(mapping_of(catalog_name, port_spec, "a mapping of parameter name to ports"), {}),
        "features": nullable(features, []),
        "tls_only": boolean,
        "peers": nullable(mapping_of(catalog_name, list_of(instance_name, "a list of host or endpoint names", one_or_list=True),
                                     "a mapping of role or component to a list of instance names"), {}),
    }, "component settings are a mapping (params, features, tls_only, peers)")
    by_list = list_of(catalog_name, "a list of component names")
    return either([(list, lambda v, p, pr: _as_mapping(by_list(v, p, pr))),
                   (Mapping, mapping_of(catalog_name, nullable(settings, {}),
                                        "a mapping of component name to its settings"))],
                  "a list of component names or a mapping of component name to its settings")


def _as_mapping(names: Any) -> Any:
    return INVALID if names is INVALID else {n: {} for n in sorted(set(names))}


components = _component_settings()
WINDOWS_PROFILES = ("Domain", "Private", "Public")
# windows_firewall_program_paths: program file name -> its full path on the host (one line of text).
# A program's full path, or several (W3WP.exe of 64-bit and of 32-bit application pools: System32 and SysWOW64).
program_paths_spec = mapping_of(program_name, either([
    (str, text(max_len=260, required=True)),
    (list, list_of(text(max_len=260, required=True), "a list of full paths")),
], "a full path or a list of them"), "a mapping of program file name to its full path (or a list of paths)")

ZONE = record({"networks": networks, "external": boolean, "description": text()},
              "a zone is a mapping with 'networks' (and 'external', 'description')")
ENDPOINT_FIELDS: dict[str, Spec] = {
    "zone": zone_name, "addresses": networks, "fqdn": fqdn_name, "components": nullable(components, {}),
    "platform": choice(PLATFORMS), "description": text(),
}
_endpoint = record(ENDPOINT_FIELDS, "an endpoint is a mapping with zone, addresses or fqdn, and components")
_listed_endpoint = record(dict(ENDPOINT_FIELDS, name=instance_name), "an endpoint is a mapping with a name",
                          required=("name",))
_route = record({"from": zone_name, "to": zone_name,
                 "via": nullable(list_of(zone_name, "a list of zone names", one_or_list=True), []),
                 "through": nullable(list_of(instance_name, "a list of edge names", one_or_list=True), [])},
                "a route is a mapping with from, to, via (the zones between) and through (the edges)",
                required=("from", "to"))
# Local rules (voiceops_local_rules, docs/inventory.md "Local rules"): who asked for a one-off flow,
# why, and until when. The text reaches plan.json, flows.md, Windows rule descriptions and reports,
# so it is a narrow ASCII set: no quote, backslash, '<', '>', '|', '{', '}', '$' or '%'.
LOCAL_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}")
LOCAL_TICKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._#/:+-]{0,63}")
LOCAL_REASON = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,.;:_@#/()+-]{0,199}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(value: Any, path: str, problems: Problems) -> Any:
    """A calendar date, ``YYYY-MM-DD`` (YAML reads an unquoted one as a date: taken too); its ISO text."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    problems.add(path, value, "a date YYYY-MM-DD (for example 2027-03-31)")
    return INVALID


local_owner = name(LOCAL_OWNER, "an owner is letters, digits, space, '.', '_', '@', '+' and '-', at most 64 characters")
local_ticket = name(LOCAL_TICKET, "a ticket is letters, digits, '.', '_', '#', '/', ':', '+' and '-', at most 64 characters")
local_reason = name(LOCAL_REASON, "a reason is one line of letters, digits, space and , . ; : _ @ # / ( ) + -, "
                                  "at most 200 characters (no quotes)")
_local_rule = record({
    "name": catalog_name, "from": instance_name, "to": instance_name,
    "protocol": choice(PROTOCOLS), "ports": port_spec,
    "owner": local_owner, "reason": local_reason, "ticket": local_ticket, "expires": iso_date,
}, "a local rule is a mapping with name, from, to, protocol, ports, owner, and reason or ticket",
    required=("name", "from", "to", "protocol", "owner"))
_lint_accept = record({"id": any_string, "flow": text(), "subject": text(), "reason": text(),
                       "owner": local_owner, "expires": iso_date},
                      "a mapping with id, flow or subject, and reason (and owner, expires)")
# voiceops_edge_fqdn_ends on an edge: how it matches an end known only by name (docs/edge.md "Ends known only by name").
EDGE_FQDN_ENDS = ("name", "zone")
# voiceops_edge_log_drops on an edge: log what its default deny drops, at most this often.
LOG_RATE = re.compile(r"[1-9][0-9]{0,5}/(?:second|minute|hour|day)")
_log_drops = record({"rate": name(LOG_RATE, "a rate is a count per second, minute, hour or day (10/minute)"),
                     "burst": whole_number(1, 10000)}, "a mapping with rate and burst (for example {rate: 10/minute, burst: 5})")

GLOBAL_VARS: dict[str, Spec] = {
    "voiceops_zones": mapping_of(zone_name, nullable(ZONE, {}), "a mapping of zone name to its networks is required"),
    "voiceops_management_networks": nullable(networks, []),
    "voiceops_endpoints": nullable(either([
        (list, list_of(_listed_endpoint, "a list of endpoints")),
        (Mapping, mapping_of(instance_name, _endpoint, "a mapping of endpoint name to its settings")),
    ], "a mapping of endpoint name to its settings"), {}),
    "voiceops_lint_accept": nullable(list_of(_lint_accept, "a list of {id, flow or subject, reason}"), []),
    "voiceops_lint_fail_on": nullable(any_string, "high"),
    "voiceops_routes": nullable(list_of(_route, "a list of routes {from: zone, to: zone, via: [zones]}"), []),
    "voiceops_local_rules": nullable(list_of(_local_rule, "a list of local rules {name, from, to, protocol, ports, owner, reason or ticket}"), []),
    "voiceops_today": nullable(iso_date),
}

HOST_VARS: dict[str, Spec] = {
    "voiceops_components": components,
    "voiceops_zone": zone_name,
    "voiceops_addresses": networks,
    "voiceops_platform": choice(PLATFORMS),
    "voiceops_edge_zones": either([
        (list, list_of(zone_name, "a list of zone names")),
        (Mapping, mapping_of(zone_name, nullable(list_of(interface_name, "an interface name or a list of them", one_or_list=True), []),
                             "a mapping of zone name to interface(s)")),
    ], "a list of zone names or a mapping of zone name to interface(s)"),
    "voiceops_edge_passthrough": nullable(list_of(passthrough_name, "an interface name or a list of them", one_or_list=True), []),
    "voiceops_edge_log_drops": nullable(either([(bool, boolean), (Mapping, _log_drops)],
                                               "true, false, or {rate: 10/minute, burst: 5}"), False),
    "voiceops_edge_fqdn_ends": nullable(choice(EDGE_FQDN_ENDS, "name: sets filled from DNS on the edge; zone: the end's whole zone"), "name"),
    "ansible_host": any_string,
    "ansible_port": port_spec,
    "ansible_winrm_port": port_spec,
    "ansible_psrp_port": port_spec,
    "ansible_ssh_port": port_spec,
    "ansible_psrp_protocol": choice(("http", "https")),
    "ansible_connection": any_string,
}

# The windows_firewall role's variables that shape the Windows target's files (per host).
ROLE_VARS: dict[str, Spec] = {
    "windows_firewall_group": rule_group,
    "windows_firewall_profiles": list_of(choice(WINDOWS_PROFILES), "a list of firewall profiles", one_or_list=True),
    "windows_firewall_outbound_default": choice(("allow", "block")),
    "windows_firewall_fqdn_remote": choice(("any", "skip", "resolve")),
    "windows_firewall_program_paths": nullable(program_paths_spec, {}),
}

# The edge_firewall role's variables that reach a file on the edge (what shapes its table is in the plan).
# A systemd time span (systemd.time(7)) as the DNS refresh timer takes it: 5min, 1h 30min, 90s.
REFRESH_SPAN = re.compile(r"(?:[1-9][0-9]{0,5}(?:ms|s|sec|m|min|h|hr|d|w)(?: [1-9][0-9]{0,5}(?:ms|s|sec|m|min|h|hr|d|w)){0,3})?")
EDGE_ROLE_VARS: dict[str, Spec] = {
    "edge_firewall_dns_refresh": name(REFRESH_SPAN, "a systemd time span such as 5min or 1h, or empty for no timer"),
}

_cite = record({"doc": document_name, "section": text(required=True), "via": text()},
               "a citation needs 'doc' and 'section'", required=("doc", "section"))
_parameter = record({"kind": choice(PARAM_KINDS), "default": nullable(port_spec), "configurable": boolean,
                     "description": text(), "cite": _cite}, "a parameter is a mapping")
_feature = record({"default": boolean, "description": text()}, "a feature is a mapping (default, description)")
# A security fact the lint can check (docs/lint.md): which rule, and the catalog names it concerns.
LINT_CHECKS = ("VO102", "VO103", "VO104", "VO109")
_check = record({"rule": choice(LINT_CHECKS), "only_from": list_of(catalog_name, "a list of component names"),
                 "not_in_zone_with": list_of(catalog_name, "a list of component names"),
                 "instead": list_of(catalog_name, "a list of component names"),
                 "feature": catalog_name, "with": list_of(catalog_name, "a list of component names"),
                 "entry": entry_id, "needs_feature": catalog_name, "end": choice(SIDES)},
                "a check is a mapping with rule and what it concerns", required=("rule",))
_security = record({"id": name(FACT_ID, "a security fact id is lower case letters, digits, '_' and '-'"),
                    "text": text(required=True), "cite": _cite, "check": _check},
                   "a security fact needs id, text and cite", required=("id", "text", "cite"))
COMPONENT = record({
    "title": text(), "platform": choice(PLATFORMS),
    "roles": list_of(catalog_name, "a list of role names"),
    "parameters": nullable(mapping_of(catalog_name, _parameter, "a mapping of parameter name to its definition"), {}),
    "features": nullable(mapping_of(catalog_name, nullable(_feature, {}), "a mapping of feature name to its definition"), {}),
    "fqdn": fqdn_name,
    "notes": nullable(list_of(text(), "a list of notes (text)"), []),
    "security": nullable(list_of(_security, "a list of security facts"), []),
    "alternative_to": nullable(list_of(catalog_name, "a list of component names"), []),
}, "a component is a mapping")
ENTRY = record({
    "id": entry_id, "from": catalog_name, "to": catalog_name, "protocol": choice(PROTOCOLS, "one protocol per entry"),
    "ports": either([(Mapping, record({"param": catalog_name}, "ports from a parameter: {param: name}", required=("param",))),
                     ((int, str, list), port_spec)],
                    "a port, a range, a list of them, or {param: name}"),
    "service": text(required=True), "purpose": text(required=True), "program": program_name,
    "feature": catalog_name, "feature_on": choice(SIDES), "param_on": choice(SIDES),
    "unless_feature": catalog_name, "unless_feature_on": choice(SIDES),
    "transport": choice(TRANSPORTS), "tls_alternative": entry_id, "replies_only": boolean,
    "condition": text(), "cite": _cite,
    "icmp_types": nullable(list_of(choice(ICMP_TYPES), "a list of ICMP message types", one_or_list=True), []),
}, "an entry is a mapping with an 'id'", required=("id", "from", "to", "protocol", "service", "purpose", "cite"))
CATALOG_FILE = record({
    "product": record({"id": catalog_name, "title": text()}, "a mapping with id and title", required=("id",)),
    # version: the document's date or version as the vendor states it, or "unstated" (docs/catalog.md)
    "documents": nullable(list_of(record({"file": document_name, "title": text(), "version": text(max_len=100, required=True)},
                                         "a document is a mapping with file, title and version",
                                         required=("file",)), "a list of documents"), []),
    "components": nullable(mapping_of(catalog_name, passthrough, "a mapping of component name to its definition"), {}),
    "flows": nullable(list_of(passthrough, "a list of entries"), []),
}, "a catalog file is a mapping with product.id", required=("product",))
# CATALOG_FILE leaves components and flows to COMPONENT and ENTRY, one at a time.
