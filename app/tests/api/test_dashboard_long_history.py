"""The dashboard over 10,000 windows in a real headless Chromium: the last 120 windows in detail, the whole
history per hour and then per day, as the API answers them (the page's load time is in bench/)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from api_memory import GBIF, MemoryDocuments, MemoryStreams, history
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from zootopia.api.app import create_app
from zootopia.api.health import Health
from zootopia.api.history import buckets
from zootopia.api.results import Results, Snapshot
from zootopia.api.streams import AllowList

WINDOWS = 10_000
MARKS = "return Array.from(document.querySelectorAll('#' + arguments[0] + ' [data-key]')).map(e => e.dataset.window);"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Snapshot]]:
    results = Results(MemoryDocuments(history(WINDOWS)), interval=3600)
    snapshot = results.refresh()
    health = Health({"results": lambda: {"status": "ok"}}, timeout=1)
    server = make_server("127.0.0.1", 0, create_app(results, MemoryStreams(), AllowList([GBIF]), health), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", snapshot
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def page(served: tuple[str, Snapshot]) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        driver.get(served[0])
        _wait_for_refresh(driver, 1)
        yield driver
    finally:
        driver.quit()


def _refreshes(driver: webdriver.Chrome) -> int:
    return int(driver.find_element(By.ID, "status").get_attribute("data-refreshes") or 0)


def _wait_for_refresh(driver: webdriver.Chrome, number: int) -> None:
    WebDriverWait(driver, 60).until(lambda d: _refreshes(d) >= number, f"refresh {number} never drawn")
    status = driver.find_element(By.ID, "status")
    assert status.get_attribute("data-state") == "ok", status.text


def test_the_recent_windows_are_drawn_in_detail(page: webdriver.Chrome) -> None:
    kingdoms = {int(w) for w in page.execute_script(MARKS, "chart-kingdoms")}
    species = [int(w) for w in page.execute_script(MARKS, "chart-species")]
    assert kingdoms == set(range(WINDOWS - 119, WINDOWS + 1))
    assert species == list(range(WINDOWS - 119, WINDOWS + 1))
    assert "10,000 windows" in page.find_element(By.ID, "status").text


def test_the_whole_history_is_drawn_per_hour_then_per_day(page: webdriver.Chrome, served: tuple[str, Snapshot]) -> None:
    snapshot = served[1]
    hours = {f"{b.first}-{b.last}" for b in buckets(snapshot, "hour")}
    days = {f"{b.first}-{b.last}" for b in buckets(snapshot, "day")}
    drawn = set(page.execute_script(MARKS, "chart-history"))
    if drawn != days:  # the first drawing is per hour: more hours than the page draws, so it asks per day next
        assert drawn == hours
        page.find_element(By.ID, "refresh-button").click()
        _wait_for_refresh(page, 2)
        drawn = set(page.execute_script(MARKS, "chart-history"))
    assert len(days) == 14
    assert drawn == days
    assert "per day" in page.find_element(By.ID, "history-sub").text
