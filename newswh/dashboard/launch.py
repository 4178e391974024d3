"""`newswh dashboard` run as a person runs it, for the browser test and bench/dashboard.py:
a real process on a free loopback port, health-checked before use, stopped by its PID."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newswh.server import free_port, stop_process

STARTUP_SECONDS = 60.0
OVERVIEW_TIMEOUT_MS = 60_000


class DashboardDidNotStart(RuntimeError):
    """The dashboard process exited, or never answered its health check."""


def find_chromium() -> str | None:
    """Debian's chromium (or a chromium-browser on PATH), which Playwright drives headless."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def running_dashboard(data: Path, port: int | None = None) -> Iterator[str]:
    """The dashboard's URL while `newswh dashboard --data DATA` serves it on 127.0.0.1."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    newswh = str(Path(sys.executable).with_name("newswh"))
    server = subprocess.Popen(
        [newswh, "dashboard", "--data", str(data), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_until_healthy(server, url)
        yield url
    finally:
        stop_process(server, timeout=10)  # newswh execs Streamlit, so this PID is the server itself


def _wait_until_healthy(server: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read().strip() if server.stdout else ""
            raise DashboardDidNotStart(f"newswh dashboard exited with code {server.returncode}: {output}")
        try:
            with urllib.request.urlopen(f"{url}_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.1)
    raise DashboardDidNotStart(f"newswh dashboard did not answer on {url} within {STARTUP_SECONDS:.0f} s")


def wait_for_overview(page) -> str:  # type: ignore[no-untyped-def]
    """Wait on a Playwright page until the overview shows its article count and both charts
    are drawn; return the count as shown. (Playwright is a test and bench dependency, so
    the page is taken as it comes.)"""
    articles = page.get_by_test_id("stMetric").filter(has_text="Articles").get_by_test_id("stMetricValue")
    articles.wait_for(timeout=OVERVIEW_TIMEOUT_MS)
    charts = page.get_by_test_id("stVegaLiteChart")
    for index in range(2):
        charts.nth(index).locator("canvas, svg").first.wait_for(timeout=OVERVIEW_TIMEOUT_MS)
    return articles.inner_text()
