# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port numbers and port ranges (internal API).

A port set is a sorted tuple of disjoint, non-touching inclusive ranges
``((lo, hi), ...)``.  Touching ranges (``1-5`` and ``6-9``) are merged, so the
same set of ports always has exactly one representation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PortRange = tuple[int, int]
PortSet = tuple[PortRange, ...]

_DIGITS = re.compile(r"[0-9]{1,5}")  # ASCII only: str.isdigit() takes '²' and int() reads '٥٠٦٠'
MIN_PORT = 1
MAX_PORT = 65535


class PortError(ValueError):
    """A port specification that is not valid; the message says why."""


def _parse_port(text: object) -> int:
    if isinstance(text, bool):
        raise PortError("a port is a whole number from 1 to 65535")
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and _DIGITS.fullmatch(text.strip()):
        value = int(text.strip())
    else:
        raise PortError("a port is a whole number from 1 to 65535")
    if not MIN_PORT <= value <= MAX_PORT:
        raise PortError("port %d is outside 1-65535" % value)
    return value


def parse_range(item: object) -> PortRange:
    """Parse ``5060``, ``"5060"`` or ``"10000-59999"`` into ``(lo, hi)``."""
    if isinstance(item, str) and "-" in item:
        lo_text, hi_text = item.split("-", 1)
        lo, hi = _parse_port(lo_text), _parse_port(hi_text)
        if lo > hi:
            raise PortError("range %s is reversed (start above end)" % item.strip())
        return (lo, hi)
    port = _parse_port(item)
    return (port, port)


def parse_ports(spec: object) -> PortSet:
    """Parse a port, a range, a comma separated string or a list of them."""
    if spec is None:
        raise PortError("no ports given")
    if isinstance(spec, str) and not spec.isascii():
        raise PortError("a port is a whole number from 1 to 65535 in ASCII digits")
    if isinstance(spec, str) and "," in spec:
        items: list[object] = list(spec.split(","))
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    else:
        items = [spec]
    if not items:
        raise PortError("no ports given")
    return merge(parse_range(item) for item in items)


def merge(ranges: Iterable[PortRange]) -> PortSet:
    """Sort ranges and merge overlapping and touching ones."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def union(*sets: PortSet) -> PortSet:
    return merge(r for s in sets for r in s)


def contains(ports: PortSet, port: int) -> bool:
    return any(lo <= port <= hi for lo, hi in ports)


def count(ports: PortSet) -> int:
    return sum(hi - lo + 1 for lo, hi in ports)


def is_subset(inner: PortSet, outer: PortSet) -> bool:
    return all(any(olo <= lo and hi <= ohi for olo, ohi in outer) for lo, hi in inner)


def format_range(rng: PortRange) -> str:
    lo, hi = rng
    return str(lo) if lo == hi else "%d-%d" % (lo, hi)


def format_ports(ports: PortSet) -> list[str]:
    """``((80, 80), (443, 443))`` -> ``["80", "443"]``."""
    return [format_range(r) for r in ports]
