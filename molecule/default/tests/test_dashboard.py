"""The dashboard at GET / in a real headless Chromium (Debian's), against the API deployed on the master.

The page must draw what the JSON API answers, refresh by itself, add and remove a source through its
form and buttons, show the API's error text, and leave a screenshot (for the README).

The API's address and token come from the node; ZOOTOPIA_API_URL and ZOOTOPIA_API_TOKEN override them
to try the page against another server. ZOOTOPIA_SCREENSHOT is where the screenshot goes.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from controller import on
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
API_PORT = 10001
TOKEN_FILE = "/etc/zootopia/api-token"
# The smallest seed: the one this module starts and stops through the page.
SOURCE = "https://idigbio.org"
NOT_ALLOWED = "https://example.invalid"
SCREENSHOT = Path(os.environ.get("ZOOTOPIA_SCREENSHOT", "/tmp/zootopia-dashboard.png"))
CHARTS = ("chart-kingdoms", "chart-species", "chart-sources", "chart-history")
# The page details the last DETAIL windows and draws the history per hour up to MAX_BUCKETS hours.
DETAIL = 120
MAX_BUCKETS = 240

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

Drawn = dict[tuple[str, str], float]

# Every mark the page draws carries the numbers it stands for: [window, key, value].
READ_MARKS = """
return Array.from(document.querySelectorAll('#' + arguments[0] + ' [data-key]')).map(function (e) {
  return [e.getAttribute('data-window'), e.getAttribute('data-key'), Number(e.getAttribute('data-value'))];
});
"""

NEXT_FRAME = """
var done = arguments[arguments.length - 1];
requestAnimationFrame(function () { requestAnimationFrame(function () { done(); }); });
"""


@pytest.fixture(scope="module")
def api_url(node_addresses: dict[str, str]) -> str:
    # The local inventory serves the API over TLS with a self-signed certificate.
    return os.environ.get("ZOOTOPIA_API_URL", f"https://{node_addresses['node0']}:{API_PORT}").rstrip("/")


@pytest.fixture(scope="module")
def token() -> str:
    return os.environ.get("ZOOTOPIA_API_TOKEN") or on("node0", f"cat {TOKEN_FILE}")


@pytest.fixture(scope="module")
def call(api_url: str, token: str) -> Callable[[str], requests.Response]:
    """GET a path of the API with the token, asking for JSON."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def get(path: str) -> requests.Response:
        # The certificate is self-signed (the API checks cover TLS). `verify` per request: a session's
        # own setting loses to REQUESTS_CA_BUNDLE in the environment.
        return session.get(f"{api_url}{path}", timeout=30, verify=False)

    return get


@pytest.fixture(scope="module")
def api(call: Callable[[str], requests.Response]) -> Callable[[str], dict[str, Any]]:
    """The JSON answer to a GET; a non-2xx answer fails the check."""

    def get(path: str) -> dict[str, Any]:
        response = call(path)
        assert response.ok, f"{path} -> {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    return get


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--ignore-certificate-errors",  # the API's self-signed certificate
        "--hide-scrollbars",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    # Debian's driver, named explicitly: Selenium Manager would try to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def refreshes(browser: WebDriver) -> int:
    """The number of the newest refresh the page shows (refreshes are numbered as they start)."""
    return int(browser.find_element(By.ID, "status").get_attribute("data-refreshes") or 0)


def started(browser: WebDriver) -> int:
    return int(browser.find_element(By.ID, "status").get_attribute("data-started") or 0)


def refreshed(browser: WebDriver) -> None:
    """Wait until the page shows answers fetched after this call began, asking it with its Refresh button."""
    last = started(browser)
    browser.find_element(By.ID, "refresh-button").click()
    wait(browser, 30).until(lambda b: refreshes(b) > last, "the page did not refresh")


def status(browser: WebDriver) -> tuple[str, str]:
    element = browser.find_element(By.ID, "status")
    return element.get_attribute("data-state") or "", element.text


def wait(browser: WebDriver, timeout: float) -> WebDriverWait[WebDriver]:
    # The page redraws as it refreshes: an element read a moment ago may be gone, look again.
    return WebDriverWait(browser, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException])


@pytest.fixture(scope="module")
def dashboard(browser: WebDriver, api_url: str, token: str) -> WebDriver:
    """The page loaded with the token in its URL's fragment, after its first refresh went through."""
    browser.get(f"{api_url}/#token={token}")
    wait(browser, 30).until(lambda b: refreshes(b) >= 1, "the page never finished a refresh")
    state, text = status(browser)
    assert state == "ok", text
    # The page took the token out of its address (and so out of the history and of a copied link).
    assert token not in browser.current_url
    assert browser.execute_script("return window.location.hash") == ""
    return browser


def drawn(browser: WebDriver) -> dict[str, Drawn]:
    """What each chart shows: (window, key) -> value."""
    result: dict[str, Drawn] = {}
    for chart in CHARTS:
        marks: list[list[Any]] = browser.execute_script(READ_MARKS, chart)
        result[chart] = {(str(window), str(key)): float(value) for window, key, value in marks}
    return result


def answered(api: Callable[[str], dict[str, Any]]) -> dict[str, Drawn]:
    """What the charts must show according to the JSON API."""
    kingdoms = api(f"/count?by=kingdom&windows={DETAIL}")["windows"]
    species = api(f"/count?by=totalSpecies&windows={DETAIL}")["windows"]
    sources = api("/count?by=source")["counts"]
    history = api("/history?per=hour")
    if history["last"] / history["windows_per_bucket"] > MAX_BUCKETS:
        history = api("/history?per=day")
    return {
        "chart-history": {
            (f"{b['first']}-{b['last']}", k): float(n) for b in history["buckets"] for k, n in b["kingdoms"].items()
        },
        "chart-kingdoms": {(str(w["window"]), k): float(n) for w in kingdoms for k, n in w["counts"].items()},
        "chart-species": {(str(w["window"]), "Species"): float(w["cumulative"]["Species"]) for w in species},
        "chart-sources": {("all", url): float(n) for url, n in sources.items()},
    }


