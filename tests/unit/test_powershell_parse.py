# -*- coding: utf-8 -*-
"""scripts/parse_powershell.py: the tree-sitter syntax check that stands in for PowerShell's parser
where pwsh cannot be installed (docs/development.md, "PowerShell").

It must pass the PowerShell the collection ships (the module and the apply scripts the Windows
target renders, tests/golden/windows/*.apply.ps1) and report a broken text with the line of the
break: an unclosed brace, a stray ``)``, an unterminated string, a here-string without its
terminator.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, load_script

MODULE = REPO / "plugins" / "modules" / "win_firewall_rules.ps1"


@pytest.fixture(scope="module")
def pp():
    return load_script("parse_powershell.py")


def test_every_shipped_powershell_file_parses_clean(pp):
    files = pp.powershell_files()
    relative = {str(f.resolve().relative_to(REPO)) for f in files}
    assert "plugins/modules/win_firewall_rules.ps1" in relative
    assert {"tests/golden/windows/dc01.apply.ps1", "tests/golden/windows/speech01.apply.ps1"} <= relative
    assert not any(r.startswith("tests/output/") for r in relative)
    problems = [f.format() for path in files for f in pp.parse_source(path.read_bytes(), str(path))]
    assert not problems, "\n".join(problems)


def test_the_module_parses_clean(pp):
    assert pp.parse_source(MODULE.read_bytes(), "win_firewall_rules.ps1") == []


GOOD = """\
function Get-Thing {
    param($Name)
    $h = @{ a = 1; b = @('x', 'y') }
    $text = @"
line with "quotes" and $($Name)
"@
    $raw = @'
literal $not_expanded
'@
    if ($Name -eq 'x') { Write-Output "$Name $text" } else { $raw }
}
"""

# (what is broken, text, line and column to report, words the message must hold)
BROKEN = [
    ("unclosed brace", "function Foo {\n    param($a)\n    if ($a) {\n        $a\n    }\n", 1, 14, "'{' is never closed"),
    ("unclosed brace of an else", "if ($a) {\n    1\n} else {\n    2\n", 3, 8, "'{' is never closed"),
    ("stray )", "$x = 1\n$y = 2)\nWrite-Output $y\n", 2, 7, "')'"),
    ("unterminated double-quoted string", "$x = 1\n$s = \"abc\nWrite-Output $s\n", 2, 1, '"abc'),
    ("unterminated single-quoted string", "$x = 1\n$s = 'abc\nWrite-Output $s\n", 2, 5, "'abc"),
    ("here-string without its terminator", "$x = 1\n$h = @\"\nline one\nline two\nWrite-Output $h\n", 2, 1, '@"'),
    ("literal here-string without its terminator", "$x = 1\n$h = @'\nline one\nWrite-Output $h\n", 2, 1, "@'"),
    ("unclosed subexpression", "$x = 1\n$y = @(1, 2\n", 2, 1, "@(1, 2"),
]


def test_a_good_snippet_parses_clean(pp):
    assert pp.parse_source(GOOD.encode(), "good.ps1") == []


@pytest.mark.parametrize("what,text,line,column,words", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_snippet_is_reported_with_its_line(pp, what, text, line, column, words):
    findings = pp.parse_source(text.encode(), "broken.ps1")
    assert findings, "%s: not reported" % what
    first = findings[0]
    assert (first.path, first.line, first.column) == ("broken.ps1", line, column), first.format()
    assert words in first.message or words in first.source_line, first.format()
    assert first.format().startswith("broken.ps1:%d:%d: syntax error" % (line, column))


def test_a_byte_order_mark_and_crlf_do_not_move_the_position(pp):
    text = "\ufeff$x = 1\r\n$y = 2)\r\n"
    (finding,) = pp.parse_source(text.encode("utf-8"), "bom.ps1")
    assert (finding.line, finding.column) == (2, 7)
    (finding,) = pp.parse_source(text.encode("utf-16"), "utf16.ps1")
    assert (finding.line, finding.column) == (2, 7)


def _module_with(line_text: str) -> tuple[str, int]:
    """The shipped module with one line inserted before its last statement (`$module.ExitJson()`,
    top level, after every here-string of the module, so an opener inserted there cannot pair
    with a terminator of the module's own), and that line's number."""
    lines = MODULE.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    at = max(i for i, text in enumerate(lines) if text.strip() == "$module.ExitJson()")
    return "".join(lines[:at] + [line_text + "\n"] + lines[at:]), at + 1


@pytest.mark.parametrize("inserted", ["if ($true) {", "$null = 1)", '$h = @"', "$h = @'", "$x = @(1, 2"])
def test_a_break_in_the_real_module_is_reported_at_its_line(pp, inserted):
    text, line = _module_with(inserted)
    findings = pp.parse_source(text.encode(), "win_firewall_rules.ps1")
    assert findings and findings[0].line == line, [f.format() for f in findings]


@pytest.mark.parametrize("quote", ['"', "'"])
def test_an_unterminated_string_in_the_real_module_fails_it(pp, quote):
    # A PowerShell string may span lines: it runs to the next quote of its kind, so the error
    # shows where that stops making sense, not on the inserted line; it must be reported all the same.
    text, _line = _module_with("$s = %snever closed" % quote)
    assert pp.parse_source(text.encode(), "win_firewall_rules.ps1")


def test_the_command_line_reports_file_line_column_and_fails(tmp_path):
    (tmp_path / "good.ps1").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.psm1").write_text("$x = 1\n$y = 2)\n")
    (tmp_path / "notes.txt").write_text("$y = 2)\n")
    script = [sys.executable, str(REPO / "scripts" / "parse_powershell.py")]
    bad = subprocess.run(script + [str(tmp_path)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "%s:2:7: syntax error" % (tmp_path / "sub" / "bad.psm1") in bad.stdout
    assert "2 PowerShell file(s) parsed with tree-sitter-powershell, 1 with syntax errors" in bad.stderr
    good = subprocess.run(script + [str(tmp_path / "good.ps1")], capture_output=True, text=True, check=False)
    assert good.returncode == 0 and "1 PowerShell file(s) parsed" in good.stdout, good.stdout + good.stderr
    (tmp_path / "empty").mkdir()
    for nothing in (tmp_path / "empty", tmp_path / "no-such-folder"):  # nothing to parse is an error, not a pass
        empty = subprocess.run(script + [str(nothing)], capture_output=True, text=True, check=False)
        assert empty.returncode == 2, empty.stdout + empty.stderr
