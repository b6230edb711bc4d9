# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service catalog: what each product component needs (internal API).

The catalog is data (``catalog/*.yml`` at the collection root, plus any files
or inline dictionaries a user adds).  This module loads it, checks it, and
turns it into immutable objects the planner can use.  The file format is
described in ``docs/catalog.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ._errors import Problems
from ._ports import PortError, PortSet, parse_ports

try:  # the C loader is several times faster; fall back to pure Python
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "catalog"

PORT_PROTOCOLS = ("tcp", "udp")
OTHER_PROTOCOLS = ("icmp", "gre", "esp")
PROTOCOLS = PORT_PROTOCOLS + OTHER_PROTOCOLS
PLATFORMS = ("windows", "linux", "device", "network", "external", "any")
PARAM_KINDS = ("port", "ports")
TRANSPORTS = ("plaintext", "tls", "encrypted")


@dataclass(frozen=True)
class Citation:
    doc: str
    section: str
    via: str | None = None  # a further public guide the document points to

    def as_dict(self) -> dict[str, str]:
        out = {"doc": self.doc, "section": self.section}
        if self.via:
            out["via"] = self.via
        return out


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    default: PortSet | None
    configurable: bool
    description: str
    cite: Citation | None


@dataclass(frozen=True)
class Feature:
    name: str
    default: bool
    description: str


@dataclass(frozen=True)
class SecurityFact:
    id: str
    text: str
    cite: Citation


@dataclass(frozen=True)
class Component:
    name: str
    product: str
    title: str
    platform: str
    roles: tuple[str, ...]
    parameters: dict[str, Parameter]
    features: dict[str, Feature]
    fqdn: str | None
    notes: tuple[str, ...]
    security: tuple[SecurityFact, ...]
    alternatives: tuple[str, ...] = ()  # components that stand in for this one (either kind of DC)


@dataclass(frozen=True)
class Entry:
    """One catalog entry: ``src`` role initiates ``protocol``/``ports`` to ``dst`` role."""

    id: str
    product: str
    src: str
    dst: str
    protocol: str
    ports: PortSet | None  # literal ports; None when taken from a parameter or portless
    param: str | None  # name of the parameter that gives the ports
    param_on: str  # "dst" or "src": whose parameter
    service: str
    purpose: str
    program: str | None
    feature: str | None
    feature_on: str
    transport: str | None
    tls_alternative: str | None
    replies_only: bool  # the vendor allows only replies back (stateful), nothing unsolicited
    condition: str | None
    cite: Citation


@dataclass
class Catalog:
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)

    def role_players(self, role: str) -> list[str]:
        """Component names that play ``role``, sorted."""
        return sorted(c.name for c in self.components.values() if role in c.roles)

    @property
    def roles(self) -> set[str]:
        return {r for c in self.components.values() for r in c.roles}


def _cite(raw: Any, path: str, problems: Problems, documents: dict[str, str]) -> Citation | None:
    if not isinstance(raw, dict) or not raw.get("doc") or not raw.get("section"):
        problems.add(path, raw, "a citation needs 'doc' and 'section'")
        return None
    if raw["doc"] not in documents:
        problems.add(path + ".doc", raw["doc"], "not a document listed under 'documents' in any catalog file")
    return Citation(doc=str(raw["doc"]), section=str(raw["section"]), via=raw.get("via"))


def _ports_or_problem(spec: Any, path: str, problems: Problems, allow_empty: bool = False) -> PortSet | None:
    if allow_empty and (spec == [] or spec is None):
        return ()
    try:
        return parse_ports(spec)
    except PortError as exc:
        problems.add(path, spec, str(exc))
        return None


def _load_component(name: str, raw: Any, product: str, path: str, problems: Problems, documents: dict[str, str]) -> Component | None:
    if not isinstance(raw, dict):
        problems.add(path, raw, "a component is a mapping")
        return None
    platform = raw.get("platform", "any")
    if platform not in PLATFORMS:
        problems.add(path + ".platform", platform, "must be one of " + ", ".join(PLATFORMS))
    params: dict[str, Parameter] = {}
    for pname, praw in sorted((raw.get("parameters") or {}).items()):
        ppath = "%s.parameters.%s" % (path, pname)
        if not isinstance(praw, dict):
            problems.add(ppath, praw, "a parameter is a mapping")
            continue
        kind = praw.get("kind", "ports")
        if kind not in PARAM_KINDS:
            problems.add(ppath + ".kind", kind, "must be one of " + ", ".join(PARAM_KINDS))
        default = praw.get("default")
        parsed = None if default is None else _ports_or_problem(default, ppath + ".default", problems, allow_empty=True)
        if kind == "port" and parsed and len(parsed) != 1:
            problems.add(ppath + ".default", default, "a 'port' parameter holds one port")
        cite = _cite(praw["cite"], ppath + ".cite", problems, documents) if "cite" in praw else None
        params[pname] = Parameter(pname, kind, parsed, bool(praw.get("configurable", False)),
                                  str(praw.get("description", "")), cite)
    features = {}
    for fname, fraw in sorted((raw.get("features") or {}).items()):
        fraw = fraw or {}
        features[fname] = Feature(fname, bool(fraw.get("default", False)), str(fraw.get("description", "")))
    security = []
    for idx, sraw in enumerate(raw.get("security") or []):
        spath = "%s.security[%d]" % (path, idx)
        cite = _cite(sraw.get("cite"), spath + ".cite", problems, documents)
        if cite and sraw.get("id") and sraw.get("text"):
            security.append(SecurityFact(str(sraw["id"]), str(sraw["text"]), cite))
        else:
            problems.add(spath, sraw, "a security fact needs id, text and cite")
    roles = [name] + [str(r) for r in raw.get("roles") or []]
    return Component(
        name=name,
        product=product,
        title=str(raw.get("title", name)),
        platform=platform,
        roles=tuple(sorted(set(roles))),
        parameters=params,
        features=features,
        fqdn=raw.get("fqdn"),
        notes=tuple(str(n) for n in raw.get("notes") or []),
        security=tuple(security),
        alternatives=tuple(sorted(str(a) for a in raw.get("alternative_to") or [])),
    )


_ENTRY_KEYS = {
    "id", "from", "to", "protocol", "ports", "service", "purpose", "program", "feature",
    "feature_on", "transport", "tls_alternative", "replies_only", "condition", "cite", "param_on",
}


def _load_entry(raw: Any, product: str, path: str, problems: Problems, documents: dict[str, str]) -> Entry | None:
    if not isinstance(raw, dict) or not raw.get("id"):
        problems.add(path, raw, "an entry is a mapping with an 'id'")
        return None
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        problems.add(path, unknown, "unknown keys in catalog entry %s" % raw["id"])
    protocol = raw.get("protocol")
    if protocol not in PROTOCOLS:
        problems.add(path + ".protocol", protocol, "must be one of " + ", ".join(PROTOCOLS) + " (one protocol per entry)")
    spec = raw.get("ports")
    ports: PortSet | None = None
    param: str | None = None
    if protocol in PORT_PROTOCOLS:
        if isinstance(spec, dict) and set(spec) == {"param"}:
            param = str(spec["param"])
        elif spec is None:
            problems.add(path + ".ports", spec, "%s needs ports" % protocol)
        else:
            ports = _ports_or_problem(spec, path + ".ports", problems)
    elif spec is not None:
        problems.add(path + ".ports", spec, "%s has no ports" % protocol)
    for side_key in ("param_on", "feature_on"):
        if raw.get(side_key, "dst") not in ("src", "dst"):
            problems.add(path + "." + side_key, raw.get(side_key), "must be 'src' or 'dst'")
    transport = raw.get("transport")
    if transport is not None and transport not in TRANSPORTS:
        problems.add(path + ".transport", transport, "must be one of " + ", ".join(TRANSPORTS))
    for key in ("from", "to", "service", "purpose"):
        if not raw.get(key):
            problems.add(path + "." + key, raw.get(key), "required")
    cite = _cite(raw.get("cite"), path + ".cite", problems, documents)
    if cite is None:
        return None
    return Entry(
        id=str(raw["id"]),
        product=product,
        src=str(raw.get("from")),
        dst=str(raw.get("to")),
        protocol=str(protocol),
        ports=ports,
        param=param,
        param_on=raw.get("param_on", "dst"),
        service=str(raw.get("service")),
        purpose=str(raw.get("purpose")),
        program=raw.get("program"),
        feature=raw.get("feature"),
        feature_on=raw.get("feature_on", "src"),
        transport=transport,
        tls_alternative=raw.get("tls_alternative"),
        replies_only=bool(raw.get("replies_only", False)),
        condition=raw.get("condition"),
        cite=cite,
    )


def load_documents(raw_files: list[tuple[str, Any]]) -> dict[str, str]:
    documents: dict[str, str] = {}
    for _source, data in raw_files:
        if isinstance(data, dict):
            for doc in data.get("documents") or []:
                if isinstance(doc, dict) and doc.get("file"):
                    documents[str(doc["file"])] = str(doc.get("title", doc["file"]))
    return documents


def build_catalog(raw_files: list[tuple[str, Any]]) -> Catalog:
    """Build and check a catalog from ``(source name, parsed YAML)`` pairs."""
    problems = Problems()
    catalog = Catalog(documents=load_documents(raw_files))
    for source, data in raw_files:
        if not isinstance(data, dict) or not isinstance(data.get("product"), dict) or not data["product"].get("id"):
            problems.add(source, type(data).__name__, "a catalog file is a mapping with product.id")
            continue
        product = str(data["product"]["id"])
        if product in catalog.products:
            problems.add(source + ".product.id", product, "product defined twice")
        catalog.products[product] = {"id": product, "title": str(data["product"].get("title", product)), "source": source}
        for name, craw in sorted((data.get("components") or {}).items()):
            cpath = "%s.components.%s" % (source, name)
            if name in catalog.components:
                problems.add(cpath, name, "component defined twice (also in product %s)" % catalog.components[name].product)
                continue
            comp = _load_component(name, craw, product, cpath, problems, catalog.documents)
            if comp:
                catalog.components[name] = comp
        for idx, eraw in enumerate(data.get("flows") or []):
            epath = "%s.flows[%d]" % (source, idx)
            entry = _load_entry(eraw, product, epath, problems, catalog.documents)
            if entry is None:
                continue
            if entry.id in catalog.entries:
                problems.add(epath + ".id", entry.id, "entry id used twice")
                continue
            catalog.entries[entry.id] = entry
    _check_references(catalog, problems)
    problems.raise_if_any()
    _symmetric_alternatives(catalog)
    return catalog


def _symmetric_alternatives(catalog: Catalog) -> None:
    """``alternative_to`` works both ways: either kind of domain controller stands in for the other."""
    groups: dict[str, set[str]] = {name: {name} for name in catalog.components}
    for comp in catalog.components.values():
        for other in comp.alternatives:
            merged = groups[comp.name] | groups[other]
            for member in merged:
                groups[member] = merged
    for name, comp in list(catalog.components.items()):
        alts = tuple(sorted(groups[name] - {name}))
        if alts != comp.alternatives:
            catalog.components[name] = replace(comp, alternatives=alts)


def _check_references(catalog: Catalog, problems: Problems) -> None:
    roles = catalog.roles
    for comp in catalog.components.values():
        for other in comp.alternatives:
            if other not in catalog.components:
                problems.add("component %s.alternative_to" % comp.name, other, "no such component")
    for entry in catalog.entries.values():
        path = "catalog entry %s" % entry.id
        for side in ("src", "dst"):
            role = getattr(entry, side)
            if role not in roles:
                problems.add(path + (".from" if side == "src" else ".to"), role, "no component plays this role")
        if entry.param and entry.param_on in ("src", "dst"):
            role = getattr(entry, entry.param_on)
            for comp in catalog.role_players(role):
                if entry.param not in catalog.components[comp].parameters:
                    problems.add(path + ".ports.param", entry.param, "component %s (plays %s) has no such parameter" % (comp, role))
        if entry.feature:
            role = entry.src if entry.feature_on == "src" else entry.dst
            for comp in catalog.role_players(role):
                if entry.feature not in catalog.components[comp].features:
                    problems.add(path + ".feature", entry.feature, "component %s (plays %s) has no such feature" % (comp, role))
        if entry.tls_alternative and entry.tls_alternative not in catalog.entries:
            problems.add(path + ".tls_alternative", entry.tls_alternative, "no such entry")


def read_yaml(path: str | os.PathLike[str]) -> Any:
    with open(path, "rb") as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 - a safe loader


def load_catalog(extra_paths: list[str] | None = None, extra_data: list[Any] | None = None,
                 builtin_dir: Path = BUILTIN_DIR) -> Catalog:
    """Load the built-in catalog plus the user's own files and inline entries."""
    raw: list[tuple[str, Any]] = []
    for path in sorted(builtin_dir.glob("*.yml")):
        raw.append(("catalog/" + path.name, read_yaml(path)))
    for idx, path in enumerate(extra_paths or []):
        try:
            raw.append((str(path), read_yaml(path)))
        except (OSError, yaml.YAMLError) as exc:
            problems = Problems()
            problems.add("voiceops_catalog_paths[%d]" % idx, str(path), "cannot read catalog file: %s" % exc)
            problems.raise_if_any()
    for idx, data in enumerate(extra_data or []):
        raw.append(("voiceops_catalog_extra[%d]" % idx, data))
    return build_catalog(raw)
