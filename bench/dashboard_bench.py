"""The dashboard over a long history in Chromium: first paint and first full drawing at 100, 1,000 and 10,000 windows.

Runs on the controller (`python bench/dashboard_bench.py`, Debian's chromium and chromedriver, as the
molecule checks use). For each history it serves the real Flask app on loopback over window documents
built by the consumer's own build_document (held in memory: the page's cost is measured, not HDFS's),
loads the page in a fresh headless Chromium and prints, as `DASHBOARD_BENCH {json}`: first contentful
paint, the time until every chart is drawn from the first refresh's answers, the bytes those answers
took and the marks drawn. 100 windows is the reference of the same run.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from collections.abc import Mapping
from typing import Any

from api_history_bench import SOURCES, documents  # the same documents as the API's long-history bench
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from zootopia.api.app import create_app
from zootopia.api.health import Health
from zootopia.api.results import Results
from zootopia.api.streams import AllowList
from zootopia.consumer.documents import Cumulative
from zootopia.streams.registry import Source

HISTORIES = (100, 1_000, 10_000)
LOADS = 3
PAINTED = """
const paint = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
const fetched = performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch');
return {
  first_contentful_paint_ms: paint ? paint.startTime : null,
  answers_bytes: fetched.reduce((s, e) => s + e.encodedBodySize, 0),
  marks: document.querySelectorAll('svg [data-key]').length,
};
"""


class Documents:
    def __init__(self, windows: int) -> None:
        self.documents = {int(d["window"]): d for d in documents(1, windows, Cumulative())}

    def has_document(self, window: int) -> bool:
        return window in self.documents

    def read_document(self, window: int) -> Mapping[str, Any]:
        return self.documents[window]


class NoStreams:
    def sources(self) -> list[Source]:
        return []

    def add(self, url: str) -> tuple[Source, bool]:
        raise NotImplementedError

    def remove(self, url: str) -> Source | None:
        return None


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def load(url: str) -> dict[str, Any]:
    """One load in a fresh browser: until the first refresh has drawn every chart."""
    driver = browser()
    try:
        started = time.monotonic()
        driver.get(url)
        while int(driver.find_element(By.ID, "status").get_attribute("data-refreshes") or 0) < 1:
            if time.monotonic() - started > 60:
                raise TimeoutError(f"{url}: no refresh drawn in 60 s")
            time.sleep(0.01)
        drawn_ms = (time.monotonic() - started) * 1000
        state = driver.find_element(By.ID, "status").get_attribute("data-state")
        assert state == "ok", driver.find_element(By.ID, "status").text
        figures: dict[str, Any] = driver.execute_script(PAINTED)
        return {**figures, "drawn_ms": drawn_ms}
    finally:
        driver.quit()


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    figures: dict[str, Any] = {}
    for windows in HISTORIES:
        results = Results(Documents(windows), interval=3600)
        results.refresh()
        health = Health({"results": lambda: {"status": "ok"}}, timeout=1)
        app = create_app(results, NoStreams(), AllowList(list(SOURCES)), health)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            loads = [load(f"http://127.0.0.1:{server.server_port}/") for _ in range(LOADS)]
        finally:
            server.shutdown()
        figures[f"{windows}_windows"] = {
            "first_contentful_paint_ms": round(statistics.median(x["first_contentful_paint_ms"] for x in loads), 1),
            "drawn_ms": round(statistics.median(x["drawn_ms"] for x in loads), 1),
            "answers_bytes": loads[-1]["answers_bytes"],
            "marks": loads[-1]["marks"],
        }
    reference, longest = figures[f"{HISTORIES[0]}_windows"], figures[f"{HISTORIES[-1]}_windows"]
    figures["drawn_ratio_longest_to_reference"] = round(longest["drawn_ms"] / reference["drawn_ms"], 2)
    print("DASHBOARD_BENCH " + json.dumps(figures))


if __name__ == "__main__":
    main()
