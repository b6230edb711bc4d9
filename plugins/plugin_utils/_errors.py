# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the controller-side planner (internal API)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(value: object, choices: Iterable[str]) -> str | None:
    """The choice a misspelt ``value`` most likely meant (for "did you mean"), or None."""
    close = difflib.get_close_matches(str(value), sorted(choices), n=1)
    return close[0] if close else None


class VoiceopsError(Exception):
    """One or more problems with the catalog or the inventory.

    Every problem names the variable path and the bad value, so that the
    action plugin can report all of them at once and stop before anything is
    written or applied.
    """

    def __init__(self, problems: list[str] | str) -> None:
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        return "%d problems:\n- %s" % (len(self.problems), "\n- ".join(self.problems))


class Problems:
    """Collects problems so that a user sees all of them in one run."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, value: object, why: str) -> None:
        self.items.append("%s: %s (got %r)" % (path, why, value))

    def raise_if_any(self) -> None:
        if self.items:
            raise VoiceopsError(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)
