"""GET /health: one status per component, checked in parallel, each within a time limit, cached briefly.

A monitor polling every second costs the cluster one round of checks every `ttl` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import requests

from zootopia.api.results import Results
from zootopia.config import Settings

Report = dict[str, Any]
Check = Callable[[], Report]

SPARK_APP = "zootopia-consumer"


def kafka(settings: Settings, timeout: float) -> Report:
    from kafka import KafkaAdminClient

    from zootopia.kafka_clients import connection

    expected = len(settings.kafka.bootstrap_servers)
    # Bounded by the check's own limit, not by the clients' patience with a slow bootstrap.
    limit_ms = int(timeout * 1000)
    admin = KafkaAdminClient(
        **{**connection(settings), "request_timeout_ms": limit_ms, "api_version_auto_timeout_ms": limit_ms}
    )
    try:
        brokers = admin.describe_cluster()["brokers"]
    finally:
        admin.close()
    status = "ok" if len(brokers) >= expected else "degraded"
    return {"status": status, "brokers": len(brokers), "expected_brokers": expected}


def hdfs(settings: Settings, timeout: float) -> Report:
    query = {"qry": "Hadoop:service=NameNode,name=FSNamesystemState"}
    response = requests.get(f"{settings.hdfs.url}/jmx", params=query, timeout=timeout)
    response.raise_for_status()
    state = response.json()["beans"][0]
    live, dead = int(state["NumLiveDataNodes"]), int(state["NumDeadDataNodes"])
    safe_mode = state.get("FSState") == "safeMode"
    status = "ok" if live > 0 and dead == 0 and not safe_mode else ("down" if live == 0 else "degraded")
    return {"status": status, "live_datanodes": live, "dead_datanodes": dead, "safe_mode": safe_mode}


def spark(settings: Settings, timeout: float) -> Report:
    response = requests.get(f"{settings.api.spark_ui.rstrip('/')}/json/", timeout=timeout)
    response.raise_for_status()
    master = response.json()
    apps = [app["name"] for app in master.get("activeapps", [])]
    running = SPARK_APP in apps
    alive = master.get("status") == "ALIVE" and int(master.get("aliveworkers", 0)) > 0
    status = "ok" if alive and running else ("down" if not alive else "degraded")
    return {"status": status, "master": master.get("status"), "workers": master.get("aliveworkers"), "apps": apps}


def streams(settings: Settings) -> Report:
    from zootopia.streams import registry

    listed = []
    for source, state in registry.with_progress(settings):
        listed.append(
            {
                "url": source.url,
                "node": source.node,
                "state": state.state,
                "records": state.records,
                "rejects": state.rejects,
                # Backpressure: a paused stream waits for the consumer, this many records behind.
                "lag_records": state.lag_records,
                "pauses": state.pauses,
                "updated_at": state.updated_at,
            }
        )
    paused = sum(1 for source in listed if source["state"] == "paused")
    return {"status": "ok", "sources": listed, "paused": paused}


def results(store: Results) -> Report:
    last = store.snapshot.last
    if store.last_error:
        return {"status": "degraded", "windows": last, "error": store.last_error}
    return {"status": "ok", "windows": last}


class Health:
    def __init__(self, checks: dict[str, Check], timeout: float, ttl: float = 5.0) -> None:
        self.checks = checks
        self.timeout = timeout
        self.ttl = ttl
        self._pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
        self._lock = threading.Lock()
        self._cached: tuple[float, Report] | None = None

    def report(self) -> Report:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
            report = self._run()
            self._cached = (time.monotonic(), report)
            return report

    def _run(self) -> Report:
        futures = {name: self._pool.submit(check) for name, check in self.checks.items()}
        deadline = time.monotonic() + self.timeout
        components: dict[str, Report] = {}
        for name, future in futures.items():
            try:
                components[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                components[name] = {"status": "down", "error": f"no answer within {self.timeout:g} s"}
            except Exception as error:
                components[name] = {"status": "down", "error": f"{type(error).__name__}: {error}"}
        healthy = all(component["status"] == "ok" for component in components.values())
        return {"status": "ok" if healthy else "degraded", "components": components}


def for_cluster(settings: Settings, store: Results) -> Health:
    timeout = settings.api.health_timeout_seconds
    return Health(
        {
            "kafka": lambda: kafka(settings, timeout),
            "hdfs": lambda: hdfs(settings, timeout),
            "spark": lambda: spark(settings, timeout),
            "streams": lambda: streams(settings),
            "results": lambda: results(store),
        },
        timeout,
    )
