"""A real single-node HDFS (NameNode and DataNode of the artifact cache's Hadoop, on loopback ports) and a local
Spark session (PySpark of the artifact cache) for the window check of the Python matrix (scripts/python-matrix.sh),
which sets HADOOP_HOME, SPARK_HOME, JAVA_HOME and PYTHONPATH. Without them the check fails: it never skips."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROPERTY = "<property><name>{}</name><value>{}</value></property>"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    assert value, f"{name} is not set: run this check through scripts/python-matrix.sh"
    return value


def _site(path: Path, values: dict[str, object]) -> None:
    body = "".join(PROPERTY.format(key, value) for key, value in values.items())
    path.write_text(f"<?xml version='1.0'?><configuration>{body}</configuration>\n", encoding="utf-8")


@dataclass(frozen=True)
class Hdfs:
    rpc: str  # hdfs://127.0.0.1:port
    http: str  # http://127.0.0.1:port (WebHDFS)


def _get(url: str) -> dict[str, Any] | None:
    import json

    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            data: dict[str, Any] = json.loads(answer.read())
            return data
    except OSError:
        return None


@pytest.fixture(scope="session")
def hdfs() -> Iterator[Hdfs]:
    home = Path(_required("HADOOP_HOME"))
    java = Path(_required("JAVA_HOME")) / "bin" / "java"
    work = Path(tempfile.mkdtemp(prefix="zootopia-hdfs-"))
    conf = work / "conf"
    conf.mkdir()
    ports = {name: _free_port() for name in ("rpc", "http", "data", "data_http", "data_ipc")}
    _site(conf / "core-site.xml", {"fs.defaultFS": f"hdfs://127.0.0.1:{ports['rpc']}"})
    _site(
        conf / "hdfs-site.xml",
        {
            "dfs.replication": 1,
            "dfs.permissions.enabled": "true",
            "dfs.namenode.name.dir": work / "name",
            "dfs.datanode.data.dir": work / "data",
            "dfs.namenode.http-address": f"127.0.0.1:{ports['http']}",
            "dfs.namenode.rpc-bind-host": "127.0.0.1",
            "dfs.datanode.address": f"127.0.0.1:{ports['data']}",
            "dfs.datanode.http.address": f"127.0.0.1:{ports['data_http']}",
            "dfs.datanode.ipc.address": f"127.0.0.1:{ports['data_ipc']}",
            "dfs.datanode.hostname": "127.0.0.1",
            "dfs.namenode.safemode.extension": 0,
            "dfs.webhdfs.enabled": "true",
        },
    )
    (conf / "log4j.properties").write_text(
        "log4j.rootLogger=WARN, console\nlog4j.appender.console=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.console.layout=org.apache.log4j.PatternLayout\n",
        encoding="utf-8",
    )
    jars = [home / "share/hadoop" / part for part in ("common/*", "common/lib/*", "hdfs", "hdfs/*", "hdfs/lib/*")]
    base = [str(java), "-Xmx256m", f"-Dhadoop.home.dir={home}", f"-Dlog4j.configuration=file:{conf}/log4j.properties"]
    base += ["-cp", ":".join([str(conf), *map(str, jars)])]
    subprocess.run(
        [*base, "org.apache.hadoop.hdfs.server.namenode.NameNode", "-format", "-force", "-nonInteractive"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    logs = [(work / f"{name}.log").open("wb") for name in ("namenode", "datanode")]
    daemons = [
        subprocess.Popen([*base, f"org.apache.hadoop.hdfs.server.{name}"], stdout=log, stderr=subprocess.STDOUT)
        for name, log in zip(("namenode.NameNode", "datanode.DataNode"), logs)
    ]
    http = f"http://127.0.0.1:{ports['http']}"
    try:
        deadline = time.monotonic() + 120
        while True:
            beans = _get(f"{http}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState")
            live = beans and beans["beans"] and beans["beans"][0].get("NumLiveDataNodes", 0) >= 1
            safe = _get(f"{http}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo")
            if live and safe and safe["beans"] and not safe["beans"][0].get("Safemode"):
                break
            assert all(daemon.poll() is None for daemon in daemons), (work / "namenode.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "HDFS did not start in 120 s: see " + str(work)
            time.sleep(1)
        yield Hdfs(rpc=f"hdfs://127.0.0.1:{ports['rpc']}", http=http)
    finally:
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            daemon.wait(timeout=60)
        for log in logs:
            log.close()


@pytest.fixture(scope="session")
def spark(hdfs: Hdfs) -> Iterator[Any]:
    _required("SPARK_HOME")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("zootopia-matrix")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.hadoop.fs.defaultFS", hdfs.rpc)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
