#!/usr/bin/env bash
# The app on every Python the nodes may have (3.9 to 3.12: Debian 11 and 12, Ubuntu 22.04 and 24.04):
# for each, a virtualenv with the app's pinned set, its unit tests, and two real windows of the consumer on
# local Spark (PySpark 3.2.1 of the artifact cache, Java 11) into a real single-node HDFS (tests/spark).
# An interpreter that is not on this machine is named and skipped, never silently; none at all fails.
#   scripts/python-matrix.sh [3.9 3.10 ...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ZOOTOPIA_CACHE_DIR:-$HOME/.cache/zootopia}
work=$root/.cache/matrix
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.9 3.10 3.11 3.12)

java_home=${ZOOTOPIA_JAVA11_HOME:-$(ls -d /usr/lib/jvm/java-11-openjdk-* 2>/dev/null | head -n 1 || true)}
if [ ! -x "${java_home:-/nonexistent}/bin/java" ]; then
  echo "matrix: no Java 11 under /usr/lib/jvm (scripts/bootstrap-controller.sh --local installs it)" >&2
  exit 1
fi

# Spark and Hadoop as the nodes get them: the checked artifacts of the controller's cache.
artifact() { ls "$cache"/artifacts/"$1"*.tar 2>/dev/null | head -n 1 || true; }
if [ -z "$(artifact spark-3.2.1-bin-hadoop3.2)" ] || [ -z "$(artifact hadoop-3.2.3)" ]; then
  echo "matrix: fetching the artifacts (playbooks/artifacts.yml)" >&2
  "$root/.venv/bin/ansible-playbook" -i "$root/inventory/local" "$root/playbooks/artifacts.yml" >/dev/null
fi
spark_tar=$(artifact spark-3.2.1-bin-hadoop3.2)
hadoop_tar=$(artifact hadoop-3.2.3)
mkdir -p "$work"
for tar in "$spark_tar" "$hadoop_tar"; do
  stamp=$work/$(basename "$tar").unpacked
  if [ ! -f "$stamp" ] || [ "$tar" -nt "$stamp" ]; then
    tar -xf "$tar" -C "$work" && touch "$stamp"
  fi
done
spark_home=$work/spark-3.2.1-bin-hadoop3.2
hadoop_home=$work/hadoop-3.2.3

interpreter() {
  local version=$1 found
  found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] || found=$(command -v "python$version" || true)
  echo "$found"
}

# `make unit` runs the app's unit tests on the controller's own .venv: on that Python, only the windows.
unit_python=$("$root/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
ran=0
failed=()
for version in "${versions[@]}"; do
  python=$(interpreter "$version")
  if [ -z "$python" ]; then
    echo "matrix: Python $version: skipped, no interpreter here (pyenv install $version, or the python$version package)"
    continue
  fi
  venv=$work/py$version
  stamp=$venv/.installed
  if [ ! -f "$stamp" ] || [ "$root/app/pyproject.toml" -nt "$stamp" ] || [ "$root/app/requirements.lock" -nt "$stamp" ]; then
    echo "matrix: Python $version: installing the app's locked set into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # The nodes' set as the lock gives it for this Python, hashes checked; then the app (editable) and
    # the test tools, which are not the nodes'.
    "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --requirement "$root/app/requirements.lock"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --editable "$root/app"
    "$venv/bin/pip" install --quiet --disable-pip-version-check pytest selenium
    touch "$stamp"
  fi
  suites=(app/tests tests/spark)
  what="the app's unit tests and two consumer windows on local Spark"
  if [ "$version" = "$unit_python" ]; then
    suites=(tests/spark)
    what="two consumer windows on local Spark (make unit runs the app's unit tests on this Python)"
  fi
  echo "matrix: Python $version ($("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')): $what"
  if (
    cd "$root"
    export JAVA_HOME=$java_home SPARK_HOME=$spark_home HADOOP_HOME=$hadoop_home PYSPARK_PYTHON=$venv/bin/python
    export PYTHONPATH=$spark_home/python/lib/pyspark.zip:$(ls "$spark_home"/python/lib/py4j-*-src.zip)
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "${suites[@]}"
  ); then
    ran=$((ran + 1))
  else
    failed+=("$version")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "matrix: failed on Python ${failed[*]}" >&2
  exit 1
fi
if [ "$ran" -eq 0 ]; then
  echo "matrix: no Python of ${versions[*]} on this machine: nothing was checked" >&2
  exit 1
fi
echo "matrix: passed on $ran Python version(s)"
