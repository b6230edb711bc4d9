# -*- coding: utf-8 -*-
"""Hostile values for injection tests, and small tokenizers that tell whether a value stayed
inside its quoting in each output format (used by tests/functional/test_injection.py).

Each hostile value is made from the field's ordinary value (``base``), so that it differs from a
valid value only by the hostile part: ``srv`` becomes ``"srv\\n"``, ``edge01`` becomes
``"edge01\\n;flush ruleset\\n#"``.

The checkers return a *skeleton* of a document: what remains of its structure when every quoted
value is replaced by a placeholder.  A value that stays inside its quoting gives the same skeleton
as an ordinary value; a value that breaks out adds, removes or changes structure.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree

# --------------------------------------------------------------------------------------- values

# (test id, how the hostile value is made from the field's ordinary value)
HOSTILE: list[tuple[str, Callable[[str], str]]] = [
    ("newline-flush-ruleset", lambda b: b + "\n;flush ruleset\n#"),
    ("newline-delete-foreign", lambda b: b + "\ndelete table ip foreign\n#"),
    ("trailing-newline", lambda b: b + "\n"),
    ("carriage-return", lambda b: b + "\rdelete table ip foreign"),
    ("double-quote", lambda b: b + '" ; flush ruleset ; "'),
    ("single-quote", lambda b: b + "'; Remove-NetFirewallRule -All; '"),
    ("semicolon", lambda b: b + ";flush ruleset"),
    ("braces", lambda b: b + "} } table ip foreign { }"),
    ("dollar-paren", lambda b: b + "$(Stop-Computer)"),
    ("backtick", lambda b: b + "`whoami`"),
    ("nul", lambda b: b + "\x00x"),
    ("u2018-left-single-quote", lambda b: b + "\u2018; Stop-Computer; \u2018"),
    ("u2019-right-single-quote", lambda b: "O\u2019" + b + "\u2019; Stop-Computer; \u2019"),
    ("u201a-low-single-quote", lambda b: b + "\u201a; Stop-Computer; \u201a"),
    ("u201b-reversed-single-quote", lambda b: b + "\u201b; Stop-Computer; \u201b"),
    ("u201c-u201d-double-quotes", lambda b: b + "\u201c$(Stop-Computer)\u201d"),
    ("u201e-low-double-quote", lambda b: b + "\u201e$(Stop-Computer)\u201e"),
    ("hash", lambda b: b + " #comment"),
    ("very-long-200", lambda b: b + "x" * (200 - len(b)) + "y" * 10),
    ("dot-dot-slash", lambda b: "../../" + b),
    ("leading-dash", lambda b: "-" + b),
    ("trailing-backslash", lambda b: b + "\\"),
    ("html-script", lambda b: b + "<script>alert(1)</script>"),
    ("pipe", lambda b: b + "|x|y"),
]

HOSTILE_IDS = [hid for hid, _make in HOSTILE]

# Free text is one line of printable text: a value holding a control character (C0 including
# tab, LF and CR, DEL, C1, or the Unicode line and paragraph separators) is rejected like a bad
# name; any other free text is planned and encoded by each renderer.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Control characters an error message must never carry raw (they forge log lines).
RAW_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def shown(value: str) -> str:
    """What an error message must contain to show ``value``: its repr (a prefix of it when long)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60]


# ----------------------------------------------------------------------------------- PowerShell

# PowerShell treats all of these as single-quote characters, in and around a single-quoted string:
# a pair of any two of them inside the string is one literal quote (the second one), any other
# one ends the string.  Likewise for double quotes (an expandable string, never ours).
PS_SINGLE = "'\u2018\u2019\u201a\u201b"
PS_DOUBLE = '"\u201c\u201d\u201e'
PS_SPECIAL = "(){}|&`$@<>"
PS_NEWLINE = "\n\r"


class PsToken:
    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: str) -> None:
        self.kind = kind  # word, str, comma, comment, bad
        self.value = value

    def __repr__(self) -> str:
        return "%s(%r)" % (self.kind, self.value)


