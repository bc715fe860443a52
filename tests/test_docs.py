"""The documentation site: Sphinx builds it with warnings as errors, its gallery lists every
built-in claim with the checks and figures of a quick run, every local link and image resolves,
and its pages pass the HTML report's headless-Chromium check (no severe console entries, every
image loads). The quick run is one claim's (pwl-conditioning). CI also builds the site from
`verify all --quick`'s folder and checks that one: OPTVERIFY_DOCS_SITE names a built site to check
instead of building one (.ci/run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from optverify.verify import registry

REPOSITORY = Path(__file__).resolve().parents[1]
REPORTED_CLAIM = "pwl-conditioning"
VERIFY = "import sys; from optverify.verify.cli import main; sys.exit(main())"
_LOCAL_TARGET = re.compile(r'(?:href|src)="([^"#?]+)[^"]*"')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if os.environ.get("OPTVERIFY_DOCS_SITE"):
        return Path(os.environ["OPTVERIFY_DOCS_SITE"])
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    reports = tmp_path_factory.mktemp("quick-reports")
    ran = subprocess.run([sys.executable, "-c", VERIFY, "run", REPORTED_CLAIM, "--quick",
                          "--progress", "off", "--device", "cpu", "--out", str(reports)],
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode in (0, 1), ran.stderr
    html = tmp_path_factory.mktemp("site")
    built = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                            "html", str(REPOSITORY / "docs"), str(html)],
                           capture_output=True, text=True, timeout=600,
                           env={**os.environ, "OPTVERIFY_DOCS_REPORTS": str(reports)})
    assert built.returncode == 0, built.stderr
    return html


def pages(site: Path) -> list[Path]:
    return sorted(path for path in site.rglob("*.html") if "_static" not in path.parts)


def test_the_site_builds_without_warnings_and_has_its_sections(site):
    for page in ("index", "api", "judging", "report-format", "your-own-claim",
                 "_generated/tutorial", "_generated/gallery/index", "_generated/calibration"):
        assert (site / f"{page}.html").is_file(), page


def test_the_gallery_lists_every_builtin_claim_with_a_page(site):
    index = (site / "_generated" / "gallery" / "index.html").read_text()
    for claim_id in registry.BUILTIN_IDS:
        assert f'href="{claim_id}.html"' in index, claim_id
        page = (site / "_generated" / "gallery" / f"{claim_id}.html").read_text()
        assert "Statement" in page and "Quick run" in page


def test_a_reported_claims_page_has_its_checks_and_figures(site, tmp_path):
    page = (site / "_generated" / "gallery" / f"{REPORTED_CLAIM}.html").read_text()
    images = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert images and all((site / "_generated" / "gallery" / unquote(src)).is_file()
                          for src in images)
    assert "decisive checks consistent" in page


def test_every_local_link_and_image_resolves(site):
    broken = []
    for page in pages(site):
        for target in _LOCAL_TARGET.findall(page.read_text()):
            if urlparse(target).scheme or target.startswith("//"):
                continue
            if not (page.parent / unquote(target)).exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert not broken, broken


def test_the_api_page_shows_the_testing_door(site):
    api = (site / "api.html").read_text()
    assert "assert_consistent" in api and "assert_every_decisive_check_can_say_no" in api


def test_pages_pass_the_browser_check(site):
    from tests.verify import test_browser as check

    if not (check.CHROMIUM.exists() and check.CHROMEDRIVER.exists()):
        pytest.skip("the browser check needs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.wait import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(check.CHROMIUM)
    for flag in check.CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(check.CHROMEDRIVER)), options=options)
    try:
        for page in pages(site):
            driver.get(page.as_uri())  # a long page (verdict-changes) may still be loading
            WebDriverWait(driver, 60).until(
                lambda browser: browser.execute_script("return document.readyState") == "complete")
            assert check.severe_console_entries(driver) == [], page
            shown = check.images(driver)
            assert all(image["complete"] and image["width"] > 0 for image in shown), (page, shown)
    finally:
        driver.quit()
