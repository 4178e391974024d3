"""How fast the dashboard's overview renders over a large lake, in a real browser.

    python bench/dashboard.py [--files 100000] [--noise 0.02] [--data DIR] [--screenshot PNG] [--json PATH]

Generates a corpus with the project's generator and ingests it (or takes the data folder
`--data` of an earlier run), starts `newswh dashboard` on a free loopback port, and opens
it in headless Chromium (Debian's `chromium`, driven by Playwright; `pip install -e
'.[test,dashboard]'`). It measures:
- start-up: from starting the command to Streamlit's health check answering;
- overview, first render: from opening the page to the article count and both charts
  drawn, with empty caches (every query reads the lake);
- overview, again: a second browser tab, the queries answered from the cache;
- overview, after a lake change: the lake's state key changes (its publish record is
  touched, as a run that changed nothing does), so every query reads the lake again;
- the overview's script alone (Streamlit's AppTest, in this process, no browser), with
  empty caches and again: the part of a render that the lake's size drives, apart from
  loading the page's JavaScript and drawing it, which a loaded machine slows most.
Machines are shared and noisy: run it twice and compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import sync_playwright

from newswh.dashboard.launch import find_chromium, running_dashboard, wait_for_overview
from newswh.lake import SYNC_MARK

BENCH = Path(__file__).resolve().parent
NEWSWH = str(Path(sys.executable).with_name("newswh"))



def build(files: int, noise: float, work: Path) -> Path:
    source, data = work / "raw", work / "data"
    subprocess.run([sys.executable, "-m", "newswh.synth", str(source), str(files), "--noise", str(noise)], check=True)
    subprocess.run([NEWSWH, "ingest", str(source), "--data", str(data), "--quiet"], check=True)
    return data


def render(browser, url: str, screenshot: Path | None = None) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    start = time.perf_counter()
    page.goto(url)
    shown = wait_for_overview(page)
    seconds = time.perf_counter() - start
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
    page.close()
    return seconds, shown


def script_render(data: Path) -> tuple[float, float]:
    """Seconds to run the overview's script with empty caches, and again with them warm."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from newswh.dashboard.queries import DATA_ENV
    from newswh.settings import PACKAGE_DIR

    os.environ[DATA_ENV] = str(data)
    st.cache_data.clear()
    st.cache_resource.clear()
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        app = AppTest.from_file(str(PACKAGE_DIR / "dashboard" / "app.py"), default_timeout=120).run()
        seconds.append(time.perf_counter() - start)
        if app.exception:
            sys.exit(f"bench/dashboard.py: the overview failed: {app.exception[0].message}")
    return seconds[0], seconds[1]


def touch_lake(data: Path) -> None:
    """Change the lake's state key without changing its data, as a publish that rewrote
    nothing does: its record (synced.json) is written anew."""
    os.utime(data / "lake" / SYNC_MARK)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--data", type=Path, help="an ingested data folder to reuse instead of generating one")
    parser.add_argument("--screenshot", type=Path, help="save the overview as this PNG")
    parser.add_argument("--json", type=Path, help="where to write the figures (default bench/results/)")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        sys.exit("bench/dashboard.py: needs Debian's chromium (as root: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="newswh-dashboard-bench-") as work:
        data = args.data or build(args.files, args.noise, Path(work))
        figures: dict[str, object] = {"data": str(data), "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        started = time.perf_counter()
        with running_dashboard(data) as url, sync_playwright() as playwright:
            figures["startup_s"] = time.perf_counter() - started
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            figures["overview_first_s"], figures["articles_shown"] = render(browser, url, args.screenshot)
            figures["overview_cached_s"], _ = render(browser, url)
            touch_lake(data)
            figures["overview_after_lake_change_s"], _ = render(browser, url)
            browser.close()
        figures["overview_script_first_s"], figures["overview_script_cached_s"] = script_render(data)
    for name, value in figures.items():
        print(f"{name:30} {value:.2f}" if isinstance(value, float) else f"{name:30} {value}")
    out = args.json or BENCH / "results" / f"dashboard-{datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