def listed(browser: WebDriver) -> list[str]:
    urls: list[str] = browser.execute_script(
        "return Array.from(document.querySelectorAll('#sources-list li[data-url]')).map(e => e.dataset.url);"
    )
    return urls


def click(browser: WebDriver, selector: str) -> bool:
    browser.find_element(By.CSS_SELECTOR, selector).click()
    return True


def active(api: Callable[[str], dict[str, Any]]) -> list[str]:
    return [source["url"] for source in api("/listSources")["sources"]]


def test_the_charts_draw_what_the_api_answers(dashboard: WebDriver, api: Callable[[str], dict[str, Any]]) -> None:
    # The answers may move while the page fetches them: windows still arriving, or the API's workers
    # (each with its own snapshot) a refresh apart. A drawing fetched between two equal answers of the API
    # must equal them; a few tries find such a moment, a page that draws wrong numbers never matches.
    deadline = time.monotonic() + 30  # longer than the API's refresh period: its workers agree by then
    while True:
        before = answered(api)
        refreshed(dashboard)
        shown = drawn(dashboard)
        after = answered(api)
        if before == after == shown or time.monotonic() > deadline:
            break
        time.sleep(1)  # the pace of the polling, not a wait for an event
    assert status(dashboard)[0] == "ok", status(dashboard)[1]
    assert before == after, "the API's answers never held still for one refresh of the page"
    assert shown == after


def test_the_charts_show_live_data(dashboard: WebDriver) -> None:
    # The pipeline checks have streamed the seeds: every chart has something to draw.
    shown = drawn(dashboard)
    for chart in CHARTS:
        assert shown[chart], f"#{chart} draws nothing"
        assert any(value > 0 for value in shown[chart].values()), chart
    legend = dashboard.find_elements(By.CSS_SELECTOR, "#legend-kingdoms li[data-key]")
    assert {item.get_attribute("data-key") for item in legend} == {key for _, key in shown["chart-kingdoms"]}


def test_the_sources_listed_are_the_active_ones(dashboard: WebDriver, api: Callable[[str], dict[str, Any]]) -> None:
    expected = active(api)
    wait(dashboard, 15).until(lambda b: listed(b) == expected, f"the page never listed {expected}")


def test_a_refused_source_shows_the_apis_error(dashboard: WebDriver, call: Callable[[str], requests.Response]) -> None:
    answer = call(f"/addSource?url={quote(NOT_ALLOWED, safe='')}")
    assert answer.status_code == 400
    error: str = answer.json()["error"]
    field = dashboard.find_element(By.ID, "add-url")
    field.clear()
    field.send_keys(NOT_ALLOWED)
    dashboard.find_element(By.ID, "add-button").click()
    message = dashboard.find_element(By.ID, "message")
    wait(dashboard, 15).until(lambda _: message.get_attribute("data-kind") == "error", "no error shown")
    assert error in message.text
    assert NOT_ALLOWED not in listed(dashboard)


def test_a_source_added_through_the_form_is_listed_and_removed_by_its_button(
    dashboard: WebDriver, api: Callable[[str], dict[str, Any]]
) -> None:
    assert SOURCE not in active(api), f"{SOURCE} must not be active before this check"
    try:
        field = dashboard.find_element(By.ID, "add-url")
        field.clear()
        field.send_keys(SOURCE)
        dashboard.find_element(By.ID, "add-button").click()
        wait(dashboard, 120).until(lambda b: SOURCE in listed(b), f"{SOURCE} never listed")
        assert dashboard.find_element(By.ID, "message").get_attribute("data-kind") == "ok"
        assert SOURCE in active(api)

        remove = f'#sources-list li[data-url="{SOURCE}"] button.remove'
        wait(dashboard, 15).until(lambda b: click(b, remove), f"no {remove}")
        wait(dashboard, 120).until(lambda b: SOURCE not in listed(b), f"{SOURCE} still listed")
        assert dashboard.find_element(By.ID, "message").get_attribute("data-kind") == "ok"
        assert SOURCE not in active(api)
    finally:
        # Leave the sources as found even when the page failed.
        if SOURCE in active(api):
            api(f"/removeSource?url={quote(SOURCE, safe='')}")


def test_a_screenshot_of_the_whole_page(dashboard: WebDriver) -> None:
    # The page refreshes by itself, at least every few seconds.
    last = started(dashboard)
    wait(dashboard, 30).until(lambda b: refreshes(b) > last, "the page stopped refreshing")
    # The whole page in one picture: the window as tall as the document (plus the browser's own frame).
    height = int(dashboard.execute_script("return document.documentElement.scrollHeight"))
    frame = int(dashboard.execute_script("return window.outerHeight - window.innerHeight"))
    dashboard.set_window_size(1400, max(height, 800) + frame)
    wait(dashboard, 10).until(lambda b: b.execute_script("return window.innerHeight") >= height, "no resize")
    # Then one frame, so the screenshot shows the page painted at its new size.
    dashboard.execute_async_script(NEXT_FRAME)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert dashboard.save_screenshot(str(SCREENSHOT))
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, tall = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width >= 1000
    assert tall >= 700
    assert len(data) > 30_000, "the screenshot is nearly blank"
