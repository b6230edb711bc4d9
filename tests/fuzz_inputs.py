# -*- coding: utf-8 -*-
"""Seeded mutation engine for the plan's input: inventory variables and catalog extensions.

Shared by ``tests/unit/test_fuzz_input.py`` (a bounded hypothesis run) and ``scripts/fuzz.py``
(the long run). It starts from the example inventory's variables as the plan action reads them
(``tests/example_inventory.py``) plus a small valid catalog extension (``CATALOG_EXTRA``), and
changes them at random paths in ways that YAML or Jinja can produce (docs/fuzzing.md).

``run_one(inputs)`` runs the whole pipeline of ``plugins/action/plan.py`` in-process
(``plugin_utils/_pipeline.run``: catalog, estate, plan, lint, every file rendered in memory) and
the action's result through ``json.dumps``. It returns ``("plan", summary)`` or ``("error", problems)`` and lets every other
exception escape: the promise is that bad input gives ``VoiceopsError`` and nothing else.
"""

from __future__ import annotations

import copy
import datetime
import json
import random
import re
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

import conftest  # noqa: F401  # pylint: disable=unused-import  # makes ansible_collections.voiceops.firewall importable
from example_inventory import INVENTORY, example_vars

# What the action reads (plugins/action/plan.py GLOBAL_VARS and HOST_VARS).
from ansible_collections.voiceops.firewall.plugins.plugin_utils._pipeline import GLOBAL_VARS, HOST_VARS, ROLE_VARS  # noqa: E402
DIAGRAM_VIEWS = ["speechexec_mobile_service"]  # the action's default diagram_views

# A problem line of a VoiceopsError starts with one of these: a variable path or a catalog source.
PATH_PREFIXES = ("voiceops_", "hostvars[", "voiceops_catalog_extra[", "voiceops_catalog_paths[", "catalog/")

# A small valid catalog extension in the format of catalog/*.yml (docs/catalog.md): one product,
# two components (a parameter, a feature, a security fact), entries citing the document it lists.
CATALOG_EXTRA: list[dict[str, Any]] = [{
    "product": {"id": "fuzz_recorder", "title": "Call recorder (fuzzing fixture)"},
    "documents": [{"file": "recorder-install-guide.pdf", "title": "Recorder install guide"}],
    "components": {
        "call_recorder": {
            "title": "Call recorder",
            "platform": "linux",
            "roles": ["media_peer"],
            "parameters": {
                "api_port": {
                    "kind": "port", "default": 8443, "configurable": True,
                    "description": "Port of the recorder's upload API.",
                    "cite": {"doc": "recorder-install-guide.pdf", "section": "3.2 Ports"},
                },
            },
            "features": {"archive": {"default": False, "description": "Recordings go to an archive share."}},
            "notes": ["Receives recordings from Speech Server."],
            "security": [{"id": "recorder-tls", "text": "The upload API is HTTPS only.",
                          "cite": {"doc": "recorder-install-guide.pdf", "section": "5 Security"}}],
        },
        "recorder_console": {
            "title": "Recorder console",
            "platform": "windows",
            "roles": ["ad_member"],
        },
    },
    "flows": [
        {"id": "fuzz_recorder.api", "from": "speech_server", "to": "call_recorder", "protocol": "tcp",
         "ports": {"param": "api_port"}, "service": "https", "transport": "tls",
         "purpose": "Speech Server hands recordings over.",
         "cite": {"doc": "recorder-install-guide.pdf", "section": "3.2 Ports"}},
        {"id": "fuzz_recorder.console", "from": "recorder_console", "to": "call_recorder", "protocol": "tcp",
         "ports": [8444, "9000-9010"], "service": "https", "transport": "tls", "program": "RecConsole.exe",
         "purpose": "Operators search and play recordings.",
         "cite": {"doc": "recorder-install-guide.pdf", "section": "3.3 Console", "via": "Recorder admin guide"}},
        {"id": "fuzz_recorder.archive", "from": "call_recorder", "to": "smtp_server", "protocol": "tcp",
         "ports": "25", "service": "smtp", "feature": "archive", "transport": "plaintext",
         "condition": "Only with the archive feature.", "purpose": "The recorder mails archive reports.",
         "cite": {"doc": "recorder-install-guide.pdf", "section": "4 Archive"}},
    ],
}]

