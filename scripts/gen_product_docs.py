# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate docs/products/<product>.md (and an index) from the catalog.

The pages are made from what ``plugins/plugin_utils/_catalog.load_catalog`` loads, so they never
disagree with the data: every entry (direction, protocol, ports or the parameter that gives them,
feature and condition, service, purpose, citation), the product's components with their
parameters, features, notes and security facts.

    python scripts/gen_product_docs.py           # (re)write the pages
    python scripts/gen_product_docs.py --check   # exit 1 and name the stale pages; write nothing

Output depends on the catalog only (sorted, no dates), so it is byte-identical run to run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "docs" / "products"
INDEX = "README.md"
GENERATOR = "scripts/gen_product_docs.py"


def _import_catalog_module():
    """Import plugin_utils._catalog as part of ansible_collections.voiceops.firewall."""
    parts = REPO.parts
    if len(parts) >= 4 and parts[-3:] == ("ansible_collections", "voiceops", "firewall"):
        root = str(Path(*parts[:-3]))
    else:
        root = tempfile.mkdtemp(prefix="voiceops-docs-")
        link = Path(root, "ansible_collections", "voiceops", "firewall")
        link.parent.mkdir(parents=True)
        link.symlink_to(REPO, target_is_directory=True)
    if root not in sys.path:
        sys.path.insert(0, root)
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _catalog  # pylint: disable=import-outside-toplevel

    return _catalog


