"""The HTML report in a real browser: Debian's headless Chromium, driven by selenium through
/usr/bin/chromedriver, opens the pages over file:// with no server and no network.

One `verify run` per test session (module fixture) writes the reports: two fast built-in claims of
different verdicts on their own (saddle-points, end-to-end-snr) and the tutorial's example claim
file (examples/gd_quadratic.py), all --quick; `verify all --quick` would take minutes for the same
page code. Screenshots are kept in $OPTVERIFY_ARTIFACTS, or tests/artifacts/ (ignored by git).
Skipped, with the reason, only where chromium or chromedriver is not installed (.ci/run installs
both).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPOSITORY = Path(__file__).resolve().parents[2]
CLAIMS = ("saddle-points", "end-to-end-snr", str(REPOSITORY / "examples" / "gd_quadratic.py"))
VERIFY = "import sys; from optverify.verify.cli import main; sys.exit(main())"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1000")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="the browser test needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
           "/usr/bin/chromedriver): apt-get install chromium chromium-driver",
)


def artifact_folder() -> Path:
    folder = Path(os.environ.get("OPTVERIFY_ARTIFACTS") or REPOSITORY / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The report folder of one real `verify run` (exit 0 or 1: a violated claim is a finding)."""
    out = tmp_path_factory.mktemp("html-report")
    finished = subprocess.run(
        [sys.executable, "-c", VERIFY,
         "run", *CLAIMS, "--quick", "--progress", "off",
         "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert finished.returncode in (0, 1), finished.stderr
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def severe_console_entries(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def images(driver) -> list[dict]:
    return driver.execute_script(
        "return Array.from(document.images, image => "
        "({src: image.src, complete: image.complete, width: image.naturalWidth}));")


def save_full_page(driver, name: str, capsys) -> Path:
    """A screenshot of the whole page (the window stretched to the page's height); its path is
    printed past pytest's capture."""
    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];")
    driver.set_window_size(max(width, 1280), min(height + 120, 16000))
    path = artifact_folder() / name
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    with capsys.disabled():
        print(f"\nscreenshot: {path}")
    return path


def open_page(driver, path: Path) -> None:
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def test_summary_page_shows_every_claims_verdict(out, browser, capsys):
    from selenium.webdriver.common.by import By

    summary = json.loads((out / "summary.json").read_text())
    open_page(browser, out / "index.html")
    assert severe_console_entries(browser) == []
    assert images(browser) == []
    for entry in summary["claims"]:
        row = browser.find_element(By.ID, f"claim-{entry['claim']}")
        badge = row.find_element(By.CSS_SELECTOR, ".badge")
        assert badge.is_displayed() and badge.text == entry["verdict"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.claims tbody tr")) == len(CLAIMS)
    assert save_full_page(browser, "index.png", capsys).stat().st_size > 0


def test_every_claim_page_loads_with_its_images_and_links_back(out, browser, capsys):
    from selenium.webdriver.common.by import By

    summary = json.loads((out / "summary.json").read_text())
    index = (out / "index.html").as_uri()
    for entry in summary["claims"]:
        record = json.loads((out / entry["claim"] / "report.json").read_text())
        open_page(browser, out / "index.html")
        link = browser.find_element(By.CSS_SELECTOR, f"#claim-{entry['claim']} a")
        link.click()
        assert browser.current_url == urljoin(index, f"{entry['claim']}/index.html")
        assert severe_console_entries(browser) == []
        assert browser.find_element(By.TAG_NAME, "h1").text == record["title"]
        badge = browser.find_element(By.CSS_SELECTOR, ".headline .badge")
        assert badge.is_displayed() and badge.text == record["verdict"]
        shown = images(browser)
        expected = [figure["file"] for layer in record["layers"] for figure in layer["figures"]]
        assert [image["src"].rsplit("/", 1)[-1] for image in shown] == expected
        assert all(image["complete"] and image["width"] > 0 for image in shown), shown
        checks = browser.find_elements(By.CSS_SELECTOR, "article.check")
        assert len(checks) == len(record["checks"])
        if entry["claim"] == "end-to-end-snr":
            save_full_page(browser, "claim-end-to-end-snr.png", capsys)
        browser.find_element(By.CSS_SELECTOR, "nav.crumbs a").click()
        assert browser.current_url == index
        assert severe_console_entries(browser) == []


def test_the_arxiv_link_points_at_the_abstract(out, browser):
    from selenium.webdriver.common.by import By

    open_page(browser, out / "saddle-points" / "index.html")
    link = browser.find_element(By.CSS_SELECTOR, "a.arxiv")
    assert link.get_attribute("href") == "https://arxiv.org/abs/1406.2572"


def test_pages_fit_a_phone_screen(out, browser):
    """At a phone's width the page has no horizontal scroll: wide tables scroll in their box."""
    browser.set_window_size(390, 900)
    try:
        for page in (out / "index.html", out / "end-to-end-snr" / "index.html"):
            open_page(browser, page)
            overflow = browser.execute_script(
                "const page = document.documentElement;"
                "return page.scrollWidth - page.clientWidth;")
            assert overflow <= 0, page
        browser.save_screenshot(str(artifact_folder() / "claim-end-to-end-snr-phone.png"))
    finally:
        browser.set_window_size(1280, 1000)


def test_pages_print_without_navigation(out, browser):
    """The print stylesheet hides the navigation."""
    from selenium.webdriver.common.by import By

    open_page(browser, out / "end-to-end-snr" / "index.html")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element(By.CSS_SELECTOR, "nav.crumbs").is_displayed()
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert browser.find_element(By.CSS_SELECTOR, "nav.crumbs").is_displayed()