# Endpoints of the base input that use the extension, so that mutations of it reach the planner.
EXTRA_ENDPOINTS: dict[str, Any] = {
    "recorder01": {"zone": "infra", "addresses": ["10.50.0.40"],
                   "components": {"call_recorder": {"params": {"api_port": 8443}, "features": ["archive"]}}},
}


def base_inputs() -> dict[str, Any]:
    """The unmutated input: ``{"global_vars", "host_vars", "catalog_extra"}`` as the action builds them.

    It plans without a problem (``tests/unit/test_fuzz_input.py`` checks that).
    """
    global_vars, all_host_vars = example_vars()
    lint = yaml.safe_load((INVENTORY / "group_vars" / "all" / "lint.yml").read_text()) or {}
    for name in ("voiceops_lint_accept", "voiceops_lint_fail_on"):
        if name in lint:
            global_vars[name] = lint[name]
    global_vars["voiceops_endpoints"].update(copy.deepcopy(EXTRA_ENDPOINTS))
    clients = global_vars["voiceops_endpoints"]["workstations"]["components"]
    clients["recorder_console"] = {}
    host_vars = {host: {k: copy.deepcopy(hv[k]) for k in HOST_VARS + ROLE_VARS if k in hv} for host, hv in all_host_vars.items()}
    return {"global_vars": global_vars, "host_vars": host_vars, "catalog_extra": copy.deepcopy(CATALOG_EXTRA)}


# ---------------------------------------------------------------------------------------------
# Values that YAML (or Jinja templating) can give.

# A name that, written into an nft rule set or a dot file unescaped, adds a line of its own.
INJECTION = 'voiceops"\n}\nflush ruleset\n#'

HOSTILE_STRINGS: tuple[str, ...] = (
    "", " ", "\t", "a\nb", "x\n", "\n", 'a"b', "a'b", "a;b", "{}", "{{ x }}", "$(id)", "`id`", "a\x00b",
    "\u2018x\u2019", "\u201ax\u201b", "\u201c", "\u0665\u0660\u0666\u0660", "\u00b2", "\u0661", "\uff15\uff10",
    "../x", "../../etc/passwd", "/", "a/b", "x" * 300, "y" * 10000, "é", "Zone", "1abc", "_x", "a-b", "a b",
    "#", "%s", "%(x)s", "\\", "<script>", "&amp;", "-1", "0", "65536", "5060-5000", "1-2-3", "5060,", ",",
    "0.0.0.0/0", "::/0", "10.0.0.1/8", "2001:db8::1%eth0", "localhost", "*", "?", "[a]", "true", "null",
    "\u202e", "\ufeff", "\U0001F4DE", INJECTION,
)
NON_STRING_KEYS: tuple[Any, ...] = (0, 1, 5060, True, False, None, 1.5, datetime.date(2024, 1, 1))
SCALARS: tuple[Any, ...] = (
    0, 1, -1, 22, 5060, 65535, 65536, 2 ** 64, 1.5, 5060.0, float("inf"), float("nan"), True, False, None,
    datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 1, 12, 30), "", "x", "5060",
)


def _containers(rng: random.Random) -> Any:
    return rng.choice([
        {}, {"x": 1}, {"name": "x"}, {None: 1}, {1: "a"}, [], [[]], [{}], [{"a": 1}], [None], [1, 2],
        ["a", "a"], [["x"]], {"networks": []}, [{"id": "x"}],
    ])


def random_value(rng: random.Random) -> Any:
    """Any value YAML can give: a scalar, a hostile string, a mapping or a list."""
    kind = rng.random()
    if kind < 0.4:
        return copy.deepcopy(rng.choice(SCALARS))
    if kind < 0.65:
        return rng.choice(HOSTILE_STRINGS)
    return copy.deepcopy(_containers(rng))


def hostile_string(rng: random.Random, current: Any = None) -> str:
    """A hostile string, or one glued to the current string value."""
    bad = rng.choice(HOSTILE_STRINGS)
    if isinstance(current, str) and current and rng.random() < 0.4:
        return current + bad if rng.random() < 0.5 else bad + current
    return bad


# ---------------------------------------------------------------------------------------------
# Paths in the input and how they read as variable paths.

Path_ = tuple[Any, ...]