def ps_statements(text: str) -> list[list[PsToken]]:
    """Tokenize PowerShell text the way PowerShell splits it, into statements.

    Single-quoted strings (any of :data:`PS_SINGLE`, doubled to escape), barewords, commas,
    comments (``#`` at the start of a token, to the end of the line); a newline, carriage return
    or ``;`` outside a string ends a statement.  Anything else (a double-quoted string, ``$``,
    a backtick, parentheses, braces) is a ``bad`` token: our preview never writes one.
    """
    out: list[list[PsToken]] = [[]]
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
        elif c in PS_NEWLINE or c == ";":
            out.append([])
            i += 1
        elif c == "#":
            j = i
            while j < n and text[j] not in PS_NEWLINE:
                j += 1
            out[-1].append(PsToken("comment", text[i:j]))
            i = j
        elif c in PS_SINGLE:
            i += 1
            buf = []
            while True:
                if i >= n:
                    out[-1].append(PsToken("bad", "unterminated string " + "".join(buf)))
                    break
                ch = text[i]
                if ch in PS_SINGLE:
                    if i + 1 < n and text[i + 1] in PS_SINGLE:
                        buf.append(text[i + 1])
                        i += 2
                        continue
                    i += 1
                    out[-1].append(PsToken("str", "".join(buf)))
                    break
                buf.append(ch)
                i += 1
        elif c in PS_DOUBLE or c in PS_SPECIAL:
            out[-1].append(PsToken("bad", c))
            i += 1
        elif c == ",":
            out[-1].append(PsToken("comma", c))
            i += 1
        else:
            j = i
            while j < n and text[j] not in " \t;,#" + PS_NEWLINE + PS_SINGLE + PS_DOUBLE + PS_SPECIAL:
                j += 1
            out[-1].append(PsToken("word", text[i:j]))
            i = j
    return [s for s in out if s]


