# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the collection's nftables table that the controller and the edge share (internal API).

The renderer (controller side) writes the marker into the table comment; ``nft_apply`` (on the
edge) finds its own table by it. Both read them from here.
"""

from __future__ import annotations

import hashlib
import re

# Marks a table as the collection's: the table comment is this, or starts with this and "; ".
MARKER = "managed by voiceops.firewall"
# The table the collection owns unless told otherwise.
DEFAULT_TABLE = "voiceops"
# nft refuses a comment longer than this many bytes.
COMMENT_MAX = 128
# A table name nft takes (its own limit is 32 characters); matched with fullmatch.
TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


def marked_comment(detail: str) -> str:
    """The table comment for a table that the collection owns, with ``detail`` after the marker."""
    return "%s; %s" % (MARKER, detail) if detail else MARKER


# Sets of the addresses a DNS name resolves to, filled on the edge (never by the rendered text):
# ``name_<slug>_<4|6>``. The slug is the name (:func:`canonical_name`) with dots as ``_`` when
# that says it all; otherwise (``-``, ``_``, ``*``, a long name) its letters and digits, cut, then
# ``__`` and a digest of the name, so two names never share a set. No set the renderer derives
# from zone names has this form: in a zone pair's set a ``__`` is followed by a zone name and a
# protocol, never by a digest and then ``_4`` or ``_6`` at the end.
NAME_SET = re.compile(r"name_[a-z0-9]+(?:_[a-z0-9]+)*(?:__[0-9a-f]{10})?_[46]")
NAME_SET_MAX = 64
_SLUG_MAX = NAME_SET_MAX - len("name_") - len("_4")  # 57
_PLAIN_NAME = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")  # its slug (dots as _) says all of it


def canonical_name(fqdn: str) -> str:
    """A DNS name as the edge asks for it: lower case, without a trailing dot (names are case-blind)."""
    return fqdn.lower().rstrip(".")


def name_set(fqdn: str, version: int) -> str:
    """The set that holds the IPv``version`` addresses of ``fqdn`` on the edge (deterministic)."""
    canon = canonical_name(fqdn)
    slug = canon.replace(".", "_")
    if not (_PLAIN_NAME.fullmatch(canon) and len(slug) <= _SLUG_MAX):
        digest = hashlib.sha256(canon.encode("utf-8")).hexdigest()[:10]
        base = re.sub(r"[^a-z0-9]+", "_", canon)[:_SLUG_MAX - 12].strip("_") or "x"
        slug = "%s__%s" % (base, digest)
    return "name_%s_%d" % (slug, version)
