# -*- coding: utf-8 -*-
"""Ports and port ranges: parsing, merging (property-based) and errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils._ports import (
    PortError, contains, count, format_ports, is_subset, merge, parse_ports, union,
)

# A small universe makes touching and overlapping ranges common.
small_range = st.tuples(st.integers(1, 120), st.integers(0, 15)).map(lambda t: (t[0], min(t[0] + t[1], 120)))
range_lists = st.lists(small_range, max_size=12)


def covered(ranges) -> set[int]:
    return {p for lo, hi in ranges for p in range(lo, hi + 1)}


@given(range_lists)
def test_merge_covers_exactly_the_same_ports(ranges):
    assert covered(merge(ranges)) == covered(ranges)


@given(range_lists)
def test_merge_is_sorted_disjoint_and_leaves_no_touching_ranges(ranges):
    merged = merge(ranges)
    for (lo, hi), (nlo, _nhi) in zip(merged, merged[1:]):
        assert lo <= hi
        assert nlo > hi + 1, "touching or overlapping ranges left unmerged: %r" % (merged,)


@given(range_lists)
def test_merge_is_canonical(ranges):
    merged = merge(ranges)
    assert merge(merged) == merged
    assert merge(reversed(ranges)) == merged
    assert parse_ports(format_ports(merged) or [1]) == (merged or ((1, 1),))


@given(range_lists, range_lists)
def test_union_subset_and_count(a, b):
    sa, sb = merge(a), merge(b)
    both = union(sa, sb)
    assert is_subset(sa, both) and is_subset(sb, both)
    assert count(both) == len(covered(a) | covered(b))
    for port in range(1, 122):
        assert contains(both, port) == (port in covered(a) | covered(b))


@pytest.mark.parametrize("spec,expected", [
    (5060, ((5060, 5060),)),
    ("5060", ((5060, 5060),)),
    ("10000-59999", ((10000, 59999),)),
    ([443, 80, "9094", "9100-9101"], ((80, 80), (443, 443), (9094, 9094), (9100, 9101))),
    ("1-5,6-9", ((1, 9),)),
    ([5060, 5061], ((5060, 5061),)),
    (["1024-65535", "49152-65535"], ((1024, 65535),)),
])
def test_parse(spec, expected):
    assert parse_ports(spec) == expected


@pytest.mark.parametrize("spec,message", [
    (0, "outside 1-65535"),
    (65536, "outside 1-65535"),
    ("abc", "whole number"),
    ("60000-50000", "reversed"),
    (True, "whole number"),
    (5060.5, "whole number"),
    ([], "no ports"),
    (None, "no ports"),
    ("-5", "whole number"),
])
def test_parse_rejects(spec, message):
    with pytest.raises(PortError, match=message):
        parse_ports(spec)


def test_format():
    assert format_ports(((80, 80), (1000, 2000))) == ["80", "1000-2000"]