def ps_commands(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The cmdlet calls of a preview as ``{"cmdlet": name, param: value, ...}`` and the problems found.

    A value is a string (one quoted string or a bareword) or a list (quoted strings joined by commas).
    """
    commands: list[dict[str, Any]] = []
    problems: list[str] = []
    for stmt in ps_statements(text):
        tokens = [t for t in stmt if t.kind != "comment"]
        if any(t.kind == "comment" for t in stmt[:-1]):
            problems.append("a comment inside a statement: %r" % stmt)
        if not tokens:
            continue
        bad = [t for t in tokens if t.kind == "bad"]
        if bad:
            problems.append("tokens a value must not produce %r in %r" % (bad, stmt))
            continue
        if tokens[0].kind != "word" or not tokens[0].value.endswith(("-NetFirewallRule", "-NetFirewallProfile")):
            problems.append("a statement that is not a firewall cmdlet: %r" % stmt)
            continue
        cmd: dict[str, Any] = {"cmdlet": tokens[0].value}
        k = 1
        while k < len(tokens):
            param = tokens[k]
            if param.kind != "word" or not param.value.startswith("-") or k + 1 >= len(tokens):
                problems.append("expected -Parameter value at %r in %r" % (param, stmt))
                break
            values = [tokens[k + 1]]
            k += 2
            while k < len(tokens) and tokens[k].kind == "comma":
                values.append(tokens[k + 1] if k + 1 < len(tokens) else PsToken("bad", "dangling comma"))
                k += 2
            if any(v.kind not in ("str", "word") or (v.kind == "word" and v.value.startswith("-")) for v in values):
                problems.append("bad value for %s: %r" % (param.value, values))
                break
            if param.value[1:] in cmd:
                problems.append("parameter %s given twice in %r" % (param.value, stmt))
            cmd[param.value[1:]] = values[0].value if len(values) == 1 else [v.value for v in values]
        commands.append(cmd)
    return commands, problems


def check_powershell(text: str, args: Mapping[str, Any]) -> list[str]:
    """Problems of a ``powershell_preview(args)`` text: every value must come back exactly as given.

    Parses the preview as PowerShell would (see :func:`ps_statements`) and compares each cmdlet
    call's values with ``args``; a value that broke out of its quotes changes them.
    """
    commands, problems = ps_commands(text)
    expected: list[dict[str, Any]] = []

    def rule_params(rule: Mapping[str, Any], verb: str) -> dict[str, Any]:
        out: dict[str, Any] = {"cmdlet": "%s-NetFirewallRule" % verb, "Name": rule["name"]}
        if verb == "New":
            out.update(DisplayName=rule["display_name"], Group=args["group"])
        else:
            out["NewDisplayName"] = rule["display_name"]
        out.update(Description=rule["description"], Direction=rule["direction"], Action=rule["action"],
                   Enabled="True" if rule["enabled"] else "False", Profile=", ".join(rule["profiles"]),
                   Protocol=rule["protocol"])
        if rule["protocol"] in ("TCP", "UDP"):
            out.update(LocalPort=_one_or_list(rule["local_ports"]), RemotePort=_one_or_list(rule["remote_ports"]))
        out.update(LocalAddress=_one_or_list(rule["local_addresses"]), RemoteAddress=_one_or_list(rule["remote_addresses"]))
        if rule["program"] != "Any" or verb == "Set":
            out["Program"] = rule["program"]
        out["PolicyStore"] = "PersistentStore"
        return out

    for rule in args["add"]:
        expected.append(rule_params(rule, "New"))
    for rule in args["update"]:
        expected.append(rule_params(rule, "Set"))
    for name in args["remove"]:
        expected.append({"cmdlet": "Remove-NetFirewallRule", "Name": name, "PolicyStore": "PersistentStore"})
    for prof in args["profiles"]:
        expected.append({"cmdlet": "Set-NetFirewallProfile", "Name": prof["name"],
                         "Enabled": "True" if prof["enabled"] else "False",
                         "DefaultInboundAction": prof["default_inbound_action"],
                         "DefaultOutboundAction": prof["default_outbound_action"], "PolicyStore": "PersistentStore"})
    if len(commands) != len(expected):
        problems.append("%d cmdlet calls where %d were meant" % (len(commands), len(expected)))
    for got, want in zip(commands, expected):
        if got != want:
            diff = {k: (got.get(k), want.get(k)) for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)}
            problems.append("%s: values differ from what was meant (got, meant): %r" % (want["cmdlet"], diff))
    return problems


def _one_or_list(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else list(values)


# ------------------------------------------------------------------------------------------ DOT

_DOT_PUNCT = ("->", "--", "{", "}", "[", "]", ";", ",", "=", ":")


def dot_tokens(text: str) -> tuple[list[str], list[str]]:
    """DOT tokens with every quoted string as ``S`` (its text kept aside), and problems.

    In a DOT quoted string the only escape is ``\\"``; so ``"a\\"`` does not end at its last quote.
    """
    tokens: list[str] = []
    problems: list[str] = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if c == "#" and line_start:
            problems.append("a '#' line (discarded by DOT): %r" % text[i:text.find("\n", i)])
        line_start = False
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" and j + 1 < n and text[j + 1] == '"' else 1
            if j >= n:
                problems.append("unterminated string from %r" % text[i:i + 60])
                break
            tokens.append("S")
            i = j + 1
        elif text.startswith(("//", "/*"), i) or c == "<":
            problems.append("a comment or HTML string outside quotes at %r" % text[i:i + 40])
            i += 1
        elif text.startswith(_DOT_PUNCT, i):
            p = next(p for p in _DOT_PUNCT if text.startswith(p, i))
            tokens.append(p)
            i += len(p)
        else:
            m = re.compile(r"-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)|[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*").match(text, i)
            if not m:
                problems.append("a character DOT does not know outside quotes: %r" % text[i:i + 40])
                i += 1
                continue
            tok = m.group(0)
            tokens.append("N" if tok[0] in "-.0123456789" else tok)
            i = m.end()
    return tokens, problems


def dot_skeleton(text: str) -> tuple[Counter[tuple[str, ...]], list[str]]:
    """The multiset of DOT statements, strings and numbers as placeholders, and problems."""
    tokens, problems = dot_tokens(text)
    stmts: Counter[tuple[str, ...]] = Counter()
    cur: list[str] = []
    depth = 0
    for tok in tokens:
        cur.append(tok)
        if tok in ("{", "}", ";"):
            depth += {"{": 1, "}": -1}.get(tok, 0)
            if depth < 0:
                problems.append("a '}' closes more than was opened")
            stmts[tuple(cur)] += 1
            cur = []
    if depth != 0:
        problems.append("braces do not balance (depth %d at the end)" % depth)
    if cur:
        stmts[tuple(cur)] += 1
    return stmts, problems


# ----------------------------------------------------------------------------------------- HTML

class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[tuple[str, tuple[tuple[str, str | None], ...]]] = Counter()
        self.ends: Counter[str] = Counter()
        self.other: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001 - HTMLParser's signature
        self.tags[(tag, tuple(attrs))] += 1

    def handle_startendtag(self, tag, attrs):  # noqa: ANN001
        self.tags[(tag, tuple(attrs))] += 1

    def handle_endtag(self, tag):  # noqa: ANN001
        self.ends[tag] += 1

    def handle_comment(self, data):  # noqa: ANN001
        self.other.append("comment %r" % data)

    def handle_pi(self, data):  # noqa: ANN001
        self.other.append("processing instruction %r" % data)

    def unknown_decl(self, data):  # noqa: ANN001
        self.other.append("declaration %r" % data)


# The explorer page's own scripts: its data (JSON) and its code, exactly these two start tags.
EXPLORER_SCRIPTS = (("script", (("type", "application/json"), ("id", "data"))), ("script", ()))


def html_skeleton(text: str, own_scripts: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()) -> tuple[tuple[Any, ...], list[str]]:
    """The elements of an HTML text, and its problems: any <script> but the page's own (``own_scripts``,
    each once), event handlers, script URLs, comments. The caller compares the elements with an
    ordinary value's, so a hostile value that adds an element (a second script included) shows."""
    parser = _Tags()
    parser.feed(text)
    parser.close()
    problems = list(parser.other)
    for key, count in parser.tags.items():
        if key[0] == "script" and (key not in own_scripts or count != 1):
            problems.append("a <script> element %r (x%d)" % (key, count))
    if own_scripts:
        data = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
        if data is None:
            problems.append("no data block")
        else:
            problems += ["data block: " + p for p in json_problems(data.group(1))]
    for (tag, attrs) in parser.tags:
        for name, value in attrs:
            if name.startswith("on") or value and "javascript:" in value.lower():
                problems.append("an event handler or script URL in <%s %s=%r>" % (tag, name, value))
    return (sorted(parser.tags.items()), sorted(parser.ends.items())), problems


