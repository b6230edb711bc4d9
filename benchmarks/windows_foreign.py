# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller cost of a Windows host whose store holds many foreign rules (issue 14, "Scale").

The simulated host (tests/windows_fake.py) holds ``--foreign`` allow rules of other groups (the
forms Windows reports: numeric enums, profile masks, address keywords, ranges) besides the
collection's rules for one example host. Printed: the size of the query's answer, and the
controller's time to read it (own rules strictly, foreign ones leniently), diff, and report the
foreign rules that open what the plan does not (what ``report_foreign`` costs). The host side
reads every filter type once (``Get-NetFirewall*Filter -All``), whatever the number of rules; the
simulated host cannot measure that, Windows can.

    .venv/bin/python benchmarks/windows_foreign.py [--foreign 5000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".collections"))

from example_inventory import example_outcome, example_vars, role_program_paths  # noqa: E402
from windows_fake import FakeWindowsFirewall  # noqa: E402

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows, _windows_host  # noqa: E402

KEYWORDS = ["Any", "LocalSubnet", "DNS4", "Intranet", "DefaultGateway6", "10.1.0.0/255.255.0.0", "192.0.2.1-192.0.2.20"]


def foreign_rule(i: int) -> dict:
    return {"Name": "Foreign-%05d" % i, "DisplayName": "Foreign %d" % i, "Description": "", "Group": "Other %d" % (i % 50),
            "Enabled": True, "Direction": "Inbound", "Action": "Allow", "Profile": [0, 1, 3, 7][i % 4],
            "Protocol": ["TCP", "UDP", "TCP", "Any"][i % 4],
            "LocalPort": [str(1024 + i % 60000)] if i % 4 != 3 else ["Any"], "RemotePort": ["Any"], "LocalAddress": ["Any"],
            "RemoteAddress": [KEYWORDS[i % len(KEYWORDS)]], "Program": "%SystemRoot%\\system32\\svchost.exe" if i % 3 else "Any"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--foreign", type=int, default=5000)
    parser.add_argument("--host", default="dc01")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    plan = example_outcome().plan
    desired, _warnings = _windows.render_host(plan, args.host, program_paths=role_program_paths(example_vars()[1][args.host]))
    fake = FakeWindowsFirewall([foreign_rule(i) for i in range(args.foreign)])
    fake.run(_windows_host.apply_args(_windows.GROUP, {"add": desired, "update": [], "remove": []}, []))
    answer = fake.run({"operation": "query", "group": _windows.GROUP, "foreign": True, "port": 5986})
    size = len(json.dumps(answer))
    best = None
    for _repeat in range(args.repeats):
        start = time.perf_counter()
        current = [_windows_host.normalise_rule(r) for r in answer["rules"]]
        changes = _windows_host.diff_rules(desired, current, purge=True)
        foreign, unreadable = _windows_host.read_foreign(answer["foreign_rules"])
        openings = _windows_host.foreign_openings(desired, foreign, ["Inbound"])
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    assert not (changes["add"] or changes["update"] or changes["remove"]), changes
    print("host %s: %d own rules, %d foreign rules (%d unreadable), query answer %.1f MB; controller read + diff + foreign "
          "report: %.3f s (best of %d); %d foreign rules open what the plan does not"
          % (args.host, len(current), len(foreign), len(unreadable), size / 1e6, best, args.repeats, len(openings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
