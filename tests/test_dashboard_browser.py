"""`newswh dashboard` as a person uses it: started on a free loopback port over a folder
holding only the lake, opened in headless Chromium (Debian's `chromium`, driven by
Playwright), searched, and an article opened; the screenshot is kept in the test's folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings

import pytest

from newswh.dashboard.launch import find_chromium, running_dashboard, wait_for_overview
from newswh.settings import DataPaths
from tests.helpers import NEWSWH

pytestmark = pytest.mark.slow
pytest.importorskip("streamlit", reason="the dashboard extra is not installed: pip install -e '.[dashboard]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")


def system_chromium() -> str:
    """Debian's chromium. Without one the test cannot run: CI installs it (.ci/run), so there
    its absence fails the test; elsewhere the skip says so in capitals."""
    found = find_chromium()
    if found:
        return found
    message = "NO CHROMIUM: the dashboard's browser test did not run (as root: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    warnings.warn(message, stacklevel=1)  # in the warnings summary as well as the skip list (-ra)
    pytest.skip(message)


@pytest.fixture
def dashboard_url(example_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DataPaths(example_data).lake, data / "lake")  # the lake alone: no warehouse to open
    with running_dashboard(data) as url:
        yield url
    assert not DataPaths(data).warehouse.exists()


def test_overview_search_and_article_in_a_real_browser(dashboard_url, tmp_path):
    chromium = system_chromium()
    screenshot = tmp_path / "dashboard.png"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(dashboard_url)
            assert wait_for_overview(page) == "7"
            chart = page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first
            assert chart.bounding_box()["height"] > 100
            page.screenshot(path=str(screenshot))

            page.get_by_test_id("stSidebar").get_by_text("Stories", exact=True).click()
            search = page.get_by_role("textbox", name="Search")
            search.fill("aleppo")
            search.press("Enter")
            page.get_by_role("button", name="Syrian Army Retakes Key Town Near Aleppo").click()
            page.get_by_role("heading", name="Syrian Army Retakes Key Town Near Aleppo").wait_for(timeout=60_000)
            page.get_by_text("Related stories (3)").wait_for(timeout=60_000)
            assert "Footage Shows Aleppo Battle from the Air" in page.get_by_test_id("stTable").inner_text()
            page.screenshot(path=str(tmp_path / "article.png"))
        finally:
            browser.close()
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000
    print(f"screenshots: {screenshot} and {tmp_path / 'article.png'}")


def test_the_dashboard_command_refuses_a_file_for_a_folder(tmp_path):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("")
    result = subprocess.run([NEWSWH, "dashboard", "--data", str(not_a_folder)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "is a file" in result.stderr
    assert result.stderr.startswith(f"newswh dashboard: data folder {not_a_folder} is a file")
