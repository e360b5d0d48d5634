"""Running the API: gunicorn (threads, optional TLS) around the app built from the settings file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask

from zootopia import config, kafka_clients
from zootopia.api import health
from zootopia.api.app import create_app
from zootopia.api.results import Results
from zootopia.api.streams import AllowList, RegistryStreams
from zootopia.consumer.store import WindowStore

KEEP_ALIVE_SECONDS = 75


def read_token(path: str) -> str:
    """The token of the settings' token_file ("" when none is configured); an empty file is an error."""
    if not path:
        return ""
    token = Path(path).read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"the token file {path} is empty")
    return token


def wsgi() -> Flask:
    """gunicorn's app factory: each worker holds its own results snapshot, refreshed in the background."""
    settings = config.load(principal=kafka_clients.API)
    # Bounded calls: a NameNode that hangs must not stop the refresh thread for good.
    results = Results(WindowStore(settings.hdfs, timeout=10), settings.api.refresh_seconds, settings.api.recent_windows)
    results.start()
    return create_app(
        results,
        RegistryStreams(settings),
        AllowList(settings.api.allowed_sources),
        health.for_cluster(settings, results),
        token=read_token(settings.api.token_file),
    )


def gunicorn_command(bind: str, workers: int, threads: int, certfile: str | None, keyfile: str | None) -> list[str]:
    if (certfile is None) != (keyfile is None):
        raise ValueError("TLS needs both --certfile and --keyfile")
    command = [sys.executable, "-m", "gunicorn", "--bind", bind, "--worker-class", "gthread"]
    command += ["--workers", str(workers), "--threads", str(threads), "--access-logfile", "-"]
    # Idle connections stay open longer than a dashboard's refresh (5 s): no new TLS handshake each
    # time, and no client sending on a connection the server is closing at that very moment.
    command += ["--keep-alive", str(KEEP_ALIVE_SECONDS)]
    # The path without its query: a token passed as ?token= must not reach the journal.
    command += ["--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss']
    if certfile and keyfile:
        command += ["--certfile", certfile, "--keyfile", keyfile]
    return [*command, "zootopia.api.serve:wsgi()"]


def serve(bind: str, workers: int, threads: int, certfile: str | None, keyfile: str | None) -> None:
    command = gunicorn_command(bind, workers, threads, certfile, keyfile)
    os.execv(command[0], command)
