"""The spark-submit command of the consumer, and the properties file that carries the cluster's secret.

spark.authenticate.secret must never be on a command line (every user on the node can read those):
it goes, with the client defaults of spark-defaults.conf, into a properties file only this process can
read, which spark-submit is given instead of spark-defaults.conf.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from zootopia.config import ConsumerSettings

# java.util.Properties: a key ends at the first unescaped white space, '=' or ':'.
_PROPERTY = re.compile(r"^\s*([^\s=:]+)\s*[=:\s]\s*(.*?)\s*$")


def read_properties(path: Path) -> dict[str, str]:
    """The key/value lines of a Spark properties file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "!")):
            continue
        match = _PROPERTY.match(line)
        if match is None:
            raise ValueError(f"{path}: not a property line: {line!r}")
        values[match.group(1)] = match.group(2)
    return values


def write_secret_properties(settings: ConsumerSettings, directory: Path) -> Path:
    """spark-defaults.conf plus the secret, in `directory`/spark.properties, readable by this user only."""
    secret_file = Path(os.path.expandvars(settings.auth_secret_file))
    secret = secret_file.read_text(encoding="utf-8").strip()
    if not secret:
        raise ValueError(f"{secret_file} is empty: the cluster's spark.authenticate.secret is missing")
    defaults = Path(settings.spark_conf_dir) / "spark-defaults.conf"
    properties = read_properties(defaults) if defaults.is_file() else {}
    properties.update({"spark.authenticate": "true", "spark.authenticate.secret": secret})
    path = directory / "spark.properties"
    path.unlink(missing_ok=True)  # made anew, so its mode is 0600 whatever an old one had
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.writelines(f"{key} {value}\n" for key, value in properties.items())
    return path


def command(settings: ConsumerSettings, job: str, runtime_dir: Path, name: str = "zootopia-consumer") -> list[str]:
    """spark-submit of `job` to the standalone master, in client mode, named `name` there."""
    argv = [f"{settings.spark_home}/bin/spark-submit", "--master", settings.spark_master]
    argv += ["--deploy-mode", "client", "--name", name]
    if settings.auth_secret_file:
        argv += ["--properties-file", str(write_secret_properties(settings, runtime_dir))]
    # The driver runs this interpreter (the app's virtualenv); executors run only SQL functions.
    for key, value in {"spark.pyspark.python": sys.executable, "spark.pyspark.driver.python": sys.executable}.items():
        argv += ["--conf", f"{key}={value}"]
    for key, value in settings.spark_conf.items():
        argv += ["--conf", f"{key}={value}"]
    argv.append(job)
    return argv


def become_driver(script: str, name: str, marker: str) -> NoReturn:
    """Replaces this process by spark-submit of `script`, submitted as the consumer is (the benches
    submit themselves this way), with this process's arguments; `marker` is set in the environment so
    the script knows it is the driver."""
    from zootopia import config

    argv = command(config.load().consumer, script, Path(tempfile.mkdtemp()), name=name) + sys.argv[1:]
    os.environ[marker] = "1"
    os.execv(argv[0], argv)