def var_path(path: Path_) -> str:
    """``("host_vars", "speech01", "voiceops_components", "x")`` -> ``hostvars['speech01'].voiceops_components.x``."""
    if not path:
        return "(input)"
    section, rest = path[0], list(path[1:])
    if section == "global_vars":
        out = str(rest.pop(0)) if rest else "(global vars)"
    elif section == "host_vars":
        out = "hostvars" if not rest else "hostvars[%r]" % (rest.pop(0),)
    else:
        out = "voiceops_catalog_extra"
    for key in rest:
        if isinstance(key, int) and not isinstance(key, bool):
            out += "[%d]" % key
        else:
            out += "." + str(key)
    return out


def _walk(value: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in list(value.items()):
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for idx, item in enumerate(value):
            yield from _walk(item, path + (idx,))


def _get(data: dict[str, Any], path: Path_) -> Any:
    value: Any = data
    for key in path:
        if isinstance(value, dict):
            if key not in value:
                raise LookupError(path)
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
            if not -len(value) <= key < len(value):
                raise LookupError(path)
            value = value[key]
        else:
            raise LookupError(path)
    return value


# ---------------------------------------------------------------------------------------------
# Mutations. One mutation is (op, path, arg): arg is fixed when it is drawn, so a mutation can be
# applied again (replayed alone, to find which of several caused a crash).

Mutation = tuple[str, Path_, Any]

# Value ops act on the value at path (path has a parent); container ops act on the dict/list at path.
VALUE_OPS = ("replace", "hostile", "delete", "wrap", "scalarize")
CONTAINER_OPS = ("add_key", "nonstr_key", "rename_key", "dup")


def _allowed(path: Path_, value: Any) -> list[str]:
    """Which ops make input the action could really be given (it builds the top levels itself)."""
    section = path[0]
    depth = len(path)
    if section == "global_vars":
        if depth == 1:
            return []  # the action reads the named variables; nothing else reaches the planner
        value_ops = list(VALUE_OPS)
    elif section == "host_vars":
        if depth == 1:
            return ["rename_key"] if value else []  # host names: always strings in Ansible
        if depth == 2:
            return ["delete"]  # a host's variables: a dict of the HOST_VARS the action picked
        value_ops = list(VALUE_OPS)
    else:  # catalog_extra: the variable's value, anything
        value_ops = [op for op in VALUE_OPS if op != "delete"] if depth == 1 else list(VALUE_OPS)
    ops = value_ops
    if isinstance(value, dict):
        ops = ops + ["add_key", "nonstr_key", "rename_key"] if value else ops + ["add_key"]
    elif isinstance(value, list):
        if value:
            ops = ops + ["dup"]
    if not isinstance(value, list) and "scalarize" in ops:
        ops.remove("scalarize")
    return ops


def draw_mutation(data: dict[str, Any], rng: random.Random) -> Mutation | None:
    """Pick a path (a section first, then any node in it) and a mutation that fits it."""
    section = rng.choices(("global_vars", "host_vars", "catalog_extra"), weights=(45, 30, 25))[0]
    nodes = [(p, v) for p, v in _walk(data[section], (section,)) if _allowed(p, v)]
    if not nodes:
        return None
    path, value = rng.choice(nodes)
    op = rng.choice(_allowed(path, value))
    arg: Any = None
    if op == "replace":
        arg = random_value(rng)
        while type(arg) is type(value) and arg == value:  # noqa: E721 - a different value
            arg = random_value(rng)
    elif op == "hostile":
        arg = hostile_string(rng, value)
    elif op == "wrap":
        arg = rng.choice(("list", "dict", "list_of_dict"))
    elif op == "scalarize":
        arg = rng.choice(("first", "str", "int"))
    elif op == "add_key":
        key = rng.choice(("unknown_key", "x", "name", "id", "networks", "zone", "params", "default")
                         + NON_STRING_KEYS + HOSTILE_STRINGS[:12])
        arg = (key, random_value(rng))
    elif op == "nonstr_key":
        arg = (rng.choice(sorted(value, key=repr)), rng.choice(NON_STRING_KEYS))
    elif op == "rename_key":
        arg = (rng.choice(sorted(value, key=repr)), hostile_string(rng))
    elif op == "dup":
        arg = rng.randrange(len(value))
    return (op, path, arg)


def apply_mutation(data: dict[str, Any], mutation: Mutation) -> bool:
    """Apply one mutation in place; False when its path is not there (nothing changed)."""
    op, path, arg = mutation
    try:
        value = _get(data, path)
        parent = _get(data, path[:-1]) if len(path) > 1 else data
    except LookupError:
        return False
    key = path[-1]
    if op in VALUE_OPS:
        if op == "delete":
            del parent[key]  # dict key or list index
            return True
        if op == "replace":
            new = copy.deepcopy(arg)
        elif op == "hostile":
            new = arg
        elif op == "wrap":
            new = {"list": [value], "dict": {"x": value}, "list_of_dict": [{"x": value}]}[arg]
        else:  # scalarize: a list where one value (or a mapping) was expected
            if not isinstance(value, list):
                return False
            new = {"first": value[0] if value else None, "str": ", ".join(map(str, value)), "int": len(value)}[arg]
        parent[key] = new
        return True
    if op == "dup":
        if not isinstance(value, list) or not -len(value) <= arg < len(value):
            return False
        value.insert(arg, copy.deepcopy(value[arg]))
        return True
    if not isinstance(value, dict):
        return False
    if op == "add_key":
        new_key, new_value = arg
        value[new_key] = copy.deepcopy(new_value)
        return True
    old, new_key = arg  # nonstr_key, rename_key: the entry keeps its value under another key
    if old not in value:
        return False
    value[new_key] = value.pop(old)
    return True


def mutate_with_log(base: dict[str, Any], rng: random.Random, n_mutations: int) -> tuple[dict[str, Any], list[Mutation]]:
    """A mutated deep copy of ``base`` and the mutations applied, in order."""
    data = copy.deepcopy(base)
    log: list[Mutation] = []
    for _attempt in range(n_mutations * 3):  # a draw may find nothing to do; try a few times
        if len(log) == n_mutations:
            break
        mutation = draw_mutation(data, rng)
        if mutation is not None and apply_mutation(data, mutation):
            log.append(mutation)
    return data, log


def mutate(base: dict[str, Any], rng: random.Random, n_mutations: int) -> dict[str, Any]:
    """A mutated deep copy of ``base`` (``n_mutations`` mutations at random paths)."""
    return mutate_with_log(base, rng, n_mutations)[0]


def input_for(base: dict[str, Any], seed: int | str, index: int) -> tuple[dict[str, Any], list[Mutation]]:
    """Input number ``index`` of a run with ``seed``: the same on every machine and with any number of jobs."""
    rng = random.Random("voiceops-fuzz:%s:%d" % (seed, index))
    n = rng.choice((1, 1, 1, 2, 2, 3))
    return mutate_with_log(base, rng, n)


def describe(mutation: Mutation, limit: int = 100) -> str:
    """``voiceops_zones.dmz.networks[0]: replace -> '٥٠٦٠'``: one mutation, shortened."""
    op, path, arg = mutation

    def short(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)

    where = var_path(path)
    if op == "delete":
        return "%s: deleted" % where
    if op in ("replace", "hostile"):
        return "%s = %s" % (where, short(arg))
    if op == "wrap":
        return "%s: wrapped in a %s" % (where, arg.replace("_", " "))
    if op == "scalarize":
        return "%s: list replaced by its %s" % (where, {"first": "first item", "str": "items joined as a string",
                                                        "int": "length"}[arg])
    if op == "dup":
        return "%s[%d]: duplicated" % (where, arg)
    if op == "add_key":
        return "%s: added key %s = %s" % (where, short(arg[0]), short(arg[1]))
    return "%s: key %s renamed to %s" % (where, short(arg[0]), short(arg[1]))


# ---------------------------------------------------------------------------------------------
# The pipeline of plugins/action/plan.py, in-process.

_CACHED: dict[str, Any] = {}


def _modules() -> dict[str, Any]:
    """The plugin modules, imported once; the built-in catalog files are parsed once per process.

    ``_catalog.read_yaml`` of a built-in file returns a deep copy of the first parse, so that
    ``load_catalog`` itself still runs on every input but does not re-read six YAML files.
    """
    if not _CACHED:
        from ansible_collections.voiceops.firewall.plugins.plugin_utils import _artefacts, _catalog, _errors, _estate, _lint, _planner

        original = _catalog.read_yaml
        builtin_dir = Path(_catalog.BUILTIN_DIR).resolve()
        parsed: dict[str, Any] = {}

        def read_yaml(path: Any) -> Any:
            resolved = Path(path).resolve()
            if resolved.parent != builtin_dir:
                return original(path)
            if str(resolved) not in parsed:
                parsed[str(resolved)] = original(path)
            return copy.deepcopy(parsed[str(resolved)])

        if not getattr(original, "_fuzz_cached", False):
            read_yaml._fuzz_cached = True  # type: ignore[attr-defined]
            _catalog.read_yaml = read_yaml
        _CACHED.update(artefacts=_artefacts, catalog=_catalog, errors=_errors, estate=_estate, lint=_lint, planner=_planner)
        from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline

        _CACHED["pipeline"] = _pipeline
    return _CACHED


def voiceops_error() -> type[Exception]:
    return _modules()["errors"].VoiceopsError


def _pipeline_run(mods: dict[str, Any], global_vars: dict[str, Any], host_vars: dict[str, Any],
                  catalog_extra: Any, role_vars: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], Any, list[dict[str, Any]], dict[str, str]]:
    """What the action computes, through the same function (``_pipeline.run``)."""
    out = mods["pipeline"].run(global_vars, host_vars, [], catalog_extra, render=True, diagrams=True, views=list(DIAGRAM_VIEWS),
                               role_vars=role_vars)
    return out.plan, out.findings, out.fail_on, out.blocking, out.files


