"""The consumer's spark-submit: the cluster's secret reaches Spark in a 0600 file, never on the command line."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from zootopia import config
from zootopia.config import ConsumerSettings
from zootopia.consumer import submit
from zootopia.consumer.submit import command, read_properties

SECRET = "s3cr3t-0123456789abcdef0123456789abcdef"


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    conf = tmp_path / "spark"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text(
        "# Ansible managed\n"
        "spark.master spark://10.0.0.1:7077\n"
        "spark.driver.extraClassPath /opt/zootopia/spark-kafka-connector/jars/*\n"
        "\n"
        "spark.authenticate=true\n"
        "spark.network.crypto.enabled: true\n",
        encoding="utf-8",
    )
    return conf


def _settings(conf_dir: Path, secret_file: str) -> ConsumerSettings:
    return ConsumerSettings(
        spark_master="spark://10.0.0.1:7077",
        spark_conf={"spark.cores.max": "3"},
        spark_conf_dir=str(conf_dir),
        auth_secret_file=secret_file,
    )


def test_the_secret_goes_into_a_private_properties_file_with_the_defaults(
    conf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "spark-auth-secret").write_text(SECRET + "\n", encoding="utf-8")
    monkeypatch.setenv("ZOOTOPIA_SECRETS", str(credentials))
    runtime = tmp_path / "run"
    runtime.mkdir()
    # An old file with a wide mode is replaced, not reused.
    (runtime / "spark.properties").write_text("stale\n", encoding="utf-8")
    (runtime / "spark.properties").chmod(0o644)

    argv = command(_settings(conf_dir, "${ZOOTOPIA_SECRETS}/spark-auth-secret"), "/job.py", runtime)

    assert SECRET not in " ".join(argv)
    properties_file = Path(argv[argv.index("--properties-file") + 1])
    assert stat.S_IMODE(properties_file.stat().st_mode) == 0o600
    assert read_properties(properties_file) == {
        "spark.master": "spark://10.0.0.1:7077",
        "spark.driver.extraClassPath": "/opt/zootopia/spark-kafka-connector/jars/*",
        "spark.authenticate": "true",
        "spark.network.crypto.enabled": "true",
        "spark.authenticate.secret": SECRET,
    }
    assert argv[-1] == "/job.py"
    assert argv[argv.index("spark.cores.max=3") - 1 : argv.index("spark.cores.max=3") + 1] == [
        "--conf",
        "spark.cores.max=3",
    ]


def test_without_a_secret_file_spark_reads_its_own_defaults(conf_dir: Path, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    argv = command(_settings(conf_dir, ""), "/job.py", runtime)
    assert "--properties-file" not in argv
    assert list(runtime.iterdir()) == []


def test_an_empty_or_missing_secret_is_an_error(conf_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        command(_settings(conf_dir, str(empty)), "/job.py", tmp_path)
    with pytest.raises(FileNotFoundError):
        command(_settings(conf_dir, str(tmp_path / "nope")), "/job.py", tmp_path)


def test_a_line_that_is_not_a_property_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("spark.master\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a property line"):
        read_properties(bad)


def test_a_bench_becomes_the_driver_with_its_own_arguments(conf_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "load", lambda: SimpleNamespace(consumer=_settings(conf_dir, "")))
    monkeypatch.setattr(sys, "argv", ["/bench.py", "--streams-records-per-s", "8326.0"])
    monkeypatch.delenv("BENCH_IN_SPARK", raising=False)
    executed: list[list[str]] = []

    def execv(path: str, argv: list[str]) -> None:
        executed.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", execv)
    with pytest.raises(SystemExit):
        submit.become_driver("/bench.py", "bench", "BENCH_IN_SPARK")
    (argv,) = executed
    assert argv[0].endswith("/bin/spark-submit")
    # spark-submit hands what follows the script to it: the bench's own arguments, in order.
    assert argv[-3:] == ["/bench.py", "--streams-records-per-s", "8326.0"]
    assert os.environ["BENCH_IN_SPARK"] == "1"
