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
from ._schema import (CATALOG_FILE, COMPONENT, ENTRY, INVALID, any_string, list_of, PARAM_KINDS, PLATFORMS, PORT_PROTOCOLS, PROTOCOLS,
                      TRANSPORTS, clean, text)

__all__ = ["PARAM_KINDS", "PLATFORMS", "PORT_PROTOCOLS", "PROTOCOLS", "TRANSPORTS", "Catalog", "Component", "Entry",
           "build_catalog", "load_catalog", "read_yaml"]

try:  # the C loader is several times faster; fall back to pure Python
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "catalog"
_PATHS = list_of(any_string, "a list of catalog file paths")
_DIR = text(max_len=4096, required=True)
_EXTRA = list_of(lambda value, _path, _problems: value, "a list of catalog definitions (each shaped like a catalog file)")


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
    check: dict[str, Any] | None = None  # what the lint checks for it (docs/lint.md), or None

    def as_dict(self, component: str) -> dict[str, Any]:
        """The fact as the plan records it, for a lint that reads only the plan."""
        return {"id": self.id, "component": component, "check": dict(self.check or {}), "citation": self.cite.as_dict()}


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
    path: str = ""  # where it is defined (catalog file or variable path), for error messages


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
    path: str = ""  # where it is defined (catalog file or variable path), for error messages
    icmp_types: tuple[str, ...] = ()  # ICMP only: the message types the flow needs (empty: any)
    unless_feature: str | None = None  # the entry is not planned where this feature is on ...
    unless_feature_on: str = "src"  # ... of this end's component


@dataclass
class Catalog:
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # document -> its date or version as stated, or "unstated"
    components: dict[str, Component] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)

    def role_players(self, role: str) -> list[str]:
        """Component names that play ``role``, sorted."""
        return sorted(c.name for c in self.components.values() if role in c.roles)

    @property
    def roles(self) -> set[str]:
        return {r for c in self.components.values() for r in c.roles}


def _cite(raw: dict[str, str], path: str, problems: Problems, documents: dict[str, str]) -> Citation:
    if raw["doc"] not in documents:
        problems.add(path + ".doc", raw["doc"], "not a document listed under 'documents' in any catalog file")
    return Citation(doc=raw["doc"], section=raw["section"], via=raw.get("via"))


def _ports_or_problem(spec: Any, path: str, problems: Problems, allow_empty: bool = False) -> PortSet | None:
    if allow_empty and spec == []:
        return ()
    try:
        return parse_ports(spec)
    except PortError as exc:
        problems.add(path, spec, str(exc))
        return None


def _load_component(name: str, raw: dict[str, Any], product: str, path: str, problems: Problems,
                    documents: dict[str, str]) -> Component:
    """A component (shape checked by the schema)."""
    params: dict[str, Parameter] = {}
    for pname, praw in raw.get("parameters", {}).items():
        ppath = "%s.parameters.%s" % (path, pname)
        kind = praw.get("kind", "ports")
        default = praw.get("default")
        parsed = None if default is None else _ports_or_problem(default, ppath + ".default", problems, allow_empty=True)
        if kind == "port" and parsed and (len(parsed) != 1 or parsed[0][0] != parsed[0][1]):
            problems.add(ppath + ".default", default, "a 'port' parameter holds one port")
        cite = _cite(praw["cite"], ppath + ".cite", problems, documents) if "cite" in praw else None
        params[pname] = Parameter(pname, kind, parsed, praw.get("configurable", False), praw.get("description", ""), cite)
    features = {fname: Feature(fname, fraw.get("default", False), fraw.get("description", ""))
                for fname, fraw in raw.get("features", {}).items()}
    security = tuple(SecurityFact(sraw["id"], sraw["text"], _cite(sraw["cite"], "%s.security[%d].cite" % (path, idx), problems, documents),
                                  sraw.get("check"))
                     for idx, sraw in enumerate(raw.get("security", [])))
    return Component(
        name=name,
        product=product,
        title=raw.get("title", name),
        platform=raw.get("platform", "any"),
        roles=tuple(sorted({name, *raw.get("roles", [])})),
        parameters=params,
        features=features,
        fqdn=raw.get("fqdn"),
        notes=tuple(raw.get("notes", [])),
        security=security,
        alternatives=tuple(sorted(set(raw.get("alternative_to", [])))),
        path=path,
    )


