# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the collection's nftables table that the controller and the edge share (internal API).

The renderer (controller side) writes the marker into the table comment; ``nft_apply`` (on the
edge) finds its own table by it. Both read them from here.
"""

from __future__ import annotations

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