def _text(value: object) -> str:
    """One Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _ports(portset) -> str:
    if portset is None:
        return "none given"
    if not portset:
        return "none"
    return ", ".join(str(lo) if lo == hi else "%d-%d" % (lo, hi) for lo, hi in portset)


def _cite(cite, documents: dict[str, str]) -> str:
    title = documents.get(cite.doc, cite.doc)
    out = "%s (`%s`), %s" % (_text(title), cite.doc, _text(cite.section))
    if cite.via:
        out += "; via %s" % _text(cite.via)
    return out


def _role(catalog, role: str) -> str:
    """A role and, when others play it, which components do."""
    players = catalog.role_players(role)
    if players == [role]:
        return "`%s`" % role
    return "`%s` (%s)" % (role, ", ".join("`%s`" % p for p in players))


def _entry_ports(catalog, entry) -> tuple[str, str]:
    """(ports, configurable) of an entry."""
    if entry.protocol not in ("tcp", "udp"):
        return "n/a (%s has no ports)" % entry.protocol, "n/a"
    if entry.param is None:
        return _ports(entry.ports), "no (fixed by the vendor)"
    role = entry.dst if entry.param_on == "dst" else entry.src
    side = "`to`" if entry.param_on == "dst" else "`from`"
    defaults, configurable = [], []
    for name in catalog.role_players(role):
        param = catalog.components[name].parameters.get(entry.param)
        if param is None:
            continue
        value = "none until set" if param.default is None else _ports(param.default)
        defaults.append("%s: %s" % (name, value))
        configurable.append("yes" if param.configurable else "no")
    ports = "parameter `%s` of the %s side, default %s" % (entry.param, side, "; ".join(defaults))
    kinds = sorted(set(configurable))
    return ports, (kinds[0] if len(kinds) == 1 else "per component") + " (`%s`)" % entry.param


def _entry_when(entry) -> str:
    parts = []
    if entry.feature:
        parts.append("feature `%s` of the %s side" % (entry.feature, "`from`" if entry.feature_on == "src" else "`to`"))
    if entry.unless_feature:
        parts.append("not where feature `%s` of the %s side is on" % (entry.unless_feature, "`from`" if entry.unless_feature_on == "src" else "`to`"))
    if entry.condition:
        parts.append(_text(entry.condition).rstrip("."))
    if entry.transport:
        parts.append("transport %s" % entry.transport)
    if entry.tls_alternative:
        parts.append("dropped by `tls_only` in favour of `%s`" % entry.tls_alternative)
    if entry.replies_only:
        parts.append("only replies come back (outbound only)")
    if entry.program:
        parts.append("program `%s`" % _text(entry.program))
    return "; ".join(parts) or "always"


def render_product(catalog, product_id: str) -> str:
    product = catalog.products[product_id]
    docs = catalog.documents
    entries = [e for e in catalog.entries.values() if e.product == product_id]
    components = sorted((c for c in catalog.components.values() if c.product == product_id), key=lambda c: c.name)
    cited = sorted({e.cite.doc for e in entries} | {f.cite.doc for c in components for f in c.security}
                   | {p.cite.doc for c in components for p in c.parameters.values() if p.cite})
    lines = [
        "<!-- Generated by %s from %s. Do not edit: change the catalog and run" % (GENERATOR, product["source"]),
        "     `python %s` (make test fails while this page is stale). -->" % GENERATOR,
        "# %s" % _text(product["title"]),
        "",
        "Product id `%s`, catalog file `%s`. %d entries, %d components." % (
            product_id, product["source"], len(entries), len(components)),
        "",
        "Sources:",
        "",
    ]
    lines += ["- %s (`%s`), version: %s" % (_text(docs.get(doc, doc)), doc, _text(catalog.versions.get(doc, "not recorded")))
              for doc in cited] or ["- none"]
    lines += [
        "",
        "## Entries",
        "",
        "`from` opens the connection to `to` (the port is the destination port); replies are allowed",
        "by the firewall's connection state. A role in `from`/`to` lists, in brackets, the components",
        "that play it when there are others than the component of that name.",
        "",
        "| id | from | to | protocol | ports | configurable | applies when | service | purpose | citation |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in entries:
        ports, configurable = _entry_ports(catalog, entry)
        lines.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            entry.id, _role(catalog, entry.src), _role(catalog, entry.dst), entry.protocol, ports,
            configurable, _entry_when(entry), _text(entry.service), _text(entry.purpose),
            _cite(entry.cite, docs)))
    if not entries:
        lines.append("| (none) | | | | | | | | | |")
    lines += ["", "## Components", ""]
    for comp in components:
        lines += ["### `%s`: %s" % (comp.name, _text(comp.title)), ""]
        facts = ["platform `%s`" % comp.platform]
        other_roles = [r for r in comp.roles if r != comp.name]
        if other_roles:
            facts.append("also plays %s" % ", ".join("`%s`" % r for r in other_roles))
        if comp.alternatives:
            facts.append("stands in for %s" % ", ".join("`%s`" % a for a in comp.alternatives))
        if comp.fqdn:
            facts.append("vendor-fixed name `%s`" % comp.fqdn)
        lines += ["- " + "; ".join(facts)]
        lines += ["- note: %s" % _text(n) for n in comp.notes]
        lines.append("")
        if comp.parameters:
            lines += ["| parameter | kind | default | configurable | description | citation |", "|---|---|---|---|---|---|"]
            for param in comp.parameters.values():
                default = "none until set" if param.default is None else _ports(param.default)
                lines.append("| `%s` | %s | %s | %s | %s | %s |" % (
                    param.name, param.kind, default, "yes" if param.configurable else "no",
                    _text(param.description), _cite(param.cite, docs) if param.cite else ""))
            lines.append("")
        if comp.features:
            lines += ["| feature | default | description |", "|---|---|---|"]
            for feat in comp.features.values():
                lines.append("| `%s` | %s | %s |" % (feat.name, "on" if feat.default else "off", _text(feat.description)))
            lines.append("")
        if comp.security:
            lines += ["| security fact | text | citation |", "|---|---|---|"]
            for fact in comp.security:
                lines.append("| `%s` | %s | %s |" % (fact.id, _text(fact.text), _cite(fact.cite, docs)))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_index(catalog) -> str:
    lines = [
        "<!-- Generated by %s from catalog/*.yml. Do not edit: run `python %s`. -->" % (GENERATOR, GENERATOR),
        "# Products",
        "",
        "One page per product of the built-in catalog, generated from the data (`catalog/`), so the",
        "pages and the catalog cannot disagree. The catalog format: [../catalog.md](../catalog.md).",
        "",
        "| product | page | entries | components | catalog file |",
        "|---|---|---|---|---|",
    ]
    for pid in sorted(catalog.products):
        product = catalog.products[pid]
        lines.append("| %s | [%s.md](%s.md) | %d | %d | `%s` |" % (
            _text(product["title"]), pid, pid,
            sum(1 for e in catalog.entries.values() if e.product == pid),
            sum(1 for c in catalog.components.values() if c.product == pid), product["source"]))
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """File name (in docs/products) -> content."""
    catalog = _import_catalog_module().load_catalog()
    pages = {"%s.md" % pid: render_product(catalog, pid) for pid in sorted(catalog.products)}
    pages[INDEX] = render_index(catalog)
    return pages


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def stale(out_dir: Path = OUT_DIR) -> list[str]:
    """Pages that are missing, differ from the catalog, or belong to no product (repo-relative)."""
    pages = render_all()
    problems = []
    for name, content in sorted(pages.items()):
        path = out_dir / name
        if not path.is_file():
            problems.append("%s: missing" % _rel(path))
        elif path.read_text(encoding="utf-8") != content:
            problems.append("%s: differs from the catalog" % _rel(path))
    if out_dir.is_dir():
        for path in sorted(out_dir.glob("*.md")):
            if path.name not in pages:
                problems.append("%s: no such product in the catalog" % _rel(path))
    return problems


def write(out_dir: Path = OUT_DIR) -> list[str]:
    pages = render_all()
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, content in sorted(pages.items()):
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            tmp = path.with_suffix(".md.tmp")
            tmp.write_text(content, encoding="utf-8")
            os.replace(tmp, path)
            changed.append(str(_rel(path)))
    for path in sorted(out_dir.glob("*.md")):
        if path.name not in pages:
            path.unlink()
            changed.append("%s (removed)" % _rel(path))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is stale; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for problem in problems:
            print("stale: %s" % problem, file=sys.stderr)
        if problems:
            print("run: python %s" % GENERATOR, file=sys.stderr)
            return 1
        print("docs/products: up to date")
        return 0
    changed = write()
    print("docs/products: %s" % (", ".join(changed) if changed else "up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