def _load_entry(raw: dict[str, Any], product: str, path: str, problems: Problems, documents: dict[str, str]) -> Entry:
    """A catalog entry (shape checked by the schema)."""
    protocol = raw["protocol"]
    spec = raw.get("ports")
    ports: PortSet | None = None
    param: str | None = None
    if protocol in PORT_PROTOCOLS:
        if isinstance(spec, dict):
            param = spec["param"]
        elif spec is None:
            problems.add(path + ".ports", spec, "%s needs ports" % protocol)
        else:
            ports = _ports_or_problem(spec, path + ".ports", problems)
    elif spec is not None:
        problems.add(path + ".ports", spec, "%s has no ports" % protocol)
    if raw.get("icmp_types") and protocol != "icmp":
        problems.add(path + ".icmp_types", raw["icmp_types"], "only an icmp entry has ICMP types")
    return Entry(
        id=raw["id"],
        product=product,
        src=raw["from"],
        dst=raw["to"],
        protocol=protocol,
        ports=ports,
        param=param,
        param_on=raw.get("param_on", "dst"),
        service=raw["service"],
        purpose=raw["purpose"],
        program=raw.get("program"),
        feature=raw.get("feature"),
        feature_on=raw.get("feature_on", "src"),
        transport=raw.get("transport"),
        tls_alternative=raw.get("tls_alternative"),
        replies_only=raw.get("replies_only", False),
        condition=raw.get("condition"),
        cite=_cite(raw["cite"], path + ".cite", problems, documents),
        path=path,
        icmp_types=tuple(raw.get("icmp_types") or ()),
        unless_feature=raw.get("unless_feature"),
        unless_feature_on=raw.get("unless_feature_on", "src"),
    )