# -------------------------------------------------------------------------- CSV, JSON, XML, MD

def csv_skeleton(text: str, columns: int) -> tuple[tuple[int, ...], list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    problems = ["CSV row %d has %d columns, not %d: %r" % (i, len(r), columns, r) for i, r in enumerate(rows) if len(r) != columns]
    return tuple(len(r) for r in rows), problems


_ANY = object()


def json_problems(text: str, meant: Any = _ANY) -> list[str]:
    """Problems of a JSON text: it must parse, and (when ``meant`` is given) read back as ``meant``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return ["not JSON: %s" % exc]
    return [] if meant is _ANY or data == meant else ["the JSON does not read back as the data it was made from"]


def xml_skeleton(text: str) -> tuple[Counter[tuple[str, tuple[str, ...]]], list[str]]:
    try:
        root = ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as exc:
        return Counter(), ["not well-formed XML: %s" % exc]
    return Counter((el.tag, tuple(sorted(el.attrib))) for el in root.iter()), []


_MD_LINES = re.compile(r"\r\n|\r|\n")  # CommonMark line endings


def md_skeleton(text: str) -> tuple[tuple[Any, ...], list[str]]:
    """Per line (CommonMark line endings): its kind and, for a table row, its number of cells."""
    out = []
    for line in _MD_LINES.split(text):
        if line.startswith("|"):
            out.append(("row", len(re.findall(r"(?<!\\)\|", line))))
        elif line.startswith("#"):
            out.append(("heading", line.split(" ", 1)[0]))
        elif line.startswith("- "):
            out.append(("item",))
        else:
            out.append(("text" if line else "blank",))
    return tuple(out), []