def run_one(inputs: dict[str, Any]) -> tuple[str, Any]:
    """Plan ``inputs`` as the action would: ``("plan", summary)`` or ``("error", problems)``.

    Any exception other than VoiceopsError escapes (and UnsafeOutput, see check_output). Steps as
    in plugins/action/plan.py: globals that are None are dropped, each host keeps only HOST_VARS,
    ``voiceops_catalog_extra or []``; then ``_pipeline.run`` (catalog, estate, plan, lint, all
    files rendered with diagrams on and the default views), and the action's result serialised
    with ``json.dumps``.
    """
    mods = _modules()
    error = mods["errors"].VoiceopsError
    global_vars = {k: v for k, v in inputs.get("global_vars", {}).items() if k in GLOBAL_VARS and v is not None}
    host_vars = {host: {k: hv[k] for k in HOST_VARS if k in hv} for host, hv in inputs.get("host_vars", {}).items()}
    role_vars = {host: {k: hv[k] for k in ROLE_VARS if k in hv} for host, hv in inputs.get("host_vars", {}).items()}
    catalog_extra = inputs.get("catalog_extra") or []  # plan.py: self._var(task_vars, "voiceops_catalog_extra") or []
    try:
        the_plan, found, fail_on, blocking, files = _pipeline_run(mods, global_vars, host_vars, catalog_extra, role_vars)
    except error as exc:
        problems = list(exc.problems)
        json.dumps({"failed": True, "msg": "voiceops.firewall.plan: " + exc.message, "problems": problems})
        return "error", problems
    result = {"changed": False, "summary": the_plan["summary"], "findings": found,
              "lint": {"fail_on": fail_on, "blocking": [f["id"] + " " + f["message"] for f in blocking]},
              "plan": the_plan}
    if the_plan["warnings"]:
        result["warnings"] = list(the_plan["warnings"])
    json.dumps(result)
    check_output(inputs, files)
    return "plan", {"summary": the_plan["summary"], "files": len(files)}


