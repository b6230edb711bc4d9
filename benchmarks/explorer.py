# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of ``explorer.html`` on generated estates (not a timed test).

Per size (``benchmarks/estate.py``'s estate, default 1,000 and 10,000 hosts) it plans and renders
every file of the output folder in-process (``_pipeline.run``, as the plan action does), writes
them to a temporary folder, and opens ``explorer.html`` from ``file://`` in Debian's Chromium
(headless, driven by Playwright; every request that is not a ``file:`` URL is aborted and
counted). It prints:

* the render time of the page alone (``_explorer.explorer_html``, best of ``--repeats``) and its
  size (the whole file, and the JSON data in it);
* in the browser: navigation timing (``domContentLoadedEventEnd``, ``loadEventEnd``) and the
  page's own mark after its first render (``explorer-rendered``: data parsed, indexes built,
  matrix drawn), the number of DOM elements then;
* the time of a search for ``5060`` (the page's ``explorer-search`` measure: search and drawing
  the first page of results, after the 200 ms debounce) and of opening the busiest matrix cell.

``--screenshot DIR`` saves the matrix of each size at 1366x768.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(BENCH))

import estate as generator  # noqa: E402

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explorer import explorer_html  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._gc import gc_paused  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._views import zone_matrix  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def outcome(size: int, seed: int) -> _pipeline.Outcome:
    est = generator.generate(size, seed)
    host_vars = est.all_host_vars()
    for host in est.windows_hosts():  # group_vars/windows of the written inventory
        host_vars[host].setdefault("windows_firewall_program_paths", generator.PROGRAM_PATHS)
    return _pipeline.run(est.global_vars(), {h: {k: hv[k] for k in _pipeline.HOST_VARS if k in hv} for h, hv in host_vars.items()},
                         render=True, role_vars={h: {k: hv[k] for k in _pipeline.ROLE_VARS if k in hv} for h, hv in host_vars.items()})


def measure_page(page_path: Path, screenshot: Path | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel

    blocked: list[str] = []
    errors: list[str] = []

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith("file:"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route("**/*", route)
        started = time.perf_counter()
        page.goto(page_path.as_uri(), wait_until="load", timeout=120000)
        page.wait_for_selector("body[data-ready='1']", timeout=120000)
        wall = time.perf_counter() - started
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType("navigation")[0];
            const mark = performance.getEntriesByName("explorer-rendered")[0];
            return {dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, rendered: mark.startTime,
                    elements: document.getElementsByTagName("*").length};
        }""")
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        page.fill("#q", "5060")
        page.wait_for_selector("#search-ms", timeout=60000)
        search = page.evaluate("() => performance.getEntriesByName('explorer-search').pop().duration")
        found = page.inner_text("#main h2")
        page.fill("#q", "")
        page.wait_for_selector("#mwrap", timeout=60000)
        cell = page.evaluate("""() => {
            let best = null, most = -1;
            for (const td of document.querySelectorAll("td[data-cell]")) {
                const n = parseInt(td.querySelector(".cnt").textContent.replace(/[^0-9]/g, ""), 10);
                if (n > most) { most = n; best = td; }
            }
            const t0 = performance.now();
            best.click();
            return {ms: performance.now() - t0, cell: best.dataset.cell, flows: most,
                    rows: document.querySelectorAll("#panel tbody tr").length};
        }""")
        browser.close()
    return {"wall_s": wall, "timing": timing, "search_ms": search, "search_found": found, "cell": cell,
            "errors": errors, "blocked": blocked}


def bench_size(size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    started = time.perf_counter()
    out = outcome(size, args.seed)
    plan_s = time.perf_counter() - started
    files = out.files or {}
    best = float("inf")
    matrix = zone_matrix(out.plan)  # the plan step makes it once for matrix.md, .csv, .html and the page
    for _repeat in range(args.repeats):
        with gc_paused():  # as the plan step renders
            started = time.perf_counter()
            text = explorer_html(out.plan, out.findings, files, matrix)
            best = min(best, time.perf_counter() - started)
    assert text == files["explorer.html"], "the page rendered alone differs from the plan's"
    folder = work / str(size)
    for name, body in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    blob = text.split('<script type="application/json" id="data">', 1)[1].split("</script>", 1)[0]
    shot = Path(args.screenshot) / ("explorer-%d.png" % size) if args.screenshot else None
    browser = measure_page(folder / "explorer.html", shot)
    return {"size": size, "hosts": len(out.plan["instances"]), "zones": len(out.plan["zones"]), "flows": len(out.plan["flows"]),
            "findings": len(out.findings), "plan_and_files_s": plan_s, "explorer_render_s": best,
            "bytes": len(text.encode("utf-8")), "data_bytes": len(blob.encode("utf-8")), **browser}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated host counts (default 1000,10000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="renders of the page per size, the best is shown")
    parser.add_argument("--screenshot", help="save each size's matrix at 1366x768 into this folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.screenshot:
        Path(args.screenshot).mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="voiceops-explorer-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(bench_size(size, args, Path(tmp)))
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    print("| hosts | zones | flows | explorer.html | of it data | render (py) | DOMContentLoaded | load | first render "
          "| DOM elements | search 5060 | open busiest cell | errors | blocked requests |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        t = row["timing"]
        print("| %d | %d | %d | %.2f MB | %.2f MB | %.2f s | %.0f ms | %.0f ms | %.0f ms | %d | %.0f ms (%s) | %.0f ms (%s, %d flows, %d rows) | %d | %d |" % (
            row["hosts"], row["zones"], row["flows"], row["bytes"] / 1e6, row["data_bytes"] / 1e6, row["explorer_render_s"],
            t["dcl"], t["load"], t["rendered"], t["elements"], row["search_ms"], row["search_found"],
            row["cell"]["ms"], row["cell"]["cell"], row["cell"]["flows"], row["cell"]["rows"], len(row["errors"]), len(row["blocked"])))
    return 1 if any(row["errors"] or row["blocked"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
