"""The /faults page in a real browser: the distribution's headless Chromium driven by selenium through the
distribution's chromedriver (nothing downloaded). Adds a fault through the form (a wrong key first), finds it in
the filtered table, opens its page, checks the plot image loaded and no script in a title ran, resolves it."""

from __future__ import annotations

import shutil

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from delphi_signals.epidata import store
from delphi_signals.epidata.schema import create_schema, engine_for

from .conftest import SOURCE, WRITE_KEY, READ_KEY, signal_rows, start_server

TITLE = "LA backlog <script>alert('owned')</script>"


def _executable(*names) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"none of {names} is installed: apt-get install chromium chromium-driver (.ci/run does)")


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = _executable("chromium", "chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=_executable("chromedriver")), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('faults-page') / 'epidata.sqlite'}"
    engine = engine_for(url)
    create_schema(engine)
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, signal_rows())
    engine.dispose()
    proc, base = start_server(url)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _click_and_load(driver, element) -> None:
    """Click ``element`` and wait until the browser has left the page (a form's answer or a link's target)."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 60).until(expected_conditions.staleness_of(page))


def _no_alert(driver) -> bool:
    try:
        driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def _fill_add_form(driver, key: str) -> None:
    values = {"title": TITLE, "source": SOURCE, "signals": "sig", "geo_type": "county", "geo_values": "06037",
              "start": "2020-11-03", "end": "2020-11-05", "description": "a week of cases on one day",
              "link": "https://example.org/jhu/issue/1", "api_key": key}
    for name, value in values.items():
        box = driver.find_element(By.ID, f"add-{name}")
        box.clear()
        box.send_keys(value)
    Select(driver.find_element(By.ID, "add-category")).select_by_value("backlog")
    _click_and_load(driver, driver.find_element(By.ID, "add-submit"))


def test_add_find_open_plot_resolve(browser, site):
    browser.get(f"{site}/faults")
    _fill_add_form(browser, READ_KEY)  # a key without the write role
    assert "no write role" in browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "add-title").get_attribute("value") == TITLE  # kept for another try
    _fill_add_form(browser, WRITE_KEY)
    errors = [e.text for e in browser.find_elements(By.ID, "error")]
    assert browser.current_url.rsplit("/", 1)[-1].isdigit(), errors  # redirected to the new fault's page
    fid = browser.current_url.rsplit("/", 1)[-1]
    assert browser.find_element(By.ID, "fault-title").text == f"Fault {fid}: {TITLE}"  # shown as text, not run
    assert _no_alert(browser)

    browser.get(f"{site}/faults")
    Select(browser.find_element(By.ID, "filter-source")).select_by_value(SOURCE)
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("open")
    _click_and_load(browser, browser.find_element(By.ID, "filter-submit"))
    assert "status=open" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#faults tr.fault-row")
    assert [r.find_element(By.CSS_SELECTOR, "td.title").text for r in rows] == [TITLE]
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("resolved")
    _click_and_load(browser, browser.find_element(By.ID, "filter-submit"))
    assert browser.find_elements(By.CSS_SELECTOR, "#faults tr.fault-row") == []
    browser.get(f"{site}/faults?status=open")
    _click_and_load(browser, browser.find_element(By.LINK_TEXT, fid))

    plot = browser.find_element(By.ID, "plot")
    browser.execute_async_script(  # wait for the image (an SVG drawn on request) to finish loading
        "const img = arguments[0], done = arguments[1];"
        "if (img.complete) { done(); } else { img.onload = img.onerror = () => done(); }", plot)
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", plot) > 0
    scopes = browser.find_element(By.ID, "scopes").text
    assert "06037" in scopes and "2020-11-03 .. 2020-11-05" in scopes
    assert browser.find_element(By.CSS_SELECTOR, "#links a").get_attribute("href") == "https://example.org/jhu/issue/1"

    Select(browser.find_element(By.ID, "status-select")).select_by_value("resolved")
    browser.find_element(By.ID, "status-note").send_keys("JHU spread the backlog <b>back</b>")
    browser.find_element(By.ID, "status-key").send_keys("not-a-key")
    _click_and_load(browser, browser.find_element(By.ID, "status-submit"))
    assert "missing or unknown key" in browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "fault-status").text == "open"
    Select(browser.find_element(By.ID, "status-select")).select_by_value("resolved")
    browser.find_element(By.ID, "status-note").send_keys("JHU spread the backlog <b>back</b>")
    browser.find_element(By.ID, "status-key").send_keys(WRITE_KEY)
    _click_and_load(browser, browser.find_element(By.ID, "status-submit"))
    assert browser.find_element(By.ID, "fault-status").text == "resolved"
    assert "JHU spread the backlog <b>back</b>" in browser.find_element(By.ID, "history").text
    assert browser.find_elements(By.CSS_SELECTOR, "#history b") == []  # the note's tag is text, not markup
