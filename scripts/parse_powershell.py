# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse every PowerShell file of the collection and fail on any syntax error.

PowerShell (pwsh) cannot be installed on the development machines or in CI (no package source
carries it), so ansible-test skips ``pslint`` there. This is the syntax check that runs
everywhere instead: each ``*.ps1``/``*.psm1`` file is parsed with the tree-sitter PowerShell
grammar (PyPI ``tree-sitter-powershell``, pinned in requirements-test.txt) and every ERROR or
MISSING node of the syntax tree is reported as ``file:line:column``, with the line and a caret.

    python scripts/parse_powershell.py              # plugins/, tests/ and roles/ of the repo
    python scripts/parse_powershell.py FILE|DIR ... # those files, or the PowerShell files under those folders

Exit status: 0 when every file parses, 1 when a file has a syntax error, 2 when there is nothing
to parse or the grammar cannot be loaded.

What it is not: PowerShell's own parser. It finds what breaks the grammar (unbalanced braces,
brackets and parentheses, unterminated strings and here-strings, a statement cut short), but
not what only PowerShell's parser or PSScriptAnalyzer reports (``try`` without ``catch`` or
``finally``, an unknown parameter, a misspelt cmdlet). Where ``pwsh`` is on PATH,
scripts/sanity.sh runs ``pslint`` and ``validate-modules`` on the .ps1 files as well.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOTS = ("plugins", "tests", "roles")
SUFFIXES = (".ps1", ".psm1")
# Never looked at: ansible-test's reports and copies (tests/output), caches.
SKIP_PARTS = frozenset({".git", "__pycache__", ".pytest_cache", ".hypothesis", ".venv"})
SKIP_PREFIXES = (("tests", "output"),)


class Finding(NamedTuple):
    """One syntax error: 1-based line and column (in characters), what is wrong, and the line."""

    path: str
    line: int
    column: int
    message: str
    source_line: str

    def format(self) -> str:
        caret = " " * (self.column - 1) + "^"
        where = "%s:%d:%d" % (self.path, self.line, self.column)
        return "%s: %s\n    %s\n    %s" % (where, self.message, self.source_line.expandtabs(1), caret)


def _parser():
    try:
        import tree_sitter
        import tree_sitter_powershell
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit("error: %s; install requirements-test.txt (scripts/setup.sh --test)" % exc) from exc
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


_PARSER = None


def _get_parser():
    global _PARSER  # pylint: disable=global-statement
    if _PARSER is None:
        _PARSER = _parser()
    return _PARSER


