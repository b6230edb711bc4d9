# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs derived from the plugins' own documentation (internal API).

The DOCUMENTATION of a module (``plugins/modules/<name>.py``) or of a filter
(``plugins/filter/<name>.yml``) is the one place where its options are written down; the
action plugins and the filters validate their arguments against the spec derived from it with
Ansible's ``ArgumentSpecValidator``, so the documentation and the checks cannot drift apart.

A module's file is read, not imported: its ``DOCUMENTATION`` string is found in the file's syntax
tree. Each spec is read once per process.
"""

from __future__ import annotations

import ast
import copy
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator, ValidationResult
from ansible.module_utils.errors import UnsupportedError

from ._filter_errors import FilterArgumentError

PLUGINS = Path(__file__).resolve().parent.parent

# What an option's documentation says that is also an argument spec key (the rest - description,
# version_added, ... - is for the reader). ``suboptions`` (modules) and ``options`` become ``options``.
SPEC_KEYS = ("type", "elements", "default", "required", "choices", "aliases", "no_log", "apply_defaults")
NESTED_KEYS = ("suboptions", "options")


class DocumentationError(Exception):
    """A plugin's documentation cannot be read as an argument spec (a bug of the collection)."""


def spec_from_options(options: Mapping[str, Any] | None, where: str = "options") -> dict[str, dict[str, Any]]:
    """The argument spec that the documented ``options`` describe, nested options included."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise DocumentationError("%s: must be a mapping of option names, got %s" % (where, type(options).__name__))
    spec: dict[str, dict[str, Any]] = {}
    for name, doc in options.items():
        path = "%s.%s" % (where, name)
        if not isinstance(doc, Mapping):
            raise DocumentationError("%s: must be a mapping, got %s" % (path, type(doc).__name__))
        option = {key: copy.deepcopy(doc[key]) for key in SPEC_KEYS if key in doc}
        nested = [key for key in NESTED_KEYS if key in doc]
        if len(nested) > 1:
            raise DocumentationError("%s: has both suboptions and options" % path)
        if nested:
            option["options"] = spec_from_options(doc[nested[0]], "%s.%s" % (path, nested[0]))
        spec[str(name)] = option
    return spec


def _documentation_string(source: str, filename: str) -> str:
    for node in ast.parse(source, filename).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "DOCUMENTATION" for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
            raise DocumentationError("%s: DOCUMENTATION is not a plain string" % filename)
    raise DocumentationError("%s: has no DOCUMENTATION" % filename)


def _load_yaml(text: str, filename: str) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DocumentationError("%s: the documentation is not valid YAML: %s" % (filename, exc)) from exc
    if not isinstance(data, Mapping):
        raise DocumentationError("%s: the documentation is not a mapping" % filename)
    return data


@functools.lru_cache(maxsize=None)
def module_documentation(name: str) -> Mapping[str, Any]:
    """The parsed DOCUMENTATION of the module ``voiceops.firewall.<name>``, read from its file."""
    path = PLUGINS / "modules" / ("%s.py" % name)
    return _load_yaml(_documentation_string(path.read_text(encoding="utf-8"), str(path)), str(path))


@functools.lru_cache(maxsize=None)
def filter_documentation(name: str) -> Mapping[str, Any]:
    """The DOCUMENTATION of the filter ``voiceops.firewall.<name>``, read from its YAML file."""
    path = PLUGINS / "filter" / ("%s.yml" % name)
    doc = _load_yaml(path.read_text(encoding="utf-8"), str(path)).get("DOCUMENTATION")
    if not isinstance(doc, Mapping):
        raise DocumentationError("%s: has no DOCUMENTATION mapping" % path)
    return doc


@functools.lru_cache(maxsize=None)
def _module_spec(name: str) -> dict[str, dict[str, Any]]:
    return spec_from_options(module_documentation(name).get("options"), "%s.options" % name)


def module_argument_spec(name: str) -> dict[str, dict[str, Any]]:
    """The argument spec of the module ``voiceops.firewall.<name>``, from its DOCUMENTATION.

    A fresh copy each time: the validator hands defaults (lists, dicts) out as they are."""
    return copy.deepcopy(_module_spec(name))


def error_messages(validation: ValidationResult, module: str) -> list[str]:
    """Ansible's messages for a failed validation of the arguments of ``module``, an unknown option
    worded as ``AnsibleModule`` words it (``ArgumentSpecValidator`` leaves the first words out)."""
    return ["Unsupported parameters for (%s) module: %s" % (module, error.msg) if isinstance(error, UnsupportedError) else error.msg
            for error in validation.errors.errors]


def _strict(type_name: str, python_type: type) -> Callable[[Any], Any]:
    """A type check that converts nothing (Ansible's own would turn 5 into '5' or 'a,b' into a list)."""
    def check(value: Any) -> Any:
        if isinstance(value, python_type):
            return value
        raise TypeError("got %r" % (value,))
    check.__name__ = type_name
    return check


STRICT_TYPES: dict[str, Callable[[Any], Any]] = {
    "str": _strict("str", str),
    "list": _strict("list", list),
    "dict": _strict("dict", dict),
}


def _without_conversion(spec: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for option in spec.values():
        for key in ("type", "elements"):
            if isinstance(option.get(key), str) and option[key] in STRICT_TYPES:
                option[key] = STRICT_TYPES[option[key]]
        if "options" in option:
            _without_conversion(option["options"])
    return spec


@functools.lru_cache(maxsize=None)
def _filter_spec(name: str) -> dict[str, dict[str, Any]]:
    spec = spec_from_options(filter_documentation(name).get("options"), "%s.options" % name)
    spec.pop("_input", None)  # what the input must be is more than a type: each filter checks it itself
    return _without_conversion(spec)


def filter_argument_spec(name: str) -> dict[str, dict[str, Any]]:
    """The argument spec of the filter ``voiceops.firewall.<name>`` (its input left out), from its
    documentation; strings, lists and dictionaries must be given as such."""
    return copy.deepcopy(_filter_spec(name))


def filter_arguments(name: str, **arguments: Any) -> dict[str, Any]:
    """The arguments of the filter ``voiceops.firewall.<name>``, checked against its documentation.

    An optional argument given as None stays None: each filter already says what None means for
    it. Raises FilterArgumentError with Ansible's messages, each naming the argument."""
    spec = filter_argument_spec(name)
    unset = [key for key, value in arguments.items() if value is None and not spec.get(key, {}).get("required")]
    validation = ArgumentSpecValidator(spec).validate({key: value for key, value in arguments.items() if key not in unset})
    if validation.error_messages:
        raise FilterArgumentError("; ".join(validation.error_messages))
    checked = dict(validation.validated_parameters)
    checked.update((key, None) for key in unset)
    return checked
