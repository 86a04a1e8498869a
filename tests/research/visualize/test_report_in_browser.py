"""The HTML reports opened in a real headless Chromium: no broken image, no console error, not blank.

Needs Chromium and its driver: REIDLAB_TEST_CHROMIUM and REIDLAB_TEST_CHROMEDRIVER name them
(.ci/run installs Debian's chromium and chromium-driver and sets both); without them the test skips.
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reidlab.engine.train import train
from reidlab.research.compare import compare_runs
from reidlab.research.visualize import visualize

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from conftest import TINY_CONFIG  # noqa: E402

CHROMIUM, DRIVER = os.environ.get("REIDLAB_TEST_CHROMIUM"), os.environ.get("REIDLAB_TEST_CHROMEDRIVER")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM or not DRIVER:
        pytest.skip("REIDLAB_TEST_CHROMIUM and REIDLAB_TEST_CHROMEDRIVER are not set (CI installs Chromium and sets them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


def check_page(driver, page: Path, screenshot: Path) -> None:
    driver.get(page.resolve().as_uri())
    driver.execute_script("return document.readyState")
    images = driver.execute_script("return Array.from(document.images).map(i => [i.getAttribute('src').slice(0, 60), i.complete, i.naturalWidth])")
    assert images, f"{page}: no images"
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"{page}: broken images {broken}"
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors {errors}"
    assert len(driver.execute_script("return document.body.innerText").strip()) > 100, f"{page}: the page is blank"
    driver.save_screenshot(str(screenshot))
    pixels = np.asarray(Image.open(screenshot).convert("L"))
    assert pixels.std() > 5, f"{screenshot}: the screenshot is one colour"


def test_the_run_report_and_the_compare_report_render(browser, tmp_path, tiny_overrides):
    run = train(TINY_CONFIG, overrides=tiny_overrides(tmp_path / "run")).run_dir
    drawn = visualize(run, "worst", top=6)
    check_page(browser, drawn.folder / "report.html", tmp_path / "run_report.png")
    compare_runs([run], out=tmp_path / "compare")
    check_page(browser, tmp_path / "compare" / "report.html", tmp_path / "compare_report.png")
    compare_page = (tmp_path / "compare" / "report.html").read_text(encoding="utf-8")
    assert "Where run fails" in compare_page and "camera pair" in compare_page and "worst queries" in compare_page  # the winner's breakdowns
    moved = tmp_path / "zipped"  # the folder travels whole: relative links still resolve elsewhere
    drawn.folder.rename(moved)
    check_page(browser, moved / "report.html", tmp_path / "moved_report.png")
