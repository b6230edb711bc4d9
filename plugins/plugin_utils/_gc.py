# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pausing the cyclic garbage collector around large acyclic builds (internal API).

The estate, the planner, the renderers and the output writer build hundreds of thousands of
small dictionaries and lists at 10,000 hosts; docs/performance.md has the figures.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large acyclic structure.

    The plan of a large estate is hundreds of thousands of small dictionaries and lists, none of
    them in a reference cycle; without this, the collector walks all of them again and again and
    takes more time than the planning itself.  Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
