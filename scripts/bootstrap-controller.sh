#!/usr/bin/env bash
# Installs what the controller needs on a fresh Debian/Ubuntu machine: the
# Docker engine and debootstrap (local cluster), Maven (artifact cache),
# Chromium (dashboard check), and the Python tools in .venv. Safe to re-run:
# it only adds what is missing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ZOOTOPIA_VENV:-$root/.venv}

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v mvn >/dev/null || missing+=(maven)
command -v ssh >/dev/null || missing+=(openssh-client)
# Headless Chromium and its driver, for the dashboard check (Debian's builds: nothing is downloaded).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=$venv/.installed
if [ ! -f "$stamp" ] || [ "$root/requirements.txt" -nt "$stamp" ] || [ "$root/app/pyproject.toml" -nt "$stamp" ]; then
  echo "bootstrap: installing the Python tools into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --requirement "$root/requirements.txt" --editable "$root/app"
  touch "$stamp"
fi