class UnsafeOutput(Exception):
    """A plan whose files are unsafe to write: a file name that leaves its folder, or input text
    with a line break that reaches an nft rule set or a dot file unescaped (it adds lines there)."""

    def __init__(self, kind: str, file: str, detail: str) -> None:
        super().__init__("%s: %s (%s)" % (kind, file, detail))
        self.kind, self.file = kind, file


_SAFE_SEGMENT = re.compile(r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]*$")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def check_output(inputs: dict[str, Any], files: dict[str, Any]) -> None:
    """Raise UnsafeOutput when a file is unsafe to write or to load. Every file must be text that
    encodes as UTF-8, and:

    - its name is a plain relative path below output_dir (not ``edge/../../x.nft``, no control
      character, no segment starting with a dot);
    - no line of an ``.nft`` file starts with a later line of multi-line input text (nft has no
      multi-line strings: each line is a statement, so ``flush ruleset`` would run);
    - no input text of 8 characters or more with a double quote is found verbatim in an ``.nft``
      or ``.dot`` file (its quote was not escaped).
    """
    texts = {s for s in _strings(inputs) if len(s.strip()) >= 6}
    injected = {"\n" + line.strip() for s in texts if "\n" in s.strip()
                for line in s.strip().split("\n")[1:] if len(line.strip()) >= 6}
    quoted = [s for s in texts if '"' in s and len(s) >= 8]
    for name, text in files.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise TypeError("rendered file %r is not text" % (name,))
        text.encode("utf-8")  # what _artefacts.sync writes
        if not all(_SAFE_SEGMENT.match(seg) for seg in name.split("/")):
            raise UnsafeOutput("unsafe file name", name.split("/", 1)[0] + "/*", repr(name))
        suffix = name.rsplit(".", 1)[-1]
        where = "%s/*.%s" % (name.split("/", 1)[0], suffix) if "/" in name else name
        if suffix == "nft":
            for line in injected:
                if line in text:
                    raise UnsafeOutput("a line of input text becomes a line of the rule set", where, repr(line[1:]))
        if suffix in ("nft", "dot"):
            for bad in quoted:
                if bad in text:
                    raise UnsafeOutput("input text with an unescaped double quote", where, repr(bad))