def load_documents(files: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    documents: dict[str, str] = {}
    for _source, data in files:
        for doc in data.get("documents", []):
            documents[doc["file"]] = doc.get("title", doc["file"])
    return documents


def load_versions(files: list[tuple[str, dict[str, Any]]], problems: Problems) -> dict[str, str]:
    """Each document's version as its catalog files record it; two files that cite the same
    document must not disagree about which version they read."""
    versions: dict[str, str] = {}
    for source, data in files:
        for idx, doc in enumerate(data.get("documents", [])):
            if "version" not in doc:
                continue
            known = versions.setdefault(doc["file"], doc["version"])
            if known != doc["version"]:
                problems.add("%s.documents[%d].version" % (source, idx), doc["version"],
                             "another catalog file records version %r of %s" % (known, doc["file"]))
    return versions


def build_catalog(raw_files: list[tuple[str, Any]]) -> Catalog:
    """Build and check a catalog from ``(source name, parsed YAML)`` pairs.

    Every file goes through the schema (``_schema.CATALOG_FILE``) first; a file with a bad
    value is reported, and the rest is still checked so that one run shows every problem.
    """
    problems = Problems()
    files = []
    for source, data in raw_files:
        cleaned = clean(CATALOG_FILE, data, source, problems)
        if cleaned is not INVALID:
            files.append((source, cleaned))
    catalog = Catalog(documents=load_documents(files), versions=load_versions(files, problems))
    for source, data in files:
        product = data["product"]["id"]
        if product in catalog.products:
            problems.add(source + ".product.id", product, "product defined twice")
        catalog.products[product] = {"id": product, "title": data["product"].get("title", product), "source": source}
        for name, craw in data.get("components", {}).items():
            cpath = "%s.components.%s" % (source, name)
            if name in catalog.components:
                problems.add(cpath, name, "component defined twice (also in product %s)" % catalog.components[name].product)
                continue
            craw = clean(COMPONENT, craw, cpath, problems)
            if craw is not INVALID:
                catalog.components[name] = _load_component(name, craw, product, cpath, problems, catalog.documents)
        for idx, eraw in enumerate(data.get("flows", [])):
            epath = "%s.flows[%d]" % (source, idx)
            eraw = clean(ENTRY, eraw, epath, problems)
            if eraw is INVALID:
                continue
            entry = _load_entry(eraw, product, epath, problems, catalog.documents)
            if entry.id in catalog.entries:
                problems.add(epath + ".id", entry.id, "entry id used twice")
                continue
            catalog.entries[entry.id] = entry
    if not problems:  # references are checked only between well-formed definitions
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
                problems.add(comp.path + ".alternative_to", other, "no such component")
    for entry in catalog.entries.values():
        path = entry.path
        for side in ("src", "dst"):
            role = getattr(entry, side)
            if role not in roles:
                problems.add(path + (".from" if side == "src" else ".to"), role, "no component plays this role")
        if entry.param and entry.param_on in ("src", "dst"):
            role = getattr(entry, entry.param_on)
            for player in catalog.role_players(role):
                if entry.param not in catalog.components[player].parameters:
                    problems.add(path + ".ports.param", entry.param, "component %s (plays %s) has no such parameter" % (player, role))
        if entry.feature:
            role = entry.src if entry.feature_on == "src" else entry.dst
            for player in catalog.role_players(role):
                if entry.feature not in catalog.components[player].features:
                    problems.add(path + ".feature", entry.feature, "component %s (plays %s) has no such feature" % (player, role))
        if entry.unless_feature:
            role = entry.src if entry.unless_feature_on == "src" else entry.dst
            for player in catalog.role_players(role):
                if entry.unless_feature not in catalog.components[player].features:
                    problems.add(path + ".unless_feature", entry.unless_feature,
                                 "component %s (plays %s) has no such feature" % (player, role))
            if entry.unless_feature == entry.feature and entry.unless_feature_on == entry.feature_on:
                problems.add(path + ".unless_feature", entry.unless_feature, "the same feature as 'feature': the entry could never be planned")
        if entry.tls_alternative and entry.tls_alternative not in catalog.entries:
            problems.add(path + ".tls_alternative", entry.tls_alternative, "no such entry")
    for comp in catalog.components.values():
        for idx, fact in enumerate(comp.security):
            if fact.check:
                _check_lint_check(catalog, comp, fact.check, "%s.security[%d].check" % (comp.path, idx), problems)


def _check_lint_check(catalog: Catalog, comp: Component, check: dict[str, Any], path: str, problems: Problems) -> None:
    """A fact's check names what exists, and has what its rule needs."""
    needs = {"VO102": ("only_from",), "VO103": ("feature", "with"), "VO104": ("entry", "needs_feature", "end"),
             "VO109": ("not_in_zone_with",)}[check["rule"]]
    for key in needs:
        if key not in check:
            problems.add("%s.%s" % (path, key), None, "required for rule %s" % check["rule"])
    for key in ("only_from", "with", "not_in_zone_with", "instead"):
        for other in check.get(key, []):
            if other not in catalog.components:
                problems.add("%s.%s" % (path, key), other, "no such component")
    if "feature" in check and check["feature"] not in comp.features:
        problems.add(path + ".feature", check["feature"], "component %s has no such feature" % comp.name)
    if "entry" in check:
        entry = catalog.entries.get(check["entry"])
        if entry is None:
            problems.add(path + ".entry", check["entry"], "no such entry")
        elif "needs_feature" in check and check["needs_feature"] not in comp.features:
            problems.add(path + ".needs_feature", check["needs_feature"], "component %s has no such feature" % comp.name)


def read_yaml(path: str | os.PathLike[str]) -> Any:
    with open(path, "rb") as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 - a safe loader


def catalog_dir(value: Any, variable: str = "catalog_dir") -> Path:
    """A catalog folder the user gives instead of the built-in one (for example another checkout's
    ``catalog/``, to see what a catalog change does): an absolute folder that holds ``*.yml`` files."""
    problems = Problems()
    cleaned = clean(_DIR, value, variable, problems)
    problems.raise_if_any()
    path = Path(cleaned)
    if not path.is_absolute():
        problems.add(variable, cleaned, "an absolute folder")
    elif not path.is_dir():
        problems.add(variable, cleaned, "no such folder")
    elif not any(path.glob("*.yml")):
        problems.add(variable, cleaned, "no catalog files (*.yml) in this folder")
    problems.raise_if_any()
    return path


def load_catalog(extra_paths: Any = None, extra_data: Any = None, builtin_dir: Path = BUILTIN_DIR, directory: Any = None) -> Catalog:
    """Load the built-in catalog (or, with ``directory``, the catalog files of that folder instead,
    checked by :func:`catalog_dir`) plus the user's own files (``voiceops_catalog_paths``) and
    inline entries (``voiceops_catalog_extra``)."""
    if directory is not None:
        builtin_dir = catalog_dir(directory)
    raw: list[tuple[str, Any]] = []
    problems = Problems()
    for path in sorted(builtin_dir.glob("*.yml")):
        try:
            raw.append(("catalog/" + path.name, read_yaml(path)))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            problems.add("catalog/" + path.name, str(path), "cannot read catalog file: %s" % exc)
    problems.raise_if_any()
    paths = clean(_PATHS, [] if extra_paths is None else extra_paths, "voiceops_catalog_paths", problems)
    extra = clean(_EXTRA, [] if extra_data is None else extra_data, "voiceops_catalog_extra", problems)
    problems.raise_if_any()
    for idx, path in enumerate(paths):
        try:
            raw.append((str(path), read_yaml(path)))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            problems.add("voiceops_catalog_paths[%d]" % idx, str(path), "cannot read catalog file: %s" % exc)
    problems.raise_if_any()
    for idx, data in enumerate(extra):
        raw.append(("voiceops_catalog_extra[%d]" % idx, data))
    return build_catalog(raw)
