"""The ports the firewall keeps to some local accounts are the daemons' own (one place each, checked here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _defaults(role: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    return loaded


def test_the_restricted_ports_are_hdfs_and_the_spark_uis() -> None:
    rules = {rule["name"]: set(rule["ports"]) for rule in _defaults("firewall")["firewall_local_users_only"]}
    hadoop, spark, zootopia = _defaults("hadoop"), _defaults("spark"), _defaults("zootopia")
    # RPC (fs.defaultFS), the NameNode's and DataNodes' web ports, the DataNodes' data transfer and IPC ports.
    assert hadoop["hadoop_core_site"]["fs.defaultFS"].endswith(":{{ hadoop_namenode_rpc_port }}")
    assert rules["hdfs"] == {
        hadoop["hadoop_namenode_rpc_port"],
        hadoop["hadoop_namenode_http_port"],
        hadoop["hadoop_datanode_http_port"],
        9866,  # dfs.datanode.address, Hadoop's default (not set by the role)
        9867,  # dfs.datanode.ipc.address, Hadoop's default (not set by the role)
    }
    assert "dfs.datanode.address" not in hadoop["hadoop_hdfs_site"]
    assert "dfs.datanode.ipc.address" not in hadoop["hadoop_hdfs_site"]
    # The master's and workers' UIs and the consumer's driver UI (Spark's default 4040, not set anywhere).
    assert rules["spark-ui"] == {spark["spark_master_webui_port"], spark["spark_worker_webui_port"], 4040}
    assert zootopia["zootopia_spark_ui_port"] == spark["spark_master_webui_port"]
    assert zootopia["zootopia_hdfs_http_port"] == hadoop["hadoop_namenode_http_port"]