def unpathed(problems: list[str]) -> list[str]:
    """The problem lines that do not start with a variable path from the input."""
    return [p for p in problems if not (isinstance(p, str) and p.startswith(PATH_PREFIXES))]


def problem_kind(problem: str) -> str:
    """A problem without its names and value, to group problems of one kind (``component X: no such component``)."""
    text = str(problem).split(" (got ", 1)[0]
    head, sep, why = text.partition(": ")
    why = re.sub(r"'[^']*'|\"[^\"]*\"|\b\d+\b", "X", why)
    return "%s: %s" % (re.sub(r"\S+$", "X", head), why) if sep else head[:60]


# ---------------------------------------------------------------------------------------------
# Crash sites.

def crash_site(exc: BaseException) -> str:
    """Exception type and the innermost frame in plugins/ (``plugins/plugin_utils/_estate.py:145 _zones``)."""
    if isinstance(exc, UnsafeOutput):
        return "UnsafeOutput: %s in %s" % (exc.kind, exc.file)
    frames = traceback.extract_tb(exc.__traceback__)
    inner = None
    for frame in frames:
        norm = frame.filename.replace("\\", "/")
        if "/plugins/" in norm:
            inner = "plugins/" + norm.split("/plugins/", 1)[1] + ":%d %s" % (frame.lineno or 0, frame.name)
    if inner is None and frames:
        last = frames[-1]
        inner = "%s:%d %s" % (Path(last.filename).name, last.lineno or 0, last.name)
    return "%s at %s" % (type(exc).__name__, inner or "?")


def classify(inputs: dict[str, Any]) -> tuple[str, Any]:
    """``("plan", ...)``, ``("error", problems)``, ``("unpathed", problems)``, ``("unsafe", (site, text))``
    or ``("crash", (site, text))``."""
    try:
        outcome, detail = run_one(inputs)
    except UnsafeOutput as exc:
        return "unsafe", (crash_site(exc), str(exc)[:300])
    except Exception as exc:  # noqa: BLE001 - that is what we count  # pylint: disable=broad-exception-caught
        return "crash", (crash_site(exc), "%s: %s" % (type(exc).__name__, str(exc)[:300]))
    if outcome == "error" and unpathed(detail):
        return "unpathed", detail
    return outcome, detail


def minimise(base: dict[str, Any], log: list[Mutation], same: Callable[[tuple[str, Any]], bool]) -> list[Mutation]:
    """The shortest prefix-free subset we find cheaply: each mutation alone, then each one left out."""
    if len(log) <= 1:
        return log
    for mutation in log:
        data = copy.deepcopy(base)
        if apply_mutation(data, mutation) and same(classify(data)):
            return [mutation]
    for skip in range(len(log)):
        rest = log[:skip] + log[skip + 1:]
        data = copy.deepcopy(base)
        if all(apply_mutation(data, m) for m in rest) and same(classify(data)):
            return minimise(base, rest, same)
    return log
