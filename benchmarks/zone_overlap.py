# -*- coding: utf-8 -*-
"""How long the estate takes to check that internal zones do not overlap (issue 11).

Two internal zones of N networks each (no overlap, the worst case for a pairwise check): prints
the time build_estate takes per N.  Run: .venv/bin/python benchmarks/zone_overlap.py [N ...]
"""

from __future__ import annotations

import ipaddress
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))  # make setup links the collection there

from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate  # noqa: E402


def zones(n: int) -> dict[str, dict[str, list[str]]]:
    base = int(ipaddress.ip_address("10.0.0.0"))
    nets = [str(ipaddress.ip_network((base + i * 256, 24))) for i in range(2 * n)]
    return {"a": {"networks": nets[0::2]}, "b": {"networks": nets[1::2]}}


def main(sizes: list[int]) -> None:
    catalog = load_catalog()
    print("%8s %10s" % ("networks", "seconds"))
    for n in sizes:
        start = time.perf_counter()
        build_estate({"voiceops_zones": zones(n)}, {}, catalog)
        print("%8s %10.3f" % ("2 x %d" % n, time.perf_counter() - start))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [500, 2000, 20000])