def _as_utf8(data: bytes) -> bytes:
    """The file's text as UTF-8 without a byte order mark (PowerShell files may carry one, or be UTF-16)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").encode("utf-8")
    return data


def _error_nodes(node) -> Iterator:
    """ERROR and MISSING nodes, outermost first; the inside of an ERROR node is not searched again."""
    if node.is_error or node.is_missing:
        yield node
        return
    if node.has_error:
        for child in node.children:
            yield from _error_nodes(child)


def _position(lines: Sequence[bytes], row: int, byte_column: int) -> tuple[int, int, str]:
    if row >= len(lines):  # at the very end, after the last newline
        return row + 1, 1, ""
    raw = lines[row]
    text = raw.decode("utf-8", "replace").rstrip("\r\n")
    column = len(raw[:byte_column].decode("utf-8", "replace")) + 1
    return row + 1, column, text


_OPENERS = {"}": "{", ")": "(", "]": "["}  # '@{', '@(', '$(' end with these too


def _opener(node):
    """For a MISSING closing brace, parenthesis or bracket: the opening token it would close."""
    wanted = _OPENERS.get(node.type)
    if wanted is None or node.parent is None:
        return None
    before = [c for c in node.parent.children if c.end_byte <= node.start_byte and c.type.endswith(wanted)]
    return before[-1] if before else None


def _finding(node, source: bytes, lines: Sequence[bytes], path: str) -> Finding:
    if node.is_missing:
        line, column, _text = _position(lines, *node.start_point)
        opener = _opener(node)
        if opener is not None:  # reported where the unclosed brace is, not at the end of the file
            o_line, o_column, o_text = _position(lines, *opener.start_point)
            return Finding(path, o_line, o_column, "syntax error: '%s' is never closed (the parser expected '%s' at line %d, "
                           "column %d)" % (opener.type, node.type, line, column), o_text)
        line, column, text = _position(lines, *node.start_point)
        return Finding(path, line, column, "syntax error: missing '%s'" % node.type, text)
    line, column, text = _position(lines, *node.start_point)
    snippet = source[node.start_byte:node.end_byte].decode("utf-8", "replace").strip()
    first = snippet.splitlines()[0] if snippet else ""
    if len(first) > 40:
        first = first[:37] + "..."
    return Finding(path, line, column, "syntax error: cannot parse from here%s" % (" (%r)" % first if first else ""), text)


def parse_source(source: bytes, path: str = "<string>") -> List[Finding]:
    """Every syntax error in one PowerShell text."""
    source = _as_utf8(source)
    tree = _get_parser().parse(source)
    lines = source.splitlines(keepends=True)
    findings = [_finding(node, source, lines, path) for node in _error_nodes(tree.root_node)]
    if not findings and tree.root_node.has_error:  # pragma: no cover - tree-sitter always marks the node
        findings.append(Finding(path, 1, 1, "syntax error (no position given by the parser)", ""))
    return findings


def _skipped(relative: Path) -> bool:
    parts = relative.parts
    return bool(SKIP_PARTS.intersection(parts)) or any(parts[:len(p)] == p for p in SKIP_PREFIXES)


def _git_files(roots: Sequence[str]) -> Optional[List[Path]]:
    """The files git would consider under roots (tracked and untracked, not ignored), or None outside git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *roots],
                             cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [REPO / name for name in out.decode("utf-8", "surrogateescape").split("\0") if name]


def powershell_files(paths: Sequence[str] = ()) -> List[Path]:
    """The PowerShell files to parse: under the given paths, else under plugins/, tests/ and roles/."""
    found: Iterable[Path]
    if paths:
        collected: List[Path] = []
        for name in paths:
            path = Path(name)
            collected.extend(sorted(path.rglob("*")) if path.is_dir() else [path])
        found = collected
        explicit = {Path(name) for name in paths if not Path(name).is_dir()}
    else:
        listed = _git_files(DEFAULT_ROOTS)
        found = listed if listed is not None else [p for r in DEFAULT_ROOTS for p in sorted((REPO / r).rglob("*"))]
        explicit = set()
    out = []
    for path in found:
        if path in explicit:
            out.append(path)
            continue
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        try:
            relative = path.resolve().relative_to(REPO)
        except ValueError:
            relative = path
        if not _skipped(relative):
            out.append(path)
    return sorted(set(out))


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("paths", nargs="*", help="files or folders (default: plugins/, tests/ and roles/ of the repo)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    args = parser.parse_args(argv)
    missing = [name for name in args.paths if not Path(name).exists()]
    if missing:
        print("parse_powershell: no such file or folder: %s" % ", ".join(missing), file=sys.stderr)
        return 2
    files = powershell_files(args.paths)
    if not files:
        print("parse_powershell: no PowerShell files found under %s" % (", ".join(args.paths or DEFAULT_ROOTS)),
              file=sys.stderr)
        return 2
    findings: List[Finding] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            findings.append(Finding(_shown(path), 1, 1, "cannot read: %s" % exc, ""))
            continue
        findings.extend(parse_source(data, _shown(path)))
    for finding in findings:
        print(finding.format())
    bad = len({f.path for f in findings})
    if not args.quiet or findings:
        print("parse_powershell: %d PowerShell file(s) parsed with tree-sitter-powershell, %d with syntax errors"
              % (len(files), bad), file=sys.stderr if findings else sys.stdout)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
