#!/usr/bin/env bash
# Installs what the controller needs, on Debian 12 or Ubuntu 24.04; safe to re-run (it only adds what is
# missing):
#   scripts/bootstrap-controller.sh          production: Maven (the artifact cache) and the Python tools in .venv
#   scripts/bootstrap-controller.sh --local  also the local cluster's and the tests' tools (Debian 12): the
#                                            Docker engine, debootstrap, Chromium and its driver, Java 11
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ZOOTOPIA_VENV:-$root/.venv}
local_tools=false
case "${1:-}" in
  --local) local_tools=true ;;
  "") ;;
  *) sed -n '2,6p' "$0" >&2; exit 2 ;;
esac

# ansible-core 2.18 runs on Python 3.11 or later.
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: $(python3 --version 2>&1) is too old for Ansible 2.18: the controller needs Python 3.11 or later (Debian 12, Ubuntu 24.04)" >&2
  exit 1
fi

missing=()
command -v mvn >/dev/null || missing+=(maven)
command -v ssh >/dev/null || missing+=(openssh-client)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if $local_tools; then
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # Headless Chromium and its driver, for the dashboard checks: Debian's builds, nothing is downloaded
  # (Ubuntu ships Chromium as a snap only, which the tests do not use: the local tools are Debian 12's).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Java 11 for local Spark (scripts/python-matrix.sh). Debian 12 has none: bullseye's, pinned below every
# bookworm package so that nothing else comes from there.
if $local_tools && ! ls -d /usr/lib/jvm/java-11-openjdk-* >/dev/null 2>&1; then
  echo "bootstrap: installing Java 11 (openjdk-11-jre-headless)" >&2
  if ! apt-cache policy openjdk-11-jre-headless | grep -q 'Candidate: [0-9]'; then
    echo "deb http://deb.debian.org/debian bullseye main" > /etc/apt/sources.list.d/zootopia-java11.list
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' > /etc/apt/preferences.d/zootopia-java11
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-11-jre-headless >/dev/null
fi

stamp=$venv/.installed
if [ ! -f "$stamp" ] || [ "$root/requirements.lock" -nt "$stamp" ] || [ "$root/app/pyproject.toml" -nt "$stamp" ]; then
  echo "bootstrap: installing the Python tools into $venv" >&2
  python3 -m venv "$venv"
  # Every file checked against the lock's hashes (the tools and the app's dependencies); then the app
  # itself, editable, which hash-checking cannot take.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --requirement "$root/requirements.lock"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable "$root/app"
  touch "$stamp"
fi
